import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Deployment, Pod, ReplicaSet } from '@kemu/api';
import {
  DeploymentController,
  equalIgnoreHash,
  newRSNewReplicas,
  resolveFenceposts,
  templateHash,
} from '../src/controllers/deployment.js';
import { ReplicaSetController } from '../src/controllers/replicaset.js';
import { Harness } from './helpers/harness.js';

function deployment(name: string, replicas: number, spec: Partial<Deployment['spec']> = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
      ...spec,
    },
  };
}

const isReady = (p: Pod) => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

describe('rolling update arithmetic (upstream rounding)', () => {
  it('maxSurge rounds up, maxUnavailable rounds down, both zero → one unavailable', () => {
    const d = (s: number | string, u: number | string, r = 10) =>
      deployment('x', r, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: s, maxUnavailable: u } } });
    assert.deepEqual(resolveFenceposts(d('25%', '25%')), { surge: 3, unavailable: 2 });
    assert.deepEqual(resolveFenceposts(d('25%', '25%', 3)), { surge: 1, unavailable: 0 });
    assert.deepEqual(resolveFenceposts(d(0, 0)), { surge: 0, unavailable: 1 });
    assert.deepEqual(resolveFenceposts(d('0%', '10%', 5)), { surge: 0, unavailable: 1 });
    assert.deepEqual(resolveFenceposts(deployment('y', 4)), { surge: 1, unavailable: 1 });
  });
  it('newRSNewReplicas never exceeds replicas + maxSurge in total', () => {
    const d = deployment('x', 3, {
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    });
    const rs = (n: number) => ({ metadata: {}, spec: { replicas: n, selector: {} } }) as ReplicaSet;
    const newRS = rs(0);
    assert.equal(newRSNewReplicas(d, [rs(3), newRS], newRS), 1);
    assert.equal(newRSNewReplicas(d, [rs(0), newRS], newRS), 3);
    const full = rs(1);
    assert.equal(newRSNewReplicas(d, [rs(3), full], full), 1);
  });
});

describe('template identity', () => {
  it('ignores the hash label and what kubectl round-trips (creationTimestamp: null, empty maps)', () => {
    const a = deployment('t', 1);
    const b = deployment('t', 1);
    b.spec.template.metadata = {
      creationTimestamp: null,
      labels: { app: 't', 'pod-template-hash': 'abc' },
      annotations: {},
    };
    assert.equal(equalIgnoreHash(a.spec.template, b.spec.template), true);
    assert.equal(
      templateHash(a),
      templateHash({
        ...b,
        spec: {
          ...b.spec,
          template: { ...b.spec.template, metadata: { creationTimestamp: null, labels: { app: 't' } } },
        },
      }),
    );
    const c = deployment('t', 1);
    c.spec.template.spec.containers[0] = { name: 'c', image: 'nginx:2' };
    assert.equal(equalIgnoreHash(a.spec.template, c.spec.template), false);
    assert.notEqual(templateHash(a), templateHash(c));
  });
});

describe('Deployment controller', () => {
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.stop();
  });
  const setup = () => {
    const h = new Harness();
    harnesses.push(h);
    h.start(new ReplicaSetController(h.ctx).run(), new DeploymentController(h.ctx).run());
    return h;
  };
  const dApi = (h: Harness) => h.api.resource<Deployment>('deployments.apps', { namespace: 'default' });
  const rsets = (h: Harness) => h.objects<ReplicaSet>('replicasets.apps');

  /** Kubelet stand-in: readies pods, settles, until the deployment stops changing; tracks min availability. */
  async function converge(h: Harness, name: string, onStep?: () => void): Promise<void> {
    for (let i = 0; i < 60; i++) {
      await h.settle(200, 100);
      onStep?.();
      const pending = h.pods().filter((p) => !p.metadata.deletionTimestamp && !isReady(p));
      // Terminating pods go away, as a kubelet would finish them.
      for (const p of h.pods().filter((x) => x.metadata.deletionTimestamp)) {
        await h.api
          .resource<Pod>('pods', { namespace: 'default' })
          .delete(p.metadata.name ?? '', { gracePeriodSeconds: 0 })
          .catch(() => undefined);
      }
      // Ready one pod at a time so the rollout goes step by step.
      const next = pending[0];
      if (next) await h.setPodPhase(next, 'Running');
      const d = (await dApi(h).get(name)) as Deployment;
      const s = d.status ?? {};
      const prog = (s.conditions ?? []).find((c) => c.type === 'Progressing');
      if (
        !next &&
        prog?.reason === 'NewReplicaSetAvailable' &&
        s.updatedReplicas === d.spec.replicas &&
        s.replicas === d.spec.replicas &&
        (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
      )
        return;
    }
    throw new Error(`deployment ${name} did not converge: ${JSON.stringify((await dApi(h).get(name)).status)}`);
  }

  it('creates a ReplicaSet with pod-template-hash and revision 1, then reports Available/Progressing', async () => {
    const h = setup();
    await dApi(h).create(deployment('web', 3));
    await converge(h, 'web');
    const [rs] = rsets(h);
    assert.ok(rs);
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.ok(hash);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.equal(rs.spec.selector.matchLabels?.['pod-template-hash'], hash);
    assert.equal(rs.spec.template?.metadata?.labels?.['pod-template-hash'], hash);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '4');
    const d = await dApi(h).get('web');
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(d.status?.availableReplicas, 3);
    assert.equal(d.status?.readyReplicas, 3);
    assert.equal(d.status?.unavailableReplicas ?? 0, 0);
    const conds = Object.fromEntries((d.status?.conditions ?? []).map((c) => [c.type, c]));
    assert.equal(conds.Available?.reason, 'MinimumReplicasAvailable');
    assert.equal(conds.Available?.message, 'Deployment has minimum availability.');
    assert.equal(conds.Progressing?.reason, 'NewReplicaSetAvailable');
    assert.equal(conds.Progressing?.message, `ReplicaSet "web-${hash}" has successfully progressed.`);
    const ev = h.events().filter((e) => e.reason === 'ScalingReplicaSet');
    assert.deepEqual(
      ev.map((e) => e.message),
      [`Scaled up replica set web-${hash} from 0 to 3`],
    );
  });

  it('rolling update keeps availability ≥ replicas - maxUnavailable and total ≤ replicas + maxSurge', async () => {
    const h = setup();
    const strategy = { type: 'RollingUpdate' as const, rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
    await dApi(h).create(deployment('roll', 4, { strategy }));
    await converge(h, 'roll');
    const oldHash = rsets(h)[0]?.metadata.labels?.['pod-template-hash'];
    const d = await dApi(h).get('roll');
    d.spec.template.spec.containers[0] = { name: 'c', image: 'nginx:2' };
    await dApi(h).update(d);
    let minReady = 99;
    let maxTotal = 0;
    await converge(h, 'roll', () => {
      const live = h.pods().filter((p) => !p.metadata.deletionTimestamp);
      minReady = Math.min(minReady, live.filter(isReady).length);
      const specTotal = rsets(h).reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
      maxTotal = Math.max(maxTotal, specTotal);
    });
    assert.ok(minReady >= 3, `ready pods dropped to ${minReady}`);
    assert.ok(maxTotal <= 5, `replica sets summed to ${maxTotal}`);
    const live = h.pods().filter((p) => !p.metadata.deletionTimestamp);
    assert.equal(live.length, 4);
    assert.ok(live.every((p) => p.spec.containers[0]?.image === 'nginx:2'));
    const all = rsets(h);
    assert.equal(all.length, 2);
    const oldRS = all.find((r) => r.metadata.labels?.['pod-template-hash'] === oldHash);
    const newRS = all.find((r) => r !== oldRS);
    assert.equal(oldRS?.spec.replicas, 0);
    assert.equal(newRS?.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.equal((await dApi(h).get('roll')).metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    // rollout undo as kubectl v1.32 does it: patch the old RS's template back into the deployment.
    const tmpl = structuredClone(oldRS?.spec.template);
    delete tmpl?.metadata?.labels?.['pod-template-hash'];
    await dApi(h).patch('roll', 'json', [{ op: 'replace', path: '/spec/template', value: tmpl }]);
    await converge(h, 'roll');
    const back = rsets(h).find((r) => r.metadata.labels?.['pod-template-hash'] === oldHash);
    assert.equal(back?.spec.replicas, 4);
    assert.equal(back?.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(back?.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.equal(rsets(h).length, 2, 'rollback reuses the old ReplicaSet');
  });

  it('Recreate scales the old ReplicaSet to zero before the new one comes up', async () => {
    const h = setup();
    await dApi(h).create(deployment('rc', 2, { strategy: { type: 'Recreate' } }));
    await converge(h, 'rc');
    const d = await dApi(h).get('rc');
    d.spec.template.spec.containers[0] = { name: 'c', image: 'nginx:2' };
    await dApi(h).update(d);
    let overlap = false;
    await converge(h, 'rc', () => {
      const live = h.pods().filter((p) => !p.metadata.deletionTimestamp);
      const images = new Set(live.map((p) => p.spec.containers[0]?.image));
      if (images.size > 1) overlap = true;
    });
    assert.equal(overlap, false, 'old and new pods ran together');
    assert.ok(h.pods().every((p) => p.spec.containers[0]?.image === 'nginx:2'));
  });

  it('scaling, pause and revisionHistoryLimit', async () => {
    const h = setup();
    await dApi(h).create(deployment('s', 2, { revisionHistoryLimit: 1 }));
    await converge(h, 's');
    for (const image of ['nginx:2', 'nginx:3', 'nginx:4']) {
      const d = await dApi(h).get('s');
      d.spec.template.spec.containers[0] = { name: 'c', image };
      await dApi(h).update(d);
      await converge(h, 's');
    }
    assert.equal(rsets(h).length, 2, 'one old ReplicaSet kept');
    let d = await dApi(h).get('s');
    d.spec.paused = true;
    d.spec.replicas = 5;
    await dApi(h).update(d);
    await h.settle(500);
    d = await dApi(h).get('s');
    const prog = (d.status?.conditions ?? []).find((c) => c.type === 'Progressing');
    assert.equal(prog?.reason, 'DeploymentPaused');
    assert.equal(h.pods().filter((p) => !p.metadata.deletionTimestamp).length, 5, 'paused deployments still scale');
    d.spec.template.spec.containers[0] = { name: 'c', image: 'nginx:5' };
    await dApi(h).update(d);
    await h.settle(500);
    assert.ok(
      h.pods().every((p) => p.spec.containers[0]?.image === 'nginx:4'),
      'paused: no rollout',
    );
    d = await dApi(h).get('s');
    d.spec.paused = false;
    await dApi(h).update(d);
    await converge(h, 's');
    assert.ok(
      h
        .pods()
        .filter((p) => !p.metadata.deletionTimestamp)
        .every((p) => p.spec.containers[0]?.image === 'nginx:5'),
    );
  });

  it('ProgressDeadlineExceeded when pods never become ready', async () => {
    const h = setup();
    await dApi(h).create(deployment('stuck', 1, { progressDeadlineSeconds: 5 }));
    await h.settle(8000, 500);
    const d = await dApi(h).get('stuck');
    const prog = (d.status?.conditions ?? []).find((c) => c.type === 'Progressing');
    assert.equal(prog?.status, 'False');
    assert.equal(prog?.reason, 'ProgressDeadlineExceeded');
    assert.match(prog?.message ?? '', /^ReplicaSet "stuck-\w+" has timed out progressing\.$/);
  });
});
