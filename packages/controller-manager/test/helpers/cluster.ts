// Cross-process test plumbing: the kube-controller-manager process in a TestCluster, and a wire API
// client in the test process (for the fake kubelets and for reading state).
import { WireApiClient } from '@kemu/client';
import { silentLogger } from '@kemu/runtime';
import { COMPONENT_MAINS, type TestCluster, waitFor } from '@kemu/testkit';
import { WireClient } from '@kemu/wire';

/** Starts the real kube-controller-manager (profile fast, no leader election) with the given controllers. */
export function startControllerManager(c: TestCluster, controllers: string[]) {
  return c.startComponent('kube-controller-manager', COMPONENT_MAINS.controllerManager, [
    '--apiserver',
    c.wireUrl,
    '--name',
    'kube-controller-manager-0',
    '--profile',
    'fast',
    '--leader-elect',
    'false',
    '--controllers',
    controllers.join(','),
  ]);
}

export async function connectApi(c: TestCluster): Promise<{ api: WireApiClient; close(): Promise<void> }> {
  const wire = new WireClient({
    url: `${c.wireUrl}/wire`,
    identity: 'e2e/test',
    log: silentLogger(),
    reconnect: { initialDelayMs: 100, maxDelayMs: 500 },
  });
  await wire.start().whenConnected(10_000);
  return { api: new WireApiClient({ wire, timeoutMs: 5000 }), close: async () => wire.close() };
}

export { waitFor };
