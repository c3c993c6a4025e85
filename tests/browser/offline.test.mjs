// Offline, as a teacher would use it: the static folder from scripts/bundle-offline.mjs on a plain static
// server under a sub-path with every other request blocked; the single HTML file opened from disk with no
// network at all; and the service worker serving a visited page after the server is gone, with the old cache
// version removed on upgrade.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  launchBrowser, newWatchedPage, modelsUnderTest, ensureArtifacts, canvasInk, assertGenerated, eosIds,
} from './helpers.mjs';
import { bundleOffline } from '../../scripts/bundle-offline.mjs';

const WAIT = { timeout: 120000 };
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
  setup.models = await modelsUnderTest();
  setup.decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
  setup.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-offline-'));
  setup.folder = path.join(setup.tmp, 'glassbox');
  setup.single = path.join(setup.tmp, 'glassbox.html');
  const r = await bundleOffline({ out: setup.folder, single: setup.single, models: setup.models.root });
  assert.ok(r.folder.files > 20 && r.single.bytes > 100000, JSON.stringify(r));
  setup.version = r.folder.version;
  setup.nModels = r.models.length;
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
      // The page is not done fetching yet: its tokenizer comparison loads every other bundled model's tokenizer
      // in the background, one after the other. Replacing the folder under it before that ends turns those late
      // requests into 404s (the new bundle has none of those models), so let it finish first.
      await page.waitForFunction((n) => n < 2 || document.querySelectorAll('#tokenizer-steps .tokenizer-column').length === n,
        setup.nModels, WAIT);

      // An upgrade: a new bundle (here with only the decoder model) is a new cache version; activating it
      // deletes the old cache.
      const slim = path.join(setup.tmp, 'slim-models');
      fs.cpSync(setup.decoder.dir, path.join(slim, setup.decoder.name), { recursive: true });
      const next = await bundleOffline({ out: setup.folder, single: null, models: slim });
      assert.notEqual(next.folder.version, setup.version);
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
