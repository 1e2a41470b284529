import fs from 'node:fs';
import path from 'node:path';

/**
 * Layout of a cluster's state directory. Everything a later `kemu up`/`down`/`status` needs to find
 * the processes of an earlier run lives here, so a killed supervisor leaves enough behind to clean up.
 */
export class StateDir {
  constructor(readonly root: string) {}

  get runDir(): string {
    return path.join(this.root, 'run');
  }
  get logDir(): string {
    return path.join(this.root, 'logs');
  }
  get eventLog(): string {
    return path.join(this.root, 'events.jsonl');
  }
  get statusFile(): string {
    return path.join(this.runDir, 'status.json');
  }
  get readyFile(): string {
    return path.join(this.runDir, 'ready.json');
  }
  get kubeconfig(): string {
    return path.join(this.root, 'kubeconfig');
  }
  /** The supervisor's control channel address and token (control.ts). */
  get controlFile(): string {
    return path.join(this.runDir, 'control.json');
  }
  get supervisorPidFile(): string {
    return path.join(this.runDir, 'supervisor.pid');
  }
  get supervisorLog(): string {
    return path.join(this.logDir, 'supervisor.log');
  }
  pidFile(component: string): string {
    return path.join(this.runDir, `${component}.pid`);
  }
  componentLog(component: string): string {
    return path.join(this.logDir, `${component}.log`);
  }

  ensure(): void {
    fs.mkdirSync(this.runDir, { recursive: true });
    fs.mkdirSync(this.logDir, { recursive: true });
  }
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
