import protobuf from 'protobufjs';
import { ProtobufDecodeError } from './errors.js';
import { PROTO_SOURCES, TOP_LEVEL_KINDS } from './schema.js';

/** The 4 bytes every Kubernetes protobuf body starts with: `k8s\0`. */
export const KUBERNETES_PROTOBUF_MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);
export const KUBERNETES_PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** A JSON value as `JSON.parse` would produce it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface DecodedKubernetesObject {
  apiVersion: string;
  kind: string;
  /** The object in its JSON form, `apiVersion` and `kind` included. */
  object: JsonObject;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const TIME_TYPES = new Set([`${META}.Time`, `${META}.MicroTime`]);
const DURATION_TYPE = `${META}.Duration`;
const INT_OR_STRING_TYPE = 'k8s.io.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY_TYPE = 'k8s.io.apimachinery.pkg.api.resource.Quantity';
const RAW_EXTENSION_TYPE = 'k8s.io.apimachinery.pkg.runtime.RawExtension';

let cachedRoot: protobuf.Root | undefined;

function schemaRoot(): protobuf.Root {
  if (cachedRoot === undefined) {
    const root = new protobuf.Root();
    for (const source of PROTO_SOURCES) protobuf.parse(source, root, { keepCase: true });
    root.resolveAll();
    cachedRoot = root;
  }
  return cachedRoot;
}

/** Whether `kind` in `apiVersion` has a protobuf schema here. */
export function isProtobufKindSupported(apiVersion: string, kind: string): boolean {
  return TOP_LEVEL_KINDS[apiVersion]?.[kind] !== undefined;
}

/**
 * Decodes a `application/vnd.kubernetes.protobuf` request body (magic + runtime.Unknown envelope +
 * the object message) into the JSON object the JSON API would have received.
 */
export function decodeKubernetesProtobuf(bytes: Uint8Array): DecodedKubernetesObject {
  if (bytes.length < KUBERNETES_PROTOBUF_MAGIC.length || !KUBERNETES_PROTOBUF_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new ProtobufDecodeError(
      'PROTOBUF_MALFORMED',
      'body does not start with the Kubernetes protobuf magic k8s\\0',
    );
  }
  const root = schemaRoot();
  const envelope = decodeMessage(
    root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown'),
    bytes.subarray(KUBERNETES_PROTOBUF_MAGIC.length),
    '',
  );
  const typeMeta = envelope.typeMeta as JsonObject | undefined;
  const apiVersion = typeof typeMeta?.apiVersion === 'string' ? typeMeta.apiVersion : '';
  const kind = typeof typeMeta?.kind === 'string' ? typeMeta.kind : '';
  if (apiVersion === '' || kind === '') {
    throw new ProtobufDecodeError('PROTOBUF_MALFORMED', 'envelope has no typeMeta.apiVersion/kind');
  }
  const contentEncoding = envelope.contentEncoding;
  if (typeof contentEncoding === 'string' && contentEncoding !== '') {
    throw new ProtobufDecodeError('PROTOBUF_UNSUPPORTED_ENCODING', `unsupported contentEncoding "${contentEncoding}"`);
  }
  const typeName = TOP_LEVEL_KINDS[apiVersion]?.[kind];
  if (typeName === undefined) {
    throw new ProtobufDecodeError('PROTOBUF_UNSUPPORTED_KIND', `no protobuf schema for ${apiVersion}, Kind=${kind}`);
  }
  const raw = envelopeRaw(bytes);
  const body = decodeMessage(root.lookupType(typeName), raw, '');
  return { apiVersion, kind, object: { apiVersion, kind, ...body } };
}

/** The envelope's `raw` field as bytes (decodeMessage renders bytes as base64 for JSON). */
function envelopeRaw(bytes: Uint8Array): Uint8Array {
  const reader = protobuf.Reader.create(bytes.subarray(KUBERNETES_PROTOBUF_MAGIC.length));
  let raw: Uint8Array = new Uint8Array(0);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 2 && (tag & 7) === WIRE_LENGTH_DELIMITED) raw = reader.bytes();
    else reader.skipType(tag & 7);
  }
  return raw;
}

function decodeMessage(type: protobuf.Type, bytes: Uint8Array, path: string): JsonObject {
  const reader = protobuf.Reader.create(bytes);
  try {
    return readFields(type, reader, reader.len, path);
  } catch (err) {
    if (err instanceof ProtobufDecodeError) throw err;
    throw new ProtobufDecodeError('PROTOBUF_MALFORMED', `cannot decode ${type.name}: ${String(err)}`, path, {
      cause: err,
    });
  }
}

function readFields(type: protobuf.Type, reader: protobuf.Reader, end: number, path: string): JsonObject {
  const out: JsonObject = {};
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 0) throw new ProtobufDecodeError('PROTOBUF_MALFORMED', 'field number 0', path);
    const field = type.fieldsById[id];
    if (field === undefined) {
      skipUnknown(reader, wireType, `${joinPath(path, `#${id}`)} in ${type.name}`);
      continue;
    }
    const fieldPath = joinPath(path, field.name);
    const key = jsonName(field);
    if (field instanceof protobuf.MapField) {
      expectWire(wireType, WIRE_LENGTH_DELIMITED, fieldPath);
      const map = (out[key] ??= {}) as JsonObject;
      readMapEntry(field, reader, fieldPath, map);
    } else if (field.repeated) {
      const list = (out[key] ??= []) as JsonValue[];
      if (wireType === WIRE_LENGTH_DELIMITED && isPackable(field.type) && field.resolvedType === null) {
        const packedEnd = reader.uint32() + reader.pos;
        while (reader.pos < packedEnd) list.push(readScalar(field.type, reader, fieldPath));
      } else {
        list.push(readValue(field, wireType, reader, fieldPath));
      }
    } else {
      const value = readValue(field, wireType, reader, fieldPath);
      if (field.options?.['(kemu.inline)'] === true && isObject(value)) Object.assign(out, value);
      else out[key] = value;
    }
  }
  if (reader.pos !== end) throw new ProtobufDecodeError('PROTOBUF_MALFORMED', 'message overruns its length', path);
  return dropUnsetScalars(type, out);
}

/**
 * Go's JSON encoder omits zero-valued `omitempty` fields, while gogo protobuf writes every non-pointer
 * scalar; drop those zeros unless the Go field is a pointer (presence is then meaningful).
 */
function dropUnsetScalars(type: protobuf.Type, out: JsonObject): JsonObject {
  for (const field of type.fieldsArray) {
    const key = jsonName(field);
    const value = out[key];
    if (value === undefined || field.repeated || field.map || field.resolvedType !== null) continue;
    if (field.options?.['(kemu.presence)'] === true) continue;
    if (value === '' || value === 0 || value === false) delete out[key];
  }
  return out;
}

function readMapEntry(field: protobuf.MapField, reader: protobuf.Reader, path: string, map: JsonObject): void {
  const end = reader.uint32() + reader.pos;
  let key = '';
  let value: JsonValue | undefined;
  while (reader.pos < end) {
    const tag = reader.uint32();
    const wireType = tag & 7;
    if (tag >>> 3 === 1) {
      key = String(readScalar(field.keyType, reader, path));
    } else if (tag >>> 3 === 2) {
      value = readValue(field, wireType, reader, path);
    } else {
      reader.skipType(wireType);
    }
  }
  if (reader.pos !== end) throw new ProtobufDecodeError('PROTOBUF_MALFORMED', 'map entry overruns its length', path);
  // A missing value is the type's zero value, as in Go.
  map[key] = value ?? zeroValue(field);
}

function zeroValue(field: protobuf.FieldBase): JsonValue {
  if (field.resolvedType instanceof protobuf.Type) {
    const special = convertSpecial(field.resolvedType, {});
    return special === undefined ? {} : special;
  }
  switch (field.type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

function readValue(field: protobuf.FieldBase, wireType: number, reader: protobuf.Reader, path: string): JsonValue {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    expectWire(wireType, WIRE_LENGTH_DELIMITED, path);
    const length = reader.uint32();
    const end = reader.pos + length;
    if (end > reader.len) throw new ProtobufDecodeError('PROTOBUF_MALFORMED', 'message overruns the buffer', path);
    const sub = readFields(resolved, reader, end, path);
    const special = convertSpecial(resolved, sub);
    return special === undefined ? sub : special;
  }
  if (resolved !== null) {
    throw new ProtobufDecodeError('PROTOBUF_UNSUPPORTED_FIELD', `enum fields are not supported`, path);
  }
  expectWire(wireType, wireTypeOf(field.type), path);
  return readScalar(field.type, reader, path);
}

/** Messages whose JSON form is not an object: times, durations, int-or-string, quantities, raw JSON. */
function convertSpecial(type: protobuf.Type, fields: JsonObject): JsonValue | undefined {
  const name = type.fullName.replace(/^\./, '');
  if (TIME_TYPES.has(name)) {
    const seconds = typeof fields.seconds === 'number' ? fields.seconds : 0;
    const nanos = typeof fields.nanos === 'number' ? fields.nanos : 0;
    // An empty Time is Go's zero time, which JSON renders as null.
    if (seconds === 0 && nanos === 0) return null;
    return name.endsWith('.MicroTime') ? formatMicroTime(seconds, nanos) : formatTime(seconds);
  }
  if (name === DURATION_TYPE) return formatDuration(typeof fields.duration === 'number' ? fields.duration : 0);
  if (name === INT_OR_STRING_TYPE) {
    return fields.type === 1 ? (typeof fields.strVal === 'string' ? fields.strVal : '') : (fields.intVal ?? 0);
  }
  if (name === QUANTITY_TYPE) return typeof fields.string === 'string' ? fields.string : '0';
  if (name === RAW_EXTENSION_TYPE) {
    const raw = typeof fields.raw === 'string' ? Buffer.from(fields.raw, 'base64').toString('utf8') : '';
    if (raw === '') return null;
    try {
      return JSON.parse(raw) as JsonValue;
    } catch (err) {
      throw new ProtobufDecodeError('PROTOBUF_UNSUPPORTED_ENCODING', 'RawExtension is not JSON', '', { cause: err });
    }
  }
  return undefined;
}

/** metav1.Time: RFC3339 with seconds precision (the protobuf nanos are dropped, as upstream does). */
function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** metav1.MicroTime: RFC3339 with exactly 6 fractional digits. */
function formatMicroTime(seconds: number, nanos: number): string {
  const micros = Math.floor(nanos / 1000)
    .toString()
    .padStart(6, '0');
  return formatTime(seconds).replace(/Z$/, `.${micros}Z`);
}

/** metav1.Duration in Go's time.Duration.String() form (e.g. `1h0m0s`, `1.5s`, `0s`). */
export function formatDuration(nanoseconds: number): string {
  if (nanoseconds === 0) return '0s';
  const sign = nanoseconds < 0 ? '-' : '';
  let ns = Math.abs(nanoseconds);
  if (ns < 1e9) {
    if (ns < 1e3) return `${sign}${ns}ns`;
    if (ns < 1e6) return `${sign}${trimFraction(ns / 1e3)}µs`;
    return `${sign}${trimFraction(ns / 1e6)}ms`;
  }
  const hours = Math.floor(ns / 3.6e12);
  ns -= hours * 3.6e12;
  const minutes = Math.floor(ns / 6e10);
  ns -= minutes * 6e10;
  const secs = `${trimFraction(ns / 1e9)}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${secs}`;
  if (minutes > 0) return `${sign}${minutes}m${secs}`;
  return `${sign}${secs}`;
}

function trimFraction(value: number): string {
  return Number(value.toFixed(9)).toString();
}

function readScalar(type: string, reader: protobuf.Reader, path: string): JsonValue {
  switch (type) {
    case 'string':
      return reader.string();
    case 'bytes':
      // Go's encoding/json renders []byte as standard base64 (Secret.data, ConfigMap.binaryData).
      return Buffer.from(reader.bytes()).toString('base64');
    case 'bool':
      return reader.bool();
    case 'int32':
      return reader.int32();
    case 'uint32':
      return reader.uint32();
    case 'sint32':
      return reader.sint32();
    case 'int64':
      return longToNumber(reader.int64(), path);
    case 'uint64':
      return longToNumber(reader.uint64(), path);
    case 'sint64':
      return longToNumber(reader.sint64(), path);
    case 'fixed32':
      return reader.fixed32();
    case 'sfixed32':
      return reader.sfixed32();
    case 'double':
      return reader.double();
    case 'float':
      return reader.float();
    default:
      throw new ProtobufDecodeError('PROTOBUF_UNSUPPORTED_FIELD', `unsupported scalar type ${type}`, path);
  }
}

function longToNumber(value: number | protobuf.Long, path: string): number {
  // Without the optional `long` package protobufjs hands out {low, high} pairs for large values.
  const n = typeof value === 'number' ? value : value.high * 0x1_0000_0000 + (value.low >>> 0);
  if (!Number.isSafeInteger(n)) {
    throw new ProtobufDecodeError(
      'PROTOBUF_UNSUPPORTED_FIELD',
      `64-bit value ${n} exceeds the safe integer range`,
      path,
    );
  }
  return n;
}

/**
 * Fields not in our subset are tolerated only when they carry Go's zero value (gogo writes every
 * non-pointer scalar and struct); anything else would be silently lost, so it is refused.
 */
function skipUnknown(reader: protobuf.Reader, wireType: number, where: string): void {
  let zero: boolean;
  switch (wireType) {
    case WIRE_VARINT: {
      const v = reader.uint64();
      zero = typeof v === 'number' ? v === 0 : v.low === 0 && v.high === 0;
      break;
    }
    case WIRE_LENGTH_DELIMITED:
      zero = reader.bytes().length === 0;
      break;
    case WIRE_FIXED64:
      zero = (reader.fixed32() | reader.fixed32()) === 0;
      break;
    case WIRE_FIXED32:
      zero = reader.fixed32() === 0;
      break;
    default:
      throw new ProtobufDecodeError('PROTOBUF_MALFORMED', `unsupported wire type ${wireType}`, where);
  }
  if (!zero) {
    throw new ProtobufDecodeError('PROTOBUF_UNSUPPORTED_FIELD', `field ${where} is not in the supported schema subset`);
  }
}

function wireTypeOf(type: string): number {
  switch (type) {
    case 'string':
    case 'bytes':
      return WIRE_LENGTH_DELIMITED;
    case 'double':
    case 'fixed64':
    case 'sfixed64':
      return WIRE_FIXED64;
    case 'float':
    case 'fixed32':
    case 'sfixed32':
      return WIRE_FIXED32;
    default:
      return WIRE_VARINT;
  }
}

function isPackable(type: string): boolean {
  return wireTypeOf(type) !== WIRE_LENGTH_DELIMITED;
}

function expectWire(actual: number, expected: number, path: string): void {
  if (actual !== expected) {
    throw new ProtobufDecodeError('PROTOBUF_MALFORMED', `wire type ${actual}, expected ${expected}`, path);
  }
}

function jsonName(field: protobuf.FieldBase): string {
  const renamed = field.options?.json_name;
  return typeof renamed === 'string' ? renamed : field.name;
}

function joinPath(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function isObject(value: JsonValue): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
