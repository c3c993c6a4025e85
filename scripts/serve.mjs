#!/usr/bin/env node
// A dependency-free static server for the Glassbox page, bound to 127.0.0.1.
//
//   node scripts/serve.mjs            # http://127.0.0.1:8080/
//   PORT=9000 node scripts/serve.mjs
//
// URL layout:   /          -> www/
//               /pkg/      -> pkg/      (the wasm build)
//               /models/   -> models/   (bundled models; models/extra/ too when present)
//               /models/index.json      (generated: the model folders found, for the page's picker, and the
//                                        tokenizer-only folders of models/tokenizers/)
// Every response may be read by any origin (CORS_HEADERS), so a page elsewhere can use the widgets from here.
// MODELS_DIR replaces models/ (tests point it at a temporary folder).

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { modelsIndex } from './model-index.mjs';

// The listings live in model-index.mjs (the offline bundle and the npm package write the same index); kept
// exported here for the callers that import them from the server.
export { listModels, listTokenizers } from './model-index.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
  '.safetensors': 'application/octet-stream',
  '.model': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};

// ---- Content-Security-Policy ------------------------------------------------------------------------
//
// The documents may talk only to their own origin (connect-src 'self'): no script on the page can send anything
// anywhere else. Models from a URL the user typed are fetched by the Web Worker, and a dedicated worker obeys the
// policy sent with its own script, so worker.js alone gets the wider connect-src below. The trade-off: a meta or
// header policy cannot list the one URL a user will type later, so the worker may reach any https: address (and
// plain http on this machine); what it actually fetches is only what the page hands it (a typed URL, a bundled
// model, or an embed's allow-listed origin after the visitor's click). A plain-http model server elsewhere on the
// network is refused by the policy: serve it over https or from this origin.

/** Where a user-chosen model may come from (the worker's connect-src besides 'self'). */
export const USER_MODEL_SOURCES = "https: http://localhost:* http://127.0.0.1:*";

const CSP_COMMON = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
];

/** The policies, by what is served: the page and tutorial, the embed page, the worker. */
export const CSP = {
  // Only our own pages may frame the page and the tutorial (use embed.html to embed elsewhere).
  document: [...CSP_COMMON, "connect-src 'self'", "worker-src 'self'", "frame-ancestors 'self'"].join('; '),
  // The embed exists to be framed by other sites; what they can make it do is limited in embed.js.
  embed: [...CSP_COMMON, "connect-src 'self'", "worker-src 'self'", 'frame-ancestors *'].join('; '),
  worker: [...CSP_COMMON, `connect-src 'self' ${USER_MODEL_SOURCES}`].join('; '),
};

// ---- CORS ---------------------------------------------------------------------------------------------
//
// Every file here is public and no request carries credentials, so any origin may read them: a blog on another
// site loads glassbox-widgets.js as a module script (a CORS request), its blob worker imports worker.js and the
// wasm glue, and the worker fetches the wasm and the models, all from this server. Without these headers the
// browser refuses each of them. CORP says the same to pages that require it (Cross-Origin-Embedder-Policy).

/** The headers that let a page on another origin use the files (widgets, worker, wasm, models). */
export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Cross-Origin-Resource-Policy': 'cross-origin',
};

function policyFor(file) {
  const name = file.split(sep).pop();
  if (name === 'embed.html') return CSP.embed;
  if (name === 'worker.js') return CSP.worker;
  return CSP.document;
}

/// Map a URL path onto a file under one of the served folders, or null if it escapes them.
function locate(urlPath, modelsDir) {
  let path;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return null;
  let base = join(ROOT, 'www');
  if (segments[0] === 'pkg') {
    base = join(ROOT, 'pkg');
    segments.shift();
  } else if (segments[0] === 'models') {
    base = modelsDir;
    segments.shift();
  }
  const file = resolve(base, ...segments);
  if (file !== base && !file.startsWith(base + sep)) return null;
  return file;
}

export function createGlassboxServer({ modelsDir = join(ROOT, 'models') } = {}) {
  return createServer(async (req, res) => {
    const send = (status, body, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': CSP.document, ...CORS_HEADERS });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method === 'OPTIONS') {
      // A preflight (a cross-origin fetch with a non-simple header): reading is allowed, nothing else.
      res.writeHead(204, { ...CORS_HEADERS, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Max-Age': '600' });
      return res.end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'Only GET and HEAD are served\n');
    // The path alone, read against a fixed origin: a request for "//" or "//host/x" is a path here, not an
    // address of another host (new URL("//", base) threw and took the whole server down).
    let url;
    try {
      url = new URL(`http://127.0.0.1${req.url.startsWith('/') ? '' : '/'}${req.url}`);
    } catch {
      return send(400, 'Not a path this server reads\n');
    }
    if (url.pathname === '/models/index.json') {
      const body = JSON.stringify(await modelsIndex(modelsDir), null, 2);
      return send(200, body, MIME['.json']);
    }
    let file = locate(url.pathname, modelsDir);
    if (!file) return send(403, 'Forbidden\n');
    let info;
    try {
      info = await stat(file);
      if (info.isDirectory()) {
        if (!url.pathname.endsWith('/')) {
          res.writeHead(301, { Location: `${url.pathname}/${url.search}`, ...CORS_HEADERS });
          return res.end();
        }
        file = join(file, 'index.html');
        info = await stat(file);
      }
    } catch {
      return send(404, `Not found: ${url.pathname}\n`);
    }
    res.writeHead(200, {
      'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': info.size,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': policyFor(file),
      'Referrer-Policy': 'no-referrer',
      ...CORS_HEADERS,
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const port = Number(process.env.PORT ?? 8080);
  const modelsDir = process.env.MODELS_DIR ? resolve(process.env.MODELS_DIR) : join(ROOT, 'models');
  const server = createGlassboxServer({ modelsDir });
  server.on('error', (err) => {
    console.error(`error: cannot serve on 127.0.0.1:${port} (${err.message}). Set PORT to a free port, e.g. PORT=8081`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    console.log(`Glassbox at http://127.0.0.1:${server.address().port}/  (Ctrl-C to stop)`);
  });
}
