// Pod and pod-template validation (the parts of upstream ValidatePodSpec users meet most): containers,
// ports, env, resources, volume mounts, restart/DNS policies, tolerations; plus the pod update rule.
import { parseQuantity, type Quantity } from '../quantity.js';
import type { Container, Pod, PodSpec, PodTemplateSpec, Probe, Toleration } from '../types/core.js';
import { type FieldError, fieldErr } from './field-error.js';
import { goQuote } from './go-format.js';
import { validateAnnotations, validateLabels, validateNonnegative } from './meta.js';
import {
  inclusiveRangeError,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName as isQualifiedKey,
  isValidPortName,
  isValidPortNum,
} from './names.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const TERMINATION_MESSAGE_POLICIES = ['FallbackToLogsOnError', 'File'];
const RELAXED_ENV_MSG =
  "a valid environment variable name must consist only of printable ASCII characters other than '='";

function validatePorts(c: Container, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (c.ports ?? []).forEach((p, i) => {
    const ip = `${path}.ports[${i}]`;
    if (p.name !== undefined && p.name !== '') {
      const msgs = isValidPortName(p.name);
      if (msgs.length > 0) for (const m of msgs) errs.push(fieldErr.invalid(`${ip}.name`, p.name, m));
      else if (names.has(p.name)) errs.push(fieldErr.duplicate(`${ip}.name`, p.name));
      else names.add(p.name);
    }
    if (p.containerPort === undefined || p.containerPort === 0) errs.push(fieldErr.required(`${ip}.containerPort`));
    else
      for (const m of isValidPortNum(p.containerPort))
        errs.push(fieldErr.invalid(`${ip}.containerPort`, p.containerPort, m));
    if (p.hostPort !== undefined && p.hostPort !== 0) {
      for (const m of isValidPortNum(p.hostPort)) errs.push(fieldErr.invalid(`${ip}.hostPort`, p.hostPort, m));
    }
    if (p.protocol === undefined || (p.protocol as string) === '') errs.push(fieldErr.required(`${ip}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) errs.push(fieldErr.notSupported(`${ip}.protocol`, p.protocol, PROTOCOLS));
  });
  return errs;
}

function validateEnv(c: Container, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (c.env ?? []).forEach((e, i) => {
    const ip = `${path}.env[${i}]`;
    if (e.name === undefined || e.name === '') errs.push(fieldErr.required(`${ip}.name`));
    // 1.32 enables RelaxedEnvironmentVariableValidation: any printable ASCII but '='.
    else if (!/^[\x20-\x7e]+$/.test(e.name) || e.name.includes('='))
      errs.push(fieldErr.invalid(`${ip}.name`, e.name, RELAXED_ENV_MSG));
    if (e.valueFrom !== undefined) {
      const sources = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter(
        (k) => (e.valueFrom as Record<string, unknown>)[k] !== undefined,
      );
      if (sources.length === 0) {
        errs.push(
          fieldErr.invalid(
            `${ip}.valueFrom`,
            '',
            'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
          ),
        );
      } else if (sources.length > 1) {
        errs.push(fieldErr.invalid(`${ip}.valueFrom`, '', 'may not have more than one field specified at a time'));
      }
      if (e.value !== undefined && e.value !== '') {
        errs.push(fieldErr.invalid(`${ip}.valueFrom`, '', 'may not be specified when `value` is not empty'));
      }
    }
  });
  return errs;
}

function validateResources(c: Container, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const parsed: Record<'limits' | 'requests', Map<string, Quantity>> = { limits: new Map(), requests: new Map() };
  for (const kind of ['limits', 'requests'] as const) {
    for (const [name, value] of Object.entries(c.resources?.[kind] ?? {})) {
      const f = `${path}.resources.${kind}[${name}]`;
      try {
        const q = parseQuantity(value);
        if (q.sign() < 0) errs.push(fieldErr.invalid(f, q.toString(), 'must be greater than or equal to 0'));
        parsed[kind].set(name, q);
      } catch (err) {
        errs.push(fieldErr.invalid(f, value, (err as Error).message));
      }
    }
  }
  for (const [name, req] of parsed.requests) {
    const lim = parsed.limits.get(name);
    if (lim !== undefined && req.cmp(lim) > 0) {
      errs.push(
        // Upstream reports this one on `requests` itself, not on the keyed entry.
        fieldErr.invalid(
          `${path}.resources.requests`,
          req.toString(),
          `must be less than or equal to ${name} limit of ${lim.toString()}`,
        ),
      );
    }
  }
  return errs;
}

function validateProbe(p: Probe | undefined, path: string): FieldError[] {
  if (p === undefined) return [];
  const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter(
    (k) => (p as Record<string, unknown>)[k] !== undefined,
  );
  const errs: FieldError[] = [];
  if (handlers.length === 0) errs.push(fieldErr.required(path, 'must specify a handler type'));
  else if (handlers.length > 1)
    errs.push(fieldErr.forbidden(`${path}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  for (const k of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ] as const) {
    errs.push(...validateNonnegative(p[k], `${path}.${k}`));
  }
  return errs;
}

function validateContainer(c: Container, path: string, volumes: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  if (c.image === undefined || c.image.trim() === '') errs.push(fieldErr.required(`${path}.image`));
  if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy)) {
    errs.push(fieldErr.notSupported(`${path}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  }
  if (c.terminationMessagePolicy !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy)) {
    errs.push(
      fieldErr.notSupported(
        `${path}.terminationMessagePolicy`,
        c.terminationMessagePolicy,
        TERMINATION_MESSAGE_POLICIES,
      ),
    );
  }
  errs.push(...validatePorts(c, path));
  errs.push(...validateEnv(c, path));
  errs.push(...validateResources(c, path));
  (c.volumeMounts ?? []).forEach((m, i) => {
    const ip = `${path}.volumeMounts[${i}]`;
    if (m.name === undefined || m.name === '') errs.push(fieldErr.required(`${ip}.name`));
    else if (!volumes.has(m.name)) errs.push(fieldErr.notFound(`${ip}.name`, m.name));
    if (m.mountPath === undefined || m.mountPath === '') errs.push(fieldErr.required(`${ip}.mountPath`));
  });
  errs.push(...validateProbe(c.livenessProbe, `${path}.livenessProbe`));
  errs.push(...validateProbe(c.readinessProbe, `${path}.readinessProbe`));
  errs.push(...validateProbe(c.startupProbe, `${path}.startupProbe`));
  return errs;
}

function goToleration(t: Toleration): string {
  const secs = t.tolerationSeconds === undefined ? '(*int64)(nil)' : `(*int64)(${t.tolerationSeconds})`;
  return `core.Toleration{Key:${goQuote(t.key ?? '')}, Operator:${goQuote(t.operator ?? '')}, Value:${goQuote(t.value ?? '')}, Effect:${goQuote(t.effect ?? '')}, TolerationSeconds:${secs}}`;
}

function validateTolerations(ts: Toleration[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (ts ?? []).forEach((t, i) => {
    const ip = `${path}[${i}]`;
    if (t.key !== undefined && t.key !== '')
      for (const m of isQualifiedKey(t.key)) errs.push(fieldErr.invalid(`${ip}.key`, t.key, m));
    if ((t.key === undefined || t.key === '') && t.operator !== 'Exists') {
      errs.push(
        fieldErr.invalid(
          `${ip}.operator`,
          t.operator ?? '',
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      errs.push(
        fieldErr.invalid(`${ip}.effect`, t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"),
      );
    }
    if (t.operator === 'Exists' && t.value !== undefined && t.value !== '') {
      errs.push(
        fieldErr.invalid(`${ip}.operator`, { go: goToleration(t) }, "value must be empty when `operator` is 'Exists'"),
      );
    } else if (t.operator !== undefined && t.operator !== 'Exists' && t.operator !== 'Equal') {
      errs.push(fieldErr.notSupported(`${ip}.operator`, t.operator, ['Equal', 'Exists']));
    }
    if (
      t.effect !== undefined &&
      (t.effect as string) !== '' &&
      !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect)
    ) {
      errs.push(fieldErr.notSupported(`${ip}.effect`, t.effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
    }
  });
  return errs;
}

export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (spec === undefined) return [fieldErr.required(path)];
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    const ip = `${path}.volumes[${i}]`;
    if (v.name === undefined || v.name === '') errs.push(fieldErr.required(`${ip}.name`));
    else {
      for (const m of isDNS1123Label(v.name)) errs.push(fieldErr.invalid(`${ip}.name`, v.name, m));
      if (volumes.has(v.name)) errs.push(fieldErr.duplicate(`${ip}.name`, v.name));
      volumes.add(v.name);
    }
  });
  const names = new Set<string>();
  const checkName = (c: Container, p: string) => {
    if (c.name === undefined || c.name === '') errs.push(fieldErr.required(`${p}.name`));
    else {
      for (const m of isDNS1123Label(c.name)) errs.push(fieldErr.invalid(`${p}.name`, c.name, m));
      if (names.has(c.name)) errs.push(fieldErr.duplicate(`${p}.name`, c.name));
      names.add(c.name);
    }
  };
  (spec.initContainers ?? []).forEach((c, i) => {
    const p = `${path}.initContainers[${i}]`;
    checkName(c, p);
    errs.push(...validateContainer(c, p, volumes));
    if (c.restartPolicy !== undefined && c.restartPolicy !== 'Always') {
      errs.push(fieldErr.notSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']));
    }
  });
  if (spec.containers === undefined || spec.containers.length === 0) errs.push(fieldErr.required(`${path}.containers`));
  (spec.containers ?? []).forEach((c, i) => {
    const p = `${path}.containers[${i}]`;
    checkName(c, p);
    errs.push(...validateContainer(c, p, volumes));
    if (c.restartPolicy !== undefined)
      errs.push(fieldErr.forbidden(`${p}.restartPolicy`, 'may not be set for non-init containers'));
  });
  if (spec.restartPolicy === undefined || (spec.restartPolicy as string) === '')
    errs.push(fieldErr.required(`${path}.restartPolicy`));
  else if (!RESTART_POLICIES.includes(spec.restartPolicy))
    errs.push(fieldErr.notSupported(`${path}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES));
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(spec.dnsPolicy)) {
    errs.push(fieldErr.notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  }
  errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  if (
    spec.activeDeadlineSeconds !== undefined &&
    (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > 2147483647)
  ) {
    errs.push(
      fieldErr.invalid(`${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, inclusiveRangeError(1, 2147483647)),
    );
  }
  if (spec.serviceAccountName !== undefined && spec.serviceAccountName !== '') {
    for (const m of isDNS1123Subdomain(spec.serviceAccountName)) {
      errs.push(fieldErr.invalid(`${path}.serviceAccountName`, spec.serviceAccountName, m));
    }
  }
  if (spec.nodeName !== undefined && spec.nodeName !== '') {
    for (const m of isDNS1123Subdomain(spec.nodeName))
      errs.push(fieldErr.invalid(`${path}.nodeName`, spec.nodeName, m));
  }
  for (const [f, v] of [
    ['hostname', spec.hostname],
    ['subdomain', spec.subdomain],
  ] as const) {
    if (v !== undefined && v !== '')
      for (const m of isDNS1123Label(v)) errs.push(fieldErr.invalid(`${path}.${f}`, v, m));
  }
  errs.push(...validateTolerations(spec.tolerations, `${path}.tolerations`));
  return errs;
}

export function validatePodTemplateSpec(t: PodTemplateSpec | undefined, path: string): FieldError[] {
  if (t === undefined) return [fieldErr.required(path)];
  return [
    ...validateLabels(t.metadata?.labels, `${path}.metadata.labels`),
    ...validateAnnotations(t.metadata?.annotations, `${path}.metadata.annotations`),
    ...validatePodSpec(t.spec, `${path}.spec`),
  ];
}

export const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val !== null && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : val,
  );
}

/**
 * ValidatePodUpdate's spec rule: only images, activeDeadlineSeconds, added tolerations and
 * terminationGracePeriodSeconds may change (nodeName only through the binding subresource).
 * Upstream appends a struct diff to the message; kemu gives the rule alone.
 */
export function validatePodSpecUpdate(newPod: Pod, oldPod: Pod): FieldError[] {
  const strip = (p: Pod, tolerationsFrom: Toleration[] | undefined) => {
    const s = structuredClone(p.spec) as PodSpec;
    for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) c.image = '';
    s.activeDeadlineSeconds = undefined;
    s.terminationGracePeriodSeconds = undefined;
    s.tolerations = tolerationsFrom;
    return canonical(s);
  };
  const oldTolerations = oldPod.spec.tolerations ?? [];
  const newTolerations = newPod.spec.tolerations ?? [];
  const kept = oldTolerations.every((t) => newTolerations.some((n) => canonical(n) === canonical(t)));
  const errs: FieldError[] = [];
  if (strip(newPod, undefined) !== strip(oldPod, undefined))
    errs.push(fieldErr.forbidden('spec', POD_UPDATE_FORBIDDEN));
  else if (!kept)
    errs.push(
      fieldErr.forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'),
    );
  return errs;
}
