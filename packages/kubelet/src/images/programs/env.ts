/**
 * What a catalogue program learns from the process runtime, through environment variables (the
 * runtime's contract with the programs; see runtime/README.md).
 */

/** The pod's loopback IP; programs bind here so two pods can use the same port. */
export function podIP(): string {
  return process.env.KEMU_POD_IP || '127.0.0.1';
}

export function podName(): string {
  return process.env.KEMU_POD_NAME || process.env.HOSTNAME || 'localhost';
}

export function containerPorts(): number[] {
  return (process.env.KEMU_CONTAINER_PORTS ?? '')
    .split(',')
    .map((s) => Number(s))
    .filter((n) => Number.isInteger(n) && n > 0 && n < 65536);
}

interface MountEntry {
  containerPath: string;
  hostPath: string;
}

function mounts(): MountEntry[] {
  try {
    const parsed: unknown = JSON.parse(process.env.KEMU_MOUNTS ?? '[]');
    return Array.isArray(parsed) ? (parsed as MountEntry[]) : [];
  } catch {
    return [];
  }
}

/** Maps a path as the container sees it to the host directory the kubelet prepared, if mounted. */
export function hostPathFor(containerPath: string): string | null {
  let best: MountEntry | null = null;
  for (const m of mounts()) {
    const cp = m.containerPath.replace(/\/+$/, '');
    if (containerPath === cp || containerPath.startsWith(`${cp}/`)) {
      if (!best || cp.length > best.containerPath.length) best = { containerPath: cp, hostPath: m.hostPath };
    }
  }
  return best ? best.hostPath + containerPath.slice(best.containerPath.length) : null;
}

/** `--name=value` or `--name value` from argv. */
export function flag(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    for (const dash of ['--', '-']) {
      if (a === `${dash}${name}`) return argv[i + 1];
      if (a.startsWith(`${dash}${name}=`)) return a.slice(dash.length + name.length + 1);
    }
  }
  return undefined;
}

/** Exit 0 on SIGTERM/SIGINT/SIGQUIT after `close`, like servers that shut down gracefully. */
export function onTerminate(close: () => void): void {
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) {
    process.on(sig, () => {
      close();
      process.exit(0);
    });
  }
}

/** A clear line instead of a stack trace when binding fails (e.g. port 80 without privilege). */
export function listenError(what: string, host: string, port: number, err: NodeJS.ErrnoException): never {
  const hint =
    err.code === 'EACCES' && port < 1024
      ? ' (ports below 1024 need root, CAP_NET_BIND_SERVICE or a lower net.ipv4.ip_unprivileged_port_start)'
      : '';
  process.stderr.write(`${what}: bind() to ${host}:${port} failed (${err.code ?? err.message})${hint}\n`);
  process.exit(1);
}
