// Widgets hosted on another origin, in headless Chromium: a blog served from a second origin (another port, with
// a strict Content-Security-Policy of its own) loads glassbox-widgets.js from the Glassbox server, uses every
// element, reads values back from their DOM, and talks to no origin but the two. Then what an author copies: the
// page's "Copy embed code" snippets (custom element and iframe) and the docs' hosted-script and iframe examples
// (docs/widgets.md's fenced blocks, only the placeholder addresses replaced), pasted into the blog as they are.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer, launchBrowser, newWatchedPage, modelsUnderTest, freePort, engineHasRelaxedSimd, ROOT } from './helpers.mjs';
import { docExamples, docExample } from '../package/doc-examples.mjs';
import { serveStatic } from '../package/static-server.mjs';

const WAIT = { timeout: 120000 };
const setup = {};

/** A tiny static "blog" on its own port: pages are registered by path; everything else is 404. */
async function startBlog() {
  const pages = new Map();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url, url).pathname;
    if (pathname === '/favicon.ico') {
      res.writeHead(204);
      return res.end();
    }
    const { body, glassbox } = pages.get(pathname) ?? {};
    if (body === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found');
    }
    const type = pathname.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/html; charset=utf-8';
    res.writeHead(200, { 'Content-Type': type, 'Content-Security-Policy': blogPolicy(glassbox) });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url,
    origin: new URL(url).origin,
    /** Serve `html` at /name, with the policy for widgets from `glassbox` (default: the Glassbox dev server). */
    page(name, html, glassbox = setup.glassbox.url) {
      pages.set(`/${name}`, { body: html, glassbox });
      return `${url}${name}`;
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** docs/widgets.md's examples, with the placeholder addresses replaced by the two servers'. */
function examples(glassboxUrl = setup.glassbox.url) {
  const gb = glassboxUrl.replace(/\/$/, '');
  return docExamples(path.join(ROOT, 'docs/widgets.md'), {
    'https://your.site/glassbox': gb, 'https://your.site': gb, 'https://glassbox.example': gb, 'https://blog.example': setup.blog.origin,
  });
}

/**
 * The blog's policy: strict (nothing inline but styles, nothing from elsewhere) plus what docs/widgets.md tells an
 * author to add for the hosted widgets, taken from the doc as written.
 */
function blogPolicy(glassboxUrl) {
  const line = docExample(examples(glassboxUrl), 'csp').code.trim();
  assert.match(line, /^Content-Security-Policy: /);
  return ["default-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
    line.replace(/^Content-Security-Policy:\s*/, '')].join('; ');
}

before(async () => {
  setup.models = await modelsUnderTest();
  setup.decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
  setup.encoder = setup.models.models.find((m) => m.kind === 'encoder-only');
  assert.ok(setup.decoder && setup.encoder, 'a decoder-only and an encoder-only model are needed');
  setup.glassbox = await startServer(setup.models.root);
  setup.blog = await startBlog();
  assert.notEqual(new URL(setup.glassbox.url).origin, setup.blog.origin, 'two origins');
  setup.browser = await launchBrowser();
});

after(async () => {
  await setup.browser?.close();
  await setup.blog?.stop();
  await setup.glassbox?.stop();
});

/** Requests to any origin but the Glassbox server's and the blog's (blob: and data: stay in the page). */
function strangers(urls) {
  const allowed = new Set([new URL(setup.glassbox.url).origin, setup.blog.origin]);
  return urls.filter((u) => !u.startsWith('blob:') && !u.startsWith('data:') && !allowed.has(new URL(u).origin));
}

/** Every `glassbox-*` element the widgets script defines (its own five and one file each in www/elements/). */
function definedElements() {
  const files = [path.join(ROOT, 'www/glassbox-widgets.js'),
    ...fs.readdirSync(path.join(ROOT, 'www/elements')).map((f) => path.join(ROOT, 'www/elements', f))];
  const tags = new Set();
  for (const f of files) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/\bdefine\(\s*'(glassbox-[a-z0-9-]+)'/g)) tags.add(m[1]);
  }
  return [...tags].sort();
}

/**
 * How the test uses each element: its attributes, and what it reads back (in the page, from the element's DOM
 * and properties) and checks. An element added later is one entry here (the test names the defined elements it
 * does not know yet).
 */
const ELEMENTS = {
  'glassbox-tokens': {
    attrs: () => ({ model: setup.decoder.name, text: 'Hello world' }),
    read: (el) => [...el.shadowRoot.querySelectorAll('.chip .piece')].map((p) => p.textContent),
    check: (pieces) => {
      assert.ok(pieces.length >= 2, `token chips: ${JSON.stringify(pieces)}`);
      assert.ok(pieces.some((p) => p.endsWith('world')), `a chip for "world": ${JSON.stringify(pieces)}`);
      assert.ok(!pieces.some((p) => /[ĠĊ▁]/.test(p)), `labels in the page's scheme (·world, not Ġworld): ${JSON.stringify(pieces)}`);
    },
  },
  'glassbox-attention': {
    attrs: () => ({ model: setup.decoder.name, text: 'The cat sat on the mat', layer: '1', head: '1' }),
    // Focusing the map puts its cursor on the first cell; the read-out names the value (ARIA live region).
    read: (el) => {
      const canvas = el.shadowRoot.querySelector('canvas[role="application"]');
      canvas.focus();
      const readout = el.shadowRoot.querySelector(`#${canvas.getAttribute('aria-describedby')}`);
      return { value: readout.dataset.value, text: readout.textContent, label: canvas.getAttribute('aria-label'), shown: el.shown };
    },
    check: ({ value, text, label, shown }) => {
      // The first token of a causal decoder can only attend to itself: weight 1.
      assert.ok(Math.abs(Number(value) - 1) < 1e-4, `first cell of a causal map is 1, read ${value} (${text})`);
      assert.match(label, /rows by \d+ columns/);
      assert.equal(shown.layer, 0);
      assert.equal(shown.head, 0);
    },
  },
  'glassbox-generation': {
    attrs: () => ({ model: setup.decoder.name, text: 'Once upon a time', 'max-tokens': '4', autorun: '' }),
    read: (el) => ({ ids: Array.from(el.generated?.ids ?? []), chips: el.shadowRoot.querySelectorAll('[aria-label="Generated tokens"] [role="option"]').length }),
    check: ({ ids, chips }) => {
      assert.ok(ids.length >= 1 && ids.length <= 4, `generated ids: ${ids}`);
      assert.ok(chips >= ids.length, `generated chips (${chips}) for ${ids.length} ids`);
    },
  },
  'glassbox-qkv': {
    attrs: () => ({ model: setup.decoder.name, text: 'The cat sat', query: '2' }),
    read: (el) => [...el.shadowRoot.querySelectorAll('.qkv-weight')].map((c) => Number(c.title.replace('weight ', ''))),
    check: (weights) => {
      assert.ok(weights.length >= 2, `one weight per key: ${weights}`);
      const sum = weights.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-3, `the softmax weights sum to 1 (${sum})`);
    },
  },
  'glassbox-predictions': {
    attrs: () => ({ model: setup.encoder.name, text: 'The cat sat on the [MASK].' }),
    read: (el) => [...el.shadowRoot.querySelectorAll('li[data-id]')].map((li) => li.getAttribute('aria-label')),
    check: (items) => {
      assert.ok(items.length >= 3, `candidates: ${JSON.stringify(items)}`);
      assert.ok(items.every((s) => /percent$/.test(s)), `each candidate says its probability: ${JSON.stringify(items)}`);
    },
  },
  'glassbox-model-view': {
    attrs: () => ({ model: setup.decoder.name, text: 'the cat sat on the mat and the cat sat on the mat' }),
    read: (el) => ({ thumbs: el.shadowRoot.querySelectorAll('.mv-thumb').length, best: el.scores?.best ?? null, shown: el.shown }),
    check: ({ thumbs, best, shown }) => {
      assert.ok(thumbs >= 1, `one thumbnail per layer and head (${thumbs})`);
      assert.ok(best && best.score >= 0 && best.score <= 1, `a picked head with its score: ${JSON.stringify(best)}`);
      assert.ok(Number.isInteger(shown?.layer), `the view names the head it shows: ${JSON.stringify(shown)}`);
    },
  },
  'glassbox-head-view': {
    attrs: () => ({ model: setup.decoder.name, text: 'The cat sat on the mat', layer: '1', head: 'all' }),
    read: (el) => ({ shown: el.shown, lines: el.shadowRoot.querySelectorAll('canvas').length }),
    check: ({ shown, lines }) => {
      assert.equal(shown?.layer, 0, `layer 1 shown: ${JSON.stringify(shown)}`);
      assert.ok(lines >= 1, 'the lines are drawn on a canvas');
    },
  },
  'glassbox-rollout': {
    attrs: () => ({ model: setup.encoder.name, text: 'The cat sat on the mat.' }),
    read: (el) => el.shadowRoot.querySelectorAll('.ro-maps .heatmap').length,
    check: (maps) => assert.ok(maps >= 2, `the last layer's map and the rollout side by side (${maps})`),
  },
  'glassbox-transfer': {
    attrs: () => ({ model: setup.encoder.name, text: 'The cat sat on the mat.' }),
    read: (el) => ({ maps: el.shadowRoot.querySelectorAll('.gb-transfer-sides canvas').length, fit: el.shadowRoot.querySelector('.gb-transfer-fit')?.textContent ?? '' }),
    check: ({ maps, fit }) => {
      assert.ok(maps >= 2, `the pretrained and the random twin's maps side by side (${maps})`);
      assert.match(fit, /\d+(\.\d+)?\s*%/, `held-out accuracies shown: ${fit.slice(0, 200)}`);
    },
  },
  'glassbox-lesson': {
    // A lesson file from the Glassbox server, played on the blog: its widgets load from there too.
    attrs: () => ({ src: `${setup.glassbox.url}lessons/tokens.json` }),
    read: (el) => ({ counter: el.shadowRoot.querySelector('.lesson-counter')?.textContent ?? '',
      title: el.shadowRoot.querySelector('.lesson-title')?.textContent ?? '' }),
    check: ({ counter, title }) => {
      assert.match(counter, /^Step 1 of \d+/, `the player shows its step: ${counter}`);
      assert.notEqual(title, 'Lesson', 'the lesson file was read (its title is shown)');
    },
  },
  'glassbox-rnn': {
    attrs: () => ({ cell: 'rnn', length: '5', steps: '20', autorun: '' }),
    read: (el) => ({ status: el.dataset.status, charts: el.shadowRoot.querySelectorAll('svg').length }),
    check: ({ status, charts }) => {
      assert.equal(status, 'ready');
      assert.ok(charts >= 1, `the gradient and accuracy charts (${charts})`);
    },
  },
};

function attrHtml(attrs) {
  return Object.entries(attrs).map(([k, v]) => (v === '' ? ` ${k}` : ` ${k}="${String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`)).join('');
}

async function waitAll(page, selector) {
  // The elements are defined once the widgets' script has loaded (a refused CORS request never gets there).
  await page.waitForFunction(() => customElements.get('glassbox-tokens'), null, { timeout: 30000 })
    .catch(() => assert.fail('glassbox-widgets.js did not load on the blog (CORS headers? the blog\'s CSP?)'));
  await page.waitForFunction((sel) => {
    const els = [...document.querySelectorAll(sel)];
    return els.length && els.every((e) => e.dataset.status === 'ready' || e.dataset.status === 'error');
  }, selector, WAIT).catch(async (err) => {
    const statuses = await page.$$eval(selector, (els) => els.map((e) => `${e.localName}: ${e.dataset.status}`));
    assert.fail(`not every widget drew (${err.message.split('\n')[0]}): ${statuses.join(', ')}`);
  });
  const errors = await page.$$eval(selector, (els) => els
    .map((e) => [e.localName, e.shadowRoot.querySelector('.error')?.textContent]).filter(([, m]) => m));
  assert.deepEqual(errors, [], 'a widget showed an error');
}

describe('widgets from another origin', () => {
  it('a blog on a second origin uses every element from the Glassbox server; nothing else is contacted', async (t) => {
    const defined = definedElements();
    for (const tag of Object.keys(ELEMENTS)) assert.ok(defined.includes(tag), `${tag} is no longer defined; update ELEMENTS`);
    const unknown = defined.filter((tag) => !ELEMENTS[tag]);
    if (unknown.length) t.diagnostic(`elements without an entry in ELEMENTS (not on the blog): ${unknown.join(', ')}`);
    const tags = Object.keys(ELEMENTS);
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const gb = setup.glassbox.url;
    const body = tags.map((tag, i) => `<${tag} id="w${i}" eager${attrHtml(ELEMENTS[tag].attrs())}></${tag}>`).join('\n');
    const url = setup.blog.page('post.html', `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A blog post</title>
<script type="module" src="${gb}glassbox-widgets.js"></script></head>
<body><h1>Attention, explained</h1>
${body}
</body></html>`);
    await page.goto(url);
    await waitAll(page, tags.map((_, i) => `#w${i}`).join(', '));
    await page.waitForFunction(() => document.querySelector('glassbox-generation')?.generated ?? true, null, WAIT);

    for (const [i, tag] of tags.entries()) {
      const spec = ELEMENTS[tag];
      const value = await page.$eval(`#w${i}`, spec.read);
      spec.check(value);
    }
    // The worker is the same-origin blob shim; the wasm, the glue and the models came from the Glassbox server.
    const gbOrigin = new URL(gb).origin;
    // The build the engine can run (Chromium 156: relaxed SIMD; tests/browser/wasm-builds.test.mjs).
    const wasmFile = (await engineHasRelaxedSimd(page)) ? 'pkg/glassbox_relaxed_bg.wasm' : 'pkg/glassbox_bg.wasm';
    for (const file of ['worker.js', 'pkg/glassbox.js', wasmFile, 'models/index.json', 'style.css']) {
      assert.ok(watch.requests.some((u) => u === `${gbOrigin}/${file}`), `${file} was fetched from the Glassbox server`);
    }
    assert.ok(watch.requests.some((u) => u.startsWith(`${gbOrigin}/models/${setup.decoder.name}/`)), 'the model came from the Glassbox server');
    assert.deepEqual(strangers(watch.requests), [], 'no request to a third origin');
    assert.deepEqual(watch.errors, [], 'no console errors (CORS, CSP) on the blog');
    await context.close();
  });

  it('the offline folder on a static host that honours its _headers serves a blog on another origin', async () => {
    const { bundleOffline, HOSTING_FILES } = await import(pathToFileURL(path.join(ROOT, 'scripts/bundle-offline.mjs')).href);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-xo-offline-'));
    process.once('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
    const folder = path.join(tmp, 'glassbox');
    await bundleOffline({ out: folder, single: null, models: setup.models.root });
    // A host like Netlify or Cloudflare Pages: the `/*` rule of _headers on every file.
    const rules = fs.readFileSync(path.join(folder, '_headers'), 'utf8');
    assert.equal(rules, HOSTING_FILES._headers);
    const headers = Object.fromEntries(rules.split('\n').filter((l) => /^\s+\S+:/.test(l)).map((l) => l.trim().split(/:\s*/, 2)));
    assert.equal(headers['Access-Control-Allow-Origin'], '*');
    const host = await serveStatic(folder, { headers });
    try {
      const { context, page, watch } = await newWatchedPage(setup.browser.browser);
      await page.goto(setup.blog.page('offline-post.html', `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Post</title>
<script type="module" src="${host.url}glassbox-widgets.js"></script></head><body>
<glassbox-tokens eager model="${setup.decoder.name}" text="Hello world"></glassbox-tokens>
<glassbox-attention eager model="${setup.decoder.name}" text="The cat sat on the mat" layer="1" head="1"></glassbox-attention>
</body></html>`, host.url));
      await waitAll(page, 'glassbox-tokens, glassbox-attention');
      ELEMENTS['glassbox-tokens'].check(await page.$eval('glassbox-tokens', ELEMENTS['glassbox-tokens'].read));
      ELEMENTS['glassbox-attention'].check(await page.$eval('glassbox-attention', ELEMENTS['glassbox-attention'].read));
      const allowed = new Set([new URL(host.url).origin, setup.blog.origin]);
      assert.deepEqual(watch.requests.filter((u) => !u.startsWith('blob:') && !u.startsWith('data:') && !allowed.has(new URL(u).origin)), []);
      const wasmFile = (await engineHasRelaxedSimd(page)) ? 'pkg/glassbox_relaxed_bg.wasm' : 'pkg/glassbox_bg.wasm';
      assert.ok(watch.requests.includes(`${host.url}${wasmFile}`), 'the wasm came from the folder');
      assert.deepEqual(watch.errors, []);
      await context.close();
    } finally {
      await host.stop();
    }
  });

  it('the page under its own CSP still works after the CORS change (same-origin worker, no blob)', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const res = await page.goto(`${setup.glassbox.url}#model=${setup.decoder.name}&text=Hello+world&view=tokens`);
    assert.equal(res.headers()['access-control-allow-origin'], '*');
    assert.match(res.headers()['content-security-policy'], /worker-src 'self'/);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    const pieces = await page.$$eval('#tokens .chip .piece', (els) => els.map((e) => e.textContent));
    assert.ok(pieces.some((p) => p === '·world'), `the page's chips: ${JSON.stringify(pieces)}`);
    assert.ok(!watch.requests.some((u) => u.startsWith('blob:')), 'the page starts its worker from its own origin');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

/** The first glassbox:ack among the messages the docs' driver logged (it logs every reply). */
async function waitForAck(said) {
  const deadline = Date.now() + 90000;
  while (!said.some((m) => m.type === 'glassbox:ack') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const ack = said.find((m) => m.type === 'glassbox:ack');
  assert.ok(ack, `no reply from the embed: ${JSON.stringify(said)}`);
  return ack;
}

describe('what an author copies, pasted on another origin', () => {
  /** The "Copy embed code" snippets of the page showing `hash`. */
  async function copiedSnippets(hash) {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.goto(`${setup.glassbox.url}#${hash}`);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    await page.click('#copy-embed');
    await page.waitForFunction(() => document.querySelector('#share-status').textContent !== '');
    const codes = await page.evaluate(async () => ({
      widget: document.querySelector('#embed-widget').value,
      iframe: document.querySelector('#embed-iframe').value,
      clipboard: await navigator.clipboard.readText(),
    }));
    // The author types their site's address: the iframe code then names it (origin=), so it may drive the embed.
    await page.fill('#embed-origin', `${setup.blog.url}some/post.html`);
    codes.iframeWithOrigin = await page.$eval('#embed-iframe', (e) => e.value);
    await context.close();
    return codes;
  }

  it('"Copy embed code": the script snippet and the iframe snippet both work as pasted', async () => {
    const codes = await copiedSnippets(`model=${setup.decoder.name}&text=Hello+world&view=tokens`);
    assert.equal(codes.clipboard, codes.widget, 'the button copies the custom-element form');
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = setup.blog.page('pasted.html', `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pasted</title></head><body>
<h1>Pasted as copied</h1>
${codes.widget}
${codes.iframe}
</body></html>`);
    await page.goto(url);
    await waitAll(page, 'glassbox-tokens');
    const pieces = await page.$eval('glassbox-tokens', ELEMENTS['glassbox-tokens'].read);
    ELEMENTS['glassbox-tokens'].check(pieces);

    // The iframe: byte-level tokens in the page's scheme (·world), not raw (Ġworld).
    const frame = page.frameLocator('iframe');
    await frame.locator('body[data-ready="true"]').waitFor(WAIT);
    const framePieces = await frame.locator('glassbox-tokens').evaluate(ELEMENTS['glassbox-tokens'].read);
    ELEMENTS['glassbox-tokens'].check(framePieces);
    assert.deepEqual(framePieces, pieces, 'the iframe shows the same chips as the custom element');

    // The iframe code with the author's origin, driven by the docs' script: the embed obeys and answers.
    assert.ok(!codes.iframe.includes('origin='), 'no origin= until the author names a site');
    assert.ok(codes.iframeWithOrigin.includes(`origin=${encodeURIComponent(setup.blog.origin)}`), codes.iframeWithOrigin);
    const said = [];
    page.on('console', async (msg) => {
      if (msg.text().startsWith('embed says')) said.push(await msg.args()[1].jsonValue());
    });
    setup.blog.page('pasted-driver.js', docExample(examples(), 'iframe-script').code);
    await page.goto(setup.blog.page('pasted-iframe.html', `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pasted</title></head><body>
${codes.iframeWithOrigin}
<script type="module" src="pasted-driver.js"></script>
</body></html>`));
    const ack = await waitForAck(said);
    assert.equal(ack.ok, true, JSON.stringify(said));
    assert.equal(ack.state.text, 'Goodbye world');
    assert.deepEqual(strangers(watch.requests), []);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('docs/widgets.md: the hosted script and the iframe examples run as written (addresses replaced)', async () => {
    const docs = examples();
    const { context, page, watch } = await newWatchedPage(setup.browser.browser, { viewport: { width: 1200, height: 4000 } });
    const script = docExample(docs, 'hosted');
    await page.goto(setup.blog.page('docs-hosted.html', `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Docs</title></head><body>
${script.code}
</body></html>`));
    const tags = [...new Set([...script.code.matchAll(/<(glassbox-[a-z-]+)/g)].map((m) => m[1]))];
    assert.ok(tags.length >= 2, `the hosted example uses widgets: ${tags}`);
    await waitAll(page, tags.join(', '));
    assert.deepEqual(strangers(watch.requests), []);
    assert.deepEqual(watch.errors, []);

    // The iframe, with the host page's script that drives it (a file: the blog's policy allows no inline script).
    const said = [];
    page.on('console', async (msg) => {
      if (msg.text().startsWith('embed says')) said.push(await msg.args()[1].jsonValue());
    });
    setup.blog.page('driver.js', docExample(docs, 'iframe-script').code);
    await page.goto(setup.blog.page('docs-iframe.html', `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Docs iframe</title></head><body>
${docExample(docs, 'iframe').code}
<script type="module" src="driver.js"></script>
</body></html>`));
    const frame = page.frameLocator('iframe');
    await frame.locator('body[data-ready="true"]').waitFor(WAIT);
    const ack = await waitForAck(said);
    assert.ok(said.some((m) => m.type === 'glassbox:ready'), `the embed said it was ready: ${JSON.stringify(said)}`);
    assert.equal(ack.ok, true, `the embed obeyed the docs' postMessage: ${JSON.stringify(said)}`);
    assert.equal(ack.state.text, 'Goodbye world');
    const pieces = await frame.locator('glassbox-tokens').evaluate(ELEMENTS['glassbox-tokens'].read);
    assert.ok(pieces.includes('·world'), `the embed now shows the new text in the page's labels: ${JSON.stringify(pieces)}`);
    assert.deepEqual(strangers(watch.requests), []);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
