/**
 * Errors lincheck raises on purpose. The package depends on nothing else of kemu's, so this mirrors
 * the shape of `@kemu/runtime`'s `KemuError` (a stable `code` to branch on, a message for people)
 * instead of extending it.
 */
export class LincheckError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A history that cannot be checked: bad times, a return before its call, duplicate ids. */
export class InvalidHistoryError extends LincheckError {
  constructor(message: string) {
    super('LINCHECK_INVALID_HISTORY', message);
  }
}

/** An event list that does not pair up into operations (a return with no call, a duplicate id). */
export class InvalidEventsError extends LincheckError {
  constructor(message: string) {
    super('LINCHECK_INVALID_EVENTS', message);
  }
}

/** `HistoryRecorder.complete`/`fail` for an id it never handed out, or one already finished. */
export class UnknownOperationIdError extends LincheckError {
  constructor(id: number, why: string) {
    super('LINCHECK_UNKNOWN_OPERATION_ID', `operation id ${id} ${why}`);
  }
}

/** Invalid checker options (negative budget and the like). */
export class InvalidOptionsError extends LincheckError {
  constructor(message: string) {
    super('LINCHECK_INVALID_OPTIONS', message);
  }
}
