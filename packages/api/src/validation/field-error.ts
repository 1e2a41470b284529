// field.Error / field.ErrorList from apimachinery: the unit of validation output. Error strings are
// built exactly like upstream (`<field>: <Type>: <value>: <detail>`) because they reach users verbatim
// in 422 messages and in `details.causes[]`.
import { goQuote } from './go-format.js';

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError';

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
};

/**
 * A bad value as upstream prints it: plain strings are quoted (`%q`), numbers/booleans bare (`%v`),
 * and anything else must be pre-rendered by the caller (`{ go: 'map[string]string{…}' }`).
 */
export type BadValue = string | number | boolean | null | { go: string };

export interface FieldError {
  type: FieldErrorType;
  field: string;
  badValue?: BadValue;
  detail: string;
}

export function renderBadValue(v: BadValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v.go;
}

/** field.Error.ErrorBody(): the message without the field path (used for `causes[].message`). */
export function errorBody(e: FieldError): string {
  let s = typeText[e.type];
  const omitsValue =
    e.type === 'FieldValueRequired' ||
    e.type === 'FieldValueForbidden' ||
    e.type === 'FieldValueTooLong' ||
    e.type === 'InternalError' ||
    e.badValue === undefined;
  if (!omitsValue && e.badValue !== undefined) s += `: ${renderBadValue(e.badValue)}`;
  if (e.detail.length > 0) s += `: ${e.detail}`;
  return s;
}

/** field.Error.Error(): `<field>: <body>`. */
export function errorString(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`;
}

/** utilerrors.NewAggregate(errs).Error(): one message alone, several de-duplicated inside `[…]`. */
export function aggregateMessage(messages: readonly string[]): string {
  if (messages.length === 0) return '';
  if (messages.length === 1) return messages[0] ?? '';
  const seen: string[] = [];
  for (const m of messages) if (!seen.includes(m)) seen.push(m);
  if (seen.length === 1) return seen[0] ?? '';
  return `[${seen.join(', ')}]`;
}

export const fieldErr = {
  required(field: string, detail = ''): FieldError {
    return { type: 'FieldValueRequired', field, detail };
  },
  invalid(field: string, badValue: BadValue, detail: string): FieldError {
    return { type: 'FieldValueInvalid', field, badValue, detail };
  },
  duplicate(field: string, badValue: BadValue): FieldError {
    return { type: 'FieldValueDuplicate', field, badValue, detail: '' };
  },
  notFound(field: string, badValue: BadValue): FieldError {
    return { type: 'FieldValueNotFound', field, badValue, detail: '' };
  },
  forbidden(field: string, detail: string): FieldError {
    return { type: 'FieldValueForbidden', field, detail };
  },
  tooLong(field: string, maxLength: number): FieldError {
    return { type: 'FieldValueTooLong', field, detail: `may not be more than ${maxLength} bytes` };
  },
  /** field.NotSupported: detail lists the valid values quoted, in the order given. */
  notSupported(field: string, badValue: BadValue, validValues: readonly string[]): FieldError {
    const detail = validValues.length > 0 ? `supported values: ${validValues.map(goQuote).join(', ')}` : '';
    return { type: 'FieldValueNotSupported', field, badValue, detail };
  },
};
