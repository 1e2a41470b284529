/**
 * Base class for every error kemu raises on purpose. `code` is stable across releases so callers,
 * tests and the wire can branch on it; the message is for people and may change.
 */
export class KemuError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export function isKemuError(err: unknown, code?: string): err is KemuError {
  return err instanceof KemuError && (code === undefined || err.code === code);
}
