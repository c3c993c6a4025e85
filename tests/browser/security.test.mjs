// The page cannot be turned against its visitors, in headless Chromium:
// - every page (page, tutorial with its widgets, embed) runs under the Content-Security-Policy that
//   scripts/serve.mjs sends, with no violation and no request off the page's origin that the visitor did not ask for;
//   the policy is really in force (an injected inline script and a fetch to another origin are blocked);
// - the iframe embed cannot be aimed: a link to a model on another origin is refused, an embedder's allow-list
//   still needs the visitor's click, a hostile parent or a hostile sibling frame cannot command it or read it.
// Two origins are served: the Glassbox server on 127.0.0.1 and a hostile server on localhost (another port).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http, { createServer } from 'node:http';
import path from 'node:path';
import {
  openPage, closePage, axeViolations, newWatchedPage, instrumentWorker, injectFault, PANIC_MESSAGE, mark,
  waitThrough, waitLoaded, pressRun, readHeatmap, pickModel, typingSettled,
} from './helpers.mjs';

const WAIT = { timeout: 90000 };
const setup = {};

/** A second origin (http://localhost:PORT): hostile pages by name, and model files from `modelDir` with CORS. */
async function startHostile(modelDir) {
  const pages = new Map();
  const folders = new Map(); // name -> { file name: Buffer }, served at /c/<name>/<file>
  const hits = [];
  const server = createServer((req, res) => {
    hits.push(req.url);
    const url = new URL(req.url, 'http://localhost');
    if (pages.has(url.pathname)) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(pages.get(url.pathname));
    }
    const crafted = /^\/c\/([\w-]+)\/([\w.]+)$/.exec(url.pathname);
    if (crafted && folders.get(crafted[1])?.[crafted[2]]) {
      res.writeHead(200, { 'Access-Control-Allow-Origin': '*', 'Content-Type': 'application/octet-stream' });
      return res.end(folders.get(crafted[1])[crafted[2]]);
    }
    const m = /^\/m\/([\w.]+)$/.exec(url.pathname);
    const file = m && path.join(modelDir, m[1]);
    if (file && fs.existsSync(file)) {
      res.writeHead(200, { 'Access-Control-Allow-Origin': '*', 'Content-Type': 'application/octet-stream' });
      return res.end(fs.readFileSync(file));
    }
    res.writeHead(404, { 'Access-Control-Allow-Origin': '*' });
    res.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://localhost:${server.address().port}`;
  return { origin, pages, folders, hits, stop: () => new Promise((resolve) => server.close(resolve)) };
}

before(async () => {
  Object.assign(setup, await openPage({ openPage: false }));
  setup.decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
  assert.ok(setup.decoder, 'a decoder-only model is needed');
  setup.hostile = await startHostile(setup.decoder.dir);
});

after(async () => {
  await closePage(setup);
  await setup.hostile?.stop();
});

/** Record CSP violations in every frame (the event fires on the document that was refused). */
async function watchCsp(context) {
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
}

const cspErrors = (watch) => watch.errors.filter((e) => /Content Security Policy|Refused to/i.test(e));
const offOrigin = (watch, origin) => watch.requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));

async function violations(page) {
  const all = [];
  for (const frame of page.frames()) all.push(...(await frame.evaluate(() => window.__csp ?? []).catch(() => [])));
  return all;
}

describe('the Content-Security-Policy', () => {
  it('is sent with every page and really enforced', async () => {
    const origin = setup.server.url.replace(/\/$/, '');
    for (const [file, ancestors] of [['index.html', "frame-ancestors 'self'"], ['tutorial.html', "frame-ancestors 'self'"], ['embed.html', 'frame-ancestors *']]) {
      const res = await fetch(`${origin}/${file}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const d of ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'", "connect-src 'self'", ancestors]) {
        assert.ok(csp.split(';').map((s) => s.trim()).includes(d), `${file}: "${d}" in ${csp}`);
      }
      assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'|'unsafe-hashes'/, file);
    }
    const worker = (await fetch(`${origin}/worker.js`)).headers.get('content-security-policy');
    assert.match(worker, /connect-src 'self' https: http:\/\/localhost:\* http:\/\/127\.0\.0\.1:\*/);

    const { context, page } = await newWatchedPage(setup.browser.browser);
    await watchCsp(context);
    await page.goto(`${origin}/index.html`);
    const blocked = await page.evaluate(async (other) => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true;';
      document.head.append(s);
      const st = document.createElement('style');
      st.textContent = 'body { outline: 9px solid red; }';
      document.head.append(st);
      let fetched = true;
      try {
        await fetch(`${other}/m/config.json`);
      } catch {
        fetched = false;
      }
      await new Promise((r) => setTimeout(r, 100));
      return { inline: window.__inlineRan === true, style: getComputedStyle(document.body).outlineWidth, fetched, seen: window.__csp.slice() };
    }, setup.hostile.origin);
    assert.equal(blocked.inline, false, 'an injected inline script ran');
    assert.notEqual(blocked.style, '9px', 'an injected inline style applied');
    assert.equal(blocked.fetched, false, 'the page fetched another origin');
    assert.ok(blocked.seen.some((v) => v.startsWith('script-src')) && blocked.seen.some((v) => v.startsWith('connect-src')), blocked.seen.join('\n'));
    await context.close();
  });

  for (const [what, url, ready] of [
    ['the page', (m) => `index.html#model=${m}&text=The+cat+sat`, async (page) => {
      await page.waitForFunction(() => document.body.dataset.status === 'idle' && document.querySelectorAll('#tokens [role=option]').length > 0, null, WAIT);
    }],
    ['the tutorial and its widgets', () => 'tutorial.html', async (page) => {
      // The lessons build their widgets (children in the light DOM) once they have read their files and come
      // on screen; then every widget of the article (any <glassbox-*> element), woken by scrolling it into
      // view, has drawn.
      await page.waitForFunction(() => customElements.get('glassbox-lesson') && document.querySelector('glassbox-lesson'), null, WAIT);
      for (const el of await page.$$('glassbox-lesson')) await el.scrollIntoViewIfNeeded();
      await page.waitForFunction(() => [...document.querySelectorAll('glassbox-lesson')].every((e) => e.dataset.status === 'ready'), null, WAIT);
      const widgets = await page.evaluate(() => [...new Set([...document.querySelectorAll('*')].map((e) => e.localName).filter((n) => n.startsWith('glassbox-')))].join(', '));
      assert.ok(widgets.split(', ').length >= 3, `the tutorial has widgets: ${widgets}`);
      for (const el of await page.$$(widgets)) await el.scrollIntoViewIfNeeded();
      await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].every((e) => e.dataset.status === 'ready'), widgets, WAIT);
    }],
    ['the embed', (m) => `embed.html#model=${m}&text=The+cat+sat&view=attention`, async (page) => {
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, WAIT);
    }],
  ]) {
    it(`${what} runs under it with no violation and no request off its origin`, async () => {
      const { context, page, watch } = await newWatchedPage(setup.browser.browser);
      await watchCsp(context);
      await page.goto(`${setup.server.url}${url(setup.decoder.name)}`);
      await ready(page);
      assert.deepEqual(await violations(page), []);
      assert.deepEqual(cspErrors(watch), []);
      assert.deepEqual(offOrigin(watch, setup.server.url), []);
      assert.deepEqual(watch.errors, []);
      await context.close();
    });
  }
});

describe('the server', () => {
  it('answers a request for an odd path and keeps serving', async () => {
    // "//" once threw in `new URL` and took the whole server down (one stray request from any tab or crawler).
    const { hostname, port } = new URL(setup.server.url);
    const get = (pathname) => new Promise((resolve, reject) => {
      http.get({ hostname, port, path: pathname }, (res) => { res.resume(); resolve(res.statusCode); }).on('error', reject);
    });
    for (const odd of ['//', '//evil.example/x', '///index.html', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fREADME.md']) {
      const status = await get(odd);
      assert.ok([200, 400, 403, 404].includes(status), `${odd}: ${status}`);
    }
    assert.equal(await get('/index.html'), 200, 'still serving');
    assert.equal(await get('/../../etc/passwd'), 404, 'nothing outside its folders');
  });
});

describe('the embed cannot be aimed', () => {
  const foreignModel = () => `${setup.hostile.origin}/m/`;

  it('refuses a link to a model on another origin, visibly, without fetching it', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const before = setup.hostile.hits.length;
    await page.goto(`${setup.server.url}embed.html#model=${encodeURIComponent(foreignModel())}&text=hi`);
    await page.waitForFunction(() => document.body.dataset.refused === 'true', null, WAIT);
    const text = await page.textContent('.embed-notice');
    assert.match(text, /not allowed/);
    assert.ok(text.includes(setup.hostile.origin), text);
    assert.ok(await page.isVisible('[role=alert]'));
    // An allow= in a link opened on its own still needs the visitor's click (see the next test); here none.
    await page.waitForTimeout(300);
    assert.equal(setup.hostile.hits.length, before, 'the foreign server was contacted');
    assert.deepEqual(offOrigin(watch, setup.server.url), []);
    await context.close();
  });

  it("loads an embedder-allowed origin only after the visitor's click", async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const src = `embed.html#model=${encodeURIComponent(foreignModel())}&allow=${encodeURIComponent(setup.hostile.origin)}&text=The+cat&view=tokens`;
    await page.goto(`${setup.server.url}${src}`);
    await page.waitForSelector('#load-foreign-model');
    const label = await page.textContent('#load-foreign-model');
    assert.ok(label.includes(setup.hostile.origin), label);
    await page.waitForTimeout(300);
    assert.equal(setup.hostile.hits.filter((u) => u.startsWith('/m/')).length, 0, 'files fetched before the click');
    await page.click('#load-foreign-model');
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, WAIT);
    assert.ok(setup.hostile.hits.includes('/m/config.json'), 'the chosen model was loaded from its origin');
    await context.close();
  });

  it('ignores a hostile parent: no command obeyed, nothing readable', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const embedUrl = `${setup.server.url}embed.html#model=${setup.decoder.name}&text=Original+text&view=tokens`;
    setup.hostile.pages.set('/parent.html', `<!doctype html><html><body>
<iframe id="f" src="${embedUrl}" width="600" height="400"></iframe>
<script>
  window.got = [];
  addEventListener('message', (e) => window.got.push(e.data));
  window.attack = () => {
    const w = document.getElementById('f').contentWindow;
    for (const type of ['glassbox:ping', 'glassbox:set-text']) w.postMessage({ type, text: 'pwned', id: type }, '*');
    w.postMessage({ type: 'glassbox:set', attributes: { model: location.origin + '/m/' }, id: 'set' }, '*');
  };
</script></body></html>`);
    await page.goto(`${setup.hostile.origin}/parent.html`);
    const frame = await (await page.waitForSelector('#f')).contentFrame();
    await frame.waitForFunction(() => document.body.dataset.ready === 'true', null, WAIT);
    await page.evaluate(() => window.attack());
    await page.waitForTimeout(1500);
    assert.deepEqual(await page.evaluate(() => window.got), [], 'the hostile parent received something');
    assert.equal(await frame.$eval('glassbox-tokens', (e) => e.getAttribute('text')), 'Original text');
    await context.close();
  });

  it('obeys only its parent from the configured origin, not a hostile sibling frame', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const host = setup.hostile.origin; // here the localhost origin is the legitimate embedder...
    const embedUrl = `${setup.server.url}embed.html#model=${setup.decoder.name}&text=Original+text&view=tokens&origin=${encodeURIComponent(host)}`;
    // ...and a frame from the Glassbox origin itself plays the hostile sibling: even same-origin with the embed,
    // it is not the parent.
    await context.route('**/__sibling.html', (route) => route.fulfill({ contentType: 'text/html', body: `<!doctype html><script>
      window.attack = () => parent.frames[0].postMessage({ type: 'glassbox:set-text', text: 'from a sibling', id: 'sib' }, '*');
    </script>` }));
    setup.hostile.pages.set('/host.html', `<!doctype html><html><body>
<iframe id="f" src="${embedUrl}" width="600" height="400"></iframe>
<iframe id="sib" src="${setup.server.url}__sibling.html" width="10" height="10"></iframe>
<script>
  window.got = [];
  addEventListener('message', (e) => { if (e.source === document.getElementById('f').contentWindow) window.got.push(e.data); });
  window.ask = (msg) => new Promise((resolve) => {
    const on = (e) => { if (e.data && e.data.id === msg.id) { removeEventListener('message', on); resolve(e.data); } };
    addEventListener('message', on);
    document.getElementById('f').contentWindow.postMessage(msg, '${setup.server.url.replace(/\/$/, '')}');
  });
</script></body></html>`);
    await page.goto(`${host}/host.html`);
    await page.waitForFunction(() => window.got.some((m) => m.type === 'glassbox:ready'), null, WAIT);
    const sibling = page.frames().find((f) => f.url().endsWith('__sibling.html'));
    await sibling.evaluate(() => window.attack());
    await page.waitForTimeout(1000);
    const embed = page.frames().find((f) => f.url().includes('embed.html'));
    assert.equal(await embed.$eval('glassbox-tokens', (e) => e.getAttribute('text')), 'Original text', 'a sibling changed the text');
    assert.ok(!(await page.evaluate(() => window.got.some((m) => m.id === 'sib'))), 'the sibling was answered');

    const ok = await page.evaluate(() => window.ask({ type: 'glassbox:set-text', text: 'From the host', id: 'h1' }));
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(ok.state.text, 'From the host');
    // Even the configured host cannot point the embed at another origin's model by message.
    const aimed = await page.evaluate((m) => window.ask({ type: 'glassbox:set', attributes: { model: m }, id: 'h2' }), `${host}/m/`);
    assert.equal(aimed.ok, false);
    assert.match(aimed.error, /not allowed|visitor's choice/);
    await context.close();
  });
});

describe('recovery', () => {
  it('a trap in the engine shows a message, and the next run reloads the model and keeps the text', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await instrumentWorker(context);
    await page.goto(`${setup.server.url}index.html#model=${setup.decoder.name}`);
    await waitLoaded(page, setup.decoder.name, WAIT.timeout);
    const text = 'The cat sat on the mat';
    await page.fill('#text-input', text);
    assert.equal(await pressRun(page, WAIT.timeout), '', 'the first run');
    const heatmapBefore = await readHeatmap(page);

    // The engine traps in the middle of the next run, as a panic does in the wasm build.
    await injectFault(page, 'trap');
    const message = await pressRun(page, WAIT.timeout);
    assert.ok(message.includes(`internal error (${PANIC_MESSAGE})`), `the panic is reported where a failed run's message goes: ${message}`);
    assert.match(message, /loaded again/, 'the message says the model comes back');
    assert.equal(await page.inputValue('#text-input'), text, 'the text is kept');

    assert.equal(await pressRun(page, WAIT.timeout), '', 'the run after the trap');
    assert.deepEqual(await readHeatmap(page), heatmapBefore, 'the reloaded model gives the same attention');
    // The only errors are the trap's own (a console message of it).
    assert.deepEqual(watch.errors.filter((e) => !/unreachable|RuntimeError/.test(e)), []);
    await context.close();
  });
});

/** Open the decoder test model on the page from files (the file picker), with `text` typed; resolves once loaded. */
async function openFromFiles(page, text) {
  const dir = setup.decoder.dir;
  const names = ['config.json', 'tokenizer.json', 'model.safetensors', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']
    .filter((n) => fs.existsSync(path.join(dir, n)));
  await page.goto(`${setup.server.url}index.html#model=${setup.decoder.name}`);
  await waitLoaded(page, setup.decoder.name, WAIT.timeout);
  await page.setInputFiles('#files-input', names.map((name) => ({ name, mimeType: 'application/octet-stream', buffer: fs.readFileSync(path.join(dir, name)) })));
  await waitLoaded(page, 'your files', WAIT.timeout);
  assert.equal(await page.$eval('#model-select', (s) => s.value), 'own', 'the model opened from files is the one loaded');
  await page.fill('#text-input', text);
  return runAndWait(page, text);
}

/** Press Run and wait for its run of `text`; the attention shown, or a failure naming the error. */
async function runAndWait(page, text) {
  assert.equal(await page.inputValue('#text-input'), text);
  assert.equal(await pressRun(page, WAIT.timeout), '', 'an error is shown after the run');
  return readHeatmap(page);
}

describe('recovery of a model opened from files', () => {
  it('after a panic the model is read again from its files under the same handle, and the text is kept', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await instrumentWorker(context);
    const text = 'Files stay open after a panic';
    const heatmapBefore = await openFromFiles(page, text);

    await injectFault(page, 'trap');
    const message = await pressRun(page, WAIT.timeout);
    assert.match(message, /internal error/);
    assert.match(message, /loaded again/, 'the message says the model comes back');
    assert.equal(await page.inputValue('#text-input'), text, 'the text is kept');

    assert.deepEqual(await runAndWait(page, text), heatmapBefore, 'the model read again from its files gives the same attention');
    assert.equal(await page.$eval('#model-select', (s) => s.value), 'own', 'still the model from files');
    assert.deepEqual(watch.errors.filter((e) => !/unreachable|RuntimeError/.test(e)), []);
    await context.close();
  });

  it('a call that runs too long gets a Stop control that replaces the worker, reloads the model and keeps the text', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await instrumentWorker(context);
    const text = 'A long call is stopped from the page';
    const heatmapBefore = await openFromFiles(page, text);
    const stop = page.getByRole('button', { name: 'Stop the computation' });
    assert.equal(await stop.isVisible(), false, 'Stop is hidden while nothing runs');

    // The next run keeps the worker in one synchronous stretch, as a long run does (60 s, far beyond the test's waits).
    await injectFault(page, 'busy');
    const since = await mark(page);
    await page.click('#run-button');
    await stop.waitFor({ state: 'visible', timeout: 10000 });
    assert.equal(await page.getAttribute('body', 'data-status'), 'running', 'the run is still under way');
    assert.deepEqual((await axeViolations(page, ['#text-section'])).serious, [], 'axe: the text section with Stop shown');
    // Keyboard reachable: focus it the way Tab does and press Enter.
    await stop.focus();
    await page.keyboard.press('Enter');
    await waitThrough(page, since, 'running', { timeout: 30000 });
    await page.waitForFunction(() => /^Stopped/.test(document.querySelector('#run-status').textContent), null, { timeout: 30000 });
    assert.match(await page.textContent('#run-status'), /Stopped.*loaded again.*text is unchanged/);
    assert.equal(await page.$eval('#run-error', (e) => (e.hidden ? '' : e.textContent)), '', 'a stopped run is not an error');
    assert.equal(await stop.isVisible(), false, 'Stop is hidden again');
    assert.deepEqual((await axeViolations(page, ['#text-section'])).serious, [], 'axe: the text section with the Stop report');
    assert.equal(await page.inputValue('#text-input'), text, 'the text is kept');
    assert.equal(await page.$eval('#model-select', (s) => s.value), 'own', 'still the model from files');

    // The page works again with the model reloaded under its handle: tokens come back and a run gives the same maps.
    await page.waitForFunction(() => document.querySelectorAll('#tokens .chip[role="option"]').length > 0 && !document.querySelector('#tokens').classList.contains('stale'), null, WAIT);
    assert.deepEqual(await runAndWait(page, text), heatmapBefore, 'the reloaded model gives the same attention');
    assert.equal(await page.textContent('#run-status'), '', 'the Stop report clears with the next run');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('crafted folders typed as a URL on the page', () => {
  it('each is refused with a message naming the problem, and the page stays usable', async () => {
    const dir = setup.decoder.dir;
    const base = {
      'config.json': fs.readFileSync(path.join(dir, 'config.json')),
      'tokenizer.json': fs.readFileSync(path.join(dir, 'tokenizer.json')),
      'model.safetensors': fs.readFileSync(path.join(dir, 'model.safetensors')),
    };
    // Its tokenizer_config.json names the generic class: without it a gpt2 folder loads as
    // transformers' GPT2Tokenizer, which rebuilds the pipeline and so never runs a crafted one.
    if (fs.existsSync(path.join(dir, 'tokenizer_config.json'))) base['tokenizer_config.json'] = fs.readFileSync(path.join(dir, 'tokenizer_config.json'));
    const tokenizer = JSON.parse(base['tokenizer.json']);
    const edited = (edit) => {
      const t = structuredClone(tokenizer);
      edit(t);
      return Buffer.from(JSON.stringify(t));
    };
    // NaN in the first float of the last tensor of the file.
    const st = Buffer.from(base['model.safetensors']);
    const headerLen = Number(st.readBigUInt64LE(0));
    const header = JSON.parse(st.subarray(8, 8 + headerLen).toString());
    const [name, last] = Object.entries(header).filter(([k]) => k !== '__metadata__').sort((a, b) => b[1].data_offsets[0] - a[1].data_offsets[0])[0];
    const nan = Buffer.from(st);
    if (last.dtype === 'F32') nan.writeFloatLE(NaN, 8 + headerLen + last.data_offsets[0]);
    else nan.writeUInt16LE(0x7e00, 8 + headerLen + last.data_offsets[0]); // NaN in f16 (and bf16: exponent all ones)
    const vocabOf = (t) => (Array.isArray(t.model.vocab) ? null : t.model.vocab);
    const firstId = Object.values(vocabOf(tokenizer) ?? { x: 0 })[0];
    const cases = [
      ['nan', { ...base, 'model.safetensors': nan }, 'load', [name, 'NaN']],
      ['epsilon', { ...base, 'config.json': Buffer.from(JSON.stringify({ ...JSON.parse(base['config.json']), layer_norm_epsilon: -1, layer_norm_eps: -1 })) }, 'load', ['eps', '≥ 0']],
      ['truncated', { ...base, 'model.safetensors': st.subarray(0, 100) }, 'load', ['model.safetensors']],
      ['replace', { ...base, 'tokenizer.json': edited((t) => { t.normalizer = { type: 'Replace', pattern: { String: 'a' }, content: 'a'.repeat(1 << 16) }; }) }, 'run', ['normalizer Replace', 'limit']],
    ];
    if (vocabOf(tokenizer)) cases.push(['duplicate', { ...base, 'tokenizer.json': edited((t) => { t.model.vocab.zzqq = firstId; }) }, 'load', [`id ${firstId}`]]);
    for (const [folder, files] of cases) setup.hostile.folders.set(folder, files);

    const { context, page } = await newWatchedPage(setup.browser.browser);
    await watchCsp(context);
    await page.goto(`${setup.server.url}index.html#model=${setup.decoder.name}`);
    await waitLoaded(page, setup.decoder.name, WAIT.timeout);
    for (const [folder, , stage, needles] of cases) {
      const since = await mark(page);
      await page.fill('#url-input', `${setup.hostile.origin}/c/${folder}/`);
      await page.press('#url-input', 'Enter');
      await waitThrough(page, since, 'loading', { timeout: WAIT.timeout });
      let shown;
      if (stage === 'load') {
        shown = await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent));
      } else {
        await page.fill('#text-input', 'a'.repeat(1000));
        await typingSettled(page);
        await page.click('#run-button');
        await page.waitForFunction(() => !document.querySelector('#run-error').hidden, null, WAIT);
        shown = await page.$eval('#run-error', (e) => e.textContent);
      }
      for (const n of needles) assert.ok(shown.includes(n), `${folder}: "${n}" in the message "${shown}"`);
    }
    // The page still works: the bundled model loads and runs.
    await pickModel(page, setup.decoder.name);
    await page.fill('#text-input', 'The cat sat');
    assert.equal(await pressRun(page, WAIT.timeout), '', 'the run after the refused folders');
    // A user-typed URL on another origin is allowed by the worker's policy: no violation on the way.
    assert.deepEqual(await violations(page), []);
    await context.close();
  });
});

describe('interrupting a long call', () => {
  it('replaces the worker: the call rejects at once, the model is loaded again and keeps working', async () => {
    // A copy of the model on the other origin: the new worker must still reach a user-chosen URL.
    setup.hostile.folders.set('copy', Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json']
      .map((f) => [f, fs.readFileSync(path.join(setup.decoder.dir, f))])));
    const { context, page } = await newWatchedPage(setup.browser.browser);
    await page.goto(`${setup.server.url}index.html`);
    const result = await page.evaluate(async ({ bundled, copyUrl }) => {
      const { Glassbox } = await import('./glassbox.js');
      const gb = await Glassbox.create();
      const model = await gb.loadModel({ baseUrl: bundled });
      const before = await model.tokenize('The cat sat');
      // Keep the worker busy: many long runs queued behind each other.
      const long = 'The cat sat on the mat. '.repeat(15);
      const busy = Promise.all(Array.from({ length: 2000 }, () => model.run(long, { topK: 0 }))).then(() => 'finished', (e) => e.message);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      await gb.interrupt();
      const interruptMs = performance.now() - t0;
      const outcome = await busy;
      const after = await model.tokenize('The cat sat');
      const copy = await gb.loadModel({ baseUrl: copyUrl }).then(() => 'loaded', (e) => e.message);
      gb.terminate();
      return { before: before.ids.join(','), after: after.ids.join(','), outcome, interruptMs, copy };
    }, { bundled: `models/${setup.decoder.name}/`, copyUrl: `${setup.hostile.origin}/c/copy/` });
    assert.match(result.outcome, /stopped: the computation was interrupted/);
    assert.equal(result.after, result.before, 'the model answers the same after the worker was replaced');
    assert.equal(result.copy, 'loaded', 'the new worker can load a model from a user-chosen URL');
    console.log(`interrupt: new worker ready and model reloaded in ${result.interruptMs.toFixed(0)} ms`);
    await context.close();
  });

  it('{ lazy: true } loads a model again when it is next used, once for requests made together, never once freed', async () => {
    // A folder of its own on the other origin, so that the page's own model loads are not counted.
    setup.hostile.folders.set('lazy', Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json']
      .map((f) => [f, fs.readFileSync(path.join(setup.decoder.dir, f))])));
    const { context, page } = await newWatchedPage(setup.browser.browser);
    // The worker's downloads of those weights, counted as they leave the page.
    let weightFetches = 0;
    await context.route('**/c/lazy/model.safetensors', (route) => { weightFetches++; return route.continue(); });
    await page.goto(`${setup.server.url}index.html`);
    await page.evaluate(async (bundled) => {
      const { Glassbox } = await import('./glassbox.js');
      window.__gb = await Glassbox.create();
      window.__a = await window.__gb.loadModel({ baseUrl: bundled });
      window.__b = await window.__gb.loadModel({ baseUrl: bundled });
      window.__before = (await window.__a.tokenize('The cat sat')).ids.join(',');
    }, `${setup.hostile.origin}/c/lazy/`);
    assert.equal(weightFetches, 2, 'two models loaded');
    await page.evaluate(() => window.__gb.interrupt({ lazy: true }));
    assert.equal(weightFetches, 2, 'the lazy restart loads nothing');
    const again = await page.evaluate(async () => {
      const [one, two] = await Promise.all([window.__a.tokenize('The cat sat'), window.__a.run('The cat sat')]);
      return { one: one.ids.join(','), runIds: two.tokens.ids.join(',') };
    });
    assert.deepEqual(again, { one: await page.evaluate(() => window.__before), runIds: await page.evaluate(() => window.__before) },
      'the model answers as before once loaded again');
    assert.equal(weightFetches, 3, 'two requests made together load the model once');
    await page.evaluate(() => window.__b.free());
    assert.equal(weightFetches, 3, 'a model freed before its next use is never loaded again');
    // The default restart loads at once every model still held (a, not the freed b).
    await page.evaluate(() => window.__gb.interrupt());
    assert.equal(weightFetches, 4);
    const wrong = await page.evaluate(() => window.__gb.interrupt({ lazy: 'yes' }).then(() => 'accepted', (e) => e.message));
    assert.match(wrong, /^interrupt options: lazy: must be true or false, not "yes"/);
    await page.evaluate(() => window.__gb.terminate());
    await context.close();
  });
});
