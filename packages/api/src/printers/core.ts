// core/v1 (other than pods), coordination and discovery rows, after upstream printService,
// printEndpoints, printNode, printNamespace, printEvent, printConfigMap, printSecret,
// printServiceAccount, printPersistentVolume(Claim), printLease, printEndpointSlice.
import { formatLabels } from '../labels.js';
import { tryParseQuantity } from '../quantity.js';
import type {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  Node,
  PersistentVolume,
  PersistentVolumeAccessMode,
  PersistentVolumeClaim,
  Secret,
  Service,
  ServiceAccount,
} from '../types/core.js';
import type { EndpointSlice, Lease } from '../types/misc.js';
import { ageCol, col, int, nameCol, type Printer } from './common.js';
import { timestampSince } from './duration.js';

const LOAD_BALANCER_WIDTH = 16;

function loadBalancerIngress(svc: Service, wide: boolean): string {
  // One entry per ingress (IP, else hostname), de-duplicated and sorted like upstream's string set.
  const set = new Set<string>();
  for (const i of svc.status?.loadBalancer?.ingress ?? []) {
    if (i.ip) set.add(i.ip);
    else if (i.hostname) set.add(i.hostname);
  }
  let r = [...set].sort().join(',');
  if (!wide && r.length > LOAD_BALANCER_WIDTH) r = `${r.slice(0, LOAD_BALANCER_WIDTH - 3)}...`;
  return r;
}

function serviceExternalIP(svc: Service): string {
  const spec = svc.spec ?? {};
  const ext = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return ext.length > 0 ? ext.join(',') : '<none>';
    case 'LoadBalancer': {
      // The server prints tables wide, so the ingress list is never truncated here.
      const lb = loadBalancerIngress(svc, true);
      if (ext.length > 0) return [...(lb === '' ? [] : lb.split(',')), ...ext].join(',');
      return lb !== '' ? lb : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** PORT(S): `80/TCP`, `80:30080/TCP`, comma-joined. */
export function servicePorts(svc: Service): string {
  const s = (svc.spec?.ports ?? [])
    .map((p) =>
      p.nodePort !== undefined && p.nodePort > 0
        ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}`
        : `${p.port}/${p.protocol ?? 'TCP'}`,
    )
    .join(',');
  return s === '' ? '<none>' : s;
}

export const servicePrinter: Printer<Service> = {
  columns: [
    nameCol,
    col(
      'Type',
      'string',
      'type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.',
    ),
    col('Cluster-IP', 'string', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
    col(
      'External-IP',
      'string',
      'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
    ),
    col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
    ageCol,
    col('Selector', 'string', 'Route service traffic to pods with label keys and values matching this selector.', true),
  ],
  cells(svc, ctx) {
    const spec = svc.spec ?? {};
    const clusterIP =
      spec.clusterIPs?.[0] ?? (spec.clusterIP !== undefined && spec.clusterIP !== '' ? spec.clusterIP : '<none>');
    return [
      svc.metadata.name ?? '',
      spec.type ?? '',
      clusterIP,
      serviceExternalIP(svc),
      servicePorts(svc),
      timestampSince(svc.metadata.creationTimestamp, ctx.now),
      formatLabels(spec.selector),
    ];
  },
};

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** ENDPOINTS: up to three `ip:port`, then ` + N more...`; `<none>` when empty. */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a.ip);
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(a.ip, p.port));
      }
    }
  }
  const ret = list.join(',');
  // Subsets without addresses print as an empty cell, as upstream does.
  return more ? `${ret} + ${count - max} more...` : ret;
}

export const endpointsPrinter: Printer<Endpoints> = {
  columns: [nameCol, col('Endpoints', 'string', 'The set of all endpoints is the union of all subsets.'), ageCol],
  cells: (ep, ctx) => [
    ep.metadata.name ?? '',
    formatEndpoints(ep),
    timestampSince(ep.metadata.creationTimestamp, ctx.now),
  ],
};

function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

export const endpointSlicePrinter: Printer<EndpointSlice> = {
  columns: [
    nameCol,
    col('AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice.'),
    col('Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    col('Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'),
    ageCol,
  ],
  cells(es, ctx) {
    const max = 3;
    const ports: string[] = [];
    let pMore = false;
    let pCount = 0;
    for (const p of es.ports ?? []) {
      if (ports.length < max) ports.push(p.port !== undefined ? String(p.port) : p.name !== undefined ? p.name : '*');
      else pMore = true;
      pCount++;
    }
    const addrs: string[] = [];
    let aMore = false;
    let aCount = 0;
    for (const e of es.endpoints ?? []) {
      for (const a of e.addresses ?? []) {
        if (addrs.length < max) addrs.push(a);
        else aMore = true;
        aCount++;
      }
    }
    return [
      es.metadata.name ?? '',
      es.addressType ?? '',
      listWithMore(ports, pMore, pCount, max),
      listWithMore(addrs, aMore, aCount, max),
      timestampSince(es.metadata.creationTimestamp, ctx.now),
    ];
  },
};

/** ROLES: `node-role.kubernetes.io/<role>` label keys and `kubernetes.io/role` values, sorted. */
export function nodeRoles(node: Node): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role !== '') roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') {
      roles.add(v);
    }
  }
  return [...roles].sort();
}

export function nodeStatus(node: Node): string {
  const status: string[] = [];
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
  if (ready !== undefined) status.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  if (status.length === 0) status.push('Unknown');
  if (node.spec?.unschedulable === true) status.push('SchedulingDisabled');
  return status.join(',');
}

function nodeAddress(node: Node, type: string): string {
  return (node.status?.addresses ?? []).find((a) => a.type === type)?.address ?? '<none>';
}

export const nodePrinter: Printer<Node> = {
  columns: [
    nameCol,
    col('Status', 'string', 'The status of the node'),
    col('Roles', 'string', 'The roles of the node'),
    ageCol,
    col('Version', 'string', 'Kubelet Version reported by the node.'),
    col(
      'Internal-IP',
      'string',
      "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
      true,
    ),
    col(
      'External-IP',
      'string',
      "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
      true,
    ),
    col(
      'OS-Image',
      'string',
      'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
      true,
    ),
    col(
      'Kernel-Version',
      'string',
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      true,
    ),
    col(
      'Container-Runtime',
      'string',
      'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
      true,
    ),
  ],
  cells(node, ctx) {
    const info = node.status?.nodeInfo ?? {};
    const roles = nodeRoles(node).join(',');
    return [
      node.metadata.name ?? '',
      nodeStatus(node),
      roles === '' ? '<none>' : roles,
      timestampSince(node.metadata.creationTimestamp, ctx.now),
      info.kubeletVersion ?? '',
      nodeAddress(node, 'InternalIP'),
      nodeAddress(node, 'ExternalIP'),
      info.osImage || '<unknown>',
      info.kernelVersion || '<unknown>',
      info.containerRuntimeVersion || '<unknown>',
    ];
  },
};

export const namespacePrinter: Printer<Namespace> = {
  columns: [nameCol, col('Status', 'string', 'The status of the namespace'), ageCol],
  cells: (ns, ctx) => [
    ns.metadata.name ?? '',
    ns.status?.phase ?? '',
    timestampSince(ns.metadata.creationTimestamp, ctx.now),
  ],
};

export const eventPrinter: Printer<Event> = {
  columns: [
    col('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
    col('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
    col(
      'Reason',
      'string',
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    col('Object', 'string', 'The object that this event is about.'),
    col(
      'Subobject',
      'string',
      'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].',
      true,
    ),
    col(
      'Source',
      'string',
      'The component reporting this event. Should be a short machine understandable string.',
      true,
    ),
    col('Message', 'string', 'A human-readable description of the status of this operation.'),
    col(
      'First Seen',
      'string',
      'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
      true,
    ),
    col('Count', 'string', 'The number of times this event has occurred.', true),
    {
      name: 'Name',
      type: 'string',
      format: 'name',
      description: 'Name must be unique within a namespace.',
      priority: 1,
    },
  ],
  cells(ev, ctx) {
    let first = timestampSince(ev.firstTimestamp, ctx.now);
    if (!ev.firstTimestamp) first = timestampSince(ev.eventTime, ctx.now);
    let last = timestampSince(ev.lastTimestamp, ctx.now);
    if (!ev.lastTimestamp) last = first;
    let count = int(ev.count);
    if (ev.series !== undefined) {
      last = timestampSince(ev.series.lastObservedTime, ctx.now);
      count = int(ev.series.count);
    } else if (count === 0) {
      count = 1;
    }
    const io = ev.involvedObject ?? {};
    const kind = (io.kind ?? '').toLowerCase();
    const target = io.name ? `${kind}/${io.name}` : kind;
    const component = ev.source?.component || ev.reportingComponent || '';
    const host = ev.source?.host || ev.reportingInstance || '';
    const source = host === '' ? component : `${component}, ${host}`;
    return [
      last,
      ev.type ?? '',
      ev.reason ?? '',
      target,
      io.fieldPath ?? '',
      source,
      (ev.message ?? '').trim(),
      first,
      count,
      ev.metadata.name ?? '',
    ];
  },
};

export const configMapPrinter: Printer<ConfigMap> = {
  columns: [nameCol, col('Data', 'string', 'Data contains the configuration data.'), ageCol],
  cells: (cm, ctx) => [
    cm.metadata.name ?? '',
    Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length,
    timestampSince(cm.metadata.creationTimestamp, ctx.now),
  ],
};

export const secretPrinter: Printer<Secret> = {
  columns: [
    nameCol,
    col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
    col('Data', 'string', 'Data contains the secret data.'),
    ageCol,
  ],
  cells: (s, ctx) => [
    s.metadata.name ?? '',
    s.type ?? '',
    Object.keys(s.data ?? {}).length,
    timestampSince(s.metadata.creationTimestamp, ctx.now),
  ],
};

export const serviceAccountPrinter: Printer<ServiceAccount> = {
  columns: [
    nameCol,
    col(
      'Secrets',
      'string',
      'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
    ),
    ageCol,
  ],
  cells: (sa, ctx) => [
    sa.metadata.name ?? '',
    (sa.secrets ?? []).length,
    timestampSince(sa.metadata.creationTimestamp, ctx.now),
  ],
};

export const leasePrinter: Printer<Lease> = {
  columns: [
    nameCol,
    col('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'),
    ageCol,
  ],
  cells: (l, ctx) => [
    l.metadata.name ?? '',
    l.spec?.holderIdentity ?? '',
    timestampSince(l.metadata.creationTimestamp, ctx.now),
  ],
};

/** ACCESS MODES: RWO, ROX, RWX, RWOP in that order. */
export function accessModesString(modes: readonly PersistentVolumeAccessMode[] | undefined): string {
  const m = modes ?? [];
  const out: string[] = [];
  if (m.includes('ReadWriteOnce')) out.push('RWO');
  if (m.includes('ReadOnlyMany')) out.push('ROX');
  if (m.includes('ReadWriteMany')) out.push('RWX');
  if (m.includes('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

function quantityString(v: string | undefined): string {
  return tryParseQuantity(v)?.toString() ?? '0';
}

const STORAGE_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

export const persistentVolumePrinter: Printer<PersistentVolume> = {
  columns: [
    nameCol,
    col('Capacity', 'string', "capacity is the description of the persistent volume's resources and capacity."),
    col('Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'),
    col(
      'Reclaim Policy',
      'string',
      'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.',
    ),
    col('Status', 'string', 'phase indicates if a volume is available, bound to a claim, or released by a claim.'),
    col(
      'Claim',
      'string',
      'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
    ),
    col(
      'StorageClass',
      'string',
      'storageClassName is the name of StorageClass to which this persistent volume belongs.',
    ),
    col('VolumeAttributesClass', 'string', 'Name of VolumeAttributesClass to which this persistent volume belongs.'),
    col(
      'Reason',
      'string',
      'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.',
    ),
    ageCol,
    col(
      'VolumeMode',
      'string',
      'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.',
      true,
    ),
  ],
  cells(pv, ctx) {
    const spec = pv.spec ?? {};
    const claim = spec.claimRef !== undefined ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
    const phase = pv.metadata.deletionTimestamp ? 'Terminating' : (pv.status?.phase ?? '');
    const sc = pv.metadata.annotations?.[STORAGE_CLASS_ANNOTATION] ?? spec.storageClassName ?? '';
    return [
      pv.metadata.name ?? '',
      quantityString(spec.capacity?.storage),
      accessModesString(spec.accessModes),
      spec.persistentVolumeReclaimPolicy ?? '',
      phase,
      claim,
      sc,
      spec.volumeAttributesClassName ?? '<unset>',
      pv.status?.reason ?? '',
      timestampSince(pv.metadata.creationTimestamp, ctx.now),
      spec.volumeMode ?? '<unset>',
    ];
  },
};

export const persistentVolumeClaimPrinter: Printer<PersistentVolumeClaim> = {
  columns: [
    nameCol,
    col('Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'),
    col('Volume', 'string', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
    col('Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'),
    col('Access Modes', 'string', 'accessModes contains the actual access modes the volume backing the PVC has.'),
    col('StorageClass', 'string', 'storageClassName is the name of the StorageClass required by the claim.'),
    col(
      'VolumeAttributesClass',
      'string',
      'volumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.',
    ),
    ageCol,
    col('VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', true),
  ],
  cells(pvc, ctx) {
    const spec = pvc.spec ?? {};
    const phase = pvc.metadata.deletionTimestamp ? 'Terminating' : (pvc.status?.phase ?? '');
    let capacity = '';
    let modes = '';
    if (spec.volumeName !== undefined && spec.volumeName !== '') {
      modes = accessModesString(pvc.status?.accessModes);
      capacity = quantityString(pvc.status?.capacity?.storage);
    }
    const sc = pvc.metadata.annotations?.[STORAGE_CLASS_ANNOTATION] ?? spec.storageClassName ?? '';
    return [
      pvc.metadata.name ?? '',
      phase,
      spec.volumeName ?? '',
      capacity,
      modes,
      sc,
      spec.volumeAttributesClassName ?? '<unset>',
      timestampSince(pvc.metadata.creationTimestamp, ctx.now),
      spec.volumeMode ?? '<unset>',
    ];
  },
};
