import { Packr } from 'msgpackr';
import type { EtcdRequest } from '../mvcc/types.js';

/**
 * What a member puts in a Raft entry. `id` ties the entry back to the waiting client on the member
 * that proposed it (other members ignore ids they do not know). Requests are the MVCC store's own
 * request type, applied verbatim on every member.
 */
export type Proposal =
  | { kind: 'kv'; id: string; req: EtcdRequest }
  /** Membership changes carry the new member's name and URL so every member learns the address. */
  | { kind: 'member'; id: string; op: 'add' | 'remove'; name: string; url: string; learner: boolean };

const packr = new Packr({ useRecords: false, moreTypes: false });

/** An exact-size copy: msgpackr returns a view into its shared output buffer, which the Raft log would pin. */
export function encodeProposal(p: Proposal): Uint8Array {
  return new Uint8Array(packr.pack(p));
}

export function decodeProposal(data: Uint8Array): Proposal {
  return packr.unpack(data) as Proposal;
}

export function encodeValue(v: unknown): Uint8Array {
  return packr.pack(v);
}

export function decodeValue(data: Uint8Array): unknown {
  return packr.unpack(data);
}

export interface SnapshotPayload {
  store: Uint8Array;
  members: { name: string; url: string; learner: boolean }[];
}

/**
 * Snapshot data: `u32 length | members as JSON | the store's own serialization`. Framed by hand
 * rather than with msgpack because msgpackr keeps its output buffer at the largest size it ever
 * produced, and a snapshot would leave a store-sized buffer pinned for the life of the process.
 */
export function encodeSnapshotPayload(p: SnapshotPayload): Uint8Array {
  const members = Buffer.from(JSON.stringify(p.members), 'utf8');
  const out = new Uint8Array(4 + members.length + p.store.length);
  new DataView(out.buffer).setUint32(0, members.length);
  out.set(members, 4);
  out.set(p.store, 4 + members.length);
  return out;
}

export function decodeSnapshotPayload(data: Uint8Array): SnapshotPayload {
  if (data.length < 4) throw new Error('snapshot data is too short');
  const n = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
  if (4 + n > data.length) throw new Error('snapshot data is truncated');
  const members = JSON.parse(Buffer.from(data.subarray(4, 4 + n)).toString('utf8')) as SnapshotPayload['members'];
  return { members, store: data.subarray(4 + n) };
}
