// Validation for the remaining core/v1, coordination and discovery kinds.
import type {
  Binding,
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  PersistentVolume,
  PersistentVolumeClaim,
  Secret,
  Service,
} from '../types/core.js';
import type { EndpointSlice, Lease } from '../types/misc.js';
import { type FieldError, fieldErr } from './field-error.js';
import { goStringSlice } from './go-format.js';
import { immutable, validateLabels } from './meta.js';
import {
  DNS1123SubdomainMaxLength,
  isDNS1123Label,
  isQualifiedName,
  isValidPortName,
  isValidPortNum,
  maxLenError,
} from './names.js';

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function isIP(s: string): boolean {
  return isIPv4(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));
}

export function validateService(svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errs.push(fieldErr.notSupported('spec.type', type, SERVICE_TYPES));
  const headless = spec.clusterIP === 'None';
  const ports = spec.ports ?? [];
  if (ports.length === 0 && !headless && type !== 'ExternalName') errs.push(fieldErr.required('spec.ports'));
  if (type === 'ExternalName') {
    if (spec.externalName === undefined || spec.externalName === '') errs.push(fieldErr.required('spec.externalName'));
  }
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const ip = `spec.ports[${i}]`;
    if (ports.length > 1 && (p.name === undefined || p.name === '')) errs.push(fieldErr.required(`${ip}.name`));
    if (p.name !== undefined && p.name !== '') {
      for (const m of isDNS1123Label(p.name)) errs.push(fieldErr.invalid(`${ip}.name`, p.name, m));
      if (names.has(p.name)) errs.push(fieldErr.duplicate(`${ip}.name`, p.name));
      names.add(p.name);
    }
    for (const m of isValidPortNum(p.port ?? 0)) errs.push(fieldErr.invalid(`${ip}.port`, p.port ?? 0, m));
    if (p.protocol === undefined || (p.protocol as string) === '') errs.push(fieldErr.required(`${ip}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) errs.push(fieldErr.notSupported(`${ip}.protocol`, p.protocol, PROTOCOLS));
    const tp = p.targetPort;
    if (typeof tp === 'number') {
      for (const m of isValidPortNum(tp)) errs.push(fieldErr.invalid(`${ip}.targetPort`, tp, m));
    } else if (typeof tp === 'string') {
      for (const m of isValidPortName(tp)) errs.push(fieldErr.invalid(`${ip}.targetPort`, tp, m));
    }
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') {
        errs.push(fieldErr.forbidden(`${ip}.nodePort`, `may not be used when \`type\` is '${type}'`));
      } else {
        for (const m of isValidPortNum(p.nodePort)) errs.push(fieldErr.invalid(`${ip}.nodePort`, p.nodePort, m));
      }
    }
  });
  errs.push(...validateLabels(spec.selector, 'spec.selector'));
  if (spec.sessionAffinity !== undefined && spec.sessionAffinity !== 'None' && spec.sessionAffinity !== 'ClientIP') {
    errs.push(fieldErr.notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
  }
  if (spec.clusterIP !== undefined && spec.clusterIP !== '' && spec.clusterIP !== 'None' && !isIP(spec.clusterIP)) {
    errs.push(
      fieldErr.invalid(
        'spec.clusterIPs[0]',
        spec.clusterIP,
        'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      ),
    );
  }
  (spec.externalIPs ?? []).forEach((ip, i) => {
    if (!isIP(ip))
      errs.push(
        fieldErr.invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'),
      );
  });
  return errs;
}

export function validateServiceUpdate(n: Service, o: Service): FieldError[] {
  const first = (svc: Service) => (svc.spec?.clusterIP ? svc.spec.clusterIP : (svc.spec?.clusterIPs?.[0] ?? ''));
  const oldIP = first(o);
  const newIP = first(n);
  // Clearing the IP is allowed only when switching to ExternalName; otherwise it may not change.
  if (oldIP !== '' && n.spec?.type !== 'ExternalName' && newIP !== '' && newIP !== oldIP) {
    const rest = (n.spec?.clusterIPs ?? []).slice(1);
    return [fieldErr.invalid('spec.clusterIPs[0]', { go: goStringSlice([newIP, ...rest]) }, 'may not change once set')];
  }
  return [];
}

export function validateNamespace(ns: Namespace): FieldError[] {
  const errs: FieldError[] = [];
  (ns.spec?.finalizers ?? []).forEach((f) => {
    const msgs = f === 'kubernetes' ? [] : isQualifiedName(f);
    for (const m of msgs) errs.push(fieldErr.invalid('spec.finalizers', f, m));
  });
  return errs;
}

const configKeyFmt = '[-._a-zA-Z0-9]+';
const configKeyRe = /^[-._a-zA-Z0-9]+$/;

/** IsConfigMapKey: keys of ConfigMap/Secret data. */
export function isConfigMapKey(key: string): string[] {
  const errs: string[] = [];
  if (key.length > DNS1123SubdomainMaxLength) errs.push(maxLenError(DNS1123SubdomainMaxLength));
  if (!configKeyRe.test(key)) {
    errs.push(
      `a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '${configKeyFmt}')`,
    );
  }
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

const MAX_DATA_BYTES = 1024 * 1024;

function validateDataKeys(maps: [string, Record<string, string> | undefined][]): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  for (const [field, data] of maps) {
    for (const key of Object.keys(data ?? {})) {
      for (const m of isConfigMapKey(key)) errs.push(fieldErr.invalid(`${field}[${key}]`, key, m));
      if (seen.has(key))
        errs.push(fieldErr.invalid(`${field}[${key}]`, key, 'duplicate of key present in the other data field'));
      seen.add(key);
    }
  }
  return errs;
}

export function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs = validateDataKeys([
    ['data', cm.data],
    ['binaryData', cm.binaryData],
  ]);
  let size = 0;
  for (const v of Object.values(cm.data ?? {})) size += Buffer.byteLength(v);
  for (const v of Object.values(cm.binaryData ?? {})) size += Buffer.from(v, 'base64').length;
  if (size > MAX_DATA_BYTES) {
    errs.push({ type: 'FieldValueTooLong', field: '', detail: `must have at most ${MAX_DATA_BYTES} bytes` });
  }
  return errs;
}

export function validateSecret(s: Secret): FieldError[] {
  const errs = validateDataKeys([['data', s.data]]);
  let size = 0;
  for (const v of Object.values(s.data ?? {})) size += Buffer.from(v, 'base64').length;
  if (size > MAX_DATA_BYTES)
    errs.push({ type: 'FieldValueTooLong', field: 'data', detail: `must have at most ${MAX_DATA_BYTES} bytes` });
  if (s.type === 'kubernetes.io/dockerconfigjson' && s.data?.['.dockerconfigjson'] === undefined) {
    errs.push(fieldErr.required('data[.dockerconfigjson]'));
  }
  return errs;
}

function immutableData(
  n: { data?: Record<string, string>; binaryData?: Record<string, string>; immutable?: boolean },
  o: typeof n,
): FieldError[] {
  if (o.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (n.immutable !== true) errs.push(fieldErr.forbidden('immutable', 'field is immutable when `immutable` is set'));
  if (JSON.stringify(n.data ?? {}) !== JSON.stringify(o.data ?? {})) {
    errs.push(fieldErr.forbidden('data', 'field is immutable when `immutable` is set'));
  }
  if (JSON.stringify(n.binaryData ?? {}) !== JSON.stringify(o.binaryData ?? {})) {
    errs.push(fieldErr.forbidden('binaryData', 'field is immutable when `immutable` is set'));
  }
  return errs;
}

export function validateConfigMapUpdate(n: ConfigMap, o: ConfigMap): FieldError[] {
  return immutableData(n, o);
}

export function validateSecretUpdate(n: Secret, o: Secret): FieldError[] {
  return [...immutable('type', n.type ?? '', (n.type ?? 'Opaque') !== (o.type ?? 'Opaque')), ...immutableData(n, o)];
}

export function validateEvent(ev: Event): FieldError[] {
  const errs: FieldError[] = [];
  const ns = ev.metadata.namespace ?? '';
  const ion = ev.involvedObject?.namespace ?? '';
  if (ion !== '' && ns !== ion)
    errs.push(fieldErr.invalid('involvedObject.namespace', ion, 'does not match event.namespace'));
  if (ev.type !== undefined && ev.type !== '' && ev.type !== 'Normal' && ev.type !== 'Warning') {
    errs.push(fieldErr.invalid('type', ev.type, 'has invalid value: ' + ev.type));
  }
  return errs;
}

export function validateLease(l: Lease): FieldError[] {
  const d = l.spec?.leaseDurationSeconds;
  return d !== undefined && d <= 0 ? [fieldErr.invalid('spec.leaseDurationSeconds', d, 'must be greater than 0')] : [];
}

export function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  (ep.subsets ?? []).forEach((ss, i) => {
    for (const [kind, addrs] of [
      ['addresses', ss.addresses],
      ['notReadyAddresses', ss.notReadyAddresses],
    ] as const) {
      (addrs ?? []).forEach((a, j) => {
        if (!isIP(a.ip ?? '')) {
          errs.push(
            fieldErr.invalid(
              `subsets[${i}].${kind}[${j}].ip`,
              a.ip ?? '',
              'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
            ),
          );
        }
      });
    }
    (ss.ports ?? []).forEach((p, j) => {
      for (const m of isValidPortNum(p.port)) errs.push(fieldErr.invalid(`subsets[${i}].ports[${j}].port`, p.port, m));
    });
  });
  return errs;
}

export function validateEndpointSlice(es: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  const types = ['FQDN', 'IPv4', 'IPv6'];
  if (!types.includes(es.addressType)) errs.push(fieldErr.notSupported('addressType', es.addressType ?? '', types));
  (es.endpoints ?? []).forEach((e, i) => {
    const n = e.addresses?.length ?? 0;
    if (n === 0) errs.push(fieldErr.required(`endpoints[${i}].addresses`, 'must contain at least 1 address'));
    else if (n > 100)
      errs.push({
        type: 'FieldValueTooMany',
        field: `endpoints[${i}].addresses`,
        detail: `must have at most 100 items`,
      });
  });
  return errs;
}

export function validatePersistentVolume(pv: PersistentVolume): FieldError[] {
  const errs: FieldError[] = [];
  const spec = pv.spec ?? {};
  if ((spec.accessModes ?? []).length === 0) errs.push(fieldErr.required('spec.accessModes'));
  if (spec.capacity?.storage === undefined) errs.push(fieldErr.required('spec.capacity'));
  const sources = ['hostPath', 'local'].filter((k) => (spec as Record<string, unknown>)[k] !== undefined);
  if (sources.length === 0) errs.push(fieldErr.required('spec', 'must specify a volume type'));
  return errs;
}

export function validatePersistentVolumeClaim(pvc: PersistentVolumeClaim): FieldError[] {
  const errs: FieldError[] = [];
  const spec = pvc.spec ?? {};
  if ((spec.accessModes ?? []).length === 0) {
    errs.push(fieldErr.required('spec.accessModes', 'at least 1 access mode is required'));
  }
  if (spec.resources?.requests?.storage === undefined) errs.push(fieldErr.required('spec.resources[storage]'));
  return errs;
}

export function validateBinding(b: Binding): FieldError[] {
  const errs: FieldError[] = [];
  if (b.target?.name === undefined || b.target.name === '') errs.push(fieldErr.required('target.name'));
  if (b.target?.kind !== undefined && b.target.kind !== '' && b.target.kind !== 'Node') {
    errs.push(fieldErr.notSupported('target.kind', b.target.kind, ['Node', '<empty>']));
  }
  return errs;
}
