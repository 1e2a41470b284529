// Discovery documents exactly as kubectl 1.32 reads them (kubectl-contract.md §2): aggregated
// `APIGroupDiscoveryList` (apidiscovery.k8s.io/v2) for /api and /apis, and the legacy
// APIVersions / APIGroupList / APIResourceList for clients that do not ask for aggregation.
import { apiVersionOf, GROUP_ORDER, type GroupVersionKind, RESOURCES, type ResourceDef } from './registry.js';

/** Content-Type that tells client-go the body is aggregated discovery. */
export const AGGREGATED_DISCOVERY_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export interface APISubresourceDiscovery {
  subresource: string;
  responseKind: GroupVersionKind;
  verbs: string[];
}

export interface APIResourceDiscovery {
  resource: string;
  responseKind: GroupVersionKind;
  scope: 'Namespaced' | 'Cluster';
  singularResource: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  subresources?: APISubresourceDiscovery[];
}

export interface APIVersionDiscovery {
  version: string;
  resources: APIResourceDiscovery[];
  freshness: 'Current' | 'Stale';
}

export interface APIGroupDiscovery {
  metadata: { name?: string; creationTimestamp: null };
  versions: APIVersionDiscovery[];
}

export interface APIGroupDiscoveryList {
  kind: 'APIGroupDiscoveryList';
  apiVersion: 'apidiscovery.k8s.io/v2';
  metadata: Record<string, never>;
  items: APIGroupDiscovery[];
}

function groupsOf(resources: readonly ResourceDef[]): string[] {
  const present = new Set(resources.map((r) => r.group));
  return [...GROUP_ORDER.filter((g) => present.has(g)), ...[...present].filter((g) => !GROUP_ORDER.includes(g)).sort()];
}

function versionsOf(resources: readonly ResourceDef[], group: string): string[] {
  // One version per group today; preferred first would be the registry order.
  return [...new Set(resources.filter((r) => r.group === group).map((r) => r.version))];
}

function resourceDiscovery(r: ResourceDef): APIResourceDiscovery {
  const out: APIResourceDiscovery = {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: [...r.verbs],
  };
  if (r.shortNames.length > 0) out.shortNames = [...r.shortNames];
  if (r.categories.length > 0) out.categories = [...r.categories];
  if (r.subresources.length > 0) {
    out.subresources = r.subresources.map((s) => ({
      subresource: s.name,
      responseKind: { ...s.responseKind },
      verbs: [...s.verbs],
    }));
  }
  return out;
}

function groupDiscovery(resources: readonly ResourceDef[], group: string): APIGroupDiscovery {
  return {
    metadata: group === '' ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
    versions: versionsOf(resources, group).map((version) => ({
      version,
      resources: resources.filter((r) => r.group === group && r.version === version).map(resourceDiscovery),
      freshness: 'Current',
    })),
  };
}

/** Body of `GET /api` with the aggregated Accept: one item, the core group, without a name. */
export function aggregatedCoreDiscovery(resources: readonly ResourceDef[] = RESOURCES): APIGroupDiscoveryList {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: [groupDiscovery(resources, '')],
  };
}

/** Body of `GET /apis` with the aggregated Accept: one item per named group. */
export function aggregatedGroupsDiscovery(resources: readonly ResourceDef[] = RESOURCES): APIGroupDiscoveryList {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groupsOf(resources)
      .filter((g) => g !== '')
      .map((g) => groupDiscovery(resources, g)),
  };
}

export interface APIVersions {
  kind: 'APIVersions';
  versions: string[];
  serverAddressByClientCIDRs: { clientCIDR: string; serverAddress: string }[];
}

/** Legacy `GET /api`. `serverAddress` is host:port as clients reach the apiserver. */
export function legacyCoreVersions(serverAddress: string, resources: readonly ResourceDef[] = RESOURCES): APIVersions {
  return {
    kind: 'APIVersions',
    versions: versionsOf(resources, ''),
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export interface GroupVersionForDiscovery {
  groupVersion: string;
  version: string;
}

export interface APIGroup {
  name: string;
  versions: GroupVersionForDiscovery[];
  preferredVersion: GroupVersionForDiscovery;
}

export interface APIGroupList {
  kind: 'APIGroupList';
  apiVersion: 'v1';
  groups: APIGroup[];
}

function apiGroup(resources: readonly ResourceDef[], group: string): APIGroup {
  const versions = versionsOf(resources, group).map((version) => ({
    groupVersion: apiVersionOf({ group, version }),
    version,
  }));
  const preferred = versions[0] ?? { groupVersion: '', version: '' };
  return { name: group, versions, preferredVersion: preferred };
}

/** Legacy `GET /apis`. */
export function legacyGroupList(resources: readonly ResourceDef[] = RESOURCES): APIGroupList {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupsOf(resources)
      .filter((g) => g !== '')
      .map((g) => apiGroup(resources, g)),
  };
}

/** Legacy `GET /apis/<group>` (APIGroup with kind/apiVersion), or undefined for an unknown group. */
export function legacyGroup(
  group: string,
  resources: readonly ResourceDef[] = RESOURCES,
): (APIGroup & { kind: 'APIGroup'; apiVersion: 'v1' }) | undefined {
  if (group === '' || !resources.some((r) => r.group === group)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(resources, group) };
}

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

export interface APIResourceList {
  kind: 'APIResourceList';
  apiVersion: 'v1';
  groupVersion: string;
  resources: APIResource[];
}

/**
 * Legacy `GET /api/v1` or `GET /apis/<group>/<version>`: main resources and `<plural>/<sub>` entries,
 * sorted by name like upstream. Undefined when nothing is served at that group-version.
 */
export function legacyResourceList(
  group: string,
  version: string,
  resources: readonly ResourceDef[] = RESOURCES,
): APIResourceList | undefined {
  const inGv = resources.filter((r) => r.group === group && r.version === version);
  if (inGv.length === 0) return undefined;
  const out: APIResource[] = [];
  for (const r of inGv) {
    const main: APIResource = {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...r.verbs],
    };
    if (r.shortNames.length > 0) main.shortNames = [...r.shortNames];
    if (r.categories.length > 0) main.categories = [...r.categories];
    out.push(main);
    for (const s of r.subresources) {
      const sub: APIResource = {
        name: `${r.resource}/${s.name}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: s.responseKind.kind,
        verbs: [...s.verbs],
      };
      // Upstream names group/version only when they differ from the parent's (e.g. autoscaling Scale).
      if (s.responseKind.group !== r.group || s.responseKind.version !== r.version) {
        sub.group = s.responseKind.group;
        sub.version = s.responseKind.version;
      }
      out.push(sub);
    }
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources: out };
}

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

/**
 * `GET /version`. kubectl's dispatcher picks its client binary from `minor`, so it must say 32
 * (contract §0.1); gitVersion must be non-empty or `kubectl version` fails.
 */
export function versionInfo(overrides: Partial<VersionInfo> = {}): VersionInfo {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.4',
    gitCommit: 'kemu',
    gitTreeState: 'clean',
    buildDate: '2025-04-22T16:03:45Z',
    goVersion: 'go1.23.8',
    compiler: 'gc',
    platform: 'linux/amd64',
    ...overrides,
  };
}
