// Shared by the browser tests: the server, the browser, the models under test and the native CLI.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { RELAXED_SIMD_PROBE } from '../../scripts/wasm-files.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(ROOT, 'tests/artifacts');
export const CLI = process.env.GLASSBOX_BIN || path.join(ROOT, 'target/debug/glassbox');
const FIXTURE_MODELS = path.join(ROOT, 'tests/fixtures/models');
// One model of each type, used when the bundled models are absent.
const FIXTURE_PICKS = [
  { name: 'gpt2', kind: 'decoder-only' },
  { name: 'bert', kind: 'encoder-only' },
  { name: 't5_tiny', kind: 'encoder-decoder' },
];
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The models the tests walk through: the bundled ones (the folders under models/, listed the way
 * scripts/serve.mjs lists them for the page), and for each model type they lack (all, before the bundled
 * models exist) one fixture model. GLASSBOX_TEST_MODELS names another models folder to use.
 * Each: { name, kind, dir (on disk), path (as in index.json), bundled }.
 */
export async function modelsUnderTest() {
  const { listModels } = await import(pathToFileURL(path.join(ROOT, 'scripts/serve.mjs')).href);
  const bundledRoot = path.resolve(process.env.GLASSBOX_TEST_MODELS ?? path.join(ROOT, 'models'));
  const bundled = (await listModels(bundledRoot)).filter((m) => !m.extra && m.kind !== 'unknown');
  // The served folder: links to the bundled models, plus a fixture model for each type they lack.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-models-'));
  // Links and copies only: removing the folder leaves the models it points at alone.
  process.once('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  const models = bundled.map((m) => {
    const dir = path.join(bundledRoot, m.name);
    fs.symlinkSync(dir, path.join(root, m.name), 'dir');
    return { name: m.name, kind: m.kind, path: m.path, dir, bundled: true };
  });
  for (const { name, kind } of FIXTURE_PICKS) {
    if (models.some((m) => m.kind === kind)) continue;
    const dir = path.join(root, name);
    fs.cpSync(path.join(FIXTURE_MODELS, name), dir, { recursive: true });
    models.push({ name, kind, path: `models/${name}/`, dir, bundled: false });
  }
  return { root, models };
}

/**
 * Start scripts/serve.mjs on a free port (it binds 127.0.0.1) with `modelsRoot` as its model folder (MODELS_DIR).
 * GLASSBOX_TEST_URL points the tests at a server that is already running instead.
 */
export async function startServer(modelsRoot) {
  if (process.env.GLASSBOX_TEST_URL) return { url: process.env.GLASSBOX_TEST_URL, stop: async () => {} };
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts/serve.mjs')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), MODELS_DIR: modelsRoot },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`scripts/serve.mjs exited (${child.exitCode}):\n${log}`);
    try {
      const res = await fetch(url);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`scripts/serve.mjs did not answer on ${url} within 15 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    log: () => log,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', resolve);
      child.kill();
    }),
  };
}

/**
 * The setup a browser test file starts from: the models under test (plus `extraModels`, `{ name: folder }`
 * copied beside them), the static server, a browser and, unless `openPage` is false, one watched page on the
 * site, ready (`body[data-ready]`). Resolves to `{ models, server, browser, artifacts, context?, page?, watch? }`;
 * `closePage(setup)` undoes it.
 *
 *   const setup = {};
 *   before(async () => { Object.assign(setup, await openPage({ extraModels: { 'zz-t5': dir } })); });
 *   after(() => closePage(setup));
 */
export async function openPage({ extraModels = {}, openPage: open = true, artifacts = false } = {}) {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`cargo build\` first (tests/browser/run.mjs does it)`);
  const setup = { models: await modelsUnderTest() };
  for (const [name, folder] of Object.entries(extraModels)) {
    fs.cpSync(folder, path.join(setup.models.root, name), { recursive: true });
  }
  try {
    setup.server = await startServer(setup.models.root);
    setup.browser = await launchBrowser();
    setup.artifacts = artifacts ? ensureArtifacts() : (fs.mkdirSync(ARTIFACTS, { recursive: true }), ARTIFACTS);
    if (open) {
      const { context, page, watch } = await newWatchedPage(setup.browser.browser);
      Object.assign(setup, { context, page, watch });
      await page.goto(setup.server.url);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
    }
  } catch (err) {
    // A `before` that throws leaves its `after` nothing to close: a browser or server left open keeps the test
    // file's process alive, and the run would hang instead of failing.
    await closePage(setup).catch(() => {});
    throw err;
  }
  return setup;
}

/** Close what `openPage` opened (safe on a partial setup). */
export async function closePage(setup) {
  await setup.context?.close();
  await setup.browser?.close();
  await setup.server?.stop();
}

/** Debian Chromium through playwright-core. `launch` gives every browser a fresh temporary profile
 * (playwright creates and removes the user-data-dir), so no state leaks between runs. */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return { browser, close: () => browser.close() };
}

/**
 * A new page that records every request and every console error / uncaught exception.
 * `watch.requests` are URLs; `watch.errors` are messages.
 */
export async function newWatchedPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1, ...options });
  const watch = { requests: [], errors: [] };
  context.on('request', (req) => watch.requests.push(req.url()));
  // A failed load is a console error in the browser; count it even where the console event is not reported.
  context.on('response', (res) => { if (res.status() >= 400) watch.errors.push(`HTTP ${res.status()} ${res.url()}`); });
  await context.addInitScript(recordBodyStates);
  const page = await context.newPage();
  // A CI machine shared with other jobs can be slow to compile the wasm; wait longer than playwright's 30 s.
  page.setDefaultTimeout(90000);
  page.on('console', (msg) => { if (msg.type() === 'error') watch.errors.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => watch.errors.push(`pageerror: ${err.message}`));
  page.on('worker', (worker) => {
    worker.on('console', (msg) => { if (msg.type() === 'error') watch.errors.push(`worker console: ${msg.text()}`); });
  });
  return { context, page, watch };
}

/** Whether the page's engine validates relaxed SIMD (the worker's own question: one f32x4.relaxed_madd), i.e. whether
 * the worker should run pkg/glassbox_relaxed_bg.wasm rather than glassbox_bg.wasm. Debian's Chromium 156 does. */
export function engineHasRelaxedSimd(page) {
  return page.evaluate((probe) => WebAssembly.validate(new Uint8Array(probe)), RELAXED_SIMD_PROBE);
}

/** Requests that went anywhere but the local server (data: and blob: URLs stay in the page). */
export function foreignRequests(urls) {
  return urls.filter((u) => {
    if (u.startsWith('data:') || u.startsWith('blob:')) return false;
    try {
      return new URL(u).hostname !== '127.0.0.1';
    } catch {
      return true;
    }
  });
}

/** tests/artifacts/, emptied of the previous run's screenshots. */
export function ensureArtifacts() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of fs.readdirSync(ARTIFACTS)) if (f.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, f));
  return ARTIFACTS;
}

/** The native CLI's `inspect` output for one text (one case). */
export function cliInspect(dir, text, extra = []) {
  const out = spawnSync(CLI, ['inspect', dir, '--text', text, ...extra], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (out.status !== 0) throw new Error(`glassbox inspect failed (${out.status}): ${out.stderr}`);
  return JSON.parse(out.stdout).cases[0];
}

/** `glassbox info DIR`: the model card the page gets as `model.info`. */
export function cliInfo(dir) {
  const out = spawnSync(CLI, ['info', dir], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`glassbox info failed (${out.status}): ${out.stderr}`);
  return JSON.parse(out.stdout);
}

/** Largest absolute difference between two equal-length number arrays (Infinity if lengths differ). */
export function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)) || (a[i] === b[i] ? 0 : Infinity));
  return m;
}

/** Wait until the page is idle (no load, run or generation in flight). */
export async function waitIdle(page, timeout = 60000) {
  await page.waitForFunction(() => document.body.dataset.status === 'idle', null, { timeout });
}

/** The picker's value for the bundled model `name`: its place in the site's models/index.json, as the page reads it. */
export async function bundledIndex(page, name) {
  return page.evaluate(async (n) => {
    const body = await (await fetch('models/index.json')).json();
    return (Array.isArray(body) ? body : body.models ?? []).findIndex((m) => m.name === n);
  }, name);
}

/** Pick the bundled model called `name` in the picker and wait for it to load. */
export async function pickModel(page, name) {
  const index = await bundledIndex(page, name);
  if (index < 0) throw new Error(`the picker does not offer ${name}`);
  const current = await page.$eval('#model-select', (s) => s.value);
  if (current !== String(index)) await page.selectOption('#model-select', String(index));
  await waitLoaded(page, name);
}

// ---- Reading the page as a person does ----------------------------------------------------------
// The page ships no test hook: the tests read what it shows (the model facts, the heatmap's read-out,
// the generated tokens) and the states it puts on <body> for its own styling and scripts
// (`data-status`: loading | running | generating | idle; `data-teaching`: busy | idle; `data-ready`).

/**
 * Installed in every page by `newWatchedPage` (context.addInitScript, test side only): records each value
 * <body>'s data-status and data-teaching take, in order, in `window.__seen`, so a test can wait for "a run
 * started after this point and ended" even when it lasted less than one poll.
 */
function recordBodyStates() {
  // drawn: how many generated tokens #generated showed each time the page redrew it.
  // clicks: what each click landed on (a failed wait prints them).
  const seen = { status: [], teaching: [], drawn: [], clicks: [] };
  Object.defineProperty(window, '__seen', { value: seen });
  document.addEventListener('click', (e) => {
    const t = e.target;
    seen.clicks.push(`${Math.round(performance.now())}ms ${e.isTrusted ? 'user' : 'script'} ${t.id ? `#${t.id}` : `${t.tagName}.${t.className}`}`
      + ` at (${e.clientX},${e.clientY}) status=${document.body?.dataset.status}`);
  }, true);
  const lists = { 'data-status': seen.status, 'data-teaching': seen.teaching };
  const push = (list, v) => { if (v !== null && list.at(-1) !== v) list.push(v); };
  const start = () => {
    const body = document.body;
    for (const [name, list] of Object.entries(lists)) push(list, body.getAttribute(name));
    new MutationObserver((records) => {
      // Each record holds the value before its change: the values in between are the next records' old ones.
      const olds = {};
      for (const r of records) (olds[r.attributeName] ??= []).push(r.oldValue);
      for (const [name, before] of Object.entries(olds)) {
        for (const v of before.slice(1)) push(lists[name], v);
        push(lists[name], body.getAttribute(name));
      }
    }).observe(body, { attributes: true, attributeOldValue: true, attributeFilter: Object.keys(lists) });
    const generated = document.querySelector('#generated');
    if (generated) {
      new MutationObserver(() => seen.drawn.push(generated.querySelectorAll('.gen-token').length))
        .observe(generated, { childList: true, subtree: true });
    }
  };
  // Before the page's module scripts run (they run after parsing, i.e. after readyState turns "interactive").
  if (document.body) start();
  else document.addEventListener('readystatechange', start, { once: true });
}

/** A point in the page's history of states (`which`: 'status' or 'teaching'), to wait for what comes after. */
export function mark(page, which = 'status') {
  return page.evaluate((w) => window.__seen[w].length, which);
}

/** Wait until, after `since` (from `mark`), the page went through the `through` state and is idle again. */
export async function waitThrough(page, since, through = 'running', { which = 'status', timeout = 60000 } = {}) {
  try {
    await page.waitForFunction(([n, t, w]) => window.__seen[w].slice(n).includes(t)
      && document.body.dataset[w] === 'idle', [since, through, which], { timeout });
  } catch (err) {
    // What the page went through instead, for whoever reads the failure.
    const shown = await page.evaluate(([n, w]) => ({ states: window.__seen[w].slice(n), body: { ...document.body.dataset },
      html: { ...document.documentElement.dataset }, buttons: [...document.querySelectorAll('button.primary')].map((b) => `${b.id}:${b.disabled ? 'disabled' : 'enabled'}`),
      errors: [...document.querySelectorAll('.error:not([hidden])')].map((e) => `${e.id}: ${e.textContent}`),
      generation: document.querySelector('#generated .gen-status')?.textContent ?? null,
      clicks: window.__seen.clicks.slice(-6), now: Math.round(performance.now()) }), [since, which])
      .catch((e) => `(unreadable: ${e.message})`);
    err.message += `\n  waited for ${which} to pass ${through} and be idle; since then: ${JSON.stringify(shown)}`;
    throw err;
  }
}

/** Do `action` and wait until the teaching sections have computed what it started and are idle again. */
export async function teachingSettled(page, action, timeout = 60000) {
  const since = await mark(page, 'teaching');
  await action();
  await waitThrough(page, since, 'busy', { which: 'teaching', timeout });
}

/** A page whose picker also offers the model folder `folder` as `name`, with that model picked and `text` run
 * (teaching sections settled): the start of the tests that look at one family on the page. */
export async function openPageWithModel(name, folder, text) {
  const setup = await openPage({ extraModels: { [name]: folder } });
  try {
    await showModelRun(setup, name, text);
  } catch (err) {
    // The caller's `after` never sees this setup (its `before` threw first): without closing here, the browser
    // and the server keep the test file's process alive, and the whole run hangs instead of failing.
    await closePage(setup).catch(() => {});
    throw err;
  }
  return setup;
}

async function showModelRun(setup, name, text) {
  await pickModel(setup.page, name);
  await setup.page.fill('#text-input', text);
  await typingSettled(setup.page);
  try {
    await teachingSettled(setup.page, () => setup.page.click('#run-button'), 45000);
  } catch (err) {
    // Rarely (a few times in a day of CI runs) the first Run after a model loads never took the teaching
    // sections through busy to idle. The likely cause, a click that landed beside the button while the
    // typed text's tokens moved the layout, is what typingSettled above now waits out; the log (window.__seen
    // holds every click's target) and the second press stay until that is confirmed. A page that cannot run
    // at all still fails here.
    const state = await setup.page.evaluate(() => ({ body: { ...document.body.dataset }, seen: window.__seen })).catch(() => null);
    console.error(`openPageWithModel(${name}): no teaching run after Run (${err.message}); page state: ${JSON.stringify(state)?.slice(0, 2000)}`);
    await teachingSettled(setup.page, () => setup.page.click('#run-button'), 90000);
  }
  await waitIdle(setup.page);
}

/** The model facts the page lists (#model-facts: "Model", "Type", "Layers", ...), as { term: text }. */
export function modelFacts(page) {
  return page.$$eval('#model-facts div', (rows) => Object.fromEntries(rows.map((r) =>
    [r.querySelector('dt').textContent, r.querySelector('dd').textContent])));
}

/** The loaded model's kind (encoder-only | decoder-only | encoder-decoder), from its "Type" fact. */
export async function modelKind(page) {
  return (await modelFacts(page)).Type?.split(' · ').at(-1) ?? null;
}

/** Wait until the page shows `name` as the loaded model and is idle. */
export async function waitLoaded(page, name, timeout = 60000) {
  await page.waitForFunction((n) => document.body.dataset.status === 'idle'
    && [...document.querySelectorAll('#model-facts div')].some((r) => r.querySelector('dt').textContent === 'Model'
      && r.querySelector('dd').textContent === n), name, { timeout });
}

/**
 * Wait until what typing started has settled, as a reader waits before pressing a button: the token chips show
 * the text's tokens (typing greys them as `stale` until the new ones come) or a message says why they cannot.
 * The new chips change the layout above the Generate button (and, through the browser's scroll anchoring, can
 * move the Run button too): a click whose position was taken before that lands beside the button (seen once in
 * about 40 runs of generation-config.test.mjs, the click on #generate-body).
 */
export async function typingSettled(page, timeout = 60000) {
  await page.waitForFunction(() => {
    const tokens = document.querySelector('#tokens');
    return !tokens?.classList.contains('stale') || document.querySelector('#run-error')?.hidden === false;
  }, null, { timeout });
}

/**
 * Press Generate (text and settings filled in already) and wait for the generation to end. Resolves to what the
 * page shows: the ids of the generated tokens (#generated, in order) and the line under them (.gen-status).
 */
export async function pressGenerate(page, timeout = 60000) {
  await typingSettled(page, timeout);
  const since = await mark(page);
  await page.click('#generate-button');
  await waitThrough(page, since, 'generating', { timeout });
  return generationShown(page);
}

/** The finished generation the page shows: { ids, status }. */
export async function generationShown(page) {
  return {
    ids: (await generatedTokens(page)).map((t) => t.id),
    status: await page.$eval('#generated .gen-status', (e) => e.textContent),
  };
}

/**
 * Press Run (the text typed already) and wait for that run to end. Resolves to the message the page shows under the
 * text ('' when the run went well).
 */
export async function pressRun(page, timeout = 60000) {
  await typingSettled(page, timeout);
  const since = await mark(page);
  await page.click('#run-button');
  await waitThrough(page, since, 'running', { timeout });
  return page.$eval('#run-error', (e) => (e.hidden ? '' : e.textContent));
}

/**
 * The attention map a heatmap shows (`root`: its container, `#heatmap` or `#step-heatmap`), read as a keyboard
 * user reads it: the map's arrow keys move the cursor cell by cell and its read-out gives each exact value and the
 * two token labels. Masked cells read 0. The cursor is cleared (Escape) afterwards. `kind`, `layer` and `head` are
 * the main map's data attributes (undefined elsewhere). Null when nothing is drawn.
 */
export async function readHeatmap(page, root = '#heatmap') {
  await waitPainted(page, `${root} canvas.heatmap-canvas`);
  return page.$eval(root, (box) => {
    const nRows = Number(box.dataset.rows), nCols = Number(box.dataset.cols);
    if (!(nRows > 0 && nCols > 0)) return null;
    const canvas = box.querySelector('canvas.heatmap-canvas');
    const readout = box.querySelector('.readout');
    const key = (k) => canvas.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));
    const values = [], rowLabels = [], colLabels = [];
    const labels = () => {
      // `query "the" → key "cat": 0.1234` (row words other than query/key are fine: only the quoted labels matter).
      const m = /^(?:.*? )?("(?:[^"\\]|\\.)*")? ?→ \S+ ("(?:[^"\\]|\\.)*"):/.exec(readout.textContent);
      return m ? [m[1] === undefined ? null : JSON.parse(m[1]), JSON.parse(m[2])] : [null, null];
    };
    key('PageUp');
    for (let r = 0; r < nRows; r++) {
      if (r > 0) key('ArrowDown');
      key('Home');
      for (let c = 0; c < nCols; c++) {
        if (c > 0) key('ArrowRight');
        const v = readout.dataset.value;
        values.push(v === 'masked' ? 0 : Number(v));
        const [row, col] = labels();
        if (c === 0) rowLabels.push(row);
        if (r === 0) colLabels.push(col);
      }
    }
    key('Escape');
    return { kind: box.dataset.kind, layer: box.dataset.layer === undefined ? undefined : Number(box.dataset.layer),
      head: box.dataset.head, nRows, nCols, rowLabels, colLabels, values };
  });
}

/** Choose the attention kind, layer (from 0) and head (from 0, or 'mean') with the page's controls; the map then shown. */
export async function showAttention(page, kind, layer, head) {
  const radio = await page.$(`#kind-switch input[value="${kind}"]`);
  if (radio && !(await radio.isChecked())) await page.click(`#kind-switch label:has(input[value="${kind}"])`);
  await page.selectOption('#layer-select', String(layer));
  await page.selectOption('#head-select', String(head));
  await page.waitForFunction(([k, l, h]) => {
    const box = document.querySelector('#heatmap');
    return box.dataset.kind === k && box.dataset.layer === l && box.dataset.head === h;
  }, [kind, String(layer), String(head)]);
  return readHeatmap(page);
}

/** The scale the Q/K/V step-through (#qkv) says it multiplies q·k by ("score = q·k × 0.3536 ..."). */
export async function qkvScale(page) {
  const formula = await page.$eval('#qkv .qkv-formula', (e) => e.textContent);
  const m = /× ([−\d.e]+)/.exec(formula);
  assert.ok(m, `no scale in "${formula}"`);
  return Number(m[1].replaceAll('−', '-'));
}

/**
 * The Q/K/V step-through as the page shows it (#qkv): its head and query (from 0), the scale, and per key the
 * numbers of its table: q·k, the position bias (T5; null elsewhere), the score (null when blocked), the weight
 * (from its 6-digit tooltip) and why a key is blocked ('future' for "masked", 'hidden', or null).
 */
export async function qkvShown(page) {
  const shown = await page.$eval('#qkv', (root) => {
    const heads = [...root.querySelectorAll('.qkv-table thead th')].map((t) => t.textContent);
    const num = (t) => (t === '' ? null : Number(t.replaceAll('−', '-').replace('∞', 'Infinity')));
    const keys = [...root.querySelectorAll('.qkv-table tbody tr')].map((tr) => {
      const cell = (name) => tr.children[heads.indexOf(name)];
      const score = cell('score').textContent;
      const blocked = score === 'masked' ? 'future' : score === 'hidden' ? 'hidden' : null;
      return { dot: num(cell('q·k').textContent), bias: heads.includes('bias') ? num(cell('bias').textContent) : null,
        score: blocked ? null : num(score), weight: num(cell('weight').title.replace(/^weight /, '')), blocked };
    });
    return { head: Number(root.dataset.head), query: Number(root.dataset.query), keys };
  });
  const k = shown.keys;
  return { head: shown.head, query: shown.query, scale: await qkvScale(page), weights: k.map((x) => x.weight),
    dots: k.map((x) => x.dot), bias: k.map((x) => x.bias), scores: k.map((x) => x.score), blocked: k.map((x) => x.blocked) };
}

/** The generated tokens the page lists (#generated), in order: { index, id, text, selected }. */
export function generatedTokens(page) {
  return page.$$eval('#generated .gen-token', (items) => items.map((b) => ({ index: Number(b.dataset.index),
    id: Number(b.dataset.id), text: b.textContent,
    selected: b.getAttribute('aria-selected') === 'true' })));
}

// ---- Faults injected from the test side -----------------------------------------------------------

/**
 * Serve this context's pages an instrumented copy of www/worker.js: the shipped text with TEST code appended
 * (never shipped). `injectFault(page, kind)` then arms the worker so the page's next `run` request
 *   - 'trap': fails the way a bug in the core does in the wasm build (a panic is `WebAssembly.RuntimeError:
 *     unreachable` with panic = abort, its message kept by the panic hook: PANIC_MESSAGE here), and leaves that
 *     engine instance unusable, as a real trap does: every later call into it traps again until the worker's
 *     recovery replaces it;
 *   - 'busy': keeps the worker in one synchronous stretch of 60 s, as a long tokenize or run does.
 * The page's real error and recovery paths (worker.js `describe`/`restartEngine`, reload under the same handle,
 * Glassbox.interrupt) handle the rest.
 */
export async function instrumentWorker(context) {
  const shipped = fs.readFileSync(path.join(ROOT, 'www/worker.js'), 'utf8');
  await context.route(/\/worker\.js(?:[?#].*)?$/, (route) => route.fulfill({
    status: 200, contentType: 'text/javascript; charset=utf-8', body: shipped + WORKER_FAULTS }));
}

/** The panic message an injected trap leaves for the worker to report. */
export const PANIC_MESSAGE = 'panicked at crate/src/models/attention.rs:1:1: a panic injected by the test';

const WORKER_FAULTS = `
// ---- Appended by tests/browser/helpers.mjs (instrumentWorker); not part of the shipped worker ----
{
  const shippedDispatch = dispatch;
  let brokenEngine = null;
  const trap = () => new WebAssembly.RuntimeError('unreachable');
  dispatch = async (msg) => {
    const fault = self.__testFault;
    if (msg.type === 'run' && fault) {
      self.__testFault = null;
      if (fault === 'trap') {
        // What the engine's panic hook (installPanicHook) would have kept of the panic, for lastPanic().
        brokenEngine = await engine;
        engine = Promise.resolve(new Proxy(brokenEngine, {
          get: (api, key) => (key === 'lastPanic' ? () => ${JSON.stringify(PANIC_MESSAGE)} : api[key]) }));
        throw trap();
      }
      if (fault === 'busy') {
        const until = Date.now() + 60000;
        while (Date.now() < until) { /* one synchronous stretch */ }
      }
    }
    if (brokenEngine) {
      const own = models.get(msg.handle)?.engine;
      if (own === brokenEngine || (own === undefined && engine && (await engine) === brokenEngine)) throw trap();
    }
    return shippedDispatch(msg);
  };
}
`;

/** Arm the page's (instrumented) worker: its next `run` request meets `kind` ('trap' or 'busy'); see instrumentWorker. */
export async function injectFault(page, kind) {
  const workers = page.workers().filter((w) => /\/worker\.js(?:[?#].*)?$/.test(w.url()));
  assert.equal(workers.length, 1, `one Glassbox worker in the page (found ${page.workers().map((w) => w.url())})`);
  await workers[0].evaluate((k) => { self.__testFault = k; }, kind);
}

/** The end-of-text token ids a model folder's config.json names (HF allows one id or a list), maybe none. */
export function eosIds(dir) {
  const eos = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).eos_token_id;
  return eos === null || eos === undefined ? [] : [eos].flat();
}

/**
 * A generation of at most `max` new tokens ran and streamed its tokens (`ids`, in order): at least one, and
 * either all `max` or a stop at one of the model's end-of-text tokens `eos` (a trained model ends its sentences
 * early). Nothing may follow an end-of-text token.
 */
export function assertGenerated(ids, max, eos, what = 'the generation') {
  const shown = `${what}: ${JSON.stringify(ids)} (max ${max}, eos ${JSON.stringify(eos)})`;
  assert.ok(ids.length >= 1, `no token was streamed; ${shown}`);
  assert.ok(ids.length <= max, `more tokens than the maximum; ${shown}`);
  assert.ok(!ids.slice(0, -1).some((id) => eos.includes(id)), `tokens after an end-of-text token; ${shown}`);
  if (ids.length < max) assert.ok(eos.includes(ids.at(-1)), `stopped early without reaching an end-of-text token; ${shown}`);
}

/**
 * Wait until the canvas has its content: heatmaps get their cells from the worker (data-painted turns
 * from "false" to "true", or "error").
 */
export async function waitPainted(page, selector) {
  const canvas = page.locator(selector).first();
  const state = await canvas.evaluate((c) => new Promise((resolve) => {
    if (c.dataset.painted !== 'false') return resolve(c.dataset.painted ?? 'static');
    const seen = new MutationObserver(() => {
      if (c.dataset.painted === 'false') return;
      seen.disconnect();
      resolve(c.dataset.painted);
    });
    seen.observe(c, { attributes: true, attributeFilter: ['data-painted'] });
  }));
  assert.notEqual(state, 'error', `${selector}: the worker could not draw the map`);
  return canvas;
}

/** How much a canvas has drawn: pixels with any alpha, and (up to 1000) distinct colours. */
export async function canvasInk(page, selector) {
  const canvas = await waitPainted(page, selector);
  return canvas.evaluate((canvas) => {
    const ctx = canvas.getContext('2d');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let inked = 0;
    const colours = new Set();
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0) {
        inked++;
        if (colours.size < 1000) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      }
    }
    return { inked, colours: colours.size, total: data.length / 4 };
  });
}

/** The WCAG levels the browser tests hold every page to. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * Run axe-core (node_modules/axe-core) in a page or frame against WCAG 2.1 A/AA and return
 * { passed (rules that passed), serious (the serious and critical violations, one line each:
 * id, impact, targets, summary), other (the moderate and minor ones, the same way) }. `include` limits the run to some selectors (the whole document by default).
 * axe looks inside open shadow roots. The script is evaluated through the debugging protocol, so the page's CSP
 * (no inline scripts) is left as it is.
 */
export async function axeViolations(target, include = null) {
  const injected = await target.evaluate(() => typeof window.axe === 'object');
  if (!injected) await target.evaluate(fs.readFileSync(path.join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8'));
  return target.evaluate(async ({ include: inc, tags }) => {
    const r = await window.axe.run(inc ? { include: inc.map((s) => [s]) } : document,
      { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    const lines = (vs) => vs.flatMap((v) =>
      v.nodes.map((n) => `${v.id} (${v.impact}) at ${n.target.map((t) => [t].flat().join(' >>> ')).join(' ')}: `
        + `${(n.failureSummary ?? v.help).replace(/\s+/g, ' ').slice(0, 300)}`));
    const grave = (v) => v.impact === 'serious' || v.impact === 'critical';
    return {
      passed: r.passes.length,
      serious: lines(r.violations.filter(grave)),
      // Moderate and minor ones: reported, not failed on.
      other: lines(r.violations.filter((v) => !grave(v))),
    };
  }, { include, tags: AXE_TAGS });
}

// ---- the real tokenizers beside the model's (the text section's "Cut the same text with") ----------------

/** One column of the page's comparison: its chips' decoded labels, their raw tokens and its count line. */
export async function realTokenizerColumn(page, name) {
  return page.$eval(`#real-tokenizers .tokenizer-column[data-name="${name}"]`, (col) => ({
    labels: [...col.querySelectorAll('.chip .piece')].map((p) => p.textContent),
    tokens: [...col.querySelectorAll('.chip')].map((c) => JSON.parse(c.title.split(' · ')[0])),
    total: col.querySelector('.token-total').textContent,
  }));
}

/**
 * Type `text` into the page, choose the real tokenizer `name` as a reader would, and wait until its column holds
 * `nChips` chips and the model's own column shows the same text (its count agrees with the section's). Resolves to
 * realTokenizerColumn(page, name).
 */
export async function cutWithRealTokenizer(page, name, text, nChips, timeout = 120000) {
  await page.fill('#text-input', text);
  await page.check(`#real-tokenizers input[value="${name}"]`);
  // The column, or the message saying why the tokenizer could not be used (failing at once, with that message).
  await page.waitForFunction((n) => document.querySelector(`#real-tokenizers .tokenizer-column[data-name="${n}"], #real-tokenizers .error`),
    name, { timeout });
  const error = await page.$eval('#real-tokenizers', (e) => e.querySelector('.error')?.textContent ?? null);
  assert.equal(error, null, `the ${name} tokenizer could not be used`);
  await page.waitForFunction(([n, count]) => document.querySelectorAll(`#real-tokenizers .tokenizer-column[data-name="${n}"] .chip`).length === count
    && document.querySelector('#real-tokenizers .tokenizer-column[data-name="own"]')
    && document.querySelector('#token-count').textContent.startsWith(
      document.querySelector('#real-tokenizers .tokenizer-column[data-name="own"] .token-total').textContent), [name, nChips], { timeout });
  return realTokenizerColumn(page, name);
}
