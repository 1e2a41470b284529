import { type ResourceDef, resourceFor } from '@kemu/api';

/** A parsed resource URL: `/api/v1/namespaces/ns/pods/p1/status` and friends. */
export interface ResourcePath {
  group: string;
  version: string;
  /** Undefined when the group-version is served but the resource is not. */
  def: ResourceDef | undefined;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type ParsedPath =
  | { kind: 'resource'; path: ResourcePath }
  /** `/api/v1` or `/apis/apps/v1`: the legacy resource list. */
  | { kind: 'groupVersion'; group: string; version: string }
  /** `/apis/apps`: the legacy group document. */
  | { kind: 'group'; group: string }
  | { kind: 'unknown' };

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** Splits a request path into group, version, namespace, resource, name and subresource. */
export function parseResourcePath(pathname: string): ParsedPath {
  let segs: string[];
  try {
    segs = pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    return { kind: 'unknown' }; // a malformed %-escape names nothing we serve
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length < 2) return { kind: 'unknown' };
    group = '';
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 2) return { kind: 'group', group: segs[1]! };
    if (segs.length < 3) return { kind: 'unknown' };
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else {
    return { kind: 'unknown' };
  }
  if (rest.length === 0) return { kind: 'groupVersion', group, version };
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2]!))) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  if (rest.length > 3) return { kind: 'unknown' };
  const plural = rest[0]!;
  const path: ResourcePath = { group, version, plural, def: resourceFor(group, version, plural) };
  if (namespace !== undefined) path.namespace = namespace;
  if (rest[1] !== undefined) path.name = rest[1];
  if (rest[2] !== undefined) path.subresource = rest[2];
  return { kind: 'resource', path };
}
