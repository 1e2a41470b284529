// The informer's cache: objects by `namespace/name` key plus secondary indexes (client-go's
// ThreadSafeStore + Indexer). JavaScript is single-threaded, so "thread-safe" here only means that
// every mutation keeps the indexes consistent before control returns.
import type { KubeObject } from '@kemu/api';
import { ClientConfigError } from './errors.js';
import { objectKey } from './interfaces.js';

/** The values an object is indexed under (several for multi-valued indexes, none to skip it). */
export type IndexFunc<T> = (obj: T) => string[];

export const NAMESPACE_INDEX = 'namespace';

export function namespaceIndexFunc(obj: KubeObject): string[] {
  return [obj.metadata.namespace ?? ''];
}

/** An index on a field path such as `spec.nodeName` (objects where it is absent or empty are skipped). */
export function fieldIndexFunc<T extends KubeObject>(path: string): IndexFunc<T> {
  const parts = path.split('.');
  return (obj) => {
    let v: unknown = obj;
    for (const p of parts) {
      if (typeof v !== 'object' || v === null) return [];
      v = (v as Record<string, unknown>)[p];
    }
    return typeof v === 'string' && v !== '' ? [v] : typeof v === 'number' || typeof v === 'boolean' ? [String(v)] : [];
  };
}

export class Indexer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → indexed value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = { [NAMESPACE_INDEX]: namespaceIndexFunc }) {
    this.addIndexers(indexers);
  }

  /** Adds indexes; existing objects are indexed at once. A name already in use is refused. */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers.has(name)) throw new ClientConfigError(`indexer "${name}" already exists`);
      this.indexers.set(name, fn);
      const index = new Map<string, Set<string>>();
      this.indices.set(name, index);
      for (const [key, obj] of this.items) addToIndex(index, fn(obj), key);
    }
  }

  get size(): number {
    return this.items.size;
  }

  /** Inserts or replaces; returns the object it replaced. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) addToIndex(this.indexMap(name), fn(obj), key);
    return old;
  }

  /** Removes by key; returns what was there. */
  deleteKey(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  getByKey(key: string): T | undefined {
    return this.items.get(key);
  }

  /** By namespace and name (no namespace for cluster-scoped objects). */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  listKeys(): string[] {
    return [...this.items.keys()];
  }

  /** Objects whose index `indexName` contains `value`. */
  byIndex(indexName: string, value: string): T[] {
    return this.indexKeys(indexName, value).map((k) => this.items.get(k) as T);
  }

  indexKeys(indexName: string, value: string): string[] {
    const index = this.indices.get(indexName);
    if (!index) throw new ClientConfigError(`no indexer named "${indexName}"`);
    return [...(index.get(value) ?? [])];
  }

  /** The values present in an index (e.g. every node name that has pods). */
  listIndexValues(indexName: string): string[] {
    const index = this.indices.get(indexName);
    if (!index) throw new ClientConfigError(`no indexer named "${indexName}"`);
    return [...index.keys()];
  }

  private indexMap(name: string): Map<string, Set<string>> {
    return this.indices.get(name) as Map<string, Set<string>>;
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indexMap(name);
      for (const v of fn(obj)) {
        const keys = index.get(v);
        if (!keys) continue;
        keys.delete(key);
        if (keys.size === 0) index.delete(v);
      }
    }
  }
}

function addToIndex(index: Map<string, Set<string>>, values: string[], key: string): void {
  for (const v of values) {
    let keys = index.get(v);
    if (!keys) {
      keys = new Set();
      index.set(v, keys);
    }
    keys.add(key);
  }
}
