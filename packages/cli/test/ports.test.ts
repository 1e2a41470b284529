import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { assertPortsFree, PortInUseError } from '../src/ports.js';
import { planCluster, resolveSpec } from '../src/topology.js';

test('up refuses a port block another process holds, naming the port and its component', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.after(() => blocker.close());
  const port = (blocker.address() as net.AddressInfo).port;
  // A port base that puts the taken port on etcd-0's admin endpoint (+5).
  const plan = planCluster(resolveSpec({ portBase: String(port - 5), etcd: '1', nodes: '0' }, {}, '/x'), {
    programs: {
      etcd: true,
      apiserver: false,
      scheduler: false,
      controllerManager: false,
      kubelet: false,
      proxy: false,
      dns: false,
    },
  });
  await assert.rejects(assertPortsFree(plan), (e: unknown) => {
    assert.ok(e instanceof PortInUseError);
    assert.equal(e.code, 'KEMU_PORT_IN_USE');
    assert.match(e.message, new RegExp(`^port ${port} \\(etcd-0 admin\\) already in use on 127\\.0\\.0\\.1`));
    return true;
  });
  blocker.close();
  await new Promise((r) => setTimeout(r, 50));
  await assertPortsFree(plan);
});
