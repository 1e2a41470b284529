// Imported first by main.ts, before any other module is loaded. A kubelet for one node is I/O-bound
// (a handful of pods, a heartbeat a second), so it trades peak speed for memory: no optimizing
// compiler, lazy compilation, and a heap that grows reluctantly. Measured (bench-kubelet.mjs, idle
// node): RSS about 58 MiB instead of 70 MiB. A process hosting many sim nodes keeps V8's defaults: it
// is CPU-bound and its RSS is dominated by pod state, not code.
import v8 from 'node:v8';

function simNodes(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--sim-nodes') return Number(argv[i + 1] ?? '1');
    if (a.startsWith('--sim-nodes=')) return Number(a.slice('--sim-nodes='.length));
  }
  return 1;
}

export const SMALL_KUBELET_V8_FLAGS = ['--no-opt', '--max-lazy', '--optimize-for-size'] as const;

if (process.env.KEMU_KUBELET_DEFAULT_V8 !== '1') {
  if (!(simNodes(process.argv.slice(2)) > 1)) for (const flag of SMALL_KUBELET_V8_FLAGS) v8.setFlagsFromString(flag);
  else if (process.env.KEMU_X_SIM_SMALL === '1') v8.setFlagsFromString('--optimize-for-size');
}
