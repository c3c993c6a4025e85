// A plain static file server for a built site (a Vite project's dist/), bound to 127.0.0.1 on a free port:
// what an author's host would be. No CORS, no CSP: the site's own files only.

import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.mjs': 'text/javascript; charset=utf-8',
};

/** `headers`: sent with every file (e.g. what a host reads from the folder's `_headers`). */
export async function serveStatic(root, { headers = {} } = {}) {
  const server = http.createServer((req, res) => {
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      rel = '/';
    }
    let file = path.join(root, path.normalize(rel));
    if (!file.startsWith(root)) file = root;
    try {
      if (statSync(file).isDirectory()) file = path.join(file, 'index.html');
      const size = statSync(file).size;
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': size, ...headers });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(rel === '/favicon.ico' ? 204 : 404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, stop: () => new Promise((r) => server.close(r)) };
}
