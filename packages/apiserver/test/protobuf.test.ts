import assert from 'node:assert/strict';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import {
  decodeKubernetesProtobuf,
  formatDuration,
  isProtobufKindSupported,
  KUBERNETES_PROTOBUF_MAGIC,
  ProtobufDecodeError,
  statusForProtobufError,
} from '../src/protobuf/index.js';

type Build = (w: protobuf.Writer) => void;

/** Writes a length-delimited sub-message for field `id`. */
function sub(w: protobuf.Writer, id: number, build: Build): void {
  w.uint32((id << 3) | 2).fork();
  build(w);
  w.ldelim();
}

function str(w: protobuf.Writer, id: number, value: string): void {
  w.uint32((id << 3) | 2).string(value);
}

function varint(w: protobuf.Writer, id: number, value: number): void {
  w.uint32(id << 3).int64(value);
}

function envelope(apiVersion: string, kind: string, raw: Build, contentEncoding = ''): Uint8Array {
  const w = protobuf.Writer.create();
  sub(w, 1, (t) => {
    str(t, 1, apiVersion);
    str(t, 2, kind);
  });
  sub(w, 2, raw);
  str(w, 3, contentEncoding);
  str(w, 4, '');
  const body = w.finish();
  const out = new Uint8Array(KUBERNETES_PROTOBUF_MAGIC.length + body.length);
  out.set(KUBERNETES_PROTOBUF_MAGIC);
  out.set(body, KUBERNETES_PROTOBUF_MAGIC.length);
  return out;
}

function expectCode(fn: () => unknown, code: string, status: number): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtobufDecodeError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.httpStatus, status);
    return true;
  });
}

test('times, int-or-string, quantities, bytes and map entries become their JSON forms', () => {
  const body = envelope('apps/v1', 'Deployment', (w) => {
    sub(w, 1, (m) => {
      str(m, 1, 'web');
      sub(m, 8, (t) => {
        varint(t, 1, 1_800_000_000);
        varint(t, 2, 123_456_789);
      });
      sub(m, 11, (e) => {
        str(e, 1, 'app');
        str(e, 2, 'web');
      });
      varint(m, 10, 0); // deletionGracePeriodSeconds is a pointer: 0 is kept
      varint(m, 7, 0); // generation is not: 0 is dropped
    });
    sub(w, 2, (s) => {
      sub(s, 4, (st) => {
        str(st, 1, 'RollingUpdate');
        sub(st, 2, (ru) => {
          sub(ru, 1, (ios) => {
            varint(ios, 1, 1);
            str(ios, 3, '25%');
          });
          sub(ru, 2, (ios) => {
            varint(ios, 1, 0);
            varint(ios, 2, 2);
          });
        });
      });
      sub(s, 3, (tpl) =>
        sub(tpl, 2, (ps) =>
          sub(ps, 2, (c) => {
            str(c, 1, 'app');
            sub(c, 8, (rr) =>
              sub(rr, 1, (e) => {
                str(e, 1, 'memory');
                sub(e, 2, (q) => str(q, 1, '64Mi'));
              }),
            );
            varint(c, 16, 0); // stdin=false is dropped
          }),
        ),
      );
    });
  });
  const { object } = decodeKubernetesProtobuf(body);
  assert.deepEqual(object, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      creationTimestamp: '2027-01-15T08:00:00Z',
      labels: { app: 'web' },
      deletionGracePeriodSeconds: 0,
    },
    spec: {
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 2 } },
      template: { spec: { containers: [{ name: 'app', resources: { limits: { memory: '64Mi' } } }] } },
    },
  });
});

test('secret data bytes become base64 and inline fields merge into the parent', () => {
  const secret = decodeKubernetesProtobuf(
    envelope('v1', 'Secret', (w) => {
      sub(w, 2, (e) => {
        str(e, 1, 'k');
        e.uint32((2 << 3) | 2).bytes(Uint8Array.of(0xff, 0, 1));
      });
    }),
  );
  assert.deepEqual(secret.object.data, { k: '/wAB' });

  const dep = decodeKubernetesProtobuf(
    envelope('apps/v1', 'Deployment', (w) =>
      sub(w, 2, (s) =>
        sub(s, 3, (tpl) =>
          sub(tpl, 2, (ps) =>
            sub(ps, 1, (v) => {
              str(v, 1, 'cfg');
              sub(v, 2, (vs) => sub(vs, 19, (cm) => sub(cm, 1, (ref) => str(ref, 1, 'my-config'))));
            }),
          ),
        ),
      ),
    ),
  );
  assert.deepEqual(dep.object.spec, {
    template: { spec: { volumes: [{ name: 'cfg', configMap: { name: 'my-config' } }] } },
  });
});

test('unknown fields: zero values are ignored, anything else is refused with the field path', () => {
  const zeroUnknown = envelope('v1', 'Namespace', (w) => sub(w, 1, (m) => varint(m, 99, 0)));
  assert.deepEqual(decodeKubernetesProtobuf(zeroUnknown).object, { apiVersion: 'v1', kind: 'Namespace', metadata: {} });
  const setUnknown = envelope('v1', 'Namespace', (w) => sub(w, 1, (m) => str(m, 15, 'x')));
  expectCode(() => decodeKubernetesProtobuf(setUnknown), 'PROTOBUF_UNSUPPORTED_FIELD', 415);
  assert.throws(() => decodeKubernetesProtobuf(setUnknown), /metadata\.#15 in ObjectMeta/);
});

test('bad envelopes and kinds get typed errors', () => {
  expectCode(() => decodeKubernetesProtobuf(Buffer.from('{"kind":"Pod"}')), 'PROTOBUF_MALFORMED', 400);
  expectCode(() => decodeKubernetesProtobuf(KUBERNETES_PROTOBUF_MAGIC), 'PROTOBUF_MALFORMED', 400);
  const truncated = envelope('v1', 'Namespace', (w) => sub(w, 1, (m) => str(m, 1, 'abc')));
  expectCode(() => decodeKubernetesProtobuf(truncated.subarray(0, truncated.length - 6)), 'PROTOBUF_MALFORMED', 400);
  expectCode(() => decodeKubernetesProtobuf(envelope('v1', 'Pod', () => {})), 'PROTOBUF_UNSUPPORTED_KIND', 415);
  expectCode(
    () => decodeKubernetesProtobuf(envelope('v1', 'Namespace', () => {}, 'gzip')),
    'PROTOBUF_UNSUPPORTED_ENCODING',
    415,
  );
  // Wrong wire type for a string field.
  const wrongWire = envelope('v1', 'Namespace', (w) => sub(w, 1, (m) => varint(m, 1, 5)));
  expectCode(() => decodeKubernetesProtobuf(wrongWire), 'PROTOBUF_MALFORMED', 400);
  assert.equal(isProtobufKindSupported('apps/v1', 'Deployment'), true);
  assert.equal(isProtobufKindSupported('v1', 'Pod'), false);
});

test('durations print like Go time.Duration', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(3_600_000_000_000), '1h0m0s');
  assert.equal(formatDuration(1_500_000_000), '1.5s');
  assert.equal(formatDuration(90_000_000_000), '1m30s');
  assert.equal(formatDuration(2_000_000), '2ms');
});

test('decode errors map to Kubernetes Status bodies', () => {
  const unsupported = new ProtobufDecodeError('PROTOBUF_UNSUPPORTED_KIND', 'no protobuf schema for v1, Kind=Pod');
  assert.deepEqual(statusForProtobufError(unsupported), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message:
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (no protobuf schema for v1, Kind=Pod)',
    reason: 'UnsupportedMediaType',
    code: 415,
  });
  const malformed = new ProtobufDecodeError('PROTOBUF_MALFORMED', 'truncated', 'spec.template');
  assert.equal(statusForProtobufError(malformed).code, 400);
  assert.equal(statusForProtobufError(malformed).reason, 'BadRequest');
  assert.equal(statusForProtobufError(malformed).message, 'truncated (at spec.template)');
});
