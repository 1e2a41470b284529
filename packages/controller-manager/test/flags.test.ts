import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ControllerManagerFlagError, parseFlags, selectControllers } from '../src/flags.js';

const KNOWN = ['replicaset', 'deployment', 'statefulset', 'job', 'cronjob', 'bootstrapsigner'];

describe('selectControllers (upstream --controllers syntax)', () => {
  it('* enables every controller on by default', () => {
    assert.deepEqual(selectControllers('*', KNOWN, ['bootstrapsigner']), KNOWN.slice(0, 5));
  });
  it('-name disables one, whatever the order', () => {
    assert.deepEqual(selectControllers('-job,*', KNOWN, ['bootstrapsigner']), [
      'replicaset',
      'deployment',
      'statefulset',
      'cronjob',
    ]);
  });
  it('explicit names without * enable only those; an off-by-default name can be enabled', () => {
    assert.deepEqual(selectControllers('job, replicaset', KNOWN), ['replicaset', 'job']);
    assert.deepEqual(selectControllers('*,bootstrapsigner', KNOWN, ['bootstrapsigner']), KNOWN);
  });
  it('unknown names are a typed error that names them', () => {
    assert.throws(
      () => selectControllers('*,-replicasett', KNOWN),
      (err: unknown) =>
        err instanceof ControllerManagerFlagError &&
        err.code === 'CONTROLLER_MANAGER_BAD_FLAG' &&
        err.message.includes('"replicasett" is not in the list of known controllers'),
    );
    assert.throws(() => selectControllers(' , ', KNOWN), ControllerManagerFlagError);
  });
});

describe('parseFlags', () => {
  it('parses every flag', () => {
    const f = parseFlags(
      [
        '--apiserver',
        'ws://127.0.0.1:1,ws://127.0.0.1:2',
        '--name',
        'kcm-0',
        '--admin-port',
        '9000',
        '--profile',
        'fast',
        '--leader-elect',
        'false',
        '--controllers',
        '*,-job',
        '--pv-host-path-dir',
        '/var/tmp/pv',
      ],
      7,
    );
    assert.ok(f);
    assert.deepEqual(f.apiservers, ['ws://127.0.0.1:1', 'ws://127.0.0.1:2']);
    assert.equal(f.name, 'kcm-0');
    assert.equal(f.adminPort, 9000);
    assert.equal(f.profile.name, 'fast');
    assert.equal(f.leaderElect, false);
    assert.equal(f.controllers, '*,-job');
    assert.equal(f.pvHostPathDir, '/var/tmp/pv');
  });
  it('defaults: real profile, leader election on, all controllers, pid in the name', () => {
    const f = parseFlags(['--apiserver', 'ws://127.0.0.1:1'], 42);
    assert.ok(f);
    assert.equal(f.profile.name, 'real');
    assert.equal(f.leaderElect, true);
    assert.equal(f.controllers, '*');
    assert.equal(f.name, 'kube-controller-manager-42');
    assert.equal(f.adminPort, 0);
    assert.equal(f.pvHostPathDir, undefined);
  });
  it('--help returns null', () => {
    assert.equal(parseFlags(['--help']), null);
  });
  it('bad flags are typed errors', () => {
    for (const argv of [
      [],
      ['--apiserver', 'http://x:1'],
      ['--apiserver', 'ws://x:1', '--profile', 'slow'],
      ['--apiserver', 'ws://x:1', '--leader-elect', 'yes'],
      ['--apiserver', 'ws://x:1', '--admin-port', '-1'],
      ['--apiserver', 'ws://x:1', '--bogus'],
      ['--apiserver', 'ws://x:1', '--pv-host-path-dir', ''],
    ]) {
      assert.throws(() => parseFlags(argv), ControllerManagerFlagError, argv.join(' '));
    }
  });
});
