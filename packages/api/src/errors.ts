// Typed errors for bad input. @kemu/api depends on nothing of ours (DESIGN.md), so it cannot extend
// @kemu/runtime's KemuError; ApiInputError has the same shape (`code` + `name`), so callers that check
// `err.code` treat both alike.

export class ApiInputError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A label selector string or LabelSelector object that does not parse; message as the apiserver words it. */
export class LabelSelectorError extends ApiInputError {
  constructor(message: string) {
    super('LABEL_SELECTOR_INVALID', message);
  }
}

/** A field selector that does not parse or names a field the kind does not support. */
export class FieldSelectorError extends ApiInputError {
  constructor(message: string) {
    super('FIELD_SELECTOR_INVALID', message);
  }
}

/** A resource.Quantity string that does not parse. */
export class QuantityError extends ApiInputError {
  constructor(message: string) {
    super('QUANTITY_INVALID', message);
  }
}

/** A resource name, kind or short name the registry does not know. */
export class UnknownResourceError extends ApiInputError {
  constructor(message: string) {
    super('RESOURCE_UNKNOWN', message);
  }
}
