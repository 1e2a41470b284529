import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compileFieldSelector,
  FieldSelectorError,
  parseFieldSelector,
  selectableFields,
  supportedFieldLabels,
} from '../src/index.js';

const pod = (name: string, node: string, phase: string) => ({
  metadata: { name, namespace: 'default' },
  spec: { nodeName: node, containers: [] },
  status: { phase, podIPs: [{ ip: '10.0.0.1' }] },
});

test('describe node query: spec.nodeName plus two != phases', () => {
  const m = compileFieldSelector('pods', 'spec.nodeName=node-1,status.phase!=Succeeded,status.phase!=Failed');
  assert.equal(m.matches(pod('a', 'node-1', 'Running')), true);
  assert.equal(m.matches(pod('b', 'node-1', 'Succeeded')), false);
  assert.equal(m.matches(pod('c', 'node-2', 'Running')), false);
  assert.equal(m.matches(pod('d', 'node-1', 'Failed')), false);
});

test('== and metadata fields; empty value matches an empty field', () => {
  assert.equal(compileFieldSelector('pods', 'metadata.name==a').matches(pod('a', '', 'Pending')), true);
  const unscheduled = compileFieldSelector('pods', 'spec.nodeName=');
  assert.equal(unscheduled.matches({ metadata: { name: 'x' }, spec: { containers: [] } }), true);
  assert.equal(unscheduled.matches(pod('a', 'node-1', 'Pending')), false);
  assert.equal(compileFieldSelector('pods', '').matches(pod('a', 'n', 'Running')), true);
  assert.equal(compileFieldSelector('pods', 'status.podIP=10.0.0.1').matches(pod('a', 'n', 'Running')), true);
});

test('events by involvedObject (describe pod / describe node)', () => {
  const ev = {
    metadata: { name: 'p1.1', namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'p1', namespace: 'default', uid: 'u1' },
    source: { component: 'default-scheduler' },
    type: 'Normal',
    reason: 'Scheduled',
  };
  const m = compileFieldSelector(
    'events',
    'involvedObject.name=p1,involvedObject.namespace=default,involvedObject.uid=u1',
  );
  assert.equal(m.matches(ev), true);
  assert.equal(compileFieldSelector('events', 'involvedObject.namespace=,involvedObject.kind=Node').matches(ev), false);
  assert.equal(compileFieldSelector('events', 'source=default-scheduler,type=Normal').matches(ev), true);
  assert.equal(selectableFields('events', ev).reason, 'Scheduled');
});

test('unsupported field labels are rejected with the apiserver message', () => {
  assert.throws(
    () => compileFieldSelector('pods', 'foo=bar'),
    (e: unknown) => {
      return e instanceof FieldSelectorError && e.message === 'field label not supported: foo';
    },
  );
  assert.throws(() => compileFieldSelector('configmaps', 'spec.nodeName=x'), {
    message: 'field label not supported: spec.nodeName',
  });
  assert.ok(supportedFieldLabels('nodes').includes('spec.unschedulable'));
  assert.equal(compileFieldSelector('nodes', 'spec.unschedulable=false').matches({ metadata: { name: 'n' } }), true);
});

test('syntax: escapes, sorting and errors', () => {
  const s = parseFieldSelector('b=x\\,y,a!=1');
  assert.deepEqual(s.requirements, [
    { field: 'a', operator: '!=', value: '1' },
    { field: 'b', operator: '=', value: 'x,y' },
  ]);
  assert.equal(s.toString(), 'a!=1,b=x\\,y');
  assert.throws(() => parseFieldSelector('abc'), { message: "invalid selector: 'abc'; can't understand 'abc'" });
  assert.throws(() => parseFieldSelector('a=b=c'), {
    message: 'invalid field selector: unescaped character in value: =',
  });
  assert.throws(() => parseFieldSelector('a=\\q'), { message: 'invalid field selector: invalid escape sequence: \\q' });
});
