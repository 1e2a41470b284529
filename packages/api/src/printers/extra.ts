// Rows for the policy, autoscaling, rbac, networking, storage and scheduling kinds (upstream
// printPodDisruptionBudget, printHorizontalPodAutoscaler, printRole(Binding), printIngress,
// printIngressClass, printNetworkPolicy, printStorageClass, printPriorityClass). These kinds are
// stored and served as plain objects, so the printers read them loosely.
import { formatLabelSelector } from '../labels.js';
import type { KubeObject } from '../types/meta.js';
import { ageCol, col, nameCol, type Printer } from './common.js';
import { timestampSince } from './duration.js';

type Loose = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export const podDisruptionBudgetPrinter: Printer<Loose> = {
  columns: [
    nameCol,
    col('Min Available', 'string', 'The minimum number of pods that must be available.'),
    col('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
    col('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'),
    ageCol,
  ],
  cells(p, ctx) {
    const spec = rec(p.spec);
    return [
      p.metadata.name ?? '',
      str(spec.minAvailable) ?? 'N/A',
      str(spec.maxUnavailable) ?? 'N/A',
      typeof p.status?.disruptionsAllowed === 'number' ? p.status.disruptionsAllowed : 0,
      timestampSince(p.metadata.creationTimestamp, ctx.now),
    ];
  },
};

function hpaTargets(spec: Record<string, unknown>, status: Record<string, unknown>): string {
  const metrics = arr(spec.metrics);
  if (metrics.length === 0) return '<none>';
  const current = arr(status.currentMetrics);
  return metrics
    .map((m, i) => {
      const metric = rec(m);
      if (metric.type !== 'Resource') return `<unknown>/${String(metric.type ?? '')}`;
      const res = rec(metric.resource);
      const target = rec(res.target);
      const now = rec(rec(current[i]).resource);
      const nowValue = rec(now.current);
      if (target.type === 'Utilization') {
        const have = typeof nowValue.averageUtilization === 'number' ? `${nowValue.averageUtilization}%` : '<unknown>';
        return `${String(res.name ?? '')}: ${have}/${String(target.averageUtilization ?? '')}%`;
      }
      const want = str(target.averageValue) ?? str(target.value) ?? '';
      const have = str(nowValue.averageValue) ?? str(nowValue.value) ?? '<unknown>';
      return `${String(res.name ?? '')}: ${have}/${want}`;
    })
    .join(', ');
}

export const horizontalPodAutoscalerPrinter: Printer<Loose> = {
  columns: [
    nameCol,
    col('Reference', 'string', 'scaleTargetRef points to the target resource to scale.'),
    col(
      'Targets',
      'string',
      'metrics contains the specifications for which to use to calculate the desired replica count.',
    ),
    col('MinPods', 'string', 'minReplicas is the lower limit for the number of replicas.'),
    col('MaxPods', 'string', 'maxReplicas is the upper limit for the number of replicas.'),
    col('Replicas', 'string', 'currentReplicas is current number of replicas of pods managed by this autoscaler.'),
    ageCol,
  ],
  cells(h, ctx) {
    const spec = rec(h.spec);
    const ref = rec(spec.scaleTargetRef);
    return [
      h.metadata.name ?? '',
      `${String(ref.kind ?? '')}/${String(ref.name ?? '')}`,
      hpaTargets(spec, rec(h.status)),
      str(spec.minReplicas) ?? '<unset>',
      str(spec.maxReplicas) ?? '0',
      str(h.status?.currentReplicas) ?? '0',
      timestampSince(h.metadata.creationTimestamp, ctx.now),
    ];
  },
};

/** Roles print their creation time as an RFC 3339 timestamp, not an age. */
export const rolePrinter: Printer<Loose> = {
  columns: [nameCol, col('Created At', 'date', 'The time the role was created.')],
  cells: (r) => [r.metadata.name ?? '', r.metadata.creationTimestamp ?? ''],
};

function subjects(b: Loose, kind: string): string {
  return arr((b as unknown as { subjects?: unknown }).subjects)
    .map(rec)
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${String(s.namespace ?? '')}/${String(s.name ?? '')}` : String(s.name)))
    .join(', ');
}

function bindingPrinter(what: string): Printer<Loose> {
  return {
    columns: [
      nameCol,
      col(
        'Role',
        'string',
        'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.',
      ),
      ageCol,
      col('Users', 'string', `Users in the ${what}`, true),
      col('Groups', 'string', `Groups in the ${what}`, true),
      col('ServiceAccounts', 'string', `ServiceAccounts in the ${what}`, true),
    ],
    cells(b, ctx) {
      const ref = rec((b as unknown as { roleRef?: unknown }).roleRef);
      return [
        b.metadata.name ?? '',
        `${String(ref.kind ?? '')}/${String(ref.name ?? '')}`,
        timestampSince(b.metadata.creationTimestamp, ctx.now),
        subjects(b, 'User'),
        subjects(b, 'Group'),
        subjects(b, 'ServiceAccount'),
      ];
    },
  };
}

export const roleBindingPrinter = bindingPrinter('roleBinding');
export const clusterRoleBindingPrinter = bindingPrinter('clusterRoleBinding');

export const ingressPrinter: Printer<Loose> = {
  columns: [
    nameCol,
    col('Class', 'string', 'The name of the IngressClass resource that should be used for additional configuration'),
    col('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
    col('Address', 'string', 'Address is a list containing ingress points for the load-balancer'),
    col('Ports', 'string', 'Ports of TLS configurations that open'),
    ageCol,
  ],
  cells(i, ctx) {
    const spec = rec(i.spec);
    const hosts = arr(spec.rules).map((r) => str(rec(r).host) ?? '*');
    const lb = arr(rec(rec(i.status).loadBalancer).ingress).map((x) => str(rec(x).ip) ?? str(rec(x).hostname) ?? '');
    return [
      i.metadata.name ?? '',
      str(spec.ingressClassName) ?? '<none>',
      hosts.length > 0 ? hosts.join(',') : '*',
      lb.join(','),
      arr(spec.tls).length > 0 ? '80, 443' : '80',
      timestampSince(i.metadata.creationTimestamp, ctx.now),
    ];
  },
};

export const ingressClassPrinter: Printer<Loose> = {
  columns: [
    nameCol,
    col('Controller', 'string', 'Controller that is responsible for handling this class'),
    col('Parameters', 'string', 'A reference to a resource with additional parameters'),
    ageCol,
  ],
  cells(c, ctx) {
    const spec = rec(c.spec);
    const p = rec(spec.parameters);
    const params =
      p.kind === undefined
        ? '<none>'
        : `${p.apiGroup ? `${String(p.apiGroup)}/` : ''}${String(p.kind)}/${String(p.name)}`;
    return [
      c.metadata.name ?? '',
      str(spec.controller) ?? '',
      params,
      timestampSince(c.metadata.creationTimestamp, ctx.now),
    ];
  },
};

export const networkPolicyPrinter: Printer<Loose> = {
  columns: [
    nameCol,
    col('Pod-Selector', 'string', 'Selects the pods to which this NetworkPolicy object applies.'),
    ageCol,
  ],
  cells(n, ctx) {
    let selector: string;
    try {
      selector = formatLabelSelector(rec(n.spec).podSelector as never);
    } catch {
      selector = '<invalid>';
    }
    return [n.metadata.name ?? '', selector, timestampSince(n.metadata.creationTimestamp, ctx.now)];
  },
};

export const storageClassPrinter: Printer<Loose> = {
  columns: [
    nameCol,
    col('Provisioner', 'string', 'provisioner indicates the type of the provisioner.'),
    col(
      'ReclaimPolicy',
      'string',
      'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.',
    ),
    col(
      'VolumeBindingMode',
      'string',
      'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.',
    ),
    col('AllowVolumeExpansion', 'string', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
    ageCol,
  ],
  cells(s, ctx) {
    const o = s as unknown as Record<string, unknown>;
    const isDefault =
      s.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true' ||
      s.metadata.annotations?.['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
    return [
      `${s.metadata.name ?? ''}${isDefault ? ' (default)' : ''}`,
      str(o.provisioner) ?? '',
      str(o.reclaimPolicy) ?? 'Delete',
      str(o.volumeBindingMode) ?? 'Immediate',
      o.allowVolumeExpansion === true ? 'true' : 'false',
      timestampSince(s.metadata.creationTimestamp, ctx.now),
    ];
  },
};

export const priorityClassPrinter: Printer<Loose> = {
  columns: [
    nameCol,
    col('Value', 'integer', 'value represents the integer value of this priority class.'),
    col(
      'Global-Default',
      'boolean',
      'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.',
    ),
    ageCol,
    col('PreemptionPolicy', 'string', 'preemptionPolicy is the Policy for preempting pods with lower priority.'),
  ],
  cells(p, ctx) {
    const o = p as unknown as Record<string, unknown>;
    return [
      p.metadata.name ?? '',
      typeof o.value === 'number' ? o.value : 0,
      o.globalDefault === true,
      timestampSince(p.metadata.creationTimestamp, ctx.now),
      str(o.preemptionPolicy) ?? 'PreemptLowerPriority',
    ];
  },
};
