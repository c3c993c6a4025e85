// The Glassbox service worker: once a page has been visited over http(s) (localhost counts), it keeps working
// with the network gone.
//
// - Install: the page shell, the wasm and every bundled model (they are small by design) go into one cache
//   named after VERSION. The offline bundle (scripts/bundle-offline.mjs) writes VERSION = a hash of its files,
//   so a new bundle installs into a new cache; the activate step deletes every older glassbox-* cache.
// - Fetch: same-origin GETs go to the network first (so a running server always serves the newest files) and
//   fall back to the cache; every good answer refreshes the cache. Other origins are not touched.

const VERSION = 'dev';
const CACHE = `glassbox-${VERSION}`;
const CACHE_PREFIX = 'glassbox-';
const NETWORK_TIMEOUT_MS = 4000;   // a network that hangs counts as gone

// Relative to this script (the page's root). The offline bundle may replace this list.
const SHELL = [
  './', 'index.html', 'style.css', 'app.js', 'glassbox.js', 'worker.js', 'glassbox-widgets.js', 'elements/base.js', 'url-state.js',
  'page-share.js', 'offline.js', 'embed.html', 'embed.js', 'embed.css', 'tutorial.html', 'tutorial.js', 'tutorial.css', 'run-view.js',
  'widgets.html', 'gallery.js', 'gallery.css',
  'elements/lesson.js', 'lessons/tokens.json', 'lessons/rnn.json', 'lessons/attention.json', 'lessons/heads.json',
  'lessons/positions.json', 'lessons/model-types.json', 'lessons/generation.json', 'lessons/pretraining.json',
  'views/candidates.js', 'views/controls.js', 'views/explain.js', 'views/generated.js', 'views/heatmap.js',
  'views/model-facts.js', 'views/roving.js', 'views/text-highlight.js', 'views/token-text.js', 'views/tokens.js',
  'views/teaching.js', 'views/fill-mask.js', 'views/interventions.js', 'views/qkv.js', 'views/positions.js',
  'views/residual.js', 'views/tokenizer-steps.js', 'views/tokenizer-compare.js', 'elements/tokens-real.js', 'views/vector-strip.js',
  'views/block.js', 'views/sampling.js', 'views/scroll-region.js',
  'head-choice.js', 'elements/view-element.js', 'elements/head-view.js', 'elements/model-view.js', 'elements/rollout.js',
  'elements/rnn.js', 'elements/transfer.js', 'data/transfer-sentences.json',
  '../pkg/glassbox.js', '../pkg/glassbox_bg.wasm', '../pkg/glassbox_relaxed_bg.wasm',
].map((p) => new URL(p, self.location.href).href);

// A Marian or M2M100 folder's tokenizer files stand in for tokenizer.json (worker.js makes one of them).
const MODEL_FILES = ['config.json', 'tokenizer.json', 'model.safetensors', 'tokenizer_config.json', 'special_tokens_map.json',
  'generation_config.json', 'source.spm', 'target.spm', 'vocab.json', 'target_vocab.json', 'sentencepiece.bpe.model'];
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

// Of the two wasm builds, the one this engine runs (worker.js asks the same question of the same 35 bytes: does it
// validate an f32x4.relaxed_madd?); the other would be 1.5 MB cached for nothing. Should the worker fall back to the
// SIMD128 build after all (a folder without the relaxed file), the fetch handler caches it as it passes.
const UNUSED_WASM = (() => {
  try {
    const relaxed = WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 123, 1, 123, 3, 2, 1, 0,
      10, 13, 1, 11, 0, 32, 0, 32, 0, 32, 0, 253, 133, 2, 11]));
    return relaxed ? '/pkg/glassbox_bg.wasm' : '/pkg/glassbox_relaxed_bg.wasm';
  } catch {
    return '/pkg/glassbox_relaxed_bg.wasm';
  }
})();

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // One missing file must not stop the rest from being cached (the dev tree may lack the tutorial, say).
    await Promise.all(SHELL.filter((url) => !url.endsWith(UNUSED_WASM)).map((url) => cache.add(url).catch(() => {})));
    await cacheModels(cache);
    await self.skipWaiting();
  })());
});

/**
 * Every model listed in models/index.json, with its optional files when they exist, and the real tokenizers it
 * lists (tokenizer.json and the licence the page links to).
 */
async function cacheModels(cache) {
  const indexUrl = new URL('models/index.json', self.location.href).href;
  let list;
  let tokenizers;
  try {
    const res = await fetch(indexUrl, { cache: 'no-store' });
    if (!res.ok) return;
    await cache.put(indexUrl, res.clone());
    const body = await res.json();
    list = Array.isArray(body) ? body : body.models ?? [];
    tokenizers = Array.isArray(body.tokenizers) ? body.tokenizers : [];
  } catch {
    return;
  }
  const jobs = [];
  for (const m of list) {
    if (m.extra) continue;
    const folder = new URL(m.path ?? `models/${m.name}/`, self.location.href).href;
    // The index lists each folder's files; without a list, try the usual ones.
    const files = Array.isArray(m.files) ? m.files.filter((f) => MODEL_FILES.includes(f)) : MODEL_FILES;
    for (const file of files) jobs.push(cache.add(new URL(file, folder.endsWith('/') ? folder : `${folder}/`).href).catch(() => {}));
  }
  for (const t of tokenizers) {
    if (typeof t?.path !== 'string') continue;
    const folder = new URL(t.path.endsWith('/') ? t.path : `${t.path}/`, self.location.href).href;
    const files = Array.isArray(t.files) ? t.files.filter((f) => f === 'LICENSE.md' || TOKENIZER_FILES.includes(f)) : ['tokenizer.json'];
    for (const file of files) jobs.push(cache.add(new URL(file, folder).href).catch(() => {}));
  }
  await Promise.all(jobs);
}

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith(CACHE_PREFIX) && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  event.respondWith(networkFirst(event));
});

async function networkFirst(event) {
  const { request } = event;
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    if (response.ok && response.type === 'basic' && !request.headers.has('range')) {
      event.waitUntil(cache.put(request, response.clone()).catch(() => {}));
    }
    return response;
  } catch (err) {
    // Navigations match with or without their hash/query ("index.html#model=…" is the cached "index.html").
    const cached = await cache.match(request, { ignoreSearch: request.mode === 'navigate' })
      ?? (request.mode === 'navigate' ? await cache.match(new URL('index.html', self.location.href).href) : undefined);
    if (cached) return cached;
    throw err;
  }
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the network did not answer in time')), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}
