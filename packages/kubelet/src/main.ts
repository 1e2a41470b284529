#!/usr/bin/env node
// `node packages/kubelet/dist/src/main.js --apiserver ws://127.0.0.1:PORT --node-name worker-1 …`
import './v8-flags.js';
import { createLogger, ShutdownHooks } from '@kemu/runtime';
import { parseKubeletFlags, USAGE } from './config.js';
import { startKubeletProcess } from './process.js';
import { type NodeServing, serveNode, serveSimNodes } from './server/serve-node.js';

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseKubeletFlags>;
  try {
    parsed = parseKubeletFlags(argv);
  } catch (err) {
    process.stderr.write(`kubelet: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const config = parsed.config;
  const log = createLogger({
    component: 'kubelet',
    node: config.simNodes > 1 ? `${config.simNodePrefix}*` : config.nodeName,
  });
  const proc = await startKubeletProcess(config, {
    log,
    beforeStart: async ({ kubelets }) => {
      // The kubelet server on --port and the static pods; sim nodes share one server, no static pods.
      if (config.simNodes > 1) return serveSimNodes(kubelets, { port: config.port });
      const serving: NodeServing[] = [];
      for (const k of kubelets) {
        serving.push(await serveNode(k, { port: config.port, staticPodDir: config.staticPodDir }));
      }
      return { close: async () => void (await Promise.all(serving.map((s) => s.close()))) };
    },
  });
  const hooks = new ShutdownHooks(log, 10_000);
  hooks.add(() => proc.close());
  hooks.install();
  log.info(
    { admin: proc.adminPort, nodes: proc.kubelets.length, runtime: config.runtimeKind, apiservers: config.apiservers },
    'kubelet running',
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`kubelet: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
