// The page with a real-size model, as a practitioner tries it, in headless Chromium: a GPT-2-small-shaped
// model (124M parameters, f16, the real GPT-2 vocabulary; random weights made by scripts/dev/make-shaped-model.mjs
// into the ignored tests/artifacts/, not committed) opened from a folder with the folder picker, a run, then
// Generate at once. The click must not wait behind the teaching sections further down the page (asserted: the
// generation is served before the background work). The speed targets (first token within 1.5x of a fresh
// generation's; the page receiving tokens at least 0.9x as fast as the engine alone decodes them, the same wasm
// through the JS API in a second page of the same browser) are measured and printed, and written to
// tests/artifacts/scale.json: figures, not pass/fail on a shared machine's timing.
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
const ROUNDS = 3;                // page and engine interleaved; each side's best round counts

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
/**
 * Press a button the way the keyboard does (element.click()): Playwright's click would scroll it into view, and
 * the generate button sits right above the teaching sections, which must stay off screen in the timed rounds.
 */
const press = (page, selector) => page.$eval(selector, (button) => button.click());

async function generateOnce(page) {
  await press(page, '#generate-button');
  await page.waitForFunction(() => document.body.dataset.status === 'generating' || document.querySelector('#perf-figures')?.dataset.tokensPerS);
  await waitIdle(page, 180000);
  const err = await page.$eval('#generate-error', (e) => (e.hidden ? '' : e.textContent));
  assert.equal(err, '', 'the generation failed');
  const shown = await page.$$eval('#generated .gen-token', (t) => t.length);
  assert.equal(shown, NEW_TOKENS, 'every token is shown');
  return pageFigures(page);
}

/** A second page of the same browser driving the same wasm through the JS API alone: the engine's own figure. */
async function openEngine(browser, serverUrl, modelPath = SHAPED_URL) {
  const engine = await browser.newPage();
  engine.setDefaultTimeout(180000);
  await engine.goto(new URL('glassbox.d.ts', serverUrl).href);
  await engine.evaluate(async (url) => {
    const { Glassbox } = await import(new URL('/glassbox.js', location.href).href);
    window.gb = await Glassbox.create();
    window.model = await window.gb.loadModel({ baseUrl: url });
  }, new URL(modelPath, serverUrl).href);
  return {
    /** tokens/s between the first and the last token, decoding alone (no candidates, no attention), timed as the
     * page times it: by the worker's stamps (`ms`), since a small model's tokens arrive a frame's worth at a time. */
    tokensPerS: (text = TEXT, n = NEW_TOKENS) => engine.evaluate(async ({ text, n }) => {
      const stamps = [];
      const h = window.model.generate(text, { maxNewTokens: n, temperature: 0, numCandidates: 0, captureAttention: false,
        onToken: (t) => stamps.push(t.ms) });
      await h.done;
      return ((stamps.length - 1) * 1000) / (stamps.at(-1) - stamps[0]);
    }, { text, n }),
    wasmBytes: () => engine.evaluate(async () => (await window.gb.memory()).wasmBytes),
    close: () => engine.close(),
  };
}

describe('a GPT-2-small-shaped model in the page', () => {
  it('opens from a folder with progress, runs, and generates at once at the engine\'s speed', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await page.goto(setup.server.url);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 90000 });

    // The bundled GPT-2 first (figures only: its tokens take a millisecond or two, too few to time reliably
    // on a shared machine): the page's tokens/s against the engine's, interleaved, best of each.
    const bundled = await page.$$eval('#model-select option', (o) => o.findIndex((x) => x.textContent.includes('decoder-only')));
    assert.ok(bundled >= 0, 'a bundled decoder is offered');
    await page.selectOption('#model-select', String(bundled));
    await waitIdle(page, 90000);
    const bundledPath = (await (await fetch(new URL('models/index.json', setup.server.url))).json()).models
      .filter((m) => m.kind === 'decoder-only' && !m.extra)[0].path;
    const small = await openEngine(setup.browser.browser, setup.server.url, bundledPath);
    // The bundled GPT-2 read one sentence per text and ends its sentence soon (greedy: 'A' writes 16 tokens, 'Once
    // upon a time' 12); 'In the' runs to 38 (the CLI's count, bundled_tokens in the figures), more steps to time.
    const SMALL_TEXT = 'In the';
    await page.fill('#max-tokens', '100');
    await page.fill('#temperature', '0');
    await page.fill('#text-input', SMALL_TEXT);
    const smallPage = [];
    const smallEngine = [];
    const smallTokens = [];
    for (let r = 0; r <= ROUNDS; r++) {
      await page.click('#generate-button');
      await page.waitForFunction(() => document.body.dataset.status === 'generating' || document.querySelector('#perf-figures')?.dataset.tokensPerS);
      await waitIdle(page, 90000);
      const rate = (await pageFigures(page)).tokensPerS;
      smallTokens.push(await page.$$eval('#generated .gen-token', (t) => t.length));
      const alone = await small.tokensPerS(SMALL_TEXT, 100);
      if (r > 0) { // round 0 warms up
        smallPage.push(round(rate));
        smallEngine.push(round(alone));
      }
    }
    await small.close();
    figures.bundled_page_tok_s = smallPage;
    figures.bundled_engine_tok_s = smallEngine;
    figures.bundled_tokens = smallTokens.at(-1);
    figures.bundled_page_over_engine_rate = round(Math.max(...smallPage) / Math.max(...smallEngine));

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
    // The picked file is read a range at a time as the engine asks (never whole in the tab): first checked
    // straight through, then read tensor by tensor into the layers, and the line says which.
    assert.ok(seen.some((s) => /\(\d+%\), checking every value/.test(s)), `the checking pass was shown: ${seen.slice(0, 5).join(' | ')}`);
    assert.ok(seen.some((s) => /\(\d+%\), building the model in memory/.test(s)), `the building pass was shown: ${seen.slice(-5).join(' | ')}`);
    const facts = await page.$eval('#model-facts', (e) => e.textContent);
    assert.match(facts, /124/, 'the card shows the 124M parameters');
    figures.page_load_s = round((await pageFigures(page)).loadMs / 1000);
    const engine = await openEngine(setup.browser.browser, setup.server.url);

    await page.fill('#max-tokens', String(NEW_TOKENS));
    await page.fill('#temperature', '0');
    await page.fill('#text-input', TEXT);
    // Warm-up (the first generation of an instance grows its memory), then rounds interleaved page / engine,
    // so a machine whose load drifts affects both sides alike; each side's best round counts.
    // The timed rounds run with the page at its top, where the teaching sections are far below the fold (they
    // are not computed until looked at). An observer with the page's own margin records whether they ever came
    // into range, so a layout change that brings them on screen fails loudly instead of making the check vacuous.
    await page.evaluate(() => {
      window.scrollTo(0, 0);
      window.__teachingInRange = false;
      new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) window.__teachingInRange = true; },
        { rootMargin: '200px 0px' }).observe(document.getElementById('teaching'));
    });
    await generateOnce(page);
    await engine.tokensPerS();
    const fresh = [];
    const afterRun = [];
    const pageRates = [];
    const engineRates = [];
    for (let r = 0; r < ROUNDS; r++) {
      engineRates.push(await engine.tokensPerS());
      // A fresh generation: nothing else asked of the worker.
      const f = await generateOnce(page);
      fresh.push(f.firstTokenMs);
      pageRates.push(f.tokensPerS);
      // Run, then Generate at once: the teaching sections (off screen) must not get in the way.
      await press(page, '#run-button');
      await waitIdle(page, 180000);
      await waitPainted(page, '#heatmap canvas');
      const a = await generateOnce(page);
      afterRun.push(a.firstTokenMs);
      pageRates.push(a.tokensPerS);
    }
    figures.first_plot_ms = round((await pageFigures(page)).firstPlotMs);
    figures.first_token_fresh_ms = fresh.map(round);
    figures.first_token_after_run_ms = afterRun.map(round);
    figures.page_tok_s = pageRates.map(round);
    figures.engine_tok_s = engineRates.map(round);
    figures.engine_wasm_mb = round((await engine.wasmBytes()) / 1e6);
    await engine.close();
    const shown = await page.$eval('#perf-figures', (e) => e.textContent);
    assert.match(shown, /tokens\/s/, 'the figures are on screen');
    // The two speed targets of the issue are figures, printed and written to scale.json, not assertions: on a
    // shared 2-core machine a timing can flip either way, and a test must not pass or fail on the weather.
    // The scheduling they depend on is asserted below (the generation is served before the background lens).
    figures.first_token_ratio = round(Math.min(...afterRun) / Math.min(...fresh));
    figures.first_token_ratio_target = FIRST_TOKEN_RATIO;
    figures.page_over_engine_rate = round(Math.max(...pageRates) / Math.max(...engineRates));
    figures.page_over_engine_rate_target = RATE_RATIO;
    console.log(`# first token after a run / fresh: ${figures.first_token_ratio} (target <= ${FIRST_TOKEN_RATIO}); `
      + `page tokens/s / engine: ${figures.page_over_engine_rate} (target >= ${RATE_RATIO})`);

    // The teaching sections below were not computed while nobody looked at them.
    assert.equal(await page.evaluate(() => window.__teachingInRange), false,
      'the timed rounds kept the teaching sections off screen (else the next check proves nothing)');
    assert.equal(await page.$$eval('#predictions .prediction, #logit-lens .lens-table', (n) => n.length), 0,
      'the teaching sections waited off screen');
    // ...in view, a run starts them, and a Generate pressed meanwhile goes first: its tokens all arrive before
    // the teaching sections (the logit lens over 13 states x 50,257 entries) have their numbers. The buttons are
    // pressed from the keyboard's side (element.click(), no scrolling), so the sections stay in view.
    await page.evaluate(() => {
      window.__order = [];
      const note = (what) => window.__order.push({ what, at: performance.now() });
      new MutationObserver(() => { if (document.querySelector('#logit-lens .lens-table')) note('lens'); })
        .observe(document.getElementById('logit-lens'), { childList: true, subtree: true });
      let status = document.body.dataset.status;
      new MutationObserver(() => {
        if (status === 'generating' && document.body.dataset.status !== 'generating') note('generated');
        status = document.body.dataset.status;
      }).observe(document.body, { attributes: true, attributeFilter: ['data-status'] });
      document.getElementById('lens-section').scrollIntoView();
      document.getElementById('run-button').click();
    });
    await waitIdle(page, 180000);
    await page.evaluate(() => document.getElementById('generate-button').click());
    await waitIdle(page, 180000);
    figures.first_token_during_teaching_ms = round((await pageFigures(page)).firstTokenMs);
    await page.waitForFunction(() => window.__order.some((o) => o.what === 'lens'), null, { timeout: 180000 });
    const order = await page.evaluate(() => window.__order);
    const lensAt = order.find((o) => o.what === 'lens')?.at;
    const generatedAt = order.find((o) => o.what === 'generated')?.at;
    assert.ok(generatedAt < lensAt, `the generation ended (${generatedAt}) before the background lens (${lensAt})`);

    // A long input keeps only the layer shown (12 x 12 maps of 400 tokens would pass the page's 64 MB): the views
    // that read every layer are left out, and a line says so and how short a text shows them (they used to
    // vanish under their headings, the rollout's still saying "Computed when scrolled into view").
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.fill('#text-input', Array(18).fill(TEXT).join(' '));
    await page.waitForFunction(() => /^\d{3} tokens/.test(document.getElementById('token-count').textContent), null, { timeout: 60000 });
    // The run takes seconds: beside Run a note says what runs and counts the seconds, and is empty again after.
    await page.evaluate(() => {
      window.__runStatus = [];
      window.__tokensTop = [];
      const status = document.getElementById('run-progress');
      const tokensTop = () => Math.round(document.getElementById('tokens').getBoundingClientRect().top + window.scrollY);
      window.__tokensTop.push(tokensTop());
      new MutationObserver(() => {
        window.__runStatus.push(status.textContent);
        if (status.textContent) window.__tokensTop.push(tokensTop());
      }).observe(status, { childList: true, characterData: true, subtree: true });
      document.getElementById('run-button').click();
    });
    await waitIdle(page, 180000);
    const said = await page.evaluate(() => window.__runStatus);
    assert.ok(said.some((s) => /^Running on \d{3} tokens…$/.test(s)), `the run said it was running: ${said.slice(0, 3).join(' | ')}`);
    assert.ok(said.some((s) => /^Running on \d{3} tokens… [1-9]\d* s so far$/.test(s)), `and counted its seconds: ${said.slice(0, 4).join(' | ')}`);
    assert.equal(await page.$eval('#run-progress', (e) => e.textContent), '', 'the note goes when the run ends');
    const tops = await page.evaluate(() => window.__tokensTop);
    assert.equal(new Set(tops).size, 1, `the note moves nothing below it (the tokens' top: ${tops.join(', ')})`);
    const long = await page.evaluate(() => ({
      views: !document.querySelector('#whole-run-views').hidden,
      note: document.querySelector('#whole-run-note').hidden ? '' : document.querySelector('#whole-run-note').textContent,
    }));
    assert.equal(long.views, false, 'the views of every layer are left out');
    assert.match(long.note, /^Every head at once, one layer as lines and the flow through the layers read the maps of every layer\. For this input \(\d{3} tokens\) those would pass 64 MB.* Shorten the text to about 341 tokens to see them\.$/);

    // Cancel while a picked checkpoint is checked and built: that is one synchronous call in the worker, which no
    // message reaches, so the page replaces the worker; the model shown before is loaded again there and runs.
    await page.fill('#text-input', TEXT);
    await page.evaluate(() => {
      window.__cancelSeen = false;
      const status = document.getElementById('load-status');
      new MutationObserver(() => {
        if (!window.__cancelSeen && /checking every value|building the model/.test(status.textContent)) {
          window.__cancelSeen = true;
          document.getElementById('cancel-load').click();
        }
      }).observe(status, { childList: true, characterData: true, subtree: true });
    });
    await page.setInputFiles('#folder-input', SHAPED);
    await page.waitForFunction(() => /was cancelled/.test(document.getElementById('load-note').textContent), null, { timeout: 180000 });
    await waitIdle(page, 180000);
    assert.match(await page.$eval('#load-note', (e) => e.textContent),
      /^Loading .+ was cancelled \(the engine was restarted to stop the build\); .+ is still loaded\.$/);
    assert.equal(await page.$eval('#model-error', (e) => e.hidden), true, 'no error');
    await press(page, '#run-button');
    await waitIdle(page, 180000);
    assert.equal(await page.$eval('#run-error', (e) => (e.hidden ? '' : e.textContent)), '', 'the model shown before still runs');
    await waitPainted(page, '#heatmap canvas');

    // Stop during a long run (the control beside Run): the engine restarts, the model is loaded again, the text stays.
    const longText = Array(18).fill(TEXT).join(' ');
    await page.fill('#text-input', longText);
    await page.evaluate(() => document.getElementById('run-button').click());
    await page.waitForSelector('#interrupt-button', { state: 'visible', timeout: 60000 });
    await page.click('#interrupt-button');
    await page.waitForFunction(() => /^Stopped\. The engine was restarted/.test(document.getElementById('run-status').textContent),
      null, { timeout: 180000 });
    await waitIdle(page, 180000);
    assert.equal(await page.$eval('#text-input', (e) => e.value), longText, 'the text is unchanged');
    assert.equal(await page.$eval('#run-error', (e) => (e.hidden ? '' : e.textContent)), '', 'Stop is not an error');
    await page.fill('#text-input', TEXT);
    await press(page, '#run-button');
    await waitIdle(page, 180000);
    assert.equal(await page.$eval('#run-error', (e) => (e.hidden ? '' : e.textContent)), '', 'the reloaded model runs');

    // Another model picked while a checkpoint is being built: the engine restarts to stop the build, and the model
    // shown before is not loaded again for nothing (it would be replaced at once): the picked one loads.
    const weightUrls = [];
    await context.route('**/model.safetensors', (route) => { weightUrls.push(route.request().url()); return route.continue(); });
    const options = await page.$$eval('#model-select option', (o) => o.map((x) => x.textContent));
    const shownIndex = options.findIndex((x) => x.includes('decoder-only'));
    const pickedIndex = options.findIndex((x) => x.includes('encoder-only'));
    assert.ok(shownIndex >= 0 && pickedIndex >= 0, `a bundled decoder and encoder: ${options.join(' | ')}`);
    await page.selectOption('#model-select', String(shownIndex));
    await waitIdle(page, 90000);
    assert.equal(weightUrls.length, 1, 'the bundled decoder was downloaded');
    const shownUrl = weightUrls[0];
    await page.evaluate((picked) => {
      window.__pickedMidBuild = false;
      const status = document.getElementById('load-status');
      new MutationObserver(() => {
        if (!window.__pickedMidBuild && /checking every value|building the model/.test(status.textContent)) {
          window.__pickedMidBuild = true;
          const select = document.getElementById('model-select');
          select.value = String(picked);
          select.dispatchEvent(new Event('change', { bubbles: true }));
        }
      }).observe(status, { childList: true, characterData: true, subtree: true });
    }, pickedIndex);
    let workersStarted = 0;
    page.on('worker', () => { workersStarted++; });
    await page.setInputFiles('#folder-input', SHAPED);
    await page.waitForFunction(() => window.__pickedMidBuild, null, { timeout: 180000 });
    await page.waitForFunction((want) => document.querySelector('#model-select option:checked')?.textContent === want
      && document.body.dataset.status === 'idle', options[pickedIndex], { timeout: 180000 });
    assert.equal(await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent)), '', 'no error');
    assert.deepEqual(weightUrls.slice(1).filter((u) => u === shownUrl), [], 'the model shown before was not loaded again');
    assert.equal(weightUrls.length, 2, `the picked model was downloaded: ${weightUrls.join(', ')}`);
    assert.equal(workersStarted, 1, 'the build was stopped by starting a new worker, not waited for');
    await press(page, '#run-button');
    await waitIdle(page, 180000);
    assert.equal(await page.$eval('#run-error', (e) => (e.hidden ? '' : e.textContent)), '', 'the picked model runs');
    assert.deepEqual(watch.errors, [], 'no console errors');
    await context.close();
  });
});
