// Small helpers the infrastructure controllers share: cache-key queues, taint/toleration matching,
// condition edits and "ignore NotFound" writes. Kept here so each controller file reads as its
// reconcile logic only.
import type { KubeObject, Taint, Toleration } from '@kemu/api';
import {
  DeletedFinalStateUnknown,
  defaultControllerRateLimiter,
  type EventHandler,
  isNotFound,
  RateLimitingQueue,
} from '@kemu/client';
import type { ControllerContext } from '../context.js';

/** A workqueue with client-go's default controller rate limiter. */
export function newQueue(ctx: ControllerContext, name: string): RateLimitingQueue<string> {
  return new RateLimitingQueue<string>({
    runtime: ctx.runtime,
    name,
    rateLimiter: defaultControllerRateLimiter(ctx.runtime),
  });
}

/** Unwraps a tombstone delivered by onDelete after a relist. */
export function unwrap<T>(obj: T | DeletedFinalStateUnknown<T>): T {
  return obj instanceof DeletedFinalStateUnknown ? (obj.obj as T) : obj;
}

/** An informer handler calling `fn` with every object seen (added, updated old and new, deleted). */
export function eachObject<T extends KubeObject>(
  fn: (obj: T, kind: 'add' | 'update' | 'delete') => void,
): EventHandler<T> {
  return {
    onAdd: (obj) => fn(obj, 'add'),
    onUpdate: (old, obj) => {
      fn(old, 'update');
      fn(obj, 'update');
    },
    onDelete: (obj) => fn(unwrap(obj), 'delete'),
  };
}

/** v1.Toleration.ToleratesTaint: same effect (or any), key matches (or empty with Exists), value for Equal. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect !== undefined && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false;
  const op = t.operator ?? 'Equal';
  if (op === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/** Runs a write and treats NotFound as done (the object is already gone). */
export async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Stable JSON for "did anything change" comparisons (key order as written by this code). */
export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
