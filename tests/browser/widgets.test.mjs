// The embedding story, in headless Chromium: a host page with several widgets (one worker, one load per
// model, lazy start, shadow-DOM isolation, theming), the page's state in the URL (round trip, seeded
// generation, embed mode, hide flags, embed codes), and the iframe embed answering postMessage.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  openPage, closePage, newWatchedPage, foreignRequests, canvasInk, assertGenerated, eosIds, CLI, readHeatmap,
  generatedTokens, modelKind, cliInfo,
} from './helpers.mjs';

const WAIT = { timeout: 120000 };
const setup = {};

before(async () => {
  Object.assign(setup, await openPage({ openPage: false, artifacts: true }));
  setup.decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
  setup.encoder = setup.models.models.find((m) => m.kind === 'encoder-only');
  assert.ok(setup.decoder && setup.encoder, 'a decoder-only and an encoder-only model are needed');
});

after(() => closePage(setup));

/** Serve `html` at /<name> on the test server's origin (the rest of the site is the real server). */
async function hostPage(context, name, html) {
  await context.route(`**/${name}`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
  return `${setup.server.url}${name}`;
}

const allWidgets = 'glassbox-tokens, glassbox-attention, glassbox-generation';

async function waitWidgets(page, selector) {
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)]
    .every((e) => e.dataset.status === 'ready' || e.dataset.status === 'error'), selector, WAIT);
  const errors = await page.$$eval(selector, (els) => els.map((e) => e.shadowRoot.querySelector('.error')?.textContent).filter(Boolean));
  assert.deepEqual(errors, [], 'a widget showed an error');
}

describe('widgets on a host page', () => {
  it('render several widgets with one worker and one load per model, lazily, isolated and themable', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const dec = setup.decoder.name;
    const url = await hostPage(context, '__widgets-host.html', `<!doctype html>
<html><head><meta charset="utf-8"><title>host</title>
<style>
  .chip, .heatmap, p { background: rgb(0, 255, 0) !important; color: rgb(255, 0, 0) !important; }
  #themed { --gb-chip: rgb(1, 2, 3); }
</style>
<script type="module" src="/glassbox-widgets.js"></script></head>
<body>
  <p id="host-text">The host page's own paragraph.</p>
  <glassbox-tokens id="themed" model="${dec}" text="Tokens in a host page."></glassbox-tokens>
  <glassbox-attention id="a1" model="${dec}" text="The cat sat on the mat" layer="2" head="1"></glassbox-attention>
  <glassbox-attention id="a2" model="@decoder-only" text="The cat sat on the mat" head="mean" theme="dark"></glassbox-attention>
  <glassbox-generation id="g1" model="${dec}" text="Once upon a time" temperature="0.8" seed="7" max-tokens="6" autorun
    hide="top-k,top-p"></glassbox-generation>
  <glassbox-tokens id="enc" model="${setup.encoder.name}" text="An encoder reads it all." readonly></glassbox-tokens>
  <div style="height: 4000px"></div>
  <glassbox-attention id="far" model="${setup.encoder.name}" text="Far below the fold."></glassbox-attention>
</body></html>`);
    await page.goto(url);
    const near = '#themed, #a1, #a2, #g1, #enc';
    await waitWidgets(page, near);
    await page.waitForFunction(() => document.querySelector('#g1').generated, null, WAIT);

    // Lazy: the widget below the fold has not loaded anything yet.
    assert.equal(await page.$eval('#far', (e) => e.dataset.status), 'waiting');
    const statsBefore = await page.evaluate(async () => JSON.parse(JSON.stringify((await import('/glassbox-widgets.js')).stats)));
    assert.equal(statsBefore.glassboxes, 1, 'one Glassbox (one worker) for the whole page');
    const urls = statsBefore.loads.map((l) => l.url);
    assert.equal(urls.length, 2, `two models, two loads: ${JSON.stringify(statsBefore.loads)}`);
    assert.equal(new Set(urls).size, urls.length, 'no model was loaded twice');
    assert.equal(statsBefore.runs, 1, 'both attention widgets on the same text share one run');
    const weightFetches = watch.requests.filter((u) => u.endsWith('model.safetensors'));
    assert.equal(weightFetches.length, 2, `each model's weights fetched once: ${weightFetches.join(', ')}`);
    assert.equal(watch.requests.filter((u) => u.endsWith('/worker.js')).length, 1, 'one worker script');

    await page.$eval('#far', (e) => e.scrollIntoView());
    await waitWidgets(page, '#far');
    const statsAfter = await page.evaluate(async () => (await import('/glassbox-widgets.js')).stats.loads.length);
    assert.equal(statsAfter, 2, 'the lazy widget reused the already loaded encoder');

    // What each widget drew.
    const a1 = await page.$eval('#a1', (e) => e.shown);
    assert.deepEqual([a1.kind, a1.layer, a1.head], ['decoder', 1, 0], 'layer="2" head="1" count from 1');
    const ink = await canvasInk(page, '#a1 canvas.heatmap-canvas');
    assert.ok(ink.inked > 1000 && ink.colours > 3, `the heatmap drew (${JSON.stringify(ink)})`);
    const nChips = await page.$eval('#themed', (e) => e.shadowRoot.querySelectorAll('.chip').length);
    assert.ok(nChips >= 4, 'token chips are shown');
    // The count names the tokenizer's own vocabulary, as the model card gives it.
    const card = cliInfo(setup.decoder.dir);
    assert.equal(await page.$eval('#themed', (e) => e.shadowRoot.querySelector('[data-control="count"]').textContent),
      `${nChips} tokens from a ${card.tokenizer} tokenizer of ${card.tokenizerVocabSize.toLocaleString('en')} tokens.`);
    // Up to six tokens, each streamed into its own chip (the trained model may end its sentence first).
    const g1 = await page.$eval('#g1', (e) => ({ chips: e.shadowRoot.querySelectorAll('.gen-token').length, ids: [...e.generated.ids] }));
    assertGenerated(g1.ids, 6, eosIds(setup.decoder.dir), 'the generation widget');
    assert.equal(g1.chips, g1.ids.length, 'one chip per generated token');
    const stepInk = await canvasInk(page, '#g1 canvas.heatmap-canvas');
    assert.ok(stepInk.colours > 3, 'the attention of the selected step is drawn');
    assert.equal(await page.$eval('#g1', (e) => e.shadowRoot.querySelectorAll('.candidate').length), 10, 'ten candidates');
    assert.deepEqual(await page.$eval('#g1', (e) => ['top-k', 'top-p', 'seed'].map((c) => e.shadowRoot.querySelector(`[data-control="${c}"]`).hidden)),
      [true, true, false], 'hide="top-k,top-p" hides exactly those controls');
    assert.equal(await page.$eval('#enc', (e) => e.shadowRoot.querySelector('textarea').readOnly), true, 'readonly');

    // Isolation both ways, and theming through custom properties.
    // A word's chip (a special token's chip, such as the <|endoftext|> the bundled GPT-2 starts with, has its own colour).
    const chip = await page.$eval('#themed', (e) => getComputedStyle(e.shadowRoot.querySelector('.chip:not(.special)')).backgroundColor);
    assert.equal(chip, 'rgb(1, 2, 3)', 'the host sets --gb-chip; its .chip rule does not reach inside');
    const hostP = await page.$eval('#host-text', (e) => [getComputedStyle(e).fontFamily, getComputedStyle(e).padding]);
    const bare = await page.evaluate(() => { const p = document.createElement('p'); document.body.append(p); const s = getComputedStyle(p); return [s.fontFamily, s.padding]; });
    assert.deepEqual(hostP, bare, 'the widget styles do not leak into the host page');
    const panels = await page.$$eval('#a1, #a2', (els) => els.map((e) => getComputedStyle(e.shadowRoot.querySelector('.gb-widget')).backgroundColor));
    assert.notEqual(panels[0], panels[1], 'theme="dark" changes the palette');

    // Attributes drive the widget after it has drawn.
    await page.$eval('#a1', (e) => { e.setAttribute('layer', '1'); e.setAttribute('head', 'mean'); });
    await page.waitForFunction(() => document.querySelector('#a1').shown.layer === 0 && document.querySelector('#a1').shown.head === 'mean', null, WAIT);
    const code = await page.$eval('#a1', (e) => e.embedCode());
    assert.match(code, /^<glassbox-attention id="a1" model="[^"]+" text="The cat sat on the mat" layer="1" head="mean"><\/glassbox-attention>$/);

    await page.screenshot({ path: path.join(setup.artifacts, 'widgets-host.png'), fullPage: false });
    assert.deepEqual(foreignRequests(watch.requests), [], 'no request left 127.0.0.1');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('the tutorial', () => {
  it('plays every lesson to its end, every step drawn, one load per model; its numbers come from the models', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await page.goto(`${setup.server.url}tutorial.html`);
    const srcs = await page.$$eval('glassbox-lesson', (els) => els.map((e) => e.getAttribute('src')));
    assert.ok(srcs.length >= 8, `the tutorial is told in lessons: ${srcs.join(', ')}`);
    // Lazy: the lessons far below have not woken, so their widgets have loaded nothing. (The lessons build
    // their step-1 widgets once their files are read: count them after that, not before.)
    await page.waitForFunction(() => document.querySelectorAll('glassbox-lesson [data-lesson-widget]').length >= 4, null, WAIT);
    assert.ok(await page.$$eval('glassbox-lesson [data-lesson-widget]', (els) => els.filter((e) => e.dataset.status === 'waiting').length > els.length / 2),
      'most widgets wait below the fold');
    const played = [];
    for (let i = 0; i < srcs.length; i++) {
      const lesson = page.locator('glassbox-lesson').nth(i);
      await lesson.scrollIntoViewIfNeeded();
      await page.waitForFunction((k) => ['ready', 'error'].includes(document.querySelectorAll('glassbox-lesson')[k].dataset.status), i, WAIT);
      const n = await lesson.evaluate((e) => e.lesson?.steps.length ?? 0);
      assert.ok(n >= 2, `${srcs[i]} has steps`);
      for (let k = 1; k <= n; k++) {
        if (k > 1) await lesson.evaluate((e) => e.next());
        const s = await lesson.evaluate((e) => ({
          step: e.step,
          error: e.shadowRoot.querySelector('.error').hidden ? '' : e.shadowRoot.querySelector('.error').textContent,
          notice: e.shadowRoot.querySelector('.lesson-notice').textContent,
          widgets: [...e.children].filter((c) => c.dataset.lessonWidget !== undefined).length,
        }));
        assert.equal(s.step, k);
        assert.equal(s.error, '', `${srcs[i]} step ${k}`);
        // A step either shows its widgets or says which element this page lacks (elements that ship later).
        assert.ok(s.widgets > 0 || /does not define/.test(s.notice), `${srcs[i]} step ${k} shows something: ${JSON.stringify(s)}`);
        for (let w = 0; w < s.widgets; w++) {
          const widget = lesson.locator('[data-lesson-widget]').nth(w);
          await widget.scrollIntoViewIfNeeded();
          await widget.evaluate((e) => new Promise((resolve) => {
            const done = () => ['ready', 'error'].includes(e.dataset.status) && e.dataset.status !== 'running';
            if (done()) return resolve();
            const t = setInterval(() => { if (done()) { clearInterval(t); resolve(); } }, 50);
          }));
          const err = await widget.evaluate((e) => e.shadowRoot?.querySelector('.error:not([hidden])')?.textContent ?? '');
          assert.equal(err, '', `${srcs[i]} step ${k}: a widget showed an error`);
          // A step shows what its caption speaks of, not an empty state asking the reader for input (the
          // pretraining lesson's comparison once carried over a text with no [MASK] to guess).
          const asks = await widget.evaluate((e) => [...(e.shadowRoot?.querySelectorAll('.placeholder') ?? [])]
            .map((x) => x.textContent).filter((t) => /^Put .* in your text/.test(t)));
          assert.deepEqual(asks, [], `${srcs[i]} step ${k}: a widget waits for input`);
        }
        // A head the step outlines on the model view is the one whose scores the view lists (the heads lesson once
        // outlined layer 3, head 4 beside "the mean of its heads is shown").
        const outlined = await lesson.evaluate((e) => (e.lesson.steps[e.step - 1].highlight ?? []).filter((c) => c.layer !== undefined && c.head !== undefined));
        for (const { layer, head } of outlined) {
          const detail = await lesson.locator('glassbox-model-view').evaluate((e) => e.shadowRoot.querySelector('.mv-detail')?.textContent ?? '');
          assert.match(detail, new RegExp(`^Layer ${layer}, head ${head}(?!\\d)`), `${srcs[i]} step ${k}: the outlined head's scores are listed: ${detail}`);
        }
        played.push(`${srcs[i]}#${k}`);
      }
    }
    const stats = await page.evaluate(async () => JSON.parse(JSON.stringify((await import('/glassbox-widgets.js')).stats)));
    const keys = stats.loads.map((l) => `${l.url} ${l.randomSeed}`);
    assert.equal(new Set(keys).size, keys.length, 'no model loaded twice');
    assert.ok(stats.loads.some((l) => l.randomSeed !== null), 'the random-weights twin was built');

    // Numbers quoted by the tutorial come from the loaded models, as the CLI reads them.
    const info = (dir) => JSON.parse(spawnSync(CLI, ['info', dir], { encoding: 'utf8' }).stdout);
    const byType = Object.fromEntries(setup.models.models.map((m) => [JSON.parse(fs.readFileSync(path.join(m.dir, 'config.json'), 'utf8')).model_type, m]));
    const tokens = page.locator('glassbox-lesson[src="lessons/tokens.json"]');
    await tokens.evaluate((e) => e.go(0));
    await page.waitForFunction(() => document.querySelector('glassbox-lesson[src="lessons/tokens.json"]').shadowRoot.querySelector('.lesson-caption').dataset.facts === 'ready', null, WAIT);
    const facts = await tokens.evaluate((e) => [...e.shadowRoot.querySelectorAll('[data-fact]')].map((f) => [f.dataset.fact, f.textContent]));
    const gpt2 = info(byType.gpt2.dir);
    assert.deepEqual(facts.find(([k]) => k === 'vocabSize'), ['vocabSize', gpt2.vocabSize.toLocaleString('en')], 'the vocabulary size quoted');
    await page.locator('#block-facts').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelectorAll('#block-facts tr[data-model]').length >= 3, null, WAIT);
    const rows = await page.$$eval('#block-facts tr[data-model]', (trs) => trs.map((t) => [t.dataset.model, Number(t.dataset.dModel), Number(t.dataset.dFf)]));
    for (const [type, dModel, dFF] of rows) {
      const m = info(byType[type].dir);
      assert.deepEqual([dModel, dFF], [m.dModel, m.dFF], `${type}: the width and feed-forward width shown`);
    }
    if (byType.marian) {
      const d = info(byType.marian.dir).dModel;
      await page.waitForFunction((w) => document.querySelector('#sinusoid').dataset.dimensions?.split(',').includes(String(w / 2)), d, WAIT);
      assert.match(await page.$eval('#sinusoid-caption', (e) => e.textContent), new RegExp(`of ${d};`), 'the waves are drawn at the translator\'s width');
      // The position axis is marked at round positions, then the last (once 0, 16, 32, 47, 63).
      assert.equal(await page.$eval('#sinusoid', (e) => e.dataset.ticks), '0,16,32,48,63');
      assert.match(await page.$eval('#position-facts', (e) => e.textContent), new RegExp(`at most ${info(byType.marian.dir).maxPositions} tokens`));
    }
    // The two small figures compute what they claim: one neuron learns AND; repeated products with a matrix fade or blow up.
    const neuron = () => page.evaluate(() => [...document.querySelectorAll('#neuron-table tbody tr')].map((tr) => Number(tr.cells[3].textContent)));
    await page.click('#neuron-reset');
    const untrained = await neuron();
    await page.click('#neuron-train');
    await page.click('#neuron-train');
    const trained = await neuron();
    assert.deepEqual(trained.map((y) => y > 0.5), [false, false, false, true], `the neuron learned AND: ${untrained} -> ${trained}`);
    assert.match(await page.$eval('#neuron-state', (e) => e.textContent), /^After 200 steps/);
    const lastNorm = async (scale) => {
      await page.$eval('#gradient-scale', (e, v) => { e.value = String(v); e.dispatchEvent(new Event('input')); }, scale);
      return page.$eval('#gradient-bars', (e) => Number(e.dataset.last));
    };
    assert.ok(await lastNorm(0.6) < 1e-3, 'a small weight matrix: the gradient vanishes over 30 steps');
    assert.ok(await lastNorm(1.5) > 1e3, 'a large weight matrix: the gradient explodes over 30 steps');
    await page.screenshot({ path: path.join(setup.artifacts, 'tutorial.png'), fullPage: true });
    assert.ok(played.length >= 30, `${played.length} steps played`);
    // A phone: the article and its lessons fit 390 px without sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(500);
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
    assert.ok(widths[0] <= widths[1], `the tutorial is ${widths[0]} px wide at ${widths[1]} px`);
    assert.deepEqual(foreignRequests(watch.requests), []);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('widgets on another site', () => {
  it('keep the model asked for last when an earlier, slower load finishes after it', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const [dec, enc] = [setup.decoder, setup.encoder];
    // The encoder's weights arrive 4 s late, so its load finishes after the decoder has drawn.
    let slowDone = false;
    await context.route(`**/${enc.path}model.safetensors`, async (route) => {
      await new Promise((r) => setTimeout(r, 4000));
      await route.continue();
      slowDone = true;
    });
    const url = await hostPage(context, '__race-host.html', `<!doctype html>
<html><head><meta charset="utf-8"><title>race</title><script type="module" src="/glassbox-widgets.js"></script></head>
<body><glassbox-tokens id="w" model="${dec.name}" text="The cat sat"></glassbox-tokens></body></html>`);
    await page.goto(url);
    await waitWidgets(page, '#w');
    await page.$eval('#w', (el, names) => {
      el.setAttribute('model', names[1]); // slow
      setTimeout(() => el.setAttribute('model', names[0]), 50); // already loaded: draws first
    }, [dec.name, enc.name]);
    await page.waitForFunction(() => document.querySelector('#w').shadowRoot.querySelector('.gb-model').textContent.length > 0, null, WAIT);
    const deadline = Date.now() + 60000;
    while (!slowDone && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(slowDone, 'the slow load finished');
    await page.waitForTimeout(500);
    await page.$eval('#w', (el) => el.setAttribute('text', 'A dog ran'));
    await page.waitForFunction(() => {
      const el = document.querySelector('#w');
      return el.dataset.status === 'ready' && [...el.shadowRoot.querySelectorAll('.chip')].some((c) => c.textContent.toLowerCase().includes('dog'));
    }, null, WAIT);
    const label = await page.$eval('#w', (el) => el.shadowRoot.querySelector('.gb-model').textContent);
    assert.ok(label.startsWith(dec.name), `the widget shows the model asked for last: ${label}`);
    await context.close();
  });

  it('keep a bounded number of runs, the least recently used dropped first', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const url = await hostPage(context, '__runs-host.html', `<!doctype html>
<html><head><meta charset="utf-8"><title>runs</title><script type="module" src="/glassbox-widgets.js"></script></head>
<body><glassbox-attention id="w" model="${setup.decoder.name}" text="text 0" layer="1" head="1"></glassbox-attention></body></html>`);
    await page.goto(url);
    await waitWidgets(page, '#w');
    const runs = () => page.evaluate(async () => (await import('/glassbox-widgets.js')).stats.runs);
    // Set the text and wait for the widget's next draw.
    const show = (text) => page.$eval('#w', (el, t) => new Promise((resolve, reject) => {
      el.addEventListener('glassbox-ready', resolve, { once: true });
      el.addEventListener('glassbox-error', (e) => reject(new Error(e.detail.message)), { once: true });
      el.setAttribute('text', t);
    }), text);
    for (let i = 1; i <= 60; i++) await show(`text ${i}`);
    const made = await runs();
    assert.ok(made >= 61, `one run per text: ${made}`);
    await show('text 59'); // recent: still kept
    assert.equal(await runs(), made, 'a recent run is reused');
    await show('text 0'); // 60 texts ago: dropped, so run again (without a bound it was kept for good)
    assert.equal(await runs(), made + 1, 'an old run was dropped and is made again');
    await context.close();
  });

  it('free the models no widget shows, beyond the two used last, and keep the ones still shown', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = await hostPage(context, '__models-host.html', `<!doctype html>
<html><head><meta charset="utf-8"><title>models</title><script type="module" src="/glassbox-widgets.js"></script></head>
<body><glassbox-attention id="kept" eager model="${setup.decoder.name}" random-seed="100" text="a cat" layer="1" head="1"></glassbox-attention>
<glassbox-attention id="w" eager model="${setup.decoder.name}" random-seed="0" text="a cat" layer="1" head="1"></glassbox-attention></body></html>`);
    await page.goto(url);
    await waitWidgets(page, '#kept');
    await waitWidgets(page, '#w');
    const facts = () => page.evaluate(async () => {
      const { stats, sharedGlassbox } = await import('/glassbox-widgets.js');
      const params = document.querySelector('#w')._entry.model.info.nParams;
      return { loaded: stats.modelsLoaded, loads: stats.loads.length, wasm: (await (await sharedGlassbox()).memory()).wasmBytes, params };
    });
    const set = (id, name, value) => page.$eval(`#${id}`, (el, [n, v]) => new Promise((resolve, reject) => {
      el.addEventListener('glassbox-ready', resolve, { once: true });
      el.addEventListener('glassbox-error', (e) => reject(new Error(e.detail.message)), { once: true });
      el.setAttribute(n, v);
    }), [name, value]);
    for (let seed = 1; seed <= 3; seed++) await set('w', 'random-seed', String(seed));
    const early = await facts();
    for (let seed = 4; seed <= 14; seed++) await set('w', 'random-seed', String(seed));
    const late = await facts();
    // Shown: seed 100 and seed 14; idle: 12 and 13. Without the bound all 16 stayed loaded, the memory growing
    // by a model per seed until the engine failed.
    assert.equal(late.loaded, 4, `models loaded after 14 seeds: ${JSON.stringify(late)}`);
    // 11 more seeds grew the memory by less than one model's weights (2 bytes a parameter at the least): the freed
    // models' memory is used again.
    assert.ok(late.wasm - early.wasm < 2 * late.params, `the freed models' memory is reused: ${JSON.stringify({ early, late })}`);
    // An idle model asked for again is not loaded again; one freed is.
    await set('w', 'random-seed', '13');
    assert.equal((await facts()).loads, late.loads, 'seed 13 was kept');
    await set('w', 'random-seed', '2');
    assert.equal((await facts()).loads, late.loads + 1, 'seed 2 was freed and is loaded again');
    // The widget that kept its model all along still runs it.
    await set('kept', 'text', 'a dog ran');
    const tokens = await page.$eval('#kept', (el) => el._result.tokens.tokens);
    assert.ok(tokens.some((t) => t.toLowerCase().includes('dog')), `the kept widget ran the new text: ${tokens}`);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('give a model back when scrolled far away, free it past the idle budget, and show it again when scrolled back', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = await hostPage(context, '__far-host.html', `<!doctype html>
<html><head><meta charset="utf-8"><title>far</title><script type="module" src="/glassbox-widgets.js"></script></head>
<body><glassbox-attention id="top" model="${setup.decoder.name}" random-seed="200" text="a cat sat" layer="1" head="1"></glassbox-attention>
<div style="height: 12000px"></div>
<glassbox-attention id="bottom" model="${setup.decoder.name}" random-seed="201" text="a cat sat" layer="1" head="1"></glassbox-attention></body></html>`);
    await page.goto(url);
    await waitWidgets(page, '#top');
    const facts = () => page.evaluate(async () => {
      const { stats } = await import('/glassbox-widgets.js');
      return { held: stats.modelsHeld, loaded: stats.modelsLoaded, loads: stats.loads.length, frees: stats.frees };
    });
    // Idle models may keep no bytes here: one given back is freed at once (the default keeps a few MB).
    await page.evaluate(async () => (await import('/glassbox-widgets.js')).configure({ idleModelBytes: 0 }));
    const first = await facts();
    assert.deepEqual({ held: first.held, loaded: first.loaded }, { held: 1, loaded: 1 }, 'the far widget has not started');
    const drawnTop = await page.$eval('#top', (el) => el._result.tokens.tokens.join('|'));

    await page.evaluate(() => document.getElementById('bottom').scrollIntoView());
    await waitWidgets(page, '#bottom');
    await page.waitForFunction(async () => (await import('/glassbox-widgets.js')).stats.modelsLoaded === 1, null, WAIT);
    const atBottom = await facts();
    assert.equal(atBottom.held, 1, `the top widget gave its model back: ${JSON.stringify(atBottom)}`);
    assert.equal(atBottom.frees, first.frees + 1, 'and it was freed (no idle bytes allowed)');

    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForFunction((before) => document.getElementById('top').dataset.status === 'ready'
      && document.getElementById('top')._entry !== null, null, WAIT);
    await waitWidgets(page, '#top');
    const back = await facts();
    assert.equal(back.loads, atBottom.loads + 1, 'scrolled back, the model is loaded again');
    assert.equal(await page.$eval('#top', (el) => el._result.tokens.tokens.join('|')), drawnTop, 'and drawn as before');
    await page.waitForFunction(async () => (await import('/glassbox-widgets.js')).stats.modelsLoaded === 1, null, WAIT);
    const wrong = await page.evaluate(async () => {
      try {
        (await import('/glassbox-widgets.js')).configure({ idleModelBytes: -1 });
        return 'accepted';
      } catch (e) {
        return e.message;
      }
    });
    assert.match(wrong, /^configure\(\{ idleModelBytes \}\) takes a number of bytes, 0 or more, not -1/);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('say plainly when a model address cannot be fetched or a cell does not exist', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const url = await hostPage(context, '__bad-attrs.html', `<!doctype html>
<html><head><meta charset="utf-8"><title>bad</title><script type="module" src="/glassbox-widgets.js"></script></head>
<body><glassbox-attention id="data" model="data:text/plain,x/" text="a b"></glassbox-attention>
<glassbox-attention id="js" model="javascript:alert(1)//x/" text="a b"></glassbox-attention>
<glassbox-rnn id="rnn" cell="zzz" steps="5"></glassbox-rnn></body></html>`);
    await page.goto(url);
    const error = async (id) => {
      await page.waitForFunction((i) => document.getElementById(i).dataset.status === 'error', id, WAIT);
      return page.$eval(`#${id}`, (el) => el.shadowRoot.querySelector('.error').textContent);
    };
    // The data: address once said "Failed to construct 'URL'"; the cell drew nothing and said nothing.
    assert.match(await error('data'), /model="data:text\/plain,x\/" is not a folder address Glassbox can fetch\. Use a bundled model's name/);
    assert.match(await error('js'), /is not a folder address Glassbox can fetch/);
    assert.match(await error('rnn'), /cell="zzz" is not a cell\. Use rnn, lstm, attention or all/);
    await context.close();
  });

  it('start their worker from a same-origin shim when the script comes from the Glassbox server', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    // The Glassbox server with CORS headers (what a deployment serving other sites would send).
    await context.route(`${setup.server.url}**`, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'access-control-allow-origin': '*' } });
    });
    await context.route('http://blog.test/**', (route) => route.fulfill({ contentType: 'text/html', body: `<!doctype html>
<script type="module" src="${setup.server.url}glassbox-widgets.js"></script>
<glassbox-attention id="x" model="@decoder-only" text="A post on another site"></glassbox-attention>` }));
    await page.goto('http://blog.test/post.html');
    await waitWidgets(page, '#x');
    assert.ok((await page.$eval('#x', (e) => e.shown.nCols)) >= 3);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('the page state in the URL', () => {
  const state = async (page) => ({ hash: await page.evaluate(() => location.hash), heatmap: await readHeatmap(page) });
  const open = async (hash) => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await page.goto(`${setup.server.url}${hash}`);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    return { context, page, watch };
  };

  it('round-trips model, text, view, kind, layer and head', async () => {
    const dec = setup.decoder.name;
    const first = await open(`#model=${dec}&text=The+dog+chased+the+cat.&view=attention&kind=decoder&layer=2&head=3`);
    const a = await state(first.page);
    assert.equal(a.heatmap.layer, 1);
    assert.equal(a.heatmap.head, '2');
    assert.equal(a.heatmap.kind, 'decoder');
    assert.equal(await first.page.$eval('#text-input', (e) => e.value), 'The dog chased the cat.');
    assert.equal(a.hash, `#model=${dec}&text=The+dog+chased+the+cat.&view=attention&kind=decoder&layer=2&head=3`,
      'the page rewrites the same link it was opened with');
    // A change made through the controls lands in the hash...
    await first.page.selectOption('#head-select', 'mean');
    await first.page.waitForFunction(() => location.hash.includes('text=') && !location.hash.includes('head='), null, WAIT);
    const changed = await state(first.page);
    // ... and opening that link elsewhere shows the same map.
    const second = await open(changed.hash);
    const b = await state(second.page);
    assert.equal(b.hash, changed.hash);
    assert.deepEqual(b.heatmap, changed.heatmap, 'the same matrix, labels and settings');
    assert.deepEqual([...first.watch.errors, ...second.watch.errors], []);
    // The share bar offers both embed codes for this state.
    await second.page.click('#copy-embed');
    const codes = await second.page.evaluate(() => [document.querySelector('#embed-widget').value, document.querySelector('#embed-iframe').value]);
    assert.match(codes[0], /<script type="module" src="http:\/\/127\.0\.0\.1:\d+\/glassbox-widgets\.js"><\/script>\n<glassbox-attention model="[^"]+" text="The dog chased the cat\." kind="decoder" layer="2" head="mean"><\/glassbox-attention>/);
    assert.match(codes[1], /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/embed\.html#model=[^"]+view=attention[^"]*" title="Glassbox: attention"/);
    await first.context.close();
    await second.context.close();
  });

  it('reproduces a seeded generation from a link', async () => {
    const dec = setup.decoder.name;
    // A prompt the bundled GPT-2 continues for all 8 tokens with this seed, so several sampled tokens are compared.
    const hash = `#model=${dec}&text=Once+upon+a+time%2C+the&view=generate&temperature=0.9&top-k=40&seed=7&max-tokens=8&generate=1`;
    const first = await open(hash);
    const second = await open(hash);
    const ids = async (page) => (await generatedTokens(page)).map((t) => t.id);
    const [a, b] = [await ids(first.page), await ids(second.page)];
    assertGenerated(a, 8, eosIds(setup.decoder.dir));
    assert.deepEqual(a, b, 'the same seed gives the same tokens');
    assert.equal(await first.page.$eval('#seed', (e) => e.value), '7');
    assert.equal(await first.page.$eval('#temperature', (e) => e.value), '0.9');
    await first.context.close();
    await second.context.close();
  });

  it('hides controls and the page chrome in embed mode', async () => {
    // "@decoder-only" names a model by kind, as the widgets' "Open in Glassbox" links may.
    const { context, page } = await open('#model=@decoder-only&text=Hi&view=generate&embed=1&sampling_hide=1&run_hide=1');
    assert.equal(await modelKind(page), 'decoder-only');
    const visible = await page.evaluate(() => Object.fromEntries(['.page-header', '.page-footer', '#model-section',
      '#attention-section', '#generate-section', '#text-section', '.field:has(> #seed)', '#run-button', '#generate-button']
      .map((s) => [s, getComputedStyle(document.querySelector(s)).display !== 'none'])));
    assert.deepEqual(visible, {
      '.page-header': false, '.page-footer': false, '#model-section': false, '#attention-section': false,
      '#generate-section': true, '#text-section': true, '.field:has(> #seed)': false, '#run-button': false, '#generate-button': true,
    });
    await page.screenshot({ path: path.join(setup.artifacts, 'page-embed-mode.png') });
    await context.close();
  });
});

/**
 * A host page framing the embed at `src`: `window.replies` collects what the frame posts, and `window.ask(msg)`
 * posts a request and resolves to its answer (or to { ok: false } after 30 s without one).
 */
function embedHost(context, name, src) {
  return hostPage(context, name, `<!doctype html><html><body>
<iframe id="frame" src="${src}" width="800" height="600"></iframe>
<script>
  window.replies = [];
  window.addEventListener('message', (e) => { if (e.source === document.getElementById('frame').contentWindow) window.replies.push(e.data); });
  window.ask = (msg) => new Promise((resolve) => {
    const id = Math.random().toString(36).slice(2);
    const on = (e) => { if (e.data && e.data.id === id) { window.removeEventListener('message', on); resolve(e.data); } };
    window.addEventListener('message', on);
    setTimeout(() => resolve({ ok: false, error: 'no answer within 30 s' }), 30000);
    document.getElementById('frame').contentWindow.postMessage({ ...msg, id }, '*');
  });
</script></body></html>`);
}

describe('the iframe embed', () => {
  it('answers postMessage: ready, set-text, focus, errors', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const src = `/embed.html#model=${setup.decoder.name}&text=The+cat+sat+down&view=attention&layer=1&head=mean`;
    const url = await embedHost(context, '__iframe-host.html', src);
    await page.goto(url);
    await page.waitForFunction(() => window.replies.some((r) => r.type === 'glassbox:ready'), null, WAIT);
    const ready = await page.evaluate(() => window.replies.find((r) => r.type === 'glassbox:ready'));
    assert.equal(ready.state.text, 'The cat sat down');

    const setText = await page.evaluate(() => window.ask({ type: 'glassbox:set-text', text: 'A brand new sentence' }));
    assert.equal(setText.type, 'glassbox:ack');
    assert.equal(setText.ok, true);
    assert.equal(setText.state.text, 'A brand new sentence');
    const frame = page.frame({ url: /embed\.html/ });
    const labels = await frame.$eval('glassbox-attention', (e) => e.shown.nCols);
    assert.ok(labels >= 4, 'the map was redrawn for the new text');

    const focus = await page.evaluate(() => window.ask({ type: 'glassbox:focus', layer: 2, head: 1 }));
    assert.equal(focus.ok, true);
    assert.deepEqual([focus.state.shown.layer, focus.state.shown.head], [1, 0]);

    const bad = await page.evaluate(() => window.ask({ type: 'glassbox:explode' }));
    assert.equal(bad.ok, false);
    assert.match(bad.error, /unknown message type/);
    assert.deepEqual(foreignRequests(watch.requests), []);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('answers postMessage after its first model fails to load, and takes another model', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const url = await embedHost(context, '__iframe-fail.html', '/embed.html#model=no-such-model&text=The+cat+sat&view=attention');
    await page.goto(url);
    await page.waitForFunction(() => window.replies.some((r) => r.type === 'glassbox:error'), null, WAIT);
    // Both once waited for a first draw that never came: no answer at all.
    const ping = await page.evaluate(() => window.ask({ type: 'glassbox:ping' }));
    assert.equal(ping.ok, true, ping.error);
    const set = await page.evaluate((name) => window.ask({ type: 'glassbox:set', attributes: { model: name } }), setup.decoder.name);
    assert.equal(set.ok, true, set.error);
    assert.equal(set.state.model, setup.decoder.name);
    await page.waitForFunction(() => window.replies.some((r) => r.type === 'glassbox:ready'), null, WAIT);
    await context.close();
  });
});
