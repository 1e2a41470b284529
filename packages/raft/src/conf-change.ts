import { InvalidConfChangeError } from './errors.js';

/**
 * One membership change, applied when its conf-change entry is applied. Only one voter changes at a
 * time, so majorities of the old and new configuration always overlap.
 */
export type ConfChangeType = 'add-voter' | 'remove-node' | 'add-learner';

export interface ConfChange {
  type: ConfChangeType;
  nodeId: string;
  /** Opaque host data (e.g. the new member's address). */
  context: string;
}

const CONF_CHANGE_TYPES: ReadonlySet<string> = new Set(['add-voter', 'remove-node', 'add-learner']);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The payload of a conf-change entry. JSON keeps it readable in traces and WAL dumps. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId, context: cc.context }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new InvalidConfChangeError(`payload is not JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidConfChangeError('payload is not an object');
  const { type, nodeId, context } = parsed as Record<string, unknown>;
  if (typeof type !== 'string' || !CONF_CHANGE_TYPES.has(type)) {
    throw new InvalidConfChangeError(`unknown type ${String(type)}`);
  }
  if (typeof nodeId !== 'string' || nodeId === '')
    throw new InvalidConfChangeError('nodeId must be a non-empty string');
  return { type: type as ConfChangeType, nodeId, context: typeof context === 'string' ? context : '' };
}
