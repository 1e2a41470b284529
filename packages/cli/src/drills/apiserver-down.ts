/**
 * Drill 6: stop the apiserver — kubectl says it cannot connect; every component keeps running and
 * retrying; when the apiserver returns they resume: leases are renewed again, nodes report, and
 * (with a scheduler and kubelets) new work is scheduled and run.
 */
import type { Lease, Node, Pod } from '@kemu/api';
import type { DrillCluster } from './cluster.js';
import type { Drill, DrillContext } from './framework.js';

const DRILL = 'apiserver-down';

/** kubectl's own words when nothing listens on the server's port. */
export const CONNECTION_REFUSED =
  /The connection to the server 127\.0\.0\.1:\d+ was refused - did you specify the right host or port\?/;

function microTimeMs(t: string | undefined): number {
  return t ? Date.parse(t) : 0;
}

export const apiserverDownDrill: Drill<DrillCluster> = {
  name: DRILL,
  title: 'Stop the apiserver',
  description:
    'The apiserver is the only way into the cluster: with it stopped, kubectl cannot connect ("The connection to the ' +
    'server … was refused"), and every component (scheduler, controller-manager, kubelets, kube-proxies) keeps running ' +
    'and retries with backoff instead of exiting. Workloads already running keep running. When the apiserver returns, ' +
    'the components reconnect on their own: leader leases and node leases are renewed again, nodes stay Ready, and ' +
    'new work is scheduled and started. etcd kept every object meanwhile.',
  start(ctx: DrillContext<DrillCluster>) {
    const c = ctx.cluster;
    const run = Date.now().toString(36);
    const marker = `drill-apiserver-${run}`;
    const holdMs = 4000;
    let apiserver = '';
    let stopped = false;
    let backAt = 0;
    /** Components that never exit because the apiserver is gone: node agents (pid before the fault). */
    const nodeAgents = new Map<string, number>();
    const leaderPids = new Map<string, number>();
    const leaderElected = ['kube-scheduler', 'kube-controller-manager'].filter((k) =>
      c.has(k as 'kube-scheduler' | 'kube-controller-manager'),
    );
    const kubelets = c.nodes
      .filter((n) => c.components('kubelet').some((k) => k.name === n.kubelet))
      .map((n) => n.name);

    return {
      async setup() {
        await c.k(['create', 'configmap', marker, `--from-literal=run=${run}`]);
        await c.k(['label', 'configmap', marker, `kemu.dev/drill=${DRILL}`]);
        ctx.action(`created ConfigMap ${marker}`);
        const present = c.components().filter((x) => x.kind !== 'etcd' && x.kind !== 'kube-apiserver');
        ctx.say(
          present.length > 0
            ? `components that talk to the apiserver: ${present.map((x) => x.name).join(', ')}`
            : 'this cluster runs no other component yet: the drill checks kubectl, etcd and the apiserver only',
        );
        for (const name of leaderElected) {
          const pid = c.pidOf(name);
          if (pid !== undefined) leaderPids.set(name, pid);
        }
        for (const comp of [...c.components('kubelet'), ...c.components('kube-proxy')]) {
          const pid = c.pidOf(comp.name);
          if (pid !== undefined) nodeAgents.set(comp.name, pid);
        }
        apiserver = await c.faults.resolve('kube-apiserver');
      },
      stages: [
        {
          title: 'stop the apiserver',
          inject: async () => {
            const out = await c.faults.component('stop', apiserver);
            stopped = true;
            ctx.fault(`stopped ${apiserver} (pid ${out.pid}); it stays down until restored`);
          },
          check: async () => {
            const said = await ctx.expect(
              'kubectl says it cannot connect',
              { deadlineMs: 10_000, intervalMs: 250, describe: (s) => s },
              async () => {
                const r = await c.kubectl(['get', 'pods'], { timeoutMs: 10_000 });
                return r.code !== 0 ? CONNECTION_REFUSED.exec(r.stderr)?.[0] : undefined;
              },
            );
            ctx.say(`kubectl get pods: ${said}`);
            ctx.say(`keeping the apiserver down for ${holdMs / 1000} s while the components retry`);
            await ctx.sleep(holdMs);
            const gone = [...nodeAgents].filter(([name, pid]) => c.pidOf(name) !== pid);
            ctx.verify(
              'node agents keep running while the apiserver is down',
              gone.length === 0,
              gone.length === 0
                ? nodeAgents.size > 0
                  ? `${[...nodeAgents.keys()].join(', ')} still running (same pids)`
                  : 'no node agents in this cluster'
                : `exited: ${gone.map(([n]) => n).join(', ')}`,
            );
            const restarted = [...leaderPids].filter(([name, pid]) => c.pidOf(name) !== pid).map(([n]) => n);
            if (restarted.length > 0) {
              ctx.say(
                `${restarted.join(' and ')} could not renew ${restarted.length > 1 ? 'their leases' : 'its lease'} within the renew deadline ` +
                  `(${c.profile.leaderElection.renewDeadlineMs} ms) and exited, as upstream does; the supervisor restarted ` +
                  `${restarted.length > 1 ? 'them' : 'it'} (on kubeadm the kubelet restarts the static pod)`,
              );
            }
            const r = await c.kubectl(['get', 'pods'], { timeoutMs: 10_000 });
            ctx.verify(
              'kubectl still cannot connect (nothing answers in its place)',
              r.code !== 0 && CONNECTION_REFUSED.test(r.stderr),
              r.stderr.trim() || r.stdout.trim(),
            );
          },
        },
      ],
      async heal() {
        if (stopped) {
          const out = await c.faults.component('start', apiserver);
          ctx.fault(`restored ${apiserver}: ${out.detail}`);
          stopped = false;
        }
        for (const o of await c.faults.undoAll()) ctx.fault(`restored ${o.component}: ${o.detail}`);
      },
      async recovery() {
        await ctx.expect(
          'kubectl works again',
          { deadlineMs: 30_000, intervalMs: 250, describe: () => 'kubectl get configmap succeeded' },
          async () =>
            (await c.kubectl(['get', 'configmap', marker], { timeoutMs: 10_000 })).code === 0 ? true : undefined,
        );
        backAt = Date.now();
        const cm = await c.getJson<{ data?: Record<string, string> }>(['configmap', marker]);
        ctx.verify('objects written before the outage are intact', cm.data?.run === run, `data.run = ${cm.data?.run}`);
        const write = await c.kubectl(['create', 'configmap', `${marker}-after`, '--from-literal=a=b']);
        ctx.verify(
          'writes are accepted again',
          write.code === 0,
          write.code === 0 ? write.stdout.trim() : write.stderr.trim(),
        );
        await c.kubectl(['label', 'configmap', `${marker}-after`, `kemu.dev/drill=${DRILL}`]);

        for (const name of leaderElected) {
          await ctx.expect(
            `${name} renews its leader lease again`,
            {
              deadlineMs: 30_000,
              intervalMs: 250,
              describe: (l) => `held by ${l.spec?.holderIdentity}, renewed ${l.spec?.renewTime}`,
            },
            async () => {
              const l = await c.getJson<Lease>(['lease', '-n', 'kube-system', name]);
              return microTimeMs(l.spec?.renewTime) > backAt && l.spec?.holderIdentity ? l : undefined;
            },
          );
        }
        for (const node of kubelets) {
          await ctx.expect(
            `kubelet on ${node} renews its node lease and the node is Ready`,
            { deadlineMs: 30_000, intervalMs: 250, describe: () => 'lease renewed after the return, Ready=True' },
            async () => {
              const l = await c.getJson<Lease>(['lease', '-n', 'kube-node-lease', node]);
              const n = await c.getJson<Node>(['node', node]);
              const ready = n.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True';
              return microTimeMs(l.spec?.renewTime) > backAt && ready ? true : undefined;
            },
          );
        }
        if (leaderElected.includes('kube-scheduler') && kubelets.some((n) => n !== 'control-plane')) {
          const pod = `${marker}-pod`;
          await c.kubectl(['delete', 'pod', pod, '--ignore-not-found', '--wait=false']);
          ctx.action(`created pod ${pod}`);
          await c.k(['run', pod, '--image=nginx', `--labels=kemu.dev/drill=${DRILL}`]);
          await ctx.expect(
            'a new pod is scheduled and runs',
            { deadlineMs: 30_000, intervalMs: 250, describe: (p) => `Running on ${p.spec.nodeName}` },
            async () => {
              const p = await c.getJson<Pod>(['pod', pod]);
              return p.status?.phase === 'Running' ? p : undefined;
            },
          );
        }
      },
      async teardown() {
        await c.k(['delete', 'configmaps,pods', '-l', `kemu.dev/drill=${DRILL}`, '--wait=false'], {
          timeoutMs: 30_000,
        });
        ctx.action('deleted the drill objects');
      },
    };
  },
};
