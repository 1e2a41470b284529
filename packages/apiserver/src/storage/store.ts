import { alreadyExistsStatus, conflictStatus, type GroupResource, type KubeObject, notFoundStatus } from '@kemu/api';
import type { EtcdClient, KeyValue } from '@kemu/etcd';
import { ApiStatusError, toStatusError } from '../errors.js';
import { decodeKv, encodeObject, keyString } from './codec.js';

export interface ListPage {
  items: KubeObject[];
  /** The etcd revision the whole list was read at (the list's resourceVersion). */
  revision: number;
  /** Opaque token for the next page, when there is one. */
  continue?: string;
  remainingItemCount?: number;
}

export interface ListOptions {
  limit?: number;
  continue?: string;
  /** Keeps only matching objects; pages are filled up to `limit` matches. */
  filter?: (obj: KubeObject) => boolean;
}

interface ContinueToken {
  v: 1;
  rv: number;
  start: string;
}

const MAX_PAGE_FETCH = 1000;
/** How often a write whose outcome was unknown (connection lost after sending, timeout) is resolved and retried. */
const OUTCOME_RETRIES = 3;

/**
 * Objects in etcd: get, create (only if absent), update and delete (compare-and-swap on the
 * mod_revision that is the object's resourceVersion), and paged lists read at one revision.
 * Every failure comes out as an ApiStatusError with the real Kubernetes reason and message.
 */
export class ObjectStore {
  constructor(private readonly etcd: EtcdClient) {}

  async get(key: string): Promise<KubeObject | undefined> {
    try {
      const kv = await this.etcd.get(key);
      return kv ? decodeKv(kv) : undefined;
    } catch (err) {
      throw toStatusError(err);
    }
  }

  async mustGet(key: string, gr: GroupResource, name: string): Promise<KubeObject> {
    const obj = await this.get(key);
    if (!obj) throw new ApiStatusError(notFoundStatus(gr, name));
    return obj;
  }

  async create(key: string, obj: KubeObject, gr: GroupResource): Promise<KubeObject> {
    const name = obj.metadata.name ?? '';
    const value = encodeObject(obj);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.etcd.putIfModRevision(key, value, 0);
        if (!res.succeeded) throw new ApiStatusError(alreadyExistsStatus(gr, name));
        return withRv(obj, res.revision);
      } catch (err) {
        if (!maybeApplied(err) || attempt >= OUTCOME_RETRIES) throw toStatusError(err);
        // The write may or may not have happened: look, then decide.
        const current = await this.readBack(key, err);
        if (current && sameBytes(current.value as Uint8Array, value)) return withRv(obj, current.modRevision);
        if (current) throw new ApiStatusError(alreadyExistsStatus(gr, name));
      }
    }
  }

  /** Writes `obj` if the stored object is still at `expectedRv`. */
  async update(key: string, obj: KubeObject, expectedRv: number, gr: GroupResource): Promise<KubeObject> {
    const name = obj.metadata.name ?? '';
    const value = encodeObject(obj);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.etcd.putIfModRevision(key, value, expectedRv);
        if (!res.succeeded) {
          if (!res.current) throw new ApiStatusError(notFoundStatus(gr, name));
          throw new ApiStatusError(conflictStatus(gr, name));
        }
        return withRv(obj, res.revision);
      } catch (err) {
        if (!maybeApplied(err) || attempt >= OUTCOME_RETRIES) throw toStatusError(err);
        const current = await this.readBack(key, err);
        if (!current) throw new ApiStatusError(notFoundStatus(gr, name));
        if (current.modRevision !== expectedRv) {
          if (sameBytes(current.value as Uint8Array, value)) return withRv(obj, current.modRevision);
          throw new ApiStatusError(conflictStatus(gr, name));
        }
        // Still at the expected revision: the write did not happen; try again.
      }
    }
  }

  /** Removes the object if still at `expectedRv`; returns the deletion revision (0 if unknown). */
  async delete(key: string, expectedRv: number, gr: GroupResource, name: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.etcd.deleteIfModRevision(key, expectedRv);
        if (!res.succeeded) {
          if (!res.current) throw new ApiStatusError(notFoundStatus(gr, name));
          throw new ApiStatusError(conflictStatus(gr, name));
        }
        return res.revision;
      } catch (err) {
        if (!maybeApplied(err) || attempt >= OUTCOME_RETRIES) throw toStatusError(err);
        const current = await this.readBack(key, err);
        if (!current) return 0;
        if (current.modRevision !== expectedRv) throw new ApiStatusError(conflictStatus(gr, name));
      }
    }
  }

  private async readBack(key: string, cause: unknown): Promise<KeyValue | undefined> {
    try {
      return await this.etcd.get(key);
    } catch {
      throw toStatusError(cause);
    }
  }

  /**
   * One page of objects under `prefix`. The first page is read at the current revision; following
   * pages (continue token) at that same revision, so a paged list is one consistent snapshot.
   */
  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : 0;
    let revision = 0;
    let from: string | undefined;
    if (opts.continue) {
      const tok = decodeContinue(opts.continue, prefix);
      revision = tok.rv;
      from = tok.start;
    }
    const items: KubeObject[] = [];
    try {
      for (;;) {
        const want = limit === 0 ? MAX_PAGE_FETCH : Math.min(MAX_PAGE_FETCH, Math.max(limit - items.length, 1));
        const page = await this.etcd.rangePage(prefix, {
          limit: want,
          ...(from !== undefined ? { from } : {}),
          ...(revision > 0 ? { revision } : {}),
        });
        if (revision === 0) revision = page.revision;
        let lastKey: string | undefined;
        let taken = 0;
        for (const kv of page.kvs) {
          taken++;
          lastKey = keyString(kv.key);
          const obj = decodeKv(kv);
          if (opts.filter && !opts.filter(obj)) continue;
          items.push(obj);
          if (limit > 0 && items.length >= limit) break;
        }
        const moreInPage = taken < page.kvs.length;
        const more = moreInPage || page.nextKey !== undefined;
        if (!more) return { items, revision };
        if (limit > 0 && items.length >= limit) {
          const start = `${lastKey ?? prefix}\u0000`;
          const out: ListPage = { items, revision, continue: encodeContinue({ v: 1, rv: revision, start }) };
          if (!opts.filter) out.remainingItemCount = page.count - taken;
          return out;
        }
        from = keyString(page.nextKey ?? new Uint8Array());
      }
    } catch (err) {
      if (isCompacted(err)) {
        throw new ApiStatusError({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message:
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          reason: 'Expired',
          code: 410,
        });
      }
      throw toStatusError(err);
    }
  }
}

/** Errors after which a write may or may not have been applied. */
function maybeApplied(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ETCD_TIMEOUT' || code === 'ETCD_UNAVAILABLE' || code === 'ETCD_LEADER_CHANGED';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

function isCompacted(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ETCD_COMPACTED';
}

function withRv(obj: KubeObject, rev: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rev) } };
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeContinue(token: string, prefix: string): ContinueToken {
  const bad = () =>
    new ApiStatusError({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
      reason: 'BadRequest',
      code: 400,
    });
  let t: unknown;
  try {
    t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const c = t as Partial<ContinueToken>;
  if (c.v !== 1 || typeof c.rv !== 'number' || typeof c.start !== 'string' || !c.start.startsWith(prefix)) throw bad();
  return c as ContinueToken;
}
