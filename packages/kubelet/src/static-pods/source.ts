// The `--static-pod-dir` source: every regular, non-hidden file in the directory is a manifest
// (upstream pkg/kubelet/config/file.go). Files are re-parsed only when their size or mtime changed;
// a file that fails to parse contributes no pods (as upstream: its pod is stopped) and is logged once.
import fs from 'node:fs';
import path from 'node:path';
import type { Pod } from '@kemu/api';
import type { Clock, Logger } from '@kemu/runtime';
import { rfc3339Nano } from '../runtime/logs.js';
import { parseManifest, StaticPodManifestError, toStaticPod } from './manifest.js';

interface FileEntry {
  /** `${size}:${mtimeMs}`: re-parse only when it changes. */
  stamp: string;
  manifests: Pod[];
}

export interface StaticPodSourceOptions {
  dir: string;
  nodeName: string;
  clock: Clock;
  log: Logger;
}

export class StaticPodSource {
  private readonly files = new Map<string, FileEntry>();
  /** uid → `kubernetes.io/config.seen`, so a re-read keeps the first time a version was seen. */
  private readonly seen = new Map<string, string>();
  private current: Pod[] = [];
  private loaded = false;

  constructor(private readonly opts: StaticPodSourceOptions) {}

  /** Whether the directory has been read at least once (before that, no pod is known to be gone). */
  get hasLoaded(): boolean {
    return this.loaded;
  }

  /** The static pods from the last read, file order, first of any duplicate name. */
  pods(): Pod[] {
    return this.current;
  }

  /** Reads the directory; returns true when the set of pods (or any of their hashes) changed. */
  read(): boolean {
    const { dir, log } = this.opts;
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else {
        // Unreadable for now: keep what we have rather than stop every static pod.
        log.warn({ err, dir }, 'cannot read the static pod directory');
        return false;
      }
    }
    const present = new Set<string>();
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const file = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        continue;
      }
      if (!st.isFile()) continue;
      present.add(file);
      const stamp = `${st.size}:${st.mtimeMs}`;
      if (this.files.get(file)?.stamp === stamp) continue;
      let manifests: Pod[] = [];
      try {
        manifests = parseManifest(file, fs.readFileSync(file, 'utf8'));
      } catch (err) {
        if (!(err instanceof StaticPodManifestError)) throw err;
        log.error({ err: err.message, file }, 'could not process manifest file');
      }
      this.files.set(file, { stamp, manifests });
    }
    for (const file of [...this.files.keys()]) if (!present.has(file)) this.files.delete(file);
    return this.rebuild();
  }

  private rebuild(): boolean {
    const { nodeName, clock, log } = this.opts;
    const byKey = new Map<string, Pod>();
    const uids = new Set<string>();
    for (const [file, entry] of [...this.files.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      for (const manifest of entry.manifests) {
        const probe = toStaticPod(manifest, { nodeName, file, seen: '' });
        const uid = probe.metadata.uid ?? '';
        let seen = this.seen.get(uid);
        if (seen === undefined) {
          seen = rfc3339Nano(clock.now());
          this.seen.set(uid, seen);
        }
        const pod = toStaticPod(manifest, { nodeName, file, seen });
        const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
        if (byKey.has(key)) {
          log.warn({ file, pod: key }, 'a static pod with the same name is already defined; ignoring this one');
          continue;
        }
        byKey.set(key, pod);
        uids.add(uid);
      }
    }
    for (const uid of [...this.seen.keys()]) if (!uids.has(uid)) this.seen.delete(uid);
    const next = [...byKey.values()];
    const changed =
      !this.loaded ||
      next.length !== this.current.length ||
      next.some((p, i) => p.metadata.uid !== this.current[i]?.metadata.uid);
    this.current = next;
    this.loaded = true;
    return changed;
  }
}
