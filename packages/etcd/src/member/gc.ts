import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | undefined;

/**
 * Lets the member ask V8 for a full collection after it dropped a large buffer (a snapshot is
 * serialized two or three times over; V8 only collects external memory after it has grown by tens
 * of MiB, so without this a member sits on that garbage until the next big allocation). Only the
 * member process turns this on; library users are left alone.
 */
export function enableExplicitGc(): void {
  v8.setFlagsFromString('--expose-gc');
  collect = vm.runInNewContext('gc') as () => void;
}

export function collectGarbage(): void {
  collect?.();
}
