// Lessons as data, in headless Chromium: <glassbox-lesson> plays a lesson file by mouse and keyboard, keeps its step
// in the URL hash and comes back to it, drives a widget's attributes (the widget redraws with the model's numbers,
// checked against the native CLI), names every kind of mistake in a lesson file in one plain sentence, plays the
// complete example of docs/lessons.md exactly as written, and passes axe at 390 px.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, CLI, startServer, launchBrowser, newWatchedPage, modelsUnderTest, cliInspect, axeViolations, foreignRequests,
  waitPainted,
} from './helpers.mjs';

const WAIT = { timeout: 120000 };
const setup = {};

before(async () => {
  setup.models = await modelsUnderTest();
  setup.decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
  setup.encoder = setup.models.models.find((m) => m.kind === 'encoder-only');
  assert.ok(setup.decoder && setup.encoder, 'a decoder-only and an encoder-only model are needed');
  setup.server = await startServer(setup.models.root);
  setup.browser = await launchBrowser();
});

after(async () => {
  await setup.browser?.close();
  await setup.server?.stop();
});

function cliInfo(dir) {
  const out = spawnSync(CLI, ['info', dir], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`glassbox info failed: ${out.stderr}`);
  return JSON.parse(out.stdout);
}

/** Serve `files` (name -> text) under /__lessons/ and a host page holding `body` at /__lessons/host.html. */
async function host(context, body, files = {}) {
  await context.route('**/__lessons/**', (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop();
    if (name === 'host.html') {
      return route.fulfill({ contentType: 'text/html; charset=utf-8', body: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>lessons</title><script type="module" src="/glassbox-widgets.js"></script></head>
<body><main>${body}</main></body></html>` });
    }
    if (name in files) return route.fulfill({ contentType: 'application/json', body: files[name] });
    return route.fulfill({ status: 404, body: 'not here' });
  });
  return `${setup.server.url}__lessons/host.html`;
}

/** The lesson's own parts (inside its shadow root). */
function lessonState(page, selector) {
  return page.$eval(selector, (el) => ({
    status: el.dataset.status,
    step: el.step,
    counter: el.shadowRoot.querySelector('.lesson-counter').textContent,
    caption: el.shadowRoot.querySelector('.lesson-caption').textContent,
    error: el.shadowRoot.querySelector('.error').hidden ? '' : el.shadowRoot.querySelector('.error').textContent,
    notice: el.shadowRoot.querySelector('.lesson-notice').textContent,
    highlight: el.shadowRoot.querySelector('.lesson-highlight').textContent,
    widgets: [...el.children].filter((c) => c.dataset.lessonWidget !== undefined).map((c) => c.localName),
    hash: location.hash,
  }));
}

async function waitLesson(page, selector, step) {
  await page.waitForFunction(({ sel, k }) => {
    const el = document.querySelector(sel);
    return el && ['ready', 'error'].includes(el.dataset.status) && (k === undefined || el.step === k);
  }, { sel: selector, k: step }, WAIT);
}

/** Wait until every widget the lesson shows has drawn; fail on a widget error. */
async function waitWidgets(page, selector) {
  await page.waitForFunction((sel) => [...document.querySelector(sel).children]
    .filter((c) => c.dataset.lessonWidget !== undefined)
    .every((c) => c.dataset.status === 'ready' || c.dataset.status === 'error'), selector, WAIT);
  const errors = await page.$eval(selector, (el) => [...el.children].map((c) => c.shadowRoot?.querySelector('.error:not([hidden])')?.textContent).filter(Boolean));
  assert.deepEqual(errors, [], 'a widget in the lesson showed an error');
}

const demo = (model) => JSON.stringify({
  title: 'A test lesson',
  model,
  text: 'The cat sat on the mat',
  element: 'attention',
  steps: [
    { layer: 1, head: 'mean', caption: 'The **mean** of the heads of layer 1. This model has {vocabSize} tokens.' },
    { layer: 2, head: 1, highlight: { query: 3, key: 2 }, caption: 'Layer 2, head 1, with a highlighted cell.' },
    { element: 'tokens', caption: 'The tokens, {dModel} numbers each.' },
  ],
});

describe('<glassbox-lesson>', () => {
  it('plays by mouse and keyboard, drives the widget, and keeps its step in the URL', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const dec = setup.decoder;
    const info = cliInfo(dec.dir);
    const url = await host(context, '<glassbox-lesson id="demo" src="/__lessons/demo.json"></glassbox-lesson>',
      { 'demo.json': demo(dec.name) });
    await page.goto(url);
    await waitLesson(page, '#demo', 1);
    await waitWidgets(page, '#demo');
    let s = await lessonState(page, '#demo');
    assert.equal(s.counter, 'Step 1 of 3');
    assert.deepEqual(s.widgets, ['glassbox-attention']);
    assert.equal(s.error, '');
    // The caption quotes the loaded model's vocabulary size, as the CLI reads it.
    await page.waitForFunction(() => document.querySelector('#demo').shadowRoot.querySelector('.lesson-caption').dataset.facts === 'ready', null, WAIT);
    s = await lessonState(page, '#demo');
    assert.match(s.caption, new RegExp(`This model has ${info.vocabSize.toLocaleString('en')} tokens`));
    assert.deepEqual(await page.$eval('#demo glassbox-attention', (e) => [e.shown.layer, e.shown.head]), [0, 'mean']);
    const attention = await page.$('#demo glassbox-attention');

    // Mouse: Next. The same widget gets layer="2" head="1" and redraws that head.
    await page.click('#demo >> button.next');
    await waitLesson(page, '#demo', 2);
    await page.waitForFunction(() => {
      const a = document.querySelector('#demo glassbox-attention');
      return a.shown?.layer === 1 && a.shown?.head === 0 && a.dataset.highlight;
    }, null, WAIT);
    assert.ok(await attention.evaluate((e) => e.isConnected), 'the widget was driven, not replaced');
    assert.deepEqual(await attention.evaluate((e) => [e.getAttribute('layer'), e.getAttribute('head')]), ['2', '1']);
    await waitPainted(page, '#demo glassbox-attention canvas.heatmap-canvas');
    // The highlighted cell (query 3, key 2): the map's cursor is on it and its value is the CLI's.
    const readout = await page.$eval('#demo glassbox-attention', (e) => ({ ...e.shadowRoot.querySelector('.heatmap .readout').dataset }));
    assert.deepEqual([readout.row, readout.col], ['2', '1'], `the cursor is on the highlighted cell: ${JSON.stringify(readout)}`);
    const cli = cliInspect(dec.dir, 'The cat sat on the mat');
    const expected = cli.attentions.decoder[1][0][2][1];
    assert.ok(Math.abs(Number(readout.value) - expected) < 1e-4, `highlighted value ${readout.value}, CLI ${expected}`);
    s = await lessonState(page, '#demo');
    assert.equal(s.counter, 'Step 2 of 3');
    assert.match(s.highlight, new RegExp(`\\(${expected.toFixed(2)}\\)`));
    assert.match(s.hash, /(^#|&)demo=2(&|$)/, `the step is in the URL: ${s.hash}`);

    // Keyboard: → from the Next button goes on; the attention map leaves, the tokens widget comes.
    await page.focus('#demo >> button.next');
    await page.keyboard.press('ArrowRight');
    await waitLesson(page, '#demo', 3);
    await waitWidgets(page, '#demo');
    s = await lessonState(page, '#demo');
    assert.deepEqual(s.widgets, ['glassbox-tokens']);
    assert.equal(await page.$$eval('#demo glassbox-attention', (els) => els.length), 0, 'the attention map is no longer shown');
    assert.equal(await page.$eval('#demo >> button.next', (b) => b.disabled), true, 'no Next on the last step');
    assert.match(s.hash, /demo=3/);
    // The focus stays on a usable button; ← and Home go back.
    await page.keyboard.press('ArrowLeft');
    await waitLesson(page, '#demo', 2);
    await page.keyboard.press('Home');
    await waitLesson(page, '#demo', 1);
    assert.equal(await page.$eval('#demo >> button.prev', (b) => b.disabled), true, 'no Previous on the first step');
    await page.keyboard.press('End');
    await waitLesson(page, '#demo', 3);
    // Enter on Previous.
    await page.focus('#demo >> button.prev');
    await page.keyboard.press('Enter');
    await waitLesson(page, '#demo', 2);
    // Enter on Next reaches the last step; the focus moves to Previous rather than being lost with the disabled Next.
    await page.focus('#demo >> button.next');
    await page.keyboard.press('Enter');
    await waitLesson(page, '#demo', 3);
    assert.equal(await page.$eval('#demo', (e) => e.shadowRoot.activeElement?.className), 'prev');
    await page.keyboard.press('Enter');
    await waitLesson(page, '#demo', 2);

    // The URL brings the reader back to the step: a fresh page opened with #demo=3.
    const again = await context.newPage();
    await again.goto(`${url}#demo=3`);
    await waitLesson(again, '#demo', 3);
    assert.deepEqual((await lessonState(again, '#demo')).widgets, ['glassbox-tokens']);
    // And a hash change moves it.
    await again.evaluate(() => { location.hash = 'demo=1'; });
    await waitLesson(again, '#demo', 1);
    assert.deepEqual((await lessonState(again, '#demo')).widgets, ['glassbox-attention']);

    assert.deepEqual(foreignRequests(watch.requests), []);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('gives its models back when scrolled far away and plays again when scrolled back', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = await host(context, '<glassbox-lesson id="demo" src="/__lessons/demo.json"></glassbox-lesson><div style="height: 12000px"></div><p id="end">end</p>',
      { 'demo.json': demo(setup.decoder.name) });
    await page.goto(url);
    await waitLesson(page, '#demo', 1);
    await waitWidgets(page, '#demo');
    const held = () => page.evaluate(async () => (await import('/glassbox-widgets.js')).stats.modelsHeld);
    assert.equal(await held(), 1, 'the lesson and its widget hold the model');
    await page.evaluate(() => document.getElementById('end').scrollIntoView());
    await page.waitForFunction(async () => (await import('/glassbox-widgets.js')).stats.modelsHeld === 0, null, WAIT);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForFunction(async () => (await import('/glassbox-widgets.js')).stats.modelsHeld === 1, null, WAIT);
    await page.click('#demo >> button.next');
    await waitLesson(page, '#demo', 2);
    await waitWidgets(page, '#demo');
    assert.equal((await lessonState(page, '#demo')).error, '');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('says plainly what is wrong with a lesson file, naming the step and the field', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser, { viewport: { width: 1200, height: 20000 } });
    const dec = setup.decoder.name;
    const ok = { title: 'x', model: dec, text: 'The cat sat', steps: [{ caption: 'fine' }] };
    const cases = {
      malformed: ['{ "title": "x", "steps": [ { "caption": "a" } ', /malformed\.json is not valid JSON/],
      untitled: [{ steps: [{ caption: 'a' }] }, /title: the lesson needs a title/],
      nosteps: [{ title: 'x', steps: [] }, /steps: the lesson needs a list of steps/],
      nocaption: [{ ...ok, steps: [{ caption: 'a' }, { layer: 1 }] }, /step 2: every step needs a caption/],
      misspelt: [{ ...ok, steps: [{ caption: 'a', heads: 2 }] }, /step 1, "heads": not a step field \(did you mean "head"\?\)/],
      badvalue: [{ ...ok, steps: [{ caption: 'a', layer: 'two' }] }, /step 1, layer: layer is a whole number counted from 1, not "two"/],
      element: [{ ...ok, steps: [{ caption: 'a' }, { caption: 'b', element: 'heatmap' }] }, /step 2, element: there is no element "heatmap"\. Use one of: tokens, attention/],
      wrongattr: [{ ...ok, element: 'tokens', steps: [{ caption: 'a', layer: 2 }] }, /step 1, layer: <glassbox-tokens> has no layer attribute/],
      // Rollout composes every layer and averages the heads: a head asked of it would be ignored, so it is refused.
      rollouthead: [{ ...ok, steps: [{ caption: 'a', element: 'rollout', head: 2 }] }, /step 1, head: <glassbox-rollout> has no head attribute\. It takes: model, text, .*kind, output/],
      // Whole numbers to JS, but no seed or count: refused by the lesson's own check, naming the field.
      hugeseed: [{ ...ok, element: 'generation', steps: [{ caption: 'a', seed: 1e300 }] }, /step 1, seed: seed is a whole number from 0 to 2\^53 − 1, not 1e\+300/],
      hugelayer: [{ ...ok, steps: [{ caption: 'a', layer: 2 ** 60 }] }, /step 1, layer: layer is a whole number counted from 1, not 1152921504606847000\./],
      fact: [{ ...ok, steps: [{ caption: 'The {width} numbers' }] }, /step 1, caption: the caption quotes \{width\}, which is not a model fact/],
      // An object's own names are not facts ({constructor} once showed "[object Object]").
      objectname: [{ ...ok, steps: [{ caption: 'The {constructor}' }] }, /step 1, caption: the caption quotes \{constructor\}, which is not a model fact/],
      // A lesson in a step would fetch and play itself without end (the tab crashed).
      nested: [{ ...ok, steps: [{ caption: 'a', element: 'lesson', attributes: { src: '/__lessons/nested.json' } }] }, /step 1, element: a step cannot show a lesson/],
      missingmodel: [{ ...ok, steps: [{ caption: 'a' }, { caption: 'b', model: '@llama-nowhere' }] }, /step 2, model: "@llama-nowhere" cannot be loaded: there is no bundled model of type "llama-nowhere"/],
      layer: [{ ...ok, steps: [{ caption: 'a', layer: 1 }, { caption: 'b', layer: 99 }] }, /step 2, layer: layer 99 is out of range: \S+ has \d+ decoder layers \(counted from 1\)/],
      head: [{ ...ok, steps: [{ caption: 'a', layer: 1, head: 77 }] }, /step 1, head: head 77 is out of range: \S+ has \d+ heads per layer/],
      kind: [{ ...ok, steps: [{ caption: 'a', kind: 'cross' }] }, /step 1, kind: \S+ is decoder-only and has no cross attention/],
      nomodel: [{ title: 'x', element: 'rnn', steps: [{ caption: 'The {dModel} numbers' }] }, /step 1, caption: the caption quotes \{dModel\}, but no model is set/],
      nofile: [null, /nofile\.json answered 404/],
      // Highlights: the shape each widget takes, and a head the model does not have.
      hltokens: [{ ...ok, element: 'tokens', steps: [{ caption: 'a', highlight: { query: 1, key: 1 } }] }, /step 1, highlight: only "attention", "head-view", "model-view" can highlight; this step shows "tokens"/],
      hlcellmv: [{ ...ok, element: 'model-view', steps: [{ caption: 'a', highlight: { query: 1, key: 1 } }] }, /step 1, highlight: on "model-view" a highlight is a head \{ "layer": …, "head": … \}/],
      hlheadhv: [{ ...ok, element: 'head-view', steps: [{ caption: 'a', highlight: { layer: 1, head: 1 } }] }, /step 1, highlight: on "head-view" a highlight is a cell \{ "query": …, "key": … \}/],
      hlrange: [{ ...ok, element: 'model-view', steps: [{ caption: 'a', highlight: [{ layer: 1, head: 1 }, { layer: 1, head: 50 }] }] }, /step 1, highlight: head 50 is out of range: \S+ has \d+ heads per layer/],
    };
    // Every widget that shows a model says plainly when the model is missing; every one with layers and heads, when
    // the layer or head is not in the model.
    for (const element of ['tokens', 'attention', 'qkv', 'generation', 'predictions', 'head-view', 'model-view', 'rollout', 'transfer']) {
      cases[`missing-${element}`] = [{ ...ok, element, steps: [{ caption: 'a' }, { caption: 'b', model: 'no-such-model' }] },
        /step 2, model: "no-such-model" cannot be loaded: there is no bundled model called "no-such-model"\. Use one of: /];
    }
    // (Rollout takes no layer or head at all: `rollouthead` above.)
    for (const element of ['attention', 'qkv', 'head-view', 'model-view']) {
      cases[`layer-${element}`] = [{ ...ok, element, steps: [{ caption: 'a', layer: 40 }] }, /step 1, layer: layer 40 is out of range: \S+ has \d+ decoder layers/];
      cases[`head-${element}`] = [{ ...ok, element, steps: [{ caption: 'a', layer: 1 }, { caption: 'b', head: 60 }] }, /step 2, head: head 60 is out of range: \S+ has \d+ heads per layer/];
    }
    const files = Object.fromEntries(Object.entries(cases).filter(([, [body]]) => body !== null)
      .map(([name, [body]]) => [`${name}.json`, typeof body === 'string' ? body : JSON.stringify(body)]));
    files['good.json'] = JSON.stringify({ ...ok, steps: [{ caption: 'fine', layer: 1, head: 1 }] });
    const url = await host(context, [...Object.keys(cases), 'good'].map((name) => `<glassbox-lesson id="${name}" src="/__lessons/${name}.json"></glassbox-lesson>`).join('\n'), files);
    await page.goto(url);
    for (const [name, [, pattern]] of Object.entries(cases)) {
      await page.waitForFunction((n) => document.getElementById(n).dataset.status === 'error', name, WAIT);
      const s = await lessonState(page, `#${name}`);
      assert.match(s.error, pattern, `${name}: ${s.error}`);
      assert.match(s.error, /^This lesson cannot be played as written: /);
    }
    // A good lesson beside them still plays: one broken file does not break the page.
    await waitLesson(page, '#good', 1);
    const good = await lessonState(page, '#good');
    assert.deepEqual([good.status, good.error, good.widgets], ['ready', '', ['glassbox-attention']]);
    await context.close();
  });

  it('says why a lesson on another site could not be fetched: the page\'s policy, or that site', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const page2 = (policy) => `<!doctype html><html lang="en"><head><meta charset="utf-8">${policy}<title>lessons</title>
<script type="module" src="/glassbox-widgets.js"></script></head><body><main>
<glassbox-lesson id="far" eager src="http://127.0.0.1:9/lesson.json"></glassbox-lesson></main></body></html>`;
    // Both said only "could not fetch …: Failed to fetch".
    await context.route('**/__far/**', (route) => {
      const strict = route.request().url().endsWith('strict.html');
      return route.fulfill({
        contentType: 'text/html; charset=utf-8', body: page2(''),
        headers: strict ? { 'Content-Security-Policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'" } : {},
      });
    });
    const error = async (name) => {
      await page.goto(`${setup.server.url}__far/${name}`);
      await page.waitForFunction(() => document.getElementById('far').dataset.status === 'error', null, WAIT);
      return (await lessonState(page, '#far')).error;
    };
    assert.match(await error('strict.html'), /the lesson http:\/\/127\.0\.0\.1:9\/lesson\.json could not be fetched from http:\/\/127\.0\.0\.1:9\/lesson\.json: this page's Content-Security-Policy does not allow fetching from http:\/\/127\.0\.0\.1:9\. Serve it from this page's own site, or add http:\/\/127\.0\.0\.1:9 to the policy's connect-src/);
    assert.match(await error('open.html'), /could not be fetched from http:\/\/127\.0\.0\.1:9\/lesson\.json \(Failed to fetch\)\. Check the address and that the server is up; http:\/\/127\.0\.0\.1:9 must also let other sites read its files \(CORS\)/);
    await context.close();
  });

  it('highlights a cell on the head view and a head on the model view, with the CLI\'s numbers', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const dec = setup.decoder;
    const text = 'The cat sat on the mat';
    const lesson = JSON.stringify({
      title: 'Highlights', model: dec.name, text, element: 'head-view',
      steps: [
        { layer: 2, head: 1, highlight: { query: 3, key: 2 }, caption: 'One line of head 1.' },
        { element: 'model-view', highlight: [{ layer: 2, head: 1 }, { layer: 1, head: 2 }], caption: 'Two heads.' },
        { element: 'head-view', highlight: { query: 'sat', key: 'nowhere' }, caption: 'A key that is not there.' },
      ],
    });
    const url = await host(context, '<glassbox-lesson id="hl" src="/__lessons/hl.json"></glassbox-lesson>', { 'hl.json': lesson });
    await page.goto(url);
    await waitLesson(page, '#hl', 1);
    await page.waitForFunction(() => document.querySelector('#hl glassbox-head-view')?.dataset.highlight === '3,2', null, WAIT);
    const cli = cliInspect(dec.dir, text, ['--views']);
    const want = cli.attentions.decoder[1][0][2][1];
    const hv = await page.$eval('#hl glassbox-head-view', (e) => ({ w: Array.from(e.focusWeights()), readout: e.shadowRoot.querySelector('.hv-readout').textContent,
      marked: [...e.shadowRoot.querySelectorAll('.right button.tok.marked')].map((b) => b.dataset.index) }));
    assert.ok(Math.abs(hv.w[1] - want) < 1e-4, `the head view shows query 3's lines: ${hv.w[1]} vs ${want}`);
    assert.deepEqual(hv.marked, ['1'], 'key 2 is marked');
    assert.match(hv.readout, /\(query 3\)/);
    let s = await lessonState(page, '#hl');
    assert.match(s.highlight, new RegExp(`\\(${want.toFixed(2)}\\), head 1 of layer 2`), s.highlight);

    await page.click('#hl >> button.next');
    await waitLesson(page, '#hl', 2);
    await page.waitForFunction(() => document.querySelector('#hl glassbox-model-view')?.dataset.highlight === '2,1 1,2', null, WAIT);
    const marked = await page.$eval('#hl glassbox-model-view', (e) => [...e.shadowRoot.querySelectorAll('.mv-thumb.marked')]
      .map((t) => `${t.dataset.layer},${t.dataset.head}`));
    assert.deepEqual(marked.sort(), ['0,1', '1,0']);
    s = await lessonState(page, '#hl');
    const scores = cli.views.decoder.scores;
    for (const [l, x] of [[1, 0], [0, 1]]) {
      const m = s.highlight.match(new RegExp(`layer ${l + 1}, head ${x + 1} \\([^,]+, (\\d\\.\\d\\d)\\)`));
      assert.ok(m, `the caption names layer ${l + 1}, head ${x + 1}: ${s.highlight}`);
      assert.ok(scores[l][x].some((v) => v !== null && v.toFixed(2) === m[1]), `score ${m[1]} is one of the CLI's ${scores[l][x]}`);
    }

    await page.click('#hl >> button.next');
    await waitLesson(page, '#hl', 3);
    await page.waitForFunction(() => /not among this view's tokens/.test(document.querySelector('#hl').shadowRoot.querySelector('.lesson-highlight').textContent), null, WAIT);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('says which element a step needs when the page does not define it, and plays the rest', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const lesson = JSON.stringify({ title: 'RNN', model: setup.decoder.name, text: 'The cat', steps: [
      { element: 'rnn', attributes: { cell: 'rnn', length: 5 }, caption: 'An RNN.' },
      { element: 'tokens', caption: 'Tokens.' },
    ] });
    const url = await host(context, '<glassbox-lesson id="r" src="/__lessons/r.json"></glassbox-lesson>', { 'r.json': lesson });
    await page.goto(url);
    await waitLesson(page, '#r', 1);
    const defined = await page.evaluate(() => Boolean(customElements.get('glassbox-rnn')));
    const s = await lessonState(page, '#r');
    if (defined) {
      // Once <glassbox-rnn> ships, the lesson drives it like any other widget.
      assert.deepEqual(s.widgets, ['glassbox-rnn']);
      assert.equal(await page.$eval('#r glassbox-rnn', (e) => e.getAttribute('cell')), 'rnn');
      assert.equal(s.notice, '');
    } else {
      assert.deepEqual(s.widgets, []);
      assert.match(s.notice, /This step shows <glassbox-rnn>, which this page does not define/);
    }
    assert.equal(s.status, 'ready');
    await page.click('#r >> button.next');
    await waitLesson(page, '#r', 2);
    await waitWidgets(page, '#r');
    assert.deepEqual((await lessonState(page, '#r')).widgets, ['glassbox-tokens']);
    assert.equal((await lessonState(page, '#r')).notice, '');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('plays the complete example of docs/lessons.md as written', async () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/lessons.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## A complete example'));
    const json = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
    assert.ok(json, 'docs/lessons.md has a JSON example under "A complete example"');
    const example = JSON.parse(json);
    // As written it names the first bundled GPT-2 ("@gpt2"); the fixture set has one too.
    assert.equal(example.model, '@gpt2');
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const url = await host(context, '<glassbox-lesson src="/__lessons/my-lesson.json"></glassbox-lesson>', { 'my-lesson.json': json });
    await page.goto(url);
    const sel = 'glassbox-lesson';
    await waitLesson(page, sel, 1);
    const gpt2 = setup.models.models.find((m) => m.kind === 'decoder-only');
    for (let k = 1; k <= example.steps.length; k++) {
      if (k > 1) {
        await page.click(`${sel} >> button.next`);
        await waitLesson(page, sel, k);
      }
      await waitWidgets(page, sel);
      const s = await lessonState(page, sel);
      assert.equal(s.error, '', `step ${k}: ${s.error}`);
      assert.equal(s.counter, `Step ${k} of ${example.steps.length}`);
      if (k === 2) {
        await page.waitForFunction(() => document.querySelector('glassbox-lesson glassbox-attention').dataset.highlight, null, WAIT);
        assert.match((await lessonState(page, sel)).highlight, /Look at row "·?it", column "The" \(\d\.\d\d\)/);
      }
      if (k === 3) {
        assert.deepEqual(s.widgets, ['glassbox-attention', 'glassbox-attention'], 'the trained head beside its random twin');
        assert.deepEqual(await page.$$eval(`${sel} glassbox-attention`, (els) => els.map((e) => e.getAttribute('random-seed'))), [null, '1']);
      }
      if (k === 4) {
        assert.deepEqual(s.widgets, ['glassbox-generation']);
        await page.waitForFunction(() => document.querySelector('glassbox-lesson').shadowRoot.querySelector('.lesson-caption').dataset.facts === 'ready', null, WAIT);
        const vocab = cliInfo(gpt2.dir).vocabSize.toLocaleString('en');
        assert.match((await lessonState(page, sel)).caption, new RegExp(`has ${vocab} tokens`));
        assert.deepEqual(await page.$eval(`${sel} glassbox-generation`, (e) => ['temperature', 'top-k', 'seed'].map((a) => e.getAttribute(a))), ['0.8', '40', '42']);
      }
    }
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('is clean for axe and fits a 390 px screen', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const url = await host(context, '<glassbox-lesson id="demo" src="/__lessons/demo.json"></glassbox-lesson>', { 'demo.json': demo(setup.decoder.name) });
    await page.goto(`${url}#demo=2`);
    await waitLesson(page, '#demo', 2);
    await waitWidgets(page, '#demo');
    const widths = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, view: innerWidth,
      nav: document.querySelector('#demo').shadowRoot.querySelector('.lesson-nav').getBoundingClientRect().right }));
    assert.ok(widths.doc <= widths.view, `no sideways scrolling at 390 px: ${JSON.stringify(widths)}`);
    assert.ok(widths.nav <= widths.view, `the step buttons fit: ${JSON.stringify(widths)}`);
    for (const colorScheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme });
      await page.waitForTimeout(300);
      const r = await axeViolations(page);
      assert.ok(r.passed > 5, 'axe ran');
      assert.deepEqual(r.serious, [], `${colorScheme}: ${r.serious.join('\n')}`);
    }
    await context.close();
  });
});
