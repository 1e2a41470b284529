// The minimal OpenAPI v3 documents kubectl 1.32 needs to run `apply`/`create -f` with its default
// `--validate=strict` (kubectl-contract.md §5.2): an index naming one document per group-version,
// and per group-version one PATCH operation per kind carrying `x-kubernetes-group-version-kind` and
// a `fieldValidation` parameter. No component schemas on purpose: incomplete schemas with a GVK would
// make kubectl compute strategic-merge patches that replace whole lists.
import { createHash } from 'node:crypto';
import { apiVersionOf, RESOURCES, type ResourceDef } from './registry.js';

export interface OpenApiV3Index {
  paths: Record<string, { serverRelativeURL: string }>;
}

export interface OpenApiV3Document {
  openapi: '3.0.0';
  info: { title: 'Kubernetes'; version: string };
  paths: Record<string, { patch: Record<string, unknown> }>;
  components: { schemas: Record<string, never> };
}

/** `api/v1` or `apis/apps/v1`: the key and URL suffix of a group-version's document. */
export function openApiPathKey(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function objectPath(r: ResourceDef): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return r.namespaced ? `${base}/namespaces/{namespace}/${r.resource}/{name}` : `${base}/${r.resource}/{name}`;
}

/** The document for one group-version, or undefined when nothing patchable is served there. */
export function openApiV3Document(
  group: string,
  version: string,
  gitVersion = 'v1.32.4',
  resources: readonly ResourceDef[] = RESOURCES,
): OpenApiV3Document | undefined {
  const inGv = resources.filter((r) => r.group === group && r.version === version && r.verbs.includes('patch'));
  if (inGv.length === 0) return undefined;
  const paths: OpenApiV3Document['paths'] = {};
  for (const r of inGv) {
    paths[objectPath(r)] = {
      patch: {
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
        parameters: [
          { name: 'fieldValidation', in: 'query', schema: { type: 'string' } },
          { name: 'fieldManager', in: 'query', schema: { type: 'string' } },
          { name: 'dryRun', in: 'query', schema: { type: 'string' } },
          { name: 'force', in: 'query', schema: { type: 'boolean' } },
        ],
        responses: { '200': { description: 'OK' }, '201': { description: 'Created' } },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: gitVersion }, paths, components: { schemas: {} } };
}

/** Content hash used in `serverRelativeURL` (changes whenever the document does). */
export function openApiHash(doc: OpenApiV3Document): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

/** `GET /openapi/v3`: one entry per served group-version with a content-hashed URL. */
export function openApiV3Index(gitVersion = 'v1.32.4', resources: readonly ResourceDef[] = RESOURCES): OpenApiV3Index {
  const paths: OpenApiV3Index['paths'] = {};
  const seen = new Set<string>();
  for (const r of resources) {
    const gv = apiVersionOf(r);
    if (seen.has(gv)) continue;
    seen.add(gv);
    const doc = openApiV3Document(r.group, r.version, gitVersion, resources);
    if (doc === undefined) continue;
    const key = openApiPathKey(r.group, r.version);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${openApiHash(doc)}` };
  }
  return { paths };
}
