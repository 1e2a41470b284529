import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImagePullError } from '../runtime/errors.js';
import { parseImageReference } from './reference.js';

/** What an image means in the `process` runtime: its entrypoint and cmd, as in the image config. */
export interface CatalogueImage {
  /** Catalogue entry, e.g. `nginx`. */
  program: string;
  /** The normalised reference, e.g. `docker.io/library/nginx:1.25`. */
  ref: string;
  entrypoint: string[];
  cmd: string[];
}

interface Entry {
  program: string;
  entrypoint: string[];
  cmd: string[];
}

const SHELL: Entry = { program: 'shell', entrypoint: [], cmd: ['sh'] };

/** Repository (as normalised, registry stripped for docker.io) → image config. */
const IMAGES: Record<string, Entry> = {
  'library/nginx': { program: 'nginx', entrypoint: [], cmd: ['nginx', '-g', 'daemon off;'] },
  'library/httpd': { program: 'nginx', entrypoint: [], cmd: ['httpd-foreground'] },
  'library/busybox': SHELL,
  'library/alpine': { ...SHELL, cmd: ['/bin/sh'] },
  'library/ubuntu': { ...SHELL, cmd: ['/bin/sh'] },
  'library/debian': { ...SHELL, cmd: ['/bin/sh'] },
  'library/node': { program: 'node', entrypoint: ['docker-entrypoint.sh'], cmd: ['node'] },
  'library/redis': { program: 'redis', entrypoint: ['docker-entrypoint.sh'], cmd: ['redis-server'] },
  'kemu/echo': { program: 'echo', entrypoint: ['echo-server'], cmd: [] },
  'hashicorp/http-echo': { program: 'echo', entrypoint: ['/http-echo'], cmd: [] },
  'ealen/echo-server': { program: 'echo', entrypoint: ['echo-server'], cmd: [] },
  'kemu/memhog': { program: 'memhog', entrypoint: ['memhog'], cmd: ['--mb', '256'] },
  'kemu/crasher': { program: 'crasher', entrypoint: ['crasher'], cmd: ['--exit-code', '1', '--after-ms', '100'] },
  'registry.k8s.io/pause': { program: 'pause', entrypoint: ['/pause'], cmd: [] },
};

/** Other registries' names for the same programs. */
const ALIASES: Record<string, string> = {
  'k8s.gcr.io/pause': 'registry.k8s.io/pause',
  'gcr.io/google_containers/pause': 'registry.k8s.io/pause',
  'quay.io/kemu/echo': 'kemu/echo',
  'ghcr.io/kemu/echo': 'kemu/echo',
  'registry.k8s.io/e2e-test-images/busybox': 'library/busybox',
  'registry.k8s.io/e2e-test-images/nginx': 'library/nginx',
  'public.ecr.aws/docker/library/nginx': 'library/nginx',
  'public.ecr.aws/docker/library/busybox': 'library/busybox',
  'public.ecr.aws/docker/library/redis': 'library/redis',
  'docker.io/bitnami/redis': 'library/redis',
};

/**
 * Resolves an image reference against the built-in catalogue. Any tag or digest is accepted (there
 * is one build of each program); an unknown repository fails the way a registry miss does.
 */
export function lookupImage(image: string): CatalogueImage {
  const ref = parseImageReference(image);
  if (!ref) throw new ImagePullError(image, `rpc error: code = Unknown desc = invalid reference format`);
  const key = ref.registry === 'docker.io' ? ref.repository : `${ref.registry}/${ref.repository}`;
  const entry = IMAGES[ALIASES[key] ?? ALIASES[`docker.io/${key}`] ?? key];
  if (!entry) {
    throw new ImagePullError(
      image,
      `rpc error: code = NotFound desc = failed to pull and unpack image "${ref.normalized}": failed to resolve reference "${ref.normalized}": ${ref.normalized}: not found`,
    );
  }
  return { program: entry.program, ref: ref.normalized, entrypoint: [...entry.entrypoint], cmd: [...entry.cmd] };
}

function onPath(cmd: string): boolean {
  if (cmd.includes('/')) return fs.existsSync(cmd);
  if (BINARIES[cmd]) return true;
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      fs.accessSync(path.join(dir, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The official node and redis images start through `docker-entrypoint.sh`, which puts the program
 * in front of arguments that are flags (`args: ['-e', '…']`, `['--appendonly', 'yes']`), a config
 * file (redis) or not a command at all (node: `args: ['server.js']`).
 */
function dockerEntrypoint(image: CatalogueImage, argv: string[]): string[] {
  const [first, ...rest] = argv;
  if (first !== 'docker-entrypoint.sh') return argv;
  const program = image.cmd[0] ?? 'sh';
  const arg = rest[0];
  if (arg === undefined) return [program];
  const prepend =
    arg.startsWith('-') ||
    (program === 'redis-server' && arg.endsWith('.conf')) ||
    (program === 'node' && !onPath(arg));
  return prepend ? [program, ...rest] : rest;
}

/** The images the catalogue knows, for the README and `kemu images`. */
export function catalogueImages(): string[] {
  return Object.keys(IMAGES).map((k) => k.replace(/^library\//, ''));
}

/**
 * Kubernetes' rule: `command` replaces the entrypoint, `args` replace the cmd, and giving `command`
 * alone drops the image's cmd.
 */
export function effectiveArgv(image: CatalogueImage, command?: string[], args?: string[]): string[] {
  const hasCommand = command !== undefined && command.length > 0;
  const entry = hasCommand ? command : image.entrypoint;
  const rest = args !== undefined && args.length > 0 ? args : hasCommand ? [] : image.cmd;
  return dockerEntrypoint(image, [...entry, ...rest]);
}

function program(name: string): string {
  return fileURLToPath(new URL(`./programs/${name}.js`, import.meta.url));
}

interface VirtualBinary {
  file: string | null;
  prefix: string[];
}

/**
 * Executables that "exist inside" catalogue images and are really Node programs shipped here; any
 * other argv[0] (sh, sleep, cat, …) runs from the host's PATH. Matched by exact name or basename.
 */
const BINARIES: Record<string, VirtualBinary> = {
  nginx: { file: program('nginx'), prefix: [] },
  'httpd-foreground': { file: program('nginx'), prefix: ['--server=Apache/2.4.62 (Unix)'] },
  httpd: { file: program('nginx'), prefix: ['--server=Apache/2.4.62 (Unix)'] },
  'echo-server': { file: program('echo'), prefix: [] },
  'http-echo': { file: program('echo'), prefix: ['--default-port=5678'] },
  'redis-server': { file: program('redis'), prefix: [] },
  'redis-cli': { file: program('redis-cli'), prefix: [] },
  memhog: { file: program('memhog'), prefix: [] },
  crasher: { file: program('crasher'), prefix: [] },
  pause: { file: program('pause'), prefix: [] },
  node: { file: null, prefix: [] },
};

/** Turns a container argv into the host argv to spawn (file + args). */
export function hostArgv(argv: string[]): { file: string; args: string[] } | null {
  const [first, ...rest] = argv;
  if (first === undefined) return null;
  const base = first.slice(first.lastIndexOf('/') + 1);
  const bin = BINARIES[first] ?? (first.startsWith('/') ? BINARIES[base] : undefined);
  if (!bin) return { file: first, args: rest };
  if (bin.file === null) return { file: process.execPath, args: rest };
  return { file: process.execPath, args: [bin.file, ...bin.prefix, ...rest] };
}
