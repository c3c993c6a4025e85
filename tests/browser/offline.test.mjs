// Offline, as a teacher would use it: the static folder from scripts/bundle-offline.mjs on a plain static
// server under a sub-path with every other request blocked; the single HTML file opened from disk with no
// network at all; and the service worker serving a visited page after the server is gone, with the old cache
// version removed on upgrade. Both carry the real GPT-2 and BERT uncased tokenizers (models/tokenizers/, written
// by scripts/setup.sh; a missing folder fails) and cut the fox sentence with GPT-2's.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  launchBrowser, newWatchedPage, modelsUnderTest, ensureArtifacts, canvasInk, assertGenerated, eosIds, cutWithRealTokenizer, ROOT,
} from './helpers.mjs';
import { bundleOffline } from '../../scripts/bundle-offline.mjs';
import { listTokenizers } from '../../scripts/serve.mjs';

const WAIT = { timeout: 120000 };
const REAL = path.join(ROOT, 'models', 'tokenizers');
const FOX = 'The quick brown fox jumps over the lazy dog';
const FOX_WORDS = FOX.split(' ');
const MOUNT = '/class/room/';   // the folder is served under a sub-path: nothing may assume it sits at /
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm',
};
const setup = {};

/** The plainest static server: files under `dir` at `MOUNT`, nothing else (no index.json generation, no /pkg). */
function staticServer(dir) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (!url.pathname.startsWith(MOUNT)) { res.writeHead(404); return res.end(); }
    let file = path.join(dir, decodeURIComponent(url.pathname.slice(MOUNT.length)));
    if (!file.startsWith(dir)) { res.writeHead(403); return res.end(); }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const sockets = new Set();
    server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    resolve({
      url: `http://127.0.0.1:${server.address().port}${MOUNT}`,
      stop: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(r); }),
    });
  }));
}

before(async () => {
  for (const name of ['gpt2', 'bert-base-uncased']) {
    assert.ok(fs.existsSync(path.join(REAL, name, 'tokenizer.json')),
      `models/tokenizers/${name} is missing. Run scripts/setup.sh --minilm (it runs scripts/make-real-tokenizers.mjs)`);
  }
  setup.models = await modelsUnderTest();
  // The real tokenizers beside the models under test, where the bundler looks for them (a link: nothing is copied).
  fs.symlinkSync(REAL, path.join(setup.models.root, 'tokenizers'), 'dir');
  setup.decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
  setup.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-offline-'));
  setup.folder = path.join(setup.tmp, 'glassbox');
  setup.single = path.join(setup.tmp, 'glassbox.html');
  const r = await bundleOffline({ out: setup.folder, single: setup.single, models: setup.models.root });
  assert.ok(r.folder.files > 20 && r.single.bytes > 100000, JSON.stringify(r));
  assert.deepEqual(r.tokenizers, ['bert-base-uncased', 'gpt2']);
  assert.equal(r.missingTokenizers, null);
  setup.version = r.folder.version;
  setup.nModels = r.models.length;
  setup.nTokenizers = r.tokenizers.length;
  setup.browser = await launchBrowser();
  setup.artifacts = ensureArtifacts();
});

after(async () => {
  await setup.browser?.close();
  fs.rmSync(setup.tmp, { recursive: true, force: true });
});

/** Abort every request that is not for `allowed(url)`, and remember what was asked for. */
async function blockNetwork(context, allowed) {
  const blocked = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (allowed(url)) return route.continue();
    blocked.push(url);
    return route.abort('internetdisconnected');
  });
  return blocked;
}

/** Open the page, wait for its link to be replayed, and return what it shows. */
async function openPage(page, url) {
  await page.goto('about:blank');   // a real navigation even when only the hash differs
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
  return page.evaluate(() => {
    const facts = Object.fromEntries([...document.querySelectorAll('#model-facts div')]
      .map((r) => [r.querySelector('dt').textContent, r.querySelector('dd').textContent]));
    const map = document.querySelector('#heatmap');
    return {
      error: document.querySelector('#model-error').hidden ? '' : document.querySelector('#model-error').textContent,
      model: facts.Type?.split(' · ')[0] ?? null,   // "gpt2 · decoder-only"
      mapCells: map.hidden ? 0 : Number(map.dataset.rows) * Number(map.dataset.cols),
      ids: [...document.querySelectorAll('#generated .gen-token')].map((b) => Number(b.dataset.id)),
    };
  });
}

/**
 * The text section's "Cut the same text with" GPT-2: the fox sentence as nine whole-word chips (·quick ·brown ·fox),
 * credited. Resolves to the address of its "Credits and licence" link.
 */
async function assertRealGpt2Cut(page) {
  const gpt2 = await cutWithRealTokenizer(page, 'gpt2', FOX, FOX_WORDS.length);
  assert.deepEqual(gpt2.labels, FOX_WORDS.map((w, i) => (i === 0 ? w : `·${w}`)));
  assert.equal(gpt2.total, `${FOX_WORDS.length} tokens`);
  const credit = await page.$eval('#real-tokenizers .tokenizer-credit', (e) => ({ text: e.textContent, href: e.querySelector('a')?.href }));
  assert.match(credit.text, /OpenAI’s GPT-2 \(Modified MIT License\)/);
  return credit.href;
}

/** GPT-2's licence file (it names OpenAI's copyright). */
const GPT2_LICENCE = /Software Copyright \(c\) 2019 OpenAI/;

const LINK = () => `#model=${setup.decoder.name}&text=The+teacher+pulled+the+cable&view=generate&max-tokens=5&generate=1`;

describe('offline', () => {
  it('the static folder runs from a plain static server with every other request blocked', async () => {
    const server = await staticServer(setup.folder);
    const { context, page, watch } = await newWatchedPage(setup.browser.browser, { serviceWorkers: 'block' });
    const local = new URL(server.url).origin;
    const blocked = await blockNetwork(context, (u) => u.startsWith(local) || u.startsWith('data:') || u.startsWith('blob:'));
    try {
      const shown = await openPage(page, `${server.url}index.html${LINK()}`);
      assert.equal(shown.error, '');
      assert.equal(shown.model, 'gpt2');
      assertGenerated(shown.ids, 5, eosIds(setup.decoder.dir));
      assert.ok(shown.mapCells > 0, 'the attention map was drawn');
      const ink = await canvasInk(page, '#heatmap canvas.heatmap-canvas');
      assert.ok(ink.colours > 3);
      // The real tokenizers: the folder's static index lists them exactly as the development server does, and
      // the page cuts the same text with GPT-2's, its licence beside it in the folder.
      const index = await page.evaluate(() => fetch('models/index.json').then((res) => res.json()));
      assert.deepEqual(index.tokenizers, await listTokenizers(setup.models.root));
      const licence = await assertRealGpt2Cut(page);
      assert.equal(licence, `${server.url}models/tokenizers/gpt2/LICENSE.md`);
      assert.match(await page.evaluate((href) => fetch(href).then((res) => res.text()), licence), GPT2_LICENCE);
      // The widgets and the iframe embed page from the same folder.
      await page.goto(`${server.url}embed.html#model=${setup.decoder.name}&text=Offline+widgets&view=tokens`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, WAIT);
      assert.ok(await page.$eval('glassbox-tokens', (e) => e.shadowRoot.querySelectorAll('.chip').length) >= 3);
      // The tutorial's lessons (JSON files in the folder) play from it too, at the step the link names.
      await page.goto(`${server.url}tutorial.html#tokens=2`);
      const lesson = 'glassbox-lesson[src="lessons/tokens.json"]';
      await page.waitForFunction((sel) => document.querySelector(sel)?.step === 2 && document.querySelector(sel).dataset.status === 'ready', lesson, WAIT);
      await page.waitForFunction((sel) => document.querySelector(`${sel} glassbox-tokens`)?.dataset.status === 'ready', lesson, WAIT);
      assert.ok(await page.$eval(`${lesson} glassbox-tokens`, (e) => e.shadowRoot.querySelectorAll('.chip').length) >= 3);
      assert.deepEqual(blocked, [], 'nothing tried to reach another origin');
      assert.deepEqual(watch.errors, []);
    } finally {
      await context.close();
      await server.stop();
    }
  });

  it('the single HTML file runs from file:// with no network at all', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const blocked = await blockNetwork(context, (u) => u.startsWith('file:') || u.startsWith('data:') || u.startsWith('blob:'));
    try {
      const shown = await openPage(page, `${pathToFileURL(setup.single).href}${LINK()}`);
      assert.equal(shown.error, '');
      assert.equal(shown.model, 'gpt2');
      assertGenerated(shown.ids, 5, eosIds(setup.decoder.dir));
      // The real tokenizers are inside the file too (the licence link: a blob: page of the inlined LICENSE.md,
      // opened at the end of this test).
      assert.match(await assertRealGpt2Cut(page), /^blob:/);
      await page.check('#real-tokenizers input[value="bert-base-uncased"]');
      await page.waitForFunction(() => [...document.querySelectorAll('#real-tokenizers .tokenizer-column[data-name="bert-base-uncased"] .chip .piece')]
        .map((p) => p.textContent).join(' ') === '[CLS] the quick brown fox jumps over the lazy dog [SEP]', null, WAIT);
      // Every bundled model is inside the file.
      const n = await page.$$eval('#model-select option', (o) => o.length);
      assert.equal(n, setup.models.models.length);
      const encoder = await page.$$eval('#model-select option', (os) => os.findIndex((o) => o.textContent.includes('(encoder-only)')));
      await page.selectOption('#model-select', String(encoder));
      await page.waitForFunction(() => document.body.dataset.status === 'idle' && [...document.querySelectorAll('#model-facts dd')]
        .some((d) => d.textContent.endsWith(' · encoder-only')), null, WAIT);
      await page.click('#run-button');
      await page.waitForFunction(() => !document.querySelector('#heatmap').hidden && document.querySelector('#heatmap').dataset.kind === 'encoder', null, WAIT);
      await page.screenshot({ path: path.join(setup.artifacts, 'offline-single-file.png') });
      // A reader follows GPT-2's "Credits and licence" link (the page's policy lets it fetch no blob:, so click it).
      await page.check('#real-tokenizers input[value="gpt2"]');
      await page.waitForFunction(() => /OpenAI/.test(document.querySelector('#real-tokenizers .tokenizer-credit')?.textContent), null, WAIT);
      await Promise.all([page.waitForURL(/^blob:/, WAIT), page.click('#real-tokenizers .tokenizer-credit a')]);
      assert.match(await page.textContent('body'), GPT2_LICENCE);
      assert.deepEqual(blocked, [], 'nothing tried to reach the network');
      assert.deepEqual(watch.errors, []);
    } finally {
      await context.close();
    }
  });

  it('the service worker serves a visited page after the server is stopped, and drops old caches on upgrade', async () => {
    const server = await staticServer(setup.folder);
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const cacheNames = () => page.evaluate(() => caches.keys());
    let stopped = false;
    try {
      await openPage(page, `${server.url}index.html`);
      await page.waitForFunction(async () => (await navigator.serviceWorker.ready).active?.state === 'activated', null, WAIT);
      await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, WAIT);
      assert.deepEqual(await cacheNames(), [`glassbox-${setup.version}`]);
      // The install cached the real tokenizers the index lists, with their licences.
      const cached = await page.evaluate(async (v) => {
        const cache = await caches.open(`glassbox-${v}`);
        return Promise.all(['models/tokenizers/gpt2/tokenizer.json', 'models/tokenizers/gpt2/LICENSE.md', 'models/tokenizers/bert-base-uncased/tokenizer.json']
          .map(async (f) => Boolean(await cache.match(new URL(f, document.baseURI).href))));
      }, setup.version);
      assert.deepEqual(cached, [true, true, true]);
      // The page is not done fetching yet: its tokenizer comparison loads every other bundled model's tokenizer
      // in the background, one after the other. Replacing the folder under it before that ends turns those late
      // requests into 404s (the new bundle has none of those models), so let it finish first.
      // (The real tokenizers are columns there too.)
      await page.waitForFunction((n) => n < 2 || document.querySelectorAll('#tokenizer-steps .tokenizer-column').length === n,
        setup.nModels + setup.nTokenizers, WAIT);

      // An upgrade: a new bundle (here with only the decoder model) is a new cache version; activating it
      // deletes the old cache.
      const slim = path.join(setup.tmp, 'slim-models');
      fs.cpSync(setup.decoder.dir, path.join(slim, setup.decoder.name), { recursive: true });
      const next = await bundleOffline({ out: setup.folder, single: null, models: slim });
      assert.notEqual(next.folder.version, setup.version);
      // This bundle has no real tokenizers, and says how to make them.
      assert.deepEqual(next.tokenizers, []);
      assert.match(next.missingTokenizers, /gpt2 and bert-base-uncased are not in .*node scripts\/make-real-tokenizers\.mjs/);
      await page.reload();
      await page.waitForFunction(async (v) => JSON.stringify(await caches.keys()) === JSON.stringify([`glassbox-${v}`]),
        next.folder.version, WAIT);

      // The cable is pulled: the server is gone, the page still opens, loads its model, runs and generates.
      await server.stop();
      stopped = true;
      const shown = await openPage(page, `${server.url}index.html${LINK()}`);
      assert.equal(shown.error, '');
      assert.equal(shown.model, 'gpt2');
      assertGenerated(shown.ids, 5, eosIds(setup.decoder.dir));
      assert.ok(shown.mapCells > 0, 'the attention map was drawn');
      await page.screenshot({ path: path.join(setup.artifacts, 'offline-service-worker.png') });
      assert.deepEqual(watch.errors, []);
    } finally {
      await context.close();
      if (!stopped) await server.stop();
    }
  });
});
