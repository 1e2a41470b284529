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
