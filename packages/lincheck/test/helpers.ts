import { type ClientId, type Operation, UNKNOWN } from '../src/index.js';

/** A completed operation. */
export function op<I, O>(clientId: ClientId, input: I, output: O, call: number, ret: number): Operation<I, O> {
  return { clientId, input, output, call, return: ret };
}

/** An operation whose outcome the client never learned. */
export function lost<I, O>(clientId: ClientId, input: I, call: number): Operation<I, O> {
  return { clientId, input, output: UNKNOWN, call, return: Number.POSITIVE_INFINITY };
}
