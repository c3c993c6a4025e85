// The page with a real-size model, as a practitioner tries it, in headless Chromium: a GPT-2-small-shaped
// model (124M parameters, f16, the real GPT-2 vocabulary; random weights made by scripts/dev/make-shaped-model.mjs
// into the ignored tests/artifacts/, not committed) opened from a folder with the folder picker, a run, then
// Generate at once. The click must not wait behind the teaching sections further down the page: the first token
// arrives within 1.5x of a fresh generation's first token, and the page receives tokens at least 0.9x as fast as
// the engine alone decodes them (the same wasm through the JS API in a second page of the same browser).
// The figures are printed, and written to tests/artifacts/scale.json.
//
//   GLASSBOX_BIN=$PWD/target/release/glassbox node --test tests/browser/scale.test.mjs

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ARTIFACTS, ROOT, launchBrowser, modelsUnderTest, newWatchedPage, startServer, waitIdle, waitPainted,
} from './helpers.mjs';

const SHAPED = path.join(ARTIFACTS, 'shaped', 'gpt2-small-f16');
const SHAPED_URL = 'models/extra/gpt2-small-f16/';
const TEXT = 'The history of the city begins with a small fishing village on the river, where traders stopped on their way north';
const NEW_TOKENS = 30;
const FIRST_TOKEN_RATIO = 1.5;   // first token after a run, against a fresh generation's
const RATE_RATIO = 0.9;          // the page's tokens/s against the engine's own

const setup = {};
const figures = {};

before(async () => {
  const { makeShapedModel } = await import(pathToFileURL(path.join(ROOT, 'scripts/dev/make-shaped-model.mjs')).href);
  const made = makeShapedModel({ shape: 'gpt2-small', dtype: 'f16', seed: 1, out: SHAPED });
  figures.make_model_s = round(made.ms / 1000);
  figures.weights_mb = round(made.weightsBytes / 1e6);
  setup.models = await modelsUnderTest();
  // Served as models/extra/…: listed after the bundled models, so the page starts with a small one.
  fs.mkdirSync(path.join(setup.models.root, 'extra'), { recursive: true });
  fs.symlinkSync(SHAPED, path.join(setup.models.root, 'extra', 'gpt2-small-f16'), 'dir');
  setup.server = await startServer(setup.models.root);
  setup.browser = await launchBrowser();
});

after(async () => {
  await setup.browser?.close();
  await setup.server?.stop();
  if (Object.keys(figures).length) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'scale.json'), `${JSON.stringify(figures, null, 2)}\n`);
    console.log('scale figures:', JSON.stringify(figures));
  }
});

const round = (x) => Math.round(x * 100) / 100;

/** The page's own figures (#perf-figures data attributes), as numbers. */
async function pageFigures(page) {
  return page.$eval('#perf-figures', (e) => Object.fromEntries(Object.entries(e.dataset).map(([k, v]) => [k, Number(v)])));
}

/** Press Generate and wait for the generation to end; the page's figures for it. */
async function generateOnce(page) {
  await page.click('#generate-button');
  await page.waitForFunction(() => document.body.dataset.status === 'generating' || document.querySelector('#perf-figures')?.dataset.tokensPerS);
  await waitIdle(page, 180000);
  const err = await page.$eval('#generate-error', (e) => (e.hidden ? '' : e.textContent));
  assert.equal(err, '', 'the generation failed');
  const shown = await page.$$eval('#generated .gen-token', (t) => t.length);
  assert.equal(shown, NEW_TOKENS, 'every token is shown');
  return pageFigures(page);
}

describe('a GPT-2-small-shaped model in the page', () => {
  it('opens from a folder with progress, runs, and generates at once at the engine\'s speed', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await page.goto(setup.server.url);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 90000 });

    // What the loading line said while the folder was read (the weights are 249 MB).
    await page.evaluate(() => {
      window.__seenStatus = [];
      const status = document.getElementById('load-status');
      new MutationObserver(() => window.__seenStatus.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
    });
    await page.setInputFiles('#folder-input', SHAPED);
    await page.waitForFunction(() => document.querySelector('#model-select option:checked')?.textContent.includes('your model'), null, { timeout: 180000 });
    await waitIdle(page, 180000);
    assert.equal(await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent)), '', 'the model loaded');
    const seen = await page.evaluate(() => window.__seenStatus);
    assert.ok(seen.some((s) => /model\.safetensors: [\d.]+ MB of 237\.4 MB \(\d+%\)/.test(s)), `progress was shown: ${seen.slice(0, 5).join(' | ')}`);
    const facts = await page.$eval('#model-facts', (e) => e.textContent);
    assert.match(facts, /124/, 'the card shows the 124M parameters');
    figures.page_load_s = round((await pageFigures(page)).loadMs / 1000);

    // Run, then Generate at once: the teaching sections (off screen) must not get in the way.
    await page.fill('#max-tokens', String(NEW_TOKENS));
    await page.fill('#temperature', '0');
    await page.fill('#text-input', TEXT);
    await page.click('#run-button');
    await waitIdle(page, 180000);
    await waitPainted(page, '#heatmap canvas');
    await page.waitForFunction(() => document.querySelector('#perf-figures')?.dataset.firstPlotMs);
    const afterRun = await generateOnce(page);
    figures.first_plot_ms = round((await pageFigures(page)).firstPlotMs);
    figures.first_token_after_run_ms = round(afterRun.firstTokenMs);
    // A fresh generation: nothing else asked of the worker.
    const fresh = await generateOnce(page);
    figures.first_token_fresh_ms = round(fresh.firstTokenMs);
    figures.page_tok_s = round(Math.min(afterRun.tokensPerS, fresh.tokensPerS));
    const shown = await page.$eval('#perf-figures', (e) => e.textContent);
    assert.match(shown, /tokens\/s/, 'the figures are on screen');
    assert.deepEqual(watch.errors, [], 'no console errors');
    await context.close();

    // The engine alone: the same wasm and model through the JS API, in another page of the same browser.
    const engine = await setup.browser.browser.newPage();
    engine.setDefaultTimeout(180000);
    await engine.goto(new URL('glassbox.d.ts', setup.server.url).href);
    const alone = await engine.evaluate(async ({ url, text, n }) => {
      const { Glassbox } = await import(new URL('/glassbox.js', location.href).href);
      const gb = await Glassbox.create();
      const model = await gb.loadModel({ baseUrl: url });
      const rates = [];
      for (let round = 0; round < 2; round++) {
        const arrivals = [];
        const h = model.generate(text, { maxNewTokens: n, temperature: 0, numCandidates: 0, captureAttention: false,
          onToken: () => arrivals.push(performance.now()) });
        await h.done;
        rates.push(((arrivals.length - 1) * 1000) / (arrivals.at(-1) - arrivals[0]));
      }
      const memory = await gb.memory();
      gb.terminate();
      return { tokS: Math.max(...rates), wasmBytes: memory.wasmBytes };
    }, { url: new URL(SHAPED_URL, setup.server.url).href, text: TEXT, n: NEW_TOKENS });
    await engine.close();
    figures.engine_tok_s = round(alone.tokS);
    figures.engine_wasm_mb_after_load_and_generate = round(alone.wasmBytes / 1e6);

    assert.ok(figures.first_token_after_run_ms <= FIRST_TOKEN_RATIO * figures.first_token_fresh_ms,
      `the first token after a run took ${figures.first_token_after_run_ms} ms, a fresh generation's ${figures.first_token_fresh_ms} ms`);
    assert.ok(figures.page_tok_s >= RATE_RATIO * figures.engine_tok_s,
      `the page received ${figures.page_tok_s} tokens/s, the engine alone decodes ${figures.engine_tok_s}`);
  });
});
