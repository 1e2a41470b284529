import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatLabelSelector,
  formatLabels,
  LabelSelectorError,
  labelSelectorAsSelector,
  parseLabelSelector,
  selectorFromSet,
} from '../src/index.js';

test('parses every operator and matches label maps', () => {
  const s = parseLabelSelector('a=b,c!=d,e in (x,y),f notin (z),g,!h');
  assert.equal(s.toString(), 'a=b,c!=d,e in (x,y),f notin (z),g,!h');
  const good = { a: 'b', e: 'y', g: '', c: 'q' };
  assert.equal(s.matches(good), true);
  assert.equal(s.matches({ ...good, a: 'x' }), false);
  assert.equal(s.matches({ ...good, c: 'd' }), false);
  assert.equal(s.matches({ ...good, e: 'w' }), false);
  assert.equal(s.matches({ ...good, f: 'z' }), false);
  assert.equal(s.matches({ ...good, f: 'other' }), true);
  const { g: _g, ...noG } = good;
  assert.equal(s.matches(noG), false);
  assert.equal(s.matches({ ...good, h: 'x' }), false);
});

test('sorts requirements by key and values on output; == and spaces accepted', () => {
  const s = parseLabelSelector(' z == 1 , app in ( web , api ) ');
  assert.equal(s.toString(), 'app in (api,web),z==1');
  assert.equal(s.matches({ app: 'api', z: '1' }), true);
  assert.equal(parseLabelSelector('').empty, true);
  assert.equal(parseLabelSelector('').matches({ any: 'x' }), true);
  assert.equal(parseLabelSelector('tier=').matches({ tier: '' }), true);
  assert.equal(parseLabelSelector('x in (in,notin)').matches({ x: 'notin' }), true);
});

test('gt and lt compare integers', () => {
  const s = parseLabelSelector('n>5,m<3');
  assert.equal(s.matches({ n: '6', m: '2' }), true);
  assert.equal(s.matches({ n: '5', m: '2' }), false);
  assert.equal(s.matches({ n: 'x', m: '2' }), false);
});

test('parse errors carry upstream wording', () => {
  const cases: [string, string][] = [
    ['a=b=c', "found '=', expected: ',' or 'end of string'"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['a=b,', "found '', expected: identifier after ','"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['a in b', "unable to parse requirement: found 'b' expected: '('"],
    ['a in (b', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['!a=b', "found '=', expected: ',' or 'end of string'"],
    ['a (', "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
    [
      'app=a@b',
      "unable to parse requirement: values[0][app]: Invalid value: \"a@b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ],
    [
      'a@=b',
      "unable to parse requirement: <nil>: Invalid value: \"a@\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ],
    [
      'a>x',
      "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
    ],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parseLabelSelector(input),
      (e: unknown) => e instanceof LabelSelectorError && e.message === message,
      `${input}: ${(() => {
        try {
          parseLabelSelector(input);
          return 'no error';
        } catch (e) {
          return (e as Error).message;
        }
      })()}`,
    );
  }
});

test('LabelSelector objects: nil matches nothing, empty matches everything', () => {
  assert.equal(labelSelectorAsSelector(undefined).matches({ a: 'b' }), false);
  assert.equal(labelSelectorAsSelector({}).matches({ a: 'b' }), true);
  const sel = labelSelectorAsSelector({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['fe', 'be'] },
      { key: 'canary', operator: 'DoesNotExist' },
    ],
  });
  assert.equal(sel.toString(), 'app=web,!canary,tier in (be,fe)');
  assert.equal(sel.matches({ app: 'web', tier: 'be' }), true);
  assert.equal(sel.matches({ app: 'web', tier: 'be', canary: '1' }), false);
  assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'Bogus' }] }), {
    message: '"Bogus" is not a valid label selector operator',
  });
  assert.throws(() => labelSelectorAsSelector({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), {
    message: "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
  });
});

test('formatting helpers', () => {
  assert.equal(formatLabelSelector({ matchLabels: { b: '2', a: '1' } }), 'a=1,b=2');
  assert.equal(formatLabelSelector(undefined), '<none>');
  assert.equal(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'x' }] }), '<error>');
  assert.equal(formatLabels({}), '<none>');
  assert.equal(formatLabels({ z: '1', a: '2' }), 'a=2,z=1');
  assert.equal(selectorFromSet({ app: 'x' }).matches({ app: 'x', other: 'y' }), true);
});
