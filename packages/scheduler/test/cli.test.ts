import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TIMING_PROFILES } from '@kemu/api';
import { isKemuError } from '@kemu/runtime';
import { parseApiserverUrls } from '../src/apiserver-endpoints.js';
import { parseSchedulerFlags } from '../src/cli.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');

test('flags: the contract set with its defaults', () => {
  assert.deepEqual(parseSchedulerFlags(['--apiserver', 'ws://127.0.0.1:7000']), {
    apiservers: ['ws://127.0.0.1:7000/wire'],
    name: 'kube-scheduler',
    adminPort: 0,
    profile: TIMING_PROFILES.fast,
    leaderElect: true,
  });
  const f = parseSchedulerFlags([
    '--apiserver',
    'ws://127.0.0.1:7000,ws://127.0.0.1:7001/wire',
    '--name',
    'kube-scheduler-0',
    '--admin-port',
    '10259',
    '--profile',
    'real',
    '--leader-elect',
    'false',
  ]);
  assert.notEqual(f, 'help');
  if (f === 'help') return;
  assert.deepEqual(f.apiservers, ['ws://127.0.0.1:7000/wire', 'ws://127.0.0.1:7001/wire']);
  assert.equal(f.profile.name, 'real');
  assert.equal(f.leaderElect, false);
  assert.equal(f.adminPort, 10259);
  assert.equal(parseSchedulerFlags(['--help']), 'help');
});

test('flags: bad input is a typed error naming the flag', () => {
  const cases: [string[], RegExp][] = [
    [[], /--apiserver is required/],
    [['--apiserver', 'http://x:1'], /expected ws:\/\//],
    [['--apiserver', 'ws://x:1', '--leader-elect', 'yes'], /--leader-elect must be true or false/],
    [['--apiserver', 'ws://x:1', '--profile', 'slow'], /--profile must be one of fast, real/],
    [['--apiserver', 'ws://x:1', '--admin-port', '70000'], /--admin-port must be a port number/],
    [['--apiserver', 'ws://x:1', '--bogus', '1'], /bogus/],
  ];
  for (const [argv, msg] of cases) {
    assert.throws(
      () => parseSchedulerFlags(argv),
      (err: unknown) => isKemuError(err) && msg.test((err as Error).message),
      argv.join(' '),
    );
  }
  assert.throws(() => parseApiserverUrls(' , '), /at least one/);
});

test('the process: --help exits 0 with usage; a bad flag exits 2 with the message and usage', () => {
  const help = spawnSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8', timeout: 20000 });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: kube-scheduler --apiserver/);
  const bad = spawnSync(process.execPath, [MAIN, '--apiserver', 'ws://127.0.0.1:1', '--leader-elect', 'maybe'], {
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^kube-scheduler: --leader-elect must be true or false, got "maybe"\nusage: /);
});
