/**
 * The few apiserver calls the launcher makes itself, over plain HTTP as kubectl does: node readiness
 * (what `up --detach` waits for and `status` shows). `up` applies no objects: the apiserver creates
 * the system namespaces and the DNS process keeps its own kube-dns Service.
 */
export interface NodeView {
  name: string;
  /** The Ready condition's status: 'True', 'False', 'Unknown', or '' when the node has none yet. */
  ready: string;
  /** The Ready condition's lastHeartbeatTime (ms since epoch; 0 when unknown). */
  heartbeatAt: number;
  unschedulable: boolean;
  roles: string[];
}

interface NodeList {
  items?: Array<{
    metadata?: { name?: string; labels?: Record<string, string> };
    spec?: { unschedulable?: boolean };
    status?: { conditions?: Array<{ type?: string; status?: string; lastHeartbeatTime?: string }> };
  }>;
}

export async function listNodes(apiserverUrl: string, timeoutMs = 2000): Promise<NodeView[]> {
  const res = await fetch(`${apiserverUrl}/api/v1/nodes`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET /api/v1/nodes: HTTP ${res.status}`);
  const list = (await res.json()) as NodeList;
  return (list.items ?? []).map((n) => {
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    return {
      name: n.metadata?.name ?? '',
      ready: ready?.status ?? '',
      heartbeatAt: ready?.lastHeartbeatTime ? Date.parse(ready.lastHeartbeatTime) || 0 : 0,
      unschedulable: n.spec?.unschedulable === true,
      roles: Object.keys(n.metadata?.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length)),
    };
  });
}
