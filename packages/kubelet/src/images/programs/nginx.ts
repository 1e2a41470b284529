/** nginx-like HTTP server: welcome page or files from /usr/share/nginx/html, nginx access log lines. */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { containerPorts, flag, hostPathFor, listenError, onTerminate, podIP } from './env.js';

const argv = process.argv.slice(2);
const server = flag(argv, 'server') ?? 'nginx/1.27.3';
const isApache = server.startsWith('Apache');
// busybox's `httpd -f -p 8080 -h /www` maps here too: -p picks the port, -h the document root.
const home = flag(argv, 'h');
const docroot = home
  ? (hostPathFor(home) ?? home)
  : hostPathFor(isApache ? '/usr/local/apache2/htdocs' : '/usr/share/nginx/html');
const host = podIP();
const portFlag = Number(flag(argv, 'p')?.split(':').pop());
const ports = Number.isInteger(portFlag) && portFlag > 0 ? [portFlag] : containerPorts();
if (ports.length === 0) ports.push(80);

const WELCOME = isApache
  ? '<html><body><h1>It works!</h1></body></html>\n'
  : `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`;

function notFound(): string {
  return `<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>${server}</center>\r\n</body>\r\n</html>\r\n`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function timeLocal(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function body(urlPath: string): { status: number; data: string | Buffer; type: string } {
  const clean = path.posix.normalize(decodeURIComponent(urlPath.split('?')[0] ?? '/'));
  if (docroot) {
    let file = path.join(docroot, clean);
    try {
      if (fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
      return { status: 200, data: fs.readFileSync(file), type: file.endsWith('.html') ? 'text/html' : 'text/plain' };
    } catch {
      if (clean !== '/' && clean !== '/index.html') return { status: 404, data: notFound(), type: 'text/html' };
    }
  }
  if (clean === '/' || clean === '/index.html') return { status: 200, data: WELCOME, type: 'text/html' };
  return { status: 404, data: notFound(), type: 'text/html' };
}

const servers = ports.map((port) => {
  const s = http.createServer((req, res) => {
    const r = body(req.url ?? '/');
    const len = Buffer.byteLength(r.data);
    res.writeHead(r.status, { Server: server, 'Content-Type': r.type, 'Content-Length': len });
    res.end(req.method === 'HEAD' ? undefined : r.data);
    const ua = req.headers['user-agent'] ?? '-';
    const ref = req.headers.referer ?? '-';
    process.stdout.write(
      `${req.socket.remoteAddress ?? '-'} - - [${timeLocal(new Date())}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${r.status} ${len} "${ref}" "${ua}" "-"\n`,
    );
  });
  s.on('error', (err: NodeJS.ErrnoException) => listenError(isApache ? 'httpd' : 'nginx', host, port, err));
  s.listen(port, host);
  return s;
});

process.stderr.write(`${isApache ? 'httpd' : 'nginx'}: listening on ${ports.map((p) => `${host}:${p}`).join(', ')}\n`);
if (!isApache) process.stderr.write(`${timeLocal(new Date())} [notice] 1#1: start worker processes\n`);
onTerminate(() => {
  for (const s of servers) s.close();
});
