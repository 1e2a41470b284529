#!/usr/bin/env node
// Wire vs bare `ws` + msgpackr, across two processes over loopback.
//   node scripts/bench-wire.mjs [--seconds 2] [--rounds 3]   (or: npm run bench:wire)
// Measures request round trip (1 in flight: p50/p99) and pipelined throughput (64 in flight,
// 256-byte payloads). The servers run in a child process (this script with --serve) that is
// killed on exit. Every figure is the median of interleaved rounds, to damp a busy shared machine.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { silentLogger } from '@kemu/runtime';
import { pack, unpack } from 'msgpackr';
import WebSocket, { WebSocketServer } from 'ws';
import { WireClient, WireServer } from '../packages/wire/dist/src/index.js';

const { values } = parseArgs({
  options: {
    serve: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});

if (values.serve) {
  const wire = new WireServer({ identity: 'bench/server', log: silentLogger() });
  wire.handle('echo', (d) => d);
  const { port: wirePort } = await wire.listen(0);
  const bare = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  bare.on('connection', (ws) => {
    ws.on('message', (data) => {
      const m = unpack(data);
      ws.send(pack({ id: m.id, d: m.d }));
    });
  });
  await new Promise((r) => bare.once('listening', r));
  process.stdout.write(`${JSON.stringify({ wirePort, barePort: bare.address().port })}\n`);
  process.on('SIGTERM', () => process.exit(0));
} else {
  await main();
}

async function main() {
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  };
  process.on('exit', kill);
  process.on('SIGINT', () => process.exit(130));
  try {
    const ports = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
      });
      child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    });

    const wire = new WireClient({
      identity: 'bench/client',
      log: silentLogger(),
      url: `ws://127.0.0.1:${ports.wirePort}/wire`,
    });
    await wire.start().whenConnected(10_000);
    const wireCall = (d) => wire.request('echo', d);
    const bareCall = await bareClient(`ws://127.0.0.1:${ports.barePort}`);

    const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const payload = Buffer.alloc(256, 0x61);
    const small = { n: 1 };
    // Interleaved rounds for latency too, so neither side always runs on a warmer or quieter machine.
    await latency(bareCall, small, 500); // warm up
    await latency(wireCall, small, 500);
    const rttRounds = { bare: [], wire: [] };
    for (let r = 0; r < rounds; r++) {
      rttRounds.bare.push(await latency(bareCall, small, 2000));
      rttRounds.wire.push(await latency(wireCall, small, 2000));
    }
    const rtt = {};
    for (const name of ['bare', 'wire']) {
      rtt[name] = { p50: med(rttRounds[name].map((x) => x.p50)), p99: med(rttRounds[name].map((x) => x.p99)) };
    }
    const tput = { bare: [], wire: [] };
    await throughput(bareCall, payload, 64, 0.5);
    await throughput(wireCall, payload, 64, 0.5);
    for (let r = 0; r < rounds; r++) {
      tput.bare.push(await throughput(bareCall, payload, 64, seconds));
      tput.wire.push(await throughput(wireCall, payload, 64, seconds));
    }
    const bareRps = med(tput.bare);
    const wireRps = med(tput.wire);

    const rows = [
      ['round trip p50, 1 in flight (µs)', rtt.wire.p50, rtt.bare.p50],
      ['round trip p99, 1 in flight (µs)', rtt.wire.p99, rtt.bare.p99],
      ['pipelined req/s, 64 in flight, 256 B', wireRps, bareRps],
    ];
    const fmt = (n) => Math.round(n).toLocaleString('en-US');
    console.log('');
    console.log('| benchmark | wire | bare ws + msgpackr | wire / bare |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [name, w, b] of rows) console.log(`| ${name} | ${fmt(w)} | ${fmt(b)} | ${(w / b).toFixed(2)} |`);
    console.log('');
    console.log(
      `throughput rounds (req/s): wire ${tput.wire.map(fmt).join(', ')}; bare ${tput.bare.map(fmt).join(', ')}`,
    );
    const kept = wireRps / bareRps;
    console.log(
      `wire keeps ${(kept * 100).toFixed(0)}% of bare throughput (target >= 80%): ${kept >= 0.8 ? 'PASS' : 'BELOW TARGET'}`,
    );
    await wire.close();
  } finally {
    kill();
  }
  process.exit(0);
}

async function bareClient(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const pending = new Map();
  let nextId = 1;
  ws.on('message', (data) => {
    const m = unpack(data);
    const resolve = pending.get(m.id);
    pending.delete(m.id);
    resolve?.(m.d);
  });
  return (d) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(pack({ id, d }));
    });
}

async function latency(call, data, n) {
  const samples = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(data);
    samples[i] = (performance.now() - t0) * 1000;
  }
  samples.sort();
  return { p50: samples[Math.floor(n * 0.5)], p99: samples[Math.floor(n * 0.99)] };
}

async function throughput(call, data, inFlight, seconds) {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      await call(data);
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return done / ((performance.now() - t0) / 1000);
}
