// The kubelet's drill endpoints on its admin port (`kemu runtime stop|start NODE`, heartbeat
// freezes): POST /runtime/stop, POST /runtime/start, GET /runtime, POST /heartbeats/freeze,
// POST /heartbeats/resume. A process hosting several sim nodes takes `?node=<name>`.
import { type AdminRequest, AdminRequestError, type AdminServer } from '@kemu/runtime';
import type { Kubelet } from './kubelet.js';

function pick(kubelets: Map<string, Kubelet>, req: AdminRequest): Kubelet {
  const node = req.query.get('node');
  if (node === null || node === '') {
    if (kubelets.size === 1) return kubelets.values().next().value as Kubelet;
    throw new AdminRequestError(400, `this process hosts ${kubelets.size} nodes: name one with ?node=<name>`);
  }
  const k = kubelets.get(node);
  if (!k) throw new AdminRequestError(404, `this kubelet process does not host node "${node}"`);
  return k;
}

function reasonOf(req: AdminRequest): string | undefined {
  const q = req.query.get('reason');
  if (q) return q;
  const b = req.body as { reason?: unknown } | undefined;
  if (b && typeof b === 'object' && b.reason !== undefined) {
    if (typeof b.reason !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(b.reason)) {
      throw new AdminRequestError(400, 'reason must be a CamelCase word, e.g. "RuntimeStopped"');
    }
    return b.reason;
  }
  return undefined;
}

export function registerKubeletAdminRoutes(admin: AdminServer, kubelets: Kubelet[]): void {
  const byName = new Map(kubelets.map((k) => [k.nodeName, k]));
  admin.route('GET', '/runtime', (req) => {
    if ((req.query.get('node') ?? '') === '' && byName.size > 1) {
      return { body: { nodes: kubelets.map((k) => k.runtimeState()) } };
    }
    return { body: pick(byName, req).runtimeState() };
  });
  admin.route('POST', '/runtime/stop', async (req) => {
    const k = pick(byName, req);
    await k.stopRuntime(reasonOf(req));
    return { body: k.runtimeState() };
  });
  admin.route('POST', '/runtime/start', async (req) => {
    const k = pick(byName, req);
    await k.startRuntime();
    return { body: k.runtimeState() };
  });
  admin.route('POST', '/heartbeats/freeze', (req) => {
    const k = pick(byName, req);
    k.freezeHeartbeats();
    return { body: k.runtimeState() };
  });
  admin.route('POST', '/heartbeats/resume', (req) => {
    const k = pick(byName, req);
    k.resumeHeartbeats();
    return { body: k.runtimeState() };
  });
}
