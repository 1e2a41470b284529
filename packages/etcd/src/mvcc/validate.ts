/**
 * Shape checks for requests that arrive from the wire (decoded msgpack, so nothing is trusted).
 * They throw InvalidRequestError / EmptyKeyError before the store is touched.
 */
import { isBytes } from './bytes.js';
import { EmptyKeyError, InvalidRequestError } from './errors.js';
import type { EtcdRequest, RequestOp } from './types.js';

const SORT_ORDERS = new Set(['none', 'ascend', 'descend']);
const SORT_TARGETS = new Set(['key', 'version', 'create', 'mod', 'value']);
const COMPARE_RESULTS = new Set(['equal', 'notEqual', 'less', 'greater']);

type Fields = Record<string, unknown>;

function fieldsOf(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequestError(`${what} must be an object`);
  }
  return value as Fields;
}

function checkKey(req: Fields): void {
  if (!isBytes(req.key)) throw new InvalidRequestError('key must be bytes');
  if (req.key.byteLength === 0) throw new EmptyKeyError();
}

function checkOptionalBytes(req: Fields, name: string): void {
  const v = req[name];
  if (v !== undefined && v !== null && !isBytes(v)) throw new InvalidRequestError(`${name} must be bytes`);
}

export function checkCount(req: Fields, name: string, required = false): void {
  const v = req[name];
  if (v === undefined && !required) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidRequestError(`${name} must be a non-negative integer`);
  }
}

function checkFlag(req: Fields, name: string): void {
  const v = req[name];
  if (v !== undefined && typeof v !== 'boolean') throw new InvalidRequestError(`${name} must be a boolean`);
}

function checkRange(req: Fields): void {
  checkKey(req);
  checkOptionalBytes(req, 'rangeEnd');
  for (const n of ['limit', 'revision', 'minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision']) {
    checkCount(req, n);
  }
  for (const n of ['keysOnly', 'countOnly']) checkFlag(req, n);
  if (req.sortOrder !== undefined && !SORT_ORDERS.has(req.sortOrder as string)) {
    throw new InvalidRequestError('unknown sortOrder');
  }
  if (req.sortTarget !== undefined && !SORT_TARGETS.has(req.sortTarget as string)) {
    throw new InvalidRequestError('unknown sortTarget');
  }
}

function checkPut(req: Fields): void {
  checkKey(req);
  if (!isBytes(req.value)) throw new InvalidRequestError('value must be bytes');
  checkCount(req, 'lease');
  for (const n of ['prevKv', 'ignoreValue', 'ignoreLease']) checkFlag(req, n);
}

function checkDeleteRange(req: Fields): void {
  checkKey(req);
  checkOptionalBytes(req, 'rangeEnd');
  checkFlag(req, 'prevKv');
}

function checkCompare(value: unknown): void {
  const c = fieldsOf(value, 'compare');
  checkKey(c);
  checkOptionalBytes(c, 'rangeEnd');
  if (!COMPARE_RESULTS.has(c.result as string)) throw new InvalidRequestError('unknown compare result');
  switch (c.target) {
    case 'version':
      checkCount(c, 'version', true);
      return;
    case 'create':
      checkCount(c, 'createRevision', true);
      return;
    case 'mod':
      checkCount(c, 'modRevision', true);
      return;
    case 'lease':
      checkCount(c, 'lease', true);
      return;
    case 'value':
      if (!isBytes(c.value)) throw new InvalidRequestError('compare value must be bytes');
      return;
    default:
      throw new InvalidRequestError('unknown compare target');
  }
}

function checkOps(value: unknown, name: string): void {
  if (!Array.isArray(value)) throw new InvalidRequestError(`${name} must be an array`);
  for (const op of value) checkRequestOp(op);
}

function checkTxn(req: Fields): void {
  if (!Array.isArray(req.compare)) throw new InvalidRequestError('compare must be an array');
  for (const c of req.compare) checkCompare(c);
  checkOps(req.success, 'success');
  checkOps(req.failure, 'failure');
}

function checkRequestOp(value: unknown): asserts value is RequestOp {
  const req = fieldsOf(value, 'request op');
  switch (req.type) {
    case 'range':
      checkRange(req);
      return;
    case 'put':
      checkPut(req);
      return;
    case 'deleteRange':
      checkDeleteRange(req);
      return;
    case 'txn':
      checkTxn(req);
      return;
    default:
      throw new InvalidRequestError(`unknown txn operation ${String(req.type)}`);
  }
}

/** Throws unless `value` is a well-formed EtcdRequest. */
export function checkRequest(value: unknown): asserts value is EtcdRequest {
  const req = fieldsOf(value, 'request');
  switch (req.type) {
    case 'range':
    case 'put':
    case 'deleteRange':
    case 'txn':
      checkRequestOp(req);
      return;
    case 'compact':
      checkCount(req, 'revision', true);
      return;
    case 'leaseGrant':
      checkCount(req, 'id', true);
      checkCount(req, 'ttl', true);
      return;
    case 'leaseRevoke':
      checkCount(req, 'id', true);
      return;
    case 'leaseCheckpoint':
      if (!Array.isArray(req.checkpoints)) throw new InvalidRequestError('checkpoints must be an array');
      for (const cp of req.checkpoints) {
        const f = fieldsOf(cp, 'checkpoint');
        checkCount(f, 'id', true);
        checkCount(f, 'remainingTtl', true);
      }
      return;
    default:
      throw new InvalidRequestError(`unknown request type ${String(req.type)}`);
  }
}

/**
 * True for requests that never change the store (ranges and txns whose every branch only reads,
 * etcd's isTxnReadonly): the member may serve them locally after ReadIndex instead of through Raft.
 */
export function isReadOnly(req: EtcdRequest | RequestOp): boolean {
  if (req.type === 'range') return true;
  if (req.type !== 'txn') return false;
  return req.success.every(isReadOnly) && req.failure.every(isReadOnly);
}
