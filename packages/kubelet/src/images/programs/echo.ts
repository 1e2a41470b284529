/**
 * Echo server in the styles of kemu/echo, hashicorp/http-echo (`-text`, `-listen`) and
 * ealen/echo-server (`PORT`): answers with the pod's name and IP, or with `-text`.
 */
import http from 'node:http';
import { containerPorts, flag, listenError, onTerminate, podIP, podName } from './env.js';

const argv = process.argv.slice(2);
const text = flag(argv, 'text');
const listen = flag(argv, 'listen');
const host = podIP();
const fromListen = listen ? Number(listen.slice(listen.lastIndexOf(':') + 1)) : Number.NaN;
const port = Number.isInteger(fromListen)
  ? fromListen
  : Number(process.env.PORT) || containerPorts()[0] || Number(flag(argv, 'default-port')) || 80;

const server = http.createServer((req, res) => {
  let out: string;
  if (text !== undefined) out = `${text}\n`;
  else {
    out = `Hostname: ${podName()}\nIP: ${host}\nRemoteAddr: ${req.socket.remoteAddress}:${req.socket.remotePort}\n`;
    out += `${req.method} ${req.url} HTTP/${req.httpVersion}\n`;
    for (const [k, v] of Object.entries(req.headers)) out += `${k}: ${Array.isArray(v) ? v.join(', ') : v}\n`;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Pod-Name': podName(), 'X-Pod-IP': host });
  res.end(out);
  process.stdout.write(`${req.socket.remoteAddress} "${req.method} ${req.url}" 200\n`);
});
server.on('error', (err: NodeJS.ErrnoException) => listenError('echo-server', host, port, err));
server.listen(port, host, () => process.stdout.write(`echo-server listening on ${host}:${port}\n`));
onTerminate(() => server.close());
