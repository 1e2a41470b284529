/**
 * Drill 5: kill the etcd leader while writes flow — a new leader within about an election timeout,
 * no acknowledged write lost; then stop a majority — the API refuses writes with a clear error;
 * restore — everything resumes.
 */
import type { DrillCluster } from './cluster.js';
import type { Drill, DrillContext } from './framework.js';
import { AckedWriter } from './writer.js';

/** etcd's election timeout (kemu runs its members with the real 100 ms heartbeat / 1 s election). */
const ELECTION_TIMEOUT_MS = 1000;
const DRILL = 'etcd-quorum';

/** What kubectl prints when the apiserver cannot get etcd to commit (503 or 504). */
export const NO_QUORUM_MESSAGE =
  /etcd is unavailable: etcdserver: [^\n]*|Timeout: request did not complete within the allowed duration[^\n]*|etcdserver: request timed out[^\n]*/;

export const etcdQuorumDrill: Drill<DrillCluster> = {
  name: DRILL,
  title: 'Kill the etcd leader, then a majority',
  description:
    'Writes flow through the apiserver while the etcd leader is SIGKILLed: the two remaining members elect a new ' +
    `leader within about an election timeout (${ELECTION_TIMEOUT_MS} ms, randomized up to twice that), writes resume, and ` +
    'every acknowledged write is still there. Then two of three members are stopped: without a quorum nothing can ' +
    'commit, and the API refuses writes with a clear error instead of hanging or pretending. Restoring them brings ' +
    'a leader back and writes resume, with nothing acknowledged lost.',
  preflight: (c) => c.require({ etcd: 3 }),
  start(ctx: DrillContext<DrillCluster>) {
    const c = ctx.cluster;
    const run = Date.now().toString(36);
    const selector = `kemu.dev/drill=${DRILL},kemu.dev/run=${run}`;
    const writer = new AckedWriter(c.apiserverUrl, 'default', `drill-etcd-${run}`, {
      'kemu.dev/drill': DRILL,
      'kemu.dev/run': run,
    });

    const stoppedHere: string[] = [];
    const killed = { name: '', at: 0 };
    const labels = { 'kemu.dev/drill': DRILL, 'kemu.dev/run': run };
    /** `kubectl create -f -` of a labelled ConfigMap (labelled, so teardown finds it even if it got in). */
    const kubectlCreate = (name: string, timeoutMs: number) =>
      c.kubectl(['create', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { a: 'b' } }),
        timeoutMs,
      });

    const verifyNothingLost = async (when: string): Promise<void> => {
      const { missing } = await writer.missingAcked(selector);
      ctx.verify(
        `no acknowledged write lost (${when})`,
        missing.length === 0,
        missing.length === 0
          ? `all ${writer.acked.length} acknowledged writes present (${writer.failed.length} refused or unconfirmed during the fault)`
          : `${missing.length} acknowledged writes missing: ${missing.slice(0, 5).join(', ')}`,
      );
    };

    return {
      async setup() {
        await ctx.expect(
          'etcd has a leader',
          { deadlineMs: 15_000, describe: (l) => `${l.name} (term ${l.term})` },
          () => c.etcdLeader(),
        );
        ctx.action('start writing ConfigMaps through the apiserver (2 writers, back to back)');
        writer.start(2);
        await ctx.expect(
          'writes are acknowledged before the fault',
          { deadlineMs: 15_000, describe: (n) => `${n} acked` },
          () => (writer.acked.length >= 10 ? writer.acked.length : undefined),
        );
      },
      stages: [
        {
          title: 'kill the etcd leader',
          inject: async () => {
            const leader = await c.faults.resolve('etcd-leader');
            const out = await c.faults.component('kill', leader);
            ctx.fault(`SIGKILL etcd leader ${leader} (pid ${out.pid}) with ${writer.acked.length} writes acked so far`);
            killed.name = leader;
            killed.at = performance.now();
          },
          check: async () => {
            const elected = await ctx.expect(
              `a new leader (not ${killed.name}) within ${5 * ELECTION_TIMEOUT_MS} ms`,
              {
                deadlineMs: 5 * ELECTION_TIMEOUT_MS,
                intervalMs: 50,
                describe: (l) => `${l.name} leads term ${l.term}`,
              },
              async () => {
                const l = await c.etcdLeader();
                return l && l.name !== killed.name ? l : undefined;
              },
            );
            const tookMs = Math.round(performance.now() - killed.at);
            ctx.say(
              `${elected.name} took over ${tookMs} ms after the kill (etcd's election timeout: ${ELECTION_TIMEOUT_MS} ms)`,
            );
            const ackedAtElection = writer.acked.length;
            await ctx.expect(
              'writes are acknowledged again under the new leader',
              { deadlineMs: 15_000, describe: (n) => `${n} more acked` },
              () => (writer.acked.length >= ackedAtElection + 5 ? writer.acked.length - ackedAtElection : undefined),
            );
            await ctx.expect(
              `the killed member ${killed.name} is restarted and rejoins`,
              { deadlineMs: 20_000, intervalMs: 250, describe: () => 'all 3 members answer and agree on the leader' },
              async () => {
                const st = [...(await c.etcdStatuses()).values()];
                return st.every((s) => !(s instanceof Error) && s.leaderName === elected.name) ? true : undefined;
              },
            );
            await writer.stop();
            ctx.action(`writers stopped: ${writer.acked.length} acked, ${writer.failed.length} refused or unconfirmed`);
            for (const f of writer.failed.slice(0, 3))
              ctx.say(`a write during the election: ${f.name} → ${f.status} ${f.error ?? ''}`);
            await verifyNothingLost('leader kill');
          },
        },
        {
          title: 'stop a majority of etcd members',
          inject: async () => {
            const leader = await c.faults.resolve('etcd-leader');
            const follower = c.components('etcd').find((m) => m.name !== leader);
            const victims = [leader, follower?.name ?? ''].filter(Boolean);
            for (const v of victims) {
              const out = await c.faults.component('stop', v);
              stoppedHere.push(v);
              ctx.fault(`stopped ${v} (pid ${out.pid}); it stays down until restored`);
            }
          },
          check: async () => {
            const refusal = await ctx.expect(
              'the API refuses a write with a clear error',
              { deadlineMs: 60_000, intervalMs: 500, describe: (s) => s },
              async () => {
                const r = await kubectlCreate(`drill-etcd-${run}-noquorum`, 45_000);
                if (r.code === 0) {
                  ctx.verify(
                    'no write is acknowledged without a quorum',
                    false,
                    'kubectl create succeeded with 2 of 3 members down',
                  );
                }
                return NO_QUORUM_MESSAGE.exec(r.stderr)?.[0]?.trim() ?? undefined;
              },
            );
            ctx.say(`kubectl: ${refusal}`);
            const res = await fetch(`${c.apiserverUrl}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(
              () => undefined,
            );
            ctx.verify(
              'the apiserver keeps running',
              res?.status === 200,
              `GET /healthz → ${res?.status ?? 'no answer'}`,
            );
          },
        },
      ],
      async heal() {
        await writer.stop();
        for (const v of [...stoppedHere].reverse()) {
          const out = await c.faults.component('start', v);
          ctx.fault(`restored ${v}: ${out.detail}`);
        }
        stoppedHere.length = 0;
        // Anything else this run left broken (a stage that failed half-way).
        for (const o of await c.faults.undoAll()) ctx.fault(`restored ${o.component}: ${o.detail}`);
      },
      async recovery() {
        await ctx.expect(
          'etcd has a leader again',
          { deadlineMs: 20_000, describe: (l) => `${l.name} (term ${l.term})` },
          () => c.etcdLeader(),
        );
        await ctx.expect(
          'writes are accepted again',
          { deadlineMs: 30_000, intervalMs: 500, describe: () => 'kubectl create -f - succeeded' },
          async () => {
            const r = await kubectlCreate(`drill-etcd-${run}-after`, 20_000);
            return r.code === 0 || /AlreadyExists|already exists/.test(r.stderr) ? true : undefined;
          },
        );
        await verifyNothingLost('after the majority came back');
      },
      async teardown() {
        // One deletecollection call rather than kubectl's one DELETE per object.
        const res = await fetch(
          `${c.apiserverUrl}/api/v1/namespaces/default/configmaps?labelSelector=${encodeURIComponent(`kemu.dev/drill=${DRILL}`)}`,
          { method: 'DELETE', signal: AbortSignal.timeout(30_000) },
        );
        if (!res.ok) throw new Error(`deletecollection configmaps: HTTP ${res.status}`);
        ctx.action('deleted the drill ConfigMaps');
      },
    };
  },
};
