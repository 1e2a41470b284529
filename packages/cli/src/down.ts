import {
  isAlive,
  isSameProcess,
  killLeftovers,
  readPidFile,
  removeFile,
  signalGroup,
  sweepStrays,
} from './pid-files.js';
import { StateDir } from './state-dir.js';
import { loadSpec, type UpFlags } from './up.js';

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * `kemu down`: asks the supervisor to stop everything (SIGTERM; it stops its components the same
 * way), then kills whatever the pid files still name, so a supervisor that was SIGKILLed or hangs
 * leaves nothing behind either.
 */
export async function downCommand(flags: UpFlags, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const spec = loadSpec(flags);
  const state = new StateDir(spec.stateDir);
  const sup = readPidFile(state.supervisorPidFile);
  if (sup && isSameProcess(sup)) {
    out.write(`stopping supervisor (pid ${sup.pid})\n`);
    process.kill(sup.pid, 'SIGTERM');
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && isAlive(sup.pid)) await sleep(50);
    if (isAlive(sup.pid)) {
      out.write('supervisor did not stop in time: SIGKILL\n');
      signalGroup(sup.pid, 'SIGKILL');
    }
  }
  removeFile(state.supervisorPidFile);
  const killed = await killLeftovers(state.runDir, 3000, (n) => n === 'supervisor');
  if (killed.length > 0) out.write(`stopped unsupervised components: ${killed.join(', ')}\n`);
  const strays = sweepStrays(state.root);
  if (strays.length > 0) out.write(`killed ${strays.length} stray process(es) of this cluster\n`);
  removeFile(state.readyFile);
  removeFile(state.controlFile);
  out.write(`kemu cluster in ${spec.stateDir} is down (data kept; 'kemu up' resumes it)\n`);
  return 0;
}
