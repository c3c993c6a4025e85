#!/usr/bin/env node
// Glassbox for a classroom without network: writes
//   1. a self-contained static folder (page, tutorial, widgets and their gallery, embed page, worker, wasm,
//      bundled models, service worker) that runs from any static file server, under any path, with no network at all;
//   2. one HTML file holding the page, the worker, the wasm and the bundled models (base64), which runs when opened
//      straight from disk (file://), e.g. from a USB stick.
//
//   node scripts/bundle-offline.mjs                       # dist/glassbox/ and dist/glassbox.html
//   node scripts/bundle-offline.mjs --out DIR --single FILE --models DIR
//   node scripts/bundle-offline.mjs --no-single           # only the folder
//
// Needs the wasm build (scripts/build-wasm.sh). Models: every folder of models/ (or --models DIR) that holds
// a config.json; only the files a model needs are copied. The real GPT-2 and BERT uncased tokenizers come along
// when models/tokenizers/ holds them (node scripts/make-real-tokenizers.mjs writes them), with their LICENSE.md;
// the output says which are missing. Nothing here downloads anything.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CSP, USER_MODEL_SOURCES } from './serve.mjs';
import { listModels, listTokenizers, missingTokenizersNote } from './model-index.mjs';
import { PKG, PKG_FILES, pkgFiles } from './wasm-files.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WWW = path.join(ROOT, 'www');
const MODEL_FILES = ['config.json', 'tokenizer.json', 'model.safetensors', 'tokenizer_config.json', 'special_tokens_map.json',
  'generation_config.json'];
// A real tokenizer's folder: what the worker loads, its title (README.md) and its credits (LICENSE.md).
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'README.md', 'LICENSE.md'];
// Page files that are not part of the offline copy (types are for developers).
const SKIP = new Set(['glassbox.d.ts']);
// The page's entry modules, in the order the single file runs them.
const SINGLE_FILE_ENTRIES = ['app.js', 'page-share.js'];

/** Stop with a message that says what to do (the command prints it; a caller gets the Error). */
function die(message) {
  throw new Error(`bundle-offline: ${message}`);
}

function parseArgs(argv) {
  const opts = { out: path.join(ROOT, 'dist/glassbox'), single: path.join(ROOT, 'dist/glassbox.html'), models: path.join(ROOT, 'models') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return path.resolve(argv[++i]);
    };
    if (a === '--out') opts.out = value();
    else if (a === '--single') opts.single = value();
    else if (a === '--models') opts.models = value();
    else if (a === '--no-single') opts.single = null;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/bundle-offline.mjs [--out DIR] [--single FILE | --no-single] [--models DIR]');
      process.exit(0);
    } else die(`unknown option ${a}. Use --out DIR, --single FILE, --no-single or --models DIR`);
  }
  return opts;
}

function walk(dir, base = dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full, base));
    else out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out;
}

/** Replace `from` by `to` in `text`, failing loudly when the page's code no longer contains it. */
function replaceOnce(text, from, to, file) {
  if (!text.includes(from)) die(`${file} no longer contains ${JSON.stringify(from)}; update scripts/bundle-offline.mjs`);
  return text.replace(from, () => to); // a function: no `$&` patterns in `to` are expanded
}

// ---- the Content-Security-Policy, as a <meta> element ---------------------------------------------------
//
// The same policies scripts/serve.mjs sends as headers (a static server may send none), minus frame-ancestors,
// which browsers ignore (and warn about) in a <meta> policy.

function metaCsp(policy) {
  const content = policy.split(';').map((d) => d.trim()).filter((d) => d && !d.startsWith('frame-ancestors')).join('; ');
  return `<meta http-equiv="Content-Security-Policy" content="${content.replace(/"/g, '&quot;')}">`;
}

function withMetaCsp(html, policy, file) {
  return replaceOnce(html, '<meta charset="utf-8">', `<meta charset="utf-8">\n  ${metaCsp(policy)}`, file);
}

const sha256 = (text) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

// ---- the models -----------------------------------------------------------------------------------

async function collectModels(modelsDir) {
  if (!fs.existsSync(modelsDir)) {
    die(`no models folder at ${modelsDir}. Put the bundled models there, or pass --models DIR`);
  }
  const list = (await listModels(modelsDir)).filter((m) => !m.extra);
  if (!list.length) die(`no model folders (with a config.json) under ${modelsDir}`);
  return list.map((m) => {
    const dir = path.join(modelsDir, m.name);
    const files = MODEL_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
    for (const need of ['config.json', 'tokenizer.json', 'model.safetensors']) {
      if (!files.includes(need)) die(`${dir} has no ${need}: a model folder needs config.json, model.safetensors and tokenizer.json`);
    }
    return { ...m, dir, files };
  });
}

/**
 * The real tokenizers under `modelsDir/tokenizers/` as scripts/serve.mjs lists them (`{ name, path, title, files }`,
 * `files` what is copied), each with its `dir`; and `missing`, a line saying which known ones are absent and how to
 * make them (null when none is).
 */
async function collectTokenizers(modelsDir) {
  const found = await listTokenizers(modelsDir);
  const list = found.map((t) => ({ ...t, dir: path.join(modelsDir, 'tokenizers', t.name), files: t.files.filter((f) => TOKENIZER_FILES.includes(f)) }));
  return { list, missing: missingTokenizersNote(found, modelsDir) };
}

/** What index.json says of a real tokenizer: the shape scripts/serve.mjs gives it. */
const tokenizerEntry = ({ name, path: where, title, files }) => ({ name, path: where, title, files });

// ---- the folder -----------------------------------------------------------------------------------

/**
 * Server settings that let a page on another origin use the widgets from this folder (module script, worker
 * imports, wasm and model fetches are all CORS requests): `_headers` for Netlify and Cloudflare Pages, `.htaccess`
 * for Apache (mod_headers). Other servers: docs/widgets.md. Not in the service worker's cache (a server may
 * refuse to serve them).
 */
export const HOSTING_FILES = {
  _headers: '/*\n  Access-Control-Allow-Origin: *\n  Cross-Origin-Resource-Policy: cross-origin\n',
  '.htaccess': '<IfModule mod_headers.c>\n  Header set Access-Control-Allow-Origin "*"\n  Header set Cross-Origin-Resource-Policy "cross-origin"\n</IfModule>\n'
    + 'AddType application/wasm .wasm\nAddType text/javascript .js\n',
};

function writeFolder(out, models, tokenizers) {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const pageFiles = walk(WWW).filter((f) => !SKIP.has(f));
  for (const f of pageFiles) {
    fs.mkdirSync(path.dirname(path.join(out, f)), { recursive: true });
    fs.copyFileSync(path.join(WWW, f), path.join(out, f));
  }
  // The folder is flat (pkg/ and models/ beside index.html), so it works under any path of any server.
  fs.mkdirSync(path.join(out, 'pkg'));
  for (const f of pkgFiles()) fs.copyFileSync(path.join(PKG, f), path.join(out, 'pkg', f));
  for (const [page, policy] of [['index.html', CSP.document], ['tutorial.html', CSP.document], ['widgets.html', CSP.document], ['embed.html', CSP.embed]]) {
    const file = path.join(out, page);
    fs.writeFileSync(file, withMetaCsp(fs.readFileSync(file, 'utf8'), policy, `www/${page}`));
  }
  const worker = path.join(out, 'worker.js');
  let workerJs = replaceOnce(fs.readFileSync(worker, 'utf8'), "'../pkg/glassbox.js'", "'./pkg/glassbox.js'", 'www/worker.js');
  workerJs = replaceOnce(workerJs, "'../pkg/glassbox_bg.wasm'", "'./pkg/glassbox_bg.wasm'", 'www/worker.js');
  workerJs = replaceOnce(workerJs, "'../pkg/glassbox_relaxed_bg.wasm'", "'./pkg/glassbox_relaxed_bg.wasm'", 'www/worker.js');
  fs.writeFileSync(worker, workerJs);
  for (const m of models) {
    fs.mkdirSync(path.join(out, 'models', m.name), { recursive: true });
    for (const f of m.files) fs.copyFileSync(path.join(m.dir, f), path.join(out, 'models', m.name, f));
  }
  for (const t of tokenizers) {
    fs.mkdirSync(path.join(out, 'models/tokenizers', t.name), { recursive: true });
    for (const f of t.files) fs.copyFileSync(path.join(t.dir, f), path.join(out, 'models/tokenizers', t.name, f));
  }
  // As scripts/serve.mjs lists them; `files` lets the page request only the files that exist.
  const index = models.map(({ name, kind, modelType, title, files }) => ({ name, path: `models/${name}/`, kind, modelType, title, extra: false, files }));
  fs.writeFileSync(path.join(out, 'models/index.json'),
    `${JSON.stringify({ models: index, tokenizers: tokenizers.map(tokenizerEntry) }, null, 2)}\n`);

  // Hosting for pages on other origins (the widgets' script tag from a blog): static hosts read these.
  for (const [name, text] of Object.entries(HOSTING_FILES)) fs.writeFileSync(path.join(out, name), text);

  // The service worker: the exact file list, and a version that changes whenever any file does.
  const all = walk(out).filter((f) => f !== 'sw.js' && !(f in HOSTING_FILES));
  const hash = createHash('sha256');
  for (const f of all) hash.update(f).update('\0').update(fs.readFileSync(path.join(out, f)));
  const version = hash.digest('hex').slice(0, 12);
  const shell = ['./', ...all.filter((f) => !f.startsWith('models/'))];
  let sw = fs.readFileSync(path.join(out, 'sw.js'), 'utf8');
  sw = replaceOnce(sw, "const VERSION = 'dev';", `const VERSION = '${version}';`, 'www/sw.js');
  sw = sw.replace(/const SHELL = \[[\s\S]*?\]\.map\(/, `const SHELL = ${JSON.stringify(shell)}.map(`);
  if (!sw.includes(`"pkg/glassbox_bg.wasm"`)) die('www/sw.js: the SHELL list could not be replaced; update scripts/bundle-offline.mjs');
  fs.writeFileSync(path.join(out, 'sw.js'), sw);
  const files = walk(out);
  return { files: files.length, bytes: files.reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0), version };
}

// ---- the single file ------------------------------------------------------------------------------

/**
 * A very small bundler for our own plain ES modules: each module becomes a function scope whose exports are
 * returned as an object; `import { a, b as c } from './x.js'` becomes a destructuring of that object.
 * It knows only the forms our modules use and stops on anything else.
 */
function bundleModules(entries) {
  const modules = new Map(); // file -> { id, deps, body, exports }
  const order = [];
  const visit = (file, trail = []) => {
    if (modules.has(file)) return;
    if (trail.includes(file)) die(`circular import ${[...trail, file].join(' -> ')}`);
    const src = fs.readFileSync(path.join(WWW, file), 'utf8');
    const deps = [];
    let body = src.replace(/^import\s+(?:\{([^}]*)\}\s+from\s+)?['"]([^'"]+)['"];?[ \t]*$/gm, (_, names, spec) => {
      if (!spec.startsWith('.')) die(`${file}: import of "${spec}" (only relative imports can be inlined)`);
      const dep = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
      deps.push(dep);
      if (!names) return '';
      const binds = names.split(',').map((n) => n.trim()).filter(Boolean)
        .map((n) => n.replace(/^(\w+)\s+as\s+(\w+)$/, '$1: $2'));
      return `const { ${binds.join(', ')} } = ${moduleVar(dep)};`;
    });
    if (/^import\s/m.test(body)) die(`${file}: an import form the single-file bundler does not know`);
    const exports = [];
    body = body.replace(/^export\s+(async\s+function\*?|function\*?|class|const|let)\s+(\w+)/gm, (_, kw, name) => {
      exports.push(name);
      return `${kw} ${name}`;
    });
    body = body.replace(/^export\s*\{([^}]*)\};?[ \t]*$/gm, (_, names) => {
      for (const n of names.split(',').map((s) => s.trim()).filter(Boolean)) {
        exports.push(n.replace(/^(\w+)\s+as\s+(\w+)$/, '$2: $1'));
      }
      return '';
    });
    if (/^export\s/m.test(body)) die(`${file}: an export form the single-file bundler does not know`);
    modules.set(file, { deps, body, exports });
    for (const d of deps) visit(d, [...trail, file]);
    order.push(file);
  };
  for (const e of entries) visit(e);
  return order.map((file) => ({ file, ...modules.get(file) }));
}

function moduleVar(file) {
  return `__gb_${file.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** Runs right after glassbox.js: the worker, the wasm glue, the wasm and the models come from the inlined data. */
const SINGLE_FILE_BOOT = `
// ---- single-file boot: the worker and the wasm glue from data: URLs, the wasm and the models from inlined base64 ----
const __gb_data = JSON.parse(document.getElementById('glassbox-data').textContent);
const __gb_bytes = (b64) => { const s = atob(b64); const out = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i); return out; };
const __gb_wasm = __gb_bytes(__gb_data.wasm);
// A module worker from a data: URL: Chromium refuses module workers from blob: URLs on file:// pages.
const __gb_workerUrl = 'data:text/javascript;base64,' + __gb_data.workerBase64;
// A data: URL imports in any worker, whatever the page's origin (a file:// page has an opaque one).
const __gb_glueUrl = 'data:text/javascript;base64,' + __gb_data.glueBase64;
/** The inlined files of the model whose folder URL is \`url\` (…/models/<name>/), or null. */
function __gb_modelFiles(url) {
  const m = /\\/models\\/([^/]+)\\/?$/.exec(String(url ?? ''));
  const files = m && __gb_data.models[decodeURIComponent(m[1])];
  if (!files) return null;
  const out = {};
  for (const [name, b64] of Object.entries(files)) out[name] = __gb_bytes(b64).buffer;
  return out;
}
/** The inlined files of the real tokenizer whose folder URL is \`url\` (…/models/tokenizers/<name>/), or null. */
function __gb_tokenizerFiles(url) {
  const m = /\\/models\\/tokenizers\\/([^/]+)\\/?$/.exec(String(url ?? ''));
  return (m && __gb_data.tokenizers[decodeURIComponent(m[1])]) || null;
}
/** A real tokenizer's licence, as a link the reader can open: a blob: URL of the inlined LICENSE.md (made once). */
const __gb_licenses = new Map();
function __gb_licenseUrl(name) {
  const b64 = __gb_data.tokenizers[name]?.['LICENSE.md'];
  if (!b64) return undefined;
  if (!__gb_licenses.has(name)) __gb_licenses.set(name, URL.createObjectURL(new Blob([__gb_bytes(b64)], { type: 'text/plain; charset=utf-8' })));
  return __gb_licenses.get(name);
}
{
  const { Glassbox } = ${moduleVar('glassbox.js')};
  const create = Glassbox.create.bind(Glassbox);
  Glassbox.create = (opts = {}) => create({
    worker: opts.worker ?? new Worker(__gb_workerUrl, { type: 'module' }), pkgUrl: __gb_glueUrl, wasm: __gb_wasm.slice(), ...opts,
  });
  const loadModel = Glassbox.prototype.loadModel;
  Glassbox.prototype.loadModel = function (source, opts) {
    const files = source && typeof source.baseUrl === 'string' ? __gb_modelFiles(new URL(source.baseUrl, document.baseURI).pathname) : null;
    return loadModel.call(this, files ? { files } : source, opts);
  };
  // The real tokenizers (models/tokenizers/<name>/) are inlined too: their files go to the worker as Blobs.
  const loadTokenizer = Glassbox.prototype.loadTokenizer;
  Glassbox.prototype.loadTokenizer = function (source, opts) {
    const inlined = source && typeof source.baseUrl === 'string' ? __gb_tokenizerFiles(new URL(source.baseUrl, document.baseURI).pathname) : null;
    const files = inlined && Object.fromEntries(Object.entries(inlined).filter(([name]) => name.endsWith('.json'))
      .map(([name, b64]) => [name, new Blob([__gb_bytes(b64)])]));
    return loadTokenizer.call(this, files ? { files } : source, opts);
  };
  // A file:// page cannot fetch its neighbours: the model list (with the real tokenizers, their licences as blob:
  // links) and the real tokenizers' files are answered from the inlined data.
  const pageFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? String(input) : input.url, document.baseURI);
    if (url.pathname.endsWith('/models/index.json')) {
      const tokenizers = __gb_data.tokenizerIndex.map((t) => ({ ...t, license: __gb_licenseUrl(t.name) }));
      return Promise.resolve(new Response(JSON.stringify({ models: __gb_data.index, tokenizers }), { headers: { 'Content-Type': 'application/json' } }));
    }
    const file = /^(.*\\/models\\/tokenizers\\/[^/]+\\/)([^/]+)$/.exec(url.pathname);
    const b64 = file && __gb_tokenizerFiles(file[1])?.[decodeURIComponent(file[2])];
    if (b64) {
      const type = file[2].endsWith('.json') ? 'application/json' : 'text/plain; charset=utf-8';
      return Promise.resolve(new Response(__gb_bytes(b64), { headers: { 'Content-Type': type } }));
    }
    return pageFetch(input, init);
  };
}
`;

function writeSingleFile(file, models, tokenizers) {
  const mods = bundleModules(SINGLE_FILE_ENTRIES);
  const parts = [];
  for (const m of mods) {
    parts.push(`// ---- ${m.file} ----\nconst ${moduleVar(m.file)} = (() => {\n${m.body}\nreturn { ${m.exports.join(', ')} };\n})();`);
    if (m.file === 'glassbox.js') parts.push(SINGLE_FILE_BOOT);
  }
  if (!mods.some((m) => m.file === 'glassbox.js')) die('the page no longer imports glassbox.js; update scripts/bundle-offline.mjs');
  const glue = fs.readFileSync(path.join(PKG, 'glassbox.js'));
  const data = {
    wasm: fs.readFileSync(path.join(PKG, 'glassbox_bg.wasm')).toString('base64'),
    glueBase64: glue.toString('base64'),
    // A data: URL is no base for relative URLs: the default glue address goes (init passes the real one).
    // The single file carries the SIMD128 build only (every engine runs it; a second 1.5 MB as base64 is not worth
    // the faster prefill in a file meant for a USB stick), passed to init as bytes.
    workerBase64: Buffer.from(replaceOnce(replaceOnce(replaceOnce(fs.readFileSync(path.join(WWW, 'worker.js'), 'utf8'),
      "new URL('../pkg/glassbox.js', import.meta.url).href", "'inlined'", 'www/worker.js'),
    "new URL('../pkg/glassbox_bg.wasm', import.meta.url).href", 'undefined', 'www/worker.js'),
    "new URL('../pkg/glassbox_relaxed_bg.wasm', import.meta.url).href", 'undefined', 'www/worker.js')).toString('base64'),
    index: models.map(({ name, kind, modelType, title, files }) => ({ name, path: `models/${name}/`, kind, modelType, title, files })),
    models: Object.fromEntries(models.map((m) => [m.name,
      Object.fromEntries(m.files.map((f) => [f, fs.readFileSync(path.join(m.dir, f)).toString('base64')]))])),
    // The real tokenizers: listed as in the folder's index.json, their files (licence included) inlined.
    tokenizerIndex: tokenizers.map(tokenizerEntry),
    tokenizers: Object.fromEntries(tokenizers.map((t) => [t.name,
      Object.fromEntries(t.files.map((f) => [f, fs.readFileSync(path.join(t.dir, f)).toString('base64')]))])),
  };
  // "<" escaped so no "</script>" inside the data or the code can end its script element.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const code = parts.join('\n\n').replace(/<\/script/gi, '<\\/script');
  let html = fs.readFileSync(path.join(WWW, 'index.html'), 'utf8');
  const css = fs.readFileSync(path.join(WWW, 'style.css'), 'utf8');
  const style = `\n${css}\n`;
  const script = `
// Glassbox, single-file edition: written by scripts/bundle-offline.mjs from www/ and pkg/. Do not edit by hand.
${code}
`;
  html = replaceOnce(html, '<link rel="stylesheet" href="style.css">', `<style>${style}</style>`, 'www/index.html');
  html = html.replace(/^\s*<script type="module" src="[^"]*"><\/script>\s*$/gm, '');
  html = replaceOnce(html, '</body>', `<script type="application/json" id="glassbox-data">${json}</script>
<script type="module">${script}</script>
</body>`, 'www/index.html');
  // Inline code and style are allowed by their hashes only. The worker and the wasm glue come from data: URLs
  // (a file:// page has no origin to load them from), and a data: worker obeys this page's policy, so the
  // user-chosen model sources are in connect-src here.
  html = withMetaCsp(html, [
    "default-src 'self'",
    `script-src ${sha256(script)} 'wasm-unsafe-eval' data:`,
    `style-src ${sha256(style)}`,
    "img-src 'self' data: blob:",
    `connect-src 'self' ${USER_MODEL_SOURCES}`,
    'worker-src data:',
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; '), 'www/index.html');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, html);
  return fs.statSync(file).size;
}

// ---- main -----------------------------------------------------------------------------------------

export async function bundleOffline(opts) {
  for (const f of PKG_FILES) {
    if (!fs.existsSync(path.join(PKG, f))) die(`pkg/${f} is missing. Build the wasm first: scripts/build-wasm.sh`);
  }
  const models = await collectModels(opts.models);
  const tokenizers = await collectTokenizers(opts.models);
  const result = { models: models.map((m) => m.name), tokenizers: tokenizers.list.map((t) => t.name), missingTokenizers: tokenizers.missing };
  if (opts.out) result.folder = { path: opts.out, ...writeFolder(opts.out, models, tokenizers.list) };
  if (opts.single) result.single = { path: opts.single, bytes: writeSingleFile(opts.single, models, tokenizers.list) };
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  let r;
  try {
    r = await bundleOffline(parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log(`bundle-offline: models: ${r.models.join(', ')}`);
  console.log(`bundle-offline: real tokenizers: ${r.tokenizers.join(', ') || 'none'}`);
  if (r.missingTokenizers) console.log(`bundle-offline: note: ${r.missingTokenizers}`);
  if (r.folder) {
    console.log(`bundle-offline: folder ${path.relative(process.cwd(), r.folder.path) || '.'} (${r.folder.files} files, `
      + `${(r.folder.bytes / 1048576).toFixed(1)} MB, cache version ${r.folder.version})`);
    console.log('  serve it with any static server, e.g.: python3 -m http.server -d ' + path.relative(process.cwd(), r.folder.path));
  }
  if (r.single) console.log(`bundle-offline: single file ${path.relative(process.cwd(), r.single.path)} (${(r.single.bytes / 1048576).toFixed(1)} MB); open it from disk`);
}
