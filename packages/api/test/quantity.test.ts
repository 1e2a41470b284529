import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addResourceLists, compareQuantities, parseQuantity, Quantity, QuantityError } from '../src/index.js';

test('parses into exact nano units', () => {
  assert.equal(parseQuantity('100m').nanos, 100_000_000n);
  assert.equal(parseQuantity('0.5').nanos, 500_000_000n);
  assert.equal(parseQuantity('1Gi').nanos, 1073741824n * 1_000_000_000n);
  assert.equal(parseQuantity('512Mi').value(), 536870912);
  assert.equal(parseQuantity('1e3').value(), 1000);
  assert.equal(parseQuantity('2k').value(), 2000);
  assert.equal(parseQuantity('1.5').milliValue(), 1500);
  assert.equal(parseQuantity('-250m').milliValue(), -250);
  assert.equal(parseQuantity('+3').value(), 3);
  assert.equal(parseQuantity('.5Ki').value(), 512);
});

test('rounds sub-nano precision and milli/whole values up, like upstream', () => {
  assert.equal(parseQuantity('1.0000000001').nanos, 1_000_000_001n);
  assert.equal(parseQuantity('100m').value(), 1);
  assert.equal(parseQuantity('1u').milliValue(), 1);
});

test('formats canonically', () => {
  const cases: [string, string][] = [
    ['100m', '100m'],
    ['0.5', '500m'],
    ['1000m', '1'],
    ['1.5', '1500m'],
    ['1500', '1500'],
    ['15000', '15k'],
    ['2k', '2k'],
    ['1e3', '1e3'],
    ['1.5e3', '1500'],
    ['1Gi', '1Gi'],
    ['1024Mi', '1Gi'],
    ['0.5Gi', '512Mi'],
    ['1.5Gi', '1536Mi'],
    ['1000Mi', '1000Mi'],
    ['512', '512'],
    ['0', '0'],
    ['0Gi', '0'],
    ['1Ki', '1Ki'],
    ['0.5Ki', '512'],
    ['-1Gi', '-1Gi'],
    ['1M', '1M'],
    ['1000k', '1M'],
    ['12n', '12n'],
  ];
  for (const [input, want] of cases) assert.equal(parseQuantity(input).toString(), want, input);
  assert.equal(JSON.stringify({ cpu: parseQuantity('0.1') }), '{"cpu":"100m"}');
});

test('compares and adds exactly', () => {
  assert.equal(compareQuantities('1', '1000m'), 0);
  assert.equal(compareQuantities('999m', '1'), -1);
  assert.equal(compareQuantities('1Gi', '1G'), 1);
  let sum = Quantity.zero();
  for (let i = 0; i < 10; i++) sum = sum.add(parseQuantity('0.1'));
  assert.equal(sum.toString(), '1');
  assert.equal(parseQuantity('1Gi').add(parseQuantity('512Mi')).toString(), '1536Mi');
  assert.equal(parseQuantity('1').sub(parseQuantity('250m')).toString(), '750m');
  assert.deepEqual(
    addResourceLists({ cpu: '100m', memory: '64Mi' }, undefined, { cpu: '0.5', memory: '64Mi', pods: '1' }),
    {
      cpu: '600m',
      memory: '128Mi',
      pods: '1',
    },
  );
  assert.equal(Quantity.fromMilli(1500).toString(), '1500m');
});

test('rejects malformed quantities with upstream messages', () => {
  const formatMsg = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
  for (const bad of ['', 'abc', '1Gb', '1..2', '.', ' 1', '1 ']) {
    assert.throws(
      () => parseQuantity(bad),
      (e: unknown) => e instanceof QuantityError && e.message === formatMsg,
      bad,
    );
  }
  for (const bad of ['1ki', '1Mm', '1mi', '1e']) {
    assert.throws(
      () => parseQuantity(bad),
      (e: unknown) => e instanceof QuantityError && e.message === "unable to parse quantity's suffix",
      bad,
    );
  }
  assert.throws(() => parseQuantity('x'), { code: 'QUANTITY_INVALID' });
});
