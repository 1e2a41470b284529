import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pack } from 'msgpackr';
import { checkFrame, decodeMessage, encodeFrame, type Frame, frameIdOf, joinFrames } from '../src/frame.js';

test('frames round-trip through the codec, one or many per message', () => {
  const frames: Frame[] = [
    { t: 'hello', v: 1, peer: 'etcd/etcd-0', mif: 1024, mfs: 1 << 20 },
    { t: 'req', id: 1, m: 'kv.range', d: { key: 'a', bytes: new Uint8Array([1, 2, 3]) } },
    { t: 'req', id: 2, m: 'watch', d: null, w: 64 },
    { t: 'res', id: 1, d: [1, 'two', { three: 3 }] },
    { t: 'res', id: 3, e: { code: 'ETCD_COMPACTED', message: 'compacted', data: { rev: 5 } } },
    { t: 'evt', id: 2, d: 'item' },
    { t: 'end', id: 2 },
    { t: 'cancel', id: 9 },
    { t: 'credit', id: 2, n: 32 },
    { t: 'note', m: 'raft.msg', d: { term: 3 } },
    { t: 'ping', n: 7 },
    { t: 'pong', n: 7 },
  ];
  const encoded = frames.map(encodeFrame);
  const total = encoded.reduce((n, b) => n + b.length, 0);
  const values: unknown[] = [];
  const sizes: number[] = [];
  decodeMessage(joinFrames(encoded, total), values, sizes);
  assert.equal(values.length, frames.length);
  assert.deepEqual(
    sizes,
    encoded.map((b) => b.length),
  );
  for (const [i, v] of values.entries()) {
    assert.equal(checkFrame(v), null, `frame ${i} should be valid`);
  }
  const req = values[1] as { d: { bytes: Uint8Array } };
  assert.deepEqual([...req.d.bytes], [1, 2, 3]);
  assert.deepEqual(values[4], frames[4]);
  // A single frame is its own message (no batch envelope).
  const one: unknown[] = [];
  decodeMessage(encoded[0] as Buffer, one, []);
  assert.deepEqual(one, [frames[0]]);
});

test('bytes that are not msgpack are rejected by the decoder', () => {
  assert.throws(() => decodeMessage(Buffer.from([0x92, 0x01]), [], [])); // array header promises 2 values, has 1
  assert.throws(() => decodeMessage(Buffer.alloc(0), [], []));
  assert.throws(() => decodeMessage(Buffer.from([0xd9, 0x10, 0x41]), [], [])); // str8 of 16 bytes, 1 given
});

test('checkFrame names what is wrong with a malformed frame', () => {
  const cases: Array<[unknown, RegExp]> = [
    [42, /not a map/],
    [[1, 2], /not a map/],
    [{ t: 'bogus', id: 1 }, /unknown frame type "bogus"/],
    [{ id: 1, m: 'x' }, /unknown frame type/],
    [{ t: 'req', id: -1, m: 'x' }, /non-negative integer id/],
    [{ t: 'req', id: 1.5, m: 'x' }, /non-negative integer id/],
    [{ t: 'req', id: 1, m: 7 }, /method name/],
    [{ t: 'req', id: 1, m: '' }, /method name/],
    [{ t: 'req', id: 1, m: 'x'.repeat(300) }, /method name/],
    [{ t: 'req', id: 1, m: 'x', w: 0 }, /window/],
    [{ t: 'res', id: 'a' }, /integer id/],
    [{ t: 'res', id: 1, e: 'boom' }, /\{code, message\}/],
    [{ t: 'end', id: 1, e: { code: 1 } }, /\{code, message\}/],
    [{ t: 'credit', id: 1, n: 0 }, /positive integer n/],
    [{ t: 'note' }, /method name/],
    [{ t: 'ping' }, /number n/],
    [{ t: 'hello', v: 1, peer: 'a/b' }, /limits/],
  ];
  for (const [frame, expected] of cases) {
    const problem = checkFrame(frame);
    assert.ok(problem !== null, `${JSON.stringify(frame).slice(0, 60)} should be rejected`);
    assert.match(problem, expected);
  }
});

test('frameIdOf recovers a usable id from a malformed frame so it can be answered', () => {
  assert.equal(frameIdOf({ t: 'req', id: 12, m: 99 }), 12);
  assert.equal(frameIdOf({ t: 'req', id: -3 }), undefined);
  assert.equal(frameIdOf('x'), undefined);
  assert.equal(frameIdOf(null), undefined);
  // Frames from any msgpack encoder are accepted (plain maps, no msgpackr records).
  const values: unknown[] = [];
  decodeMessage(pack({ t: 'req', id: 4, m: 'echo', d: 'hi' }), values, []);
  assert.equal(checkFrame(values[0]), null);
});
