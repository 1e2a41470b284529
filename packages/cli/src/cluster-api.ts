/**
 * The few apiserver calls the launcher makes itself, over plain HTTP as kubectl does: node readiness
 * (what `up --detach` waits for and `status` shows) and the bootstrap objects `up` applies.
 */
export interface NodeView {
  name: string;
  /** The Ready condition's status: 'True', 'False', 'Unknown', or '' when the node has none yet. */
  ready: string;
  unschedulable: boolean;
  roles: string[];
}

interface NodeList {
  items?: Array<{
    metadata?: { name?: string; labels?: Record<string, string> };
    spec?: { unschedulable?: boolean };
    status?: { conditions?: Array<{ type?: string; status?: string }> };
  }>;
}

export async function listNodes(apiserverUrl: string, timeoutMs = 2000): Promise<NodeView[]> {
  const res = await fetch(`${apiserverUrl}/api/v1/nodes`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET /api/v1/nodes: HTTP ${res.status}`);
  const list = (await res.json()) as NodeList;
  return (list.items ?? []).map((n) => ({
    name: n.metadata?.name ?? '',
    ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '',
    unschedulable: n.spec?.unschedulable === true,
    roles: Object.keys(n.metadata?.labels ?? {})
      .filter((k) => k.startsWith('node-role.kubernetes.io/'))
      .map((k) => k.slice('node-role.kubernetes.io/'.length)),
  }));
}

/** Creates an object unless it exists (409 AlreadyExists counts as done). Returns whether it created it. */
export async function ensureObject(apiserverUrl: string, collectionPath: string, obj: unknown): Promise<boolean> {
  const res = await fetch(`${apiserverUrl}${collectionPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(obj),
    signal: AbortSignal.timeout(5000),
  });
  if (res.status === 409) return false;
  if (!res.ok) throw new Error(`POST ${collectionPath}: HTTP ${res.status} ${await res.text()}`);
  return true;
}

/** The `kube-dns` Service of kubeadm clusters, at the cluster's DNS ClusterIP. */
export function kubeDnsService(clusterIp: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' },
    },
    spec: {
      selector: { 'k8s-app': 'kube-dns' },
      clusterIP: clusterIp,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    },
  };
}
