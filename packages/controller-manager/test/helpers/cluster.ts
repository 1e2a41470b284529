// Cross-process test plumbing: a TestCluster with a kube-controller-manager process and a wire API
// client in the test process (for the fake kubelets and for reading state).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WireApiClient } from '@kemu/client';
import { silentLogger } from '@kemu/runtime';
import { COMPONENT_MAINS, type TestCluster, waitFor } from '@kemu/testkit';
import { WireClient } from '@kemu/wire';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Starts kube-controller-manager (profile fast, no leader election) with the given controllers:
 * the real process when this tree has it, else the test-only runner of the same descriptors.
 */
export function startControllerManager(c: TestCluster, controllers: string[]) {
  if (fs.existsSync(COMPONENT_MAINS.controllerManager)) {
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
  return c.startComponent('kube-controller-manager', path.join(here, '..', 'fixtures', 'run-controllers.js'), [
    c.wireUrl,
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
