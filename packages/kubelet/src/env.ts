// A container's environment as the kubelet builds it (upstream kubelet_pods.go
// makeEnvironmentVariables): Service links, envFrom, env with valueFrom, then $(VAR) expansion.
// Lookups go through `EnvSources` so unit tests pass plain maps and the kubelet its API client.
import type { ConfigMap, Container, Pod, ResourceList, Secret, Service } from '@kemu/api';
import { parseQuantity } from '@kemu/api';
import { ContainerConfigError } from './errors.js';
import type { KeyValue } from './runtime/types.js';

export interface EnvSources {
  /** undefined when the ConfigMap does not exist. */
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** Services of the namespace, plus `default/kubernetes` (the master service), for Service links. */
  services(namespace: string): Service[];
}

export interface PodNetworkInfo {
  nodeName: string;
  hostIP: string;
  podIP: string;
  /** For resourceFieldRef when the container sets no limit. */
  nodeAllocatable: ResourceList;
}

/** `my-svc` → `MY_SVC`. */
function envName(service: string): string {
  return service.toUpperCase().replace(/-/g, '_');
}

/** Service link variables (upstream envvars.FromServices), docker-link style included. */
export function serviceEnv(services: Service[]): KeyValue[] {
  const out: KeyValue[] = [];
  // Plain code-unit order (upstream sorts by name too); localeCompare would pull in ICU tables.
  const sorted = [...services].sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  for (const svc of sorted) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None' || svc.spec?.type === 'ExternalName') continue;
    const name = envName(svc.metadata.name ?? '');
    const ports = svc.spec?.ports ?? [];
    const first = ports[0];
    if (!first) continue;
    out.push({ name: `${name}_SERVICE_HOST`, value: ip });
    out.push({ name: `${name}_SERVICE_PORT`, value: String(first.port) });
    for (const p of ports) {
      if (p.name) out.push({ name: `${name}_SERVICE_PORT_${envName(p.name)}`, value: String(p.port) });
    }
    const proto = (first.protocol ?? 'TCP').toLowerCase();
    out.push({ name: `${name}_PORT`, value: `${proto}://${ip}:${first.port}` });
    for (const p of ports) {
      const pr = (p.protocol ?? 'TCP').toLowerCase();
      const prefix = `${name}_PORT_${p.port}_${pr.toUpperCase()}`;
      out.push({ name: prefix, value: `${pr}://${ip}:${p.port}` });
      out.push({ name: `${prefix}_PROTO`, value: pr });
      out.push({ name: `${prefix}_PORT`, value: String(p.port) });
      out.push({ name: `${prefix}_ADDR`, value: ip });
    }
  }
  return out;
}

/**
 * `$(VAR)` → its value when defined, `$$(VAR)` → the literal `$(VAR)`, anything else kept
 * (upstream third_party/forked/golang/expansion).
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v ?? `$(${name})`;
      i = close + 1;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

function decodeSecret(secret: Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

function secretKeys(secret: Secret): string[] {
  return [...new Set([...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})])];
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** A pod field as `fieldRef` selects it (the downward API). */
export function podFieldValue(pod: Pod, fieldPath: string, net: PodNetworkInfo): string {
  const m = /^metadata\.(labels|annotations)\['([^']*)'\]$/.exec(fieldPath);
  if (m) {
    const map = m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[m[2] ?? ''] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      return pod.spec.nodeName ?? net.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return net.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return net.podIP;
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${fieldPath}`);
  }
}

/** `key="value"` lines, sorted, as the downward API writes labels and annotations. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m?.[k] ?? '')}`)
    .join('\n');
}

/** limits.cpu / requests.memory / … of a container, divided by `divisor` and rounded up. */
export function resourceFieldValue(
  pod: Pod,
  containerName: string,
  resource: string,
  divisor: string | undefined,
  net: PodNetworkInfo,
): string {
  const c = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((x) => x.name === containerName);
  if (!c) throw new ContainerConfigError(`container "${containerName}" not found in pod for resourceFieldRef`);
  const [kind, res] = resource.split('.', 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || !res) {
    throw new ContainerConfigError(`unsupported container resource: ${resource}`);
  }
  let value = c.resources?.[kind]?.[res];
  if (value === undefined && kind === 'limits') value = net.nodeAllocatable[res];
  if (value === undefined) value = '0';
  const q = parseQuantity(value).toNumber();
  const d = parseQuantity(divisor && divisor !== '' ? divisor : res === 'cpu' ? '1' : '1').toNumber();
  if (d === 0) throw new ContainerConfigError(`invalid divisor ${divisor} for ${resource}`);
  return String(Math.ceil(q / d));
}

/**
 * The container's environment in the order upstream builds it; later entries win for a repeated
 * name. Throws ContainerConfigError for a missing non-optional ConfigMap/Secret/key.
 */
export async function resolveEnv(
  pod: Pod,
  container: Container,
  src: EnvSources,
  net: PodNetworkInfo,
): Promise<KeyValue[]> {
  const ns = pod.metadata.namespace ?? 'default';
  const values = new Map<string, string>();
  const svcLinks =
    pod.spec.enableServiceLinks === false
      ? src.services(ns).filter((s) => s.metadata.name === 'kubernetes' && s.metadata.namespace === 'default')
      : src.services(ns);
  const svcEnv = serviceEnv(svcLinks);

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const cm = await src.configMap(ns, name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        const key = prefix + k;
        if (ENV_NAME.test(key)) values.set(key, v);
      }
    }
    if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const secret = await src.secret(ns, name);
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      for (const k of secretKeys(secret)) {
        const key = prefix + k;
        const v = decodeSecret(secret, k);
        if (ENV_NAME.test(key) && v !== undefined) values.set(key, v);
      }
    }
  }

  // $(VAR) in env values sees envFrom, earlier env entries and the Service links.
  const svcMap = new Map(svcEnv.map((e) => [e.name, e.value]));
  const lookup = (name: string): string | undefined => values.get(name) ?? svcMap.get(name);
  for (const e of container.env ?? []) {
    if (e.valueFrom === undefined) {
      values.set(e.name, expandVars(e.value ?? '', lookup));
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) {
      values.set(e.name, podFieldValue(pod, vf.fieldRef.fieldPath, net));
    } else if (vf.resourceFieldRef) {
      const r = vf.resourceFieldRef;
      values.set(e.name, resourceFieldValue(pod, r.containerName || container.name, r.resource, r.divisor, net));
    } else if (vf.configMapKeyRef) {
      const ref = vf.configMapKeyRef;
      const cm = await src.configMap(ns, ref.name ?? '');
      if (!cm) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`configmap "${ref.name ?? ''}" not found`);
      }
      const v = cm.data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name ?? ''}`);
      }
      values.set(e.name, v);
    } else if (vf.secretKeyRef) {
      const ref = vf.secretKeyRef;
      const secret = await src.secret(ns, ref.name ?? '');
      if (!secret) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`secret "${ref.name ?? ''}" not found`);
      }
      const v = decodeSecret(secret, ref.key);
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name ?? ''}`);
      }
      values.set(e.name, v);
    }
  }
  // Service links fill in only names the pod did not define itself.
  for (const e of svcEnv) if (!values.has(e.name)) values.set(e.name, e.value);
  return [...values].map(([name, value]) => ({ name, value }));
}

/** `command`/`args` with `$(VAR)` expanded from the resolved environment, as upstream does. */
export function expandCommand(argv: string[] | undefined, env: KeyValue[]): string[] | undefined {
  if (argv === undefined) return undefined;
  const m = new Map(env.map((e) => [e.name, e.value]));
  return argv.map((a) => expandVars(a, (n) => m.get(n)));
}
