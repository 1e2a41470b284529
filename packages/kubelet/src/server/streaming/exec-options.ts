import { StreamRequestError } from './errors.js';
import type { ExecStartOptions } from './exec-backend.js';

function flag(params: URLSearchParams, name: string): boolean {
  const value = params.get(name);
  if (value === null) return false;
  if (value === '' || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new StreamRequestError('STREAM_BAD_REQUEST', `query parameter ${name}=${value} is not a boolean`);
}

/**
 * Parses `…/pods/{pod}/exec?command=…&command=…&container=c&stdin=true&stdout=true&stderr=true&tty=false`
 * (or `/attach`, which has no command). With tty, stderr is merged into stdout by the terminal, so it
 * is not a separate stream (kubectl never asks for both).
 */
export function parseExecRequest(
  url: string,
  kind: 'exec' | 'attach',
  target: { namespace: string; pod: string },
): ExecStartOptions {
  const params = new URL(url, 'http://localhost').searchParams;
  const command = params.getAll('command');
  if (kind === 'exec' && command.length === 0) {
    throw new StreamRequestError('STREAM_BAD_REQUEST', 'you must specify at least 1 command');
  }
  const tty = flag(params, 'tty');
  const options: ExecStartOptions = {
    namespace: target.namespace,
    pod: target.pod,
    container: params.get('container') ?? '',
    command: kind === 'exec' ? command : [],
    stdin: flag(params, 'stdin'),
    stdout: flag(params, 'stdout'),
    stderr: flag(params, 'stderr') && !tty,
    tty,
  };
  if (!options.stdin && !options.stdout && !flag(params, 'stderr')) {
    throw new StreamRequestError('STREAM_BAD_REQUEST', 'you must specify at least 1 of stdin, stdout, stderr');
  }
  return options;
}

/** Extracts namespace and pod from `/api/v1/namespaces/{ns}/pods/{pod}/{exec|attach|portforward}`. */
export function parsePodSubresourcePath(
  url: string,
): { namespace: string; pod: string; subresource: string } | undefined {
  const pathname = new URL(url, 'http://localhost').pathname;
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/([^/]+)\/?$/.exec(pathname);
  if (m === null) return undefined;
  const [, namespace, pod, subresource] = m;
  if (namespace === undefined || pod === undefined || subresource === undefined) return undefined;
  return { namespace: decodeURIComponent(namespace), pod: decodeURIComponent(pod), subresource };
}
