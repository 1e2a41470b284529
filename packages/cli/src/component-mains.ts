import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo's packages directory, from this file's place (packages/cli/dist/src/component-mains.js). */
export const PACKAGES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * Every component's built entry point (the same paths as @kemu/testkit's COMPONENT_MAINS; the CLI does
 * not depend on the testkit at run time). A component is part of a plan only when its file exists, so
 * one build of the CLI works while the other components are still being written.
 */
export const COMPONENT_MAINS = {
  etcd: path.join(PACKAGES_DIR, 'etcd', 'dist', 'src', 'member', 'main.js'),
  apiserver: path.join(PACKAGES_DIR, 'apiserver', 'dist', 'src', 'main.js'),
  scheduler: path.join(PACKAGES_DIR, 'scheduler', 'dist', 'src', 'main.js'),
  controllerManager: path.join(PACKAGES_DIR, 'controller-manager', 'dist', 'src', 'main.js'),
  kubelet: path.join(PACKAGES_DIR, 'kubelet', 'dist', 'src', 'main.js'),
  proxy: path.join(PACKAGES_DIR, 'proxy', 'dist', 'src', 'main.js'),
  dns: path.join(PACKAGES_DIR, 'proxy', 'dist', 'src', 'dns-main.js'),
} as const;

export type ComponentProgram = keyof typeof COMPONENT_MAINS;

/** Which programs this build has: the default for `planCluster`, replaceable in unit tests. */
export function builtPrograms(): Record<ComponentProgram, boolean> {
  const out = {} as Record<ComponentProgram, boolean>;
  for (const [k, file] of Object.entries(COMPONENT_MAINS)) out[k as ComponentProgram] = fs.existsSync(file);
  return out;
}

const flagCache = new Map<string, boolean>();

/**
 * Whether a component's build knows a flag, judged from the text of the JavaScript next to its main
 * (flags are declared as `parseArgs` option names there). Lets the launcher pass a flag a component
 * gains in parallel work (the apiserver's toleration flags) without breaking the builds that lack it:
 * a component exits 2 on an unknown flag.
 */
export function programKnowsFlag(program: ComponentProgram, flag: string): boolean {
  const key = `${program} ${flag}`;
  const cached = flagCache.get(key);
  if (cached !== undefined) return cached;
  const dir = path.dirname(COMPONENT_MAINS[program]);
  let found = false;
  try {
    for (const f of fs.readdirSync(dir)) {
      if (!f.endsWith('.js')) continue;
      if (fs.readFileSync(path.join(dir, f), 'utf8').includes(`'${flag}'`)) {
        found = true;
        break;
      }
    }
  } catch {
    found = false;
  }
  flagCache.set(key, found);
  return found;
}
