// The service worker's precache list (www/sw.js SHELL) holds every module the pages import: a module missing
// from it is fetched only while online, so a page visited once and then opened offline would fail to start.
// The pages' import graphs are walked from their entry scripts (static `import ... from './x.js'`, `import './x.js'`
// and `new URL('./x', import.meta.url)`).
//
//   node --test tests/wasm/offline-shell.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const WWW = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'www');
const ENTRIES = ['app.js', 'tutorial.js', 'embed.js', 'glassbox-widgets.js', 'worker.js', 'offline.js'];

function shell() {
  const source = readFileSync(join(WWW, 'sw.js'), 'utf8');
  const list = source.match(/const SHELL = \[([\s\S]*?)\]/);
  assert.ok(list, 'sw.js has a SHELL list');
  return new Set([...list[1].matchAll(/'([^']+)'/g)].map((m) => m[1]));
}

function imports(file) {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:import|export)\s[^'";]*?from\s*'(\.[^']+)'|import\s*'(\.[^']+)'|new URL\('(\.[^']+\.js)', import\.meta\.url\)/g)]
    .map((m) => m[1] ?? m[2] ?? m[3]);
  return specs.map((s) => normalize(join(dirname(file), s)));
}

test('every module the pages import is precached by the service worker', () => {
  const cached = shell();
  const seen = new Set();
  const todo = ENTRIES.map((e) => join(WWW, e));
  while (todo.length) {
    const file = todo.pop();
    if (seen.has(file) || !file.startsWith(WWW) || !existsSync(file)) continue;
    seen.add(file);
    todo.push(...imports(file).filter((f) => f.endsWith('.js')));
  }
  const modules = [...seen].map((f) => relative(WWW, f).split('\\').join('/')).sort();
  assert.ok(modules.includes('views/teaching.js') && modules.length > 20, `the walk found the page's modules: ${modules}`);
  const missing = modules.filter((m) => !cached.has(m));
  assert.deepEqual(missing, [], 'add these to SHELL in www/sw.js');
});
