// WCAG 2.1 A/AA as axe-core checks it, in headless Chromium, in light and dark colour schemes: the main page
// with each bundled model loaded and a text run (token chips, heatmaps, the generation and teaching views),
// the tutorial once its widgets render, the iframe embed page, and each widget on a host page. Any serious or
// critical violation fails the test; each is printed with its rule id, impact, target and summary.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/a11y.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  openPage, closePage, newWatchedPage, waitIdle, pickModel, axeViolations, teachingSettled, pressGenerate, typingSettled,
} from './helpers.mjs';

const WAIT = { timeout: 120000 };
const SCHEMES = ['light', 'dark'];
const TEXTS = {
  'decoder-only': 'The cat sat on the mat because it was warm.',
  'encoder-only': 'The dog chased the [MASK].',
  'encoder-decoder': 'the small dog sees the red car',
};
const setup = {};

before(async () => {
  Object.assign(setup, await openPage({ openPage: false }));
});

after(() => closePage(setup));

/** Check `target` (a page or frame) in both colour schemes; returns the violations, each line tagged with `what`. */
async function audit(page, target, what, include = null) {
  const found = [];
  for (const colorScheme of SCHEMES) {
    await page.emulateMedia({ colorScheme });
    // Let transitions settle in the new scheme before colours are measured.
    await page.waitForTimeout(400);
    const r = await axeViolations(target, include);
    assert.ok(r.passed > 5, `${what} (${colorScheme}): axe checked the page (${r.passed} rules passed)`);
    found.push(...r.serious.map((v) => `${what} (${colorScheme}): ${v}`));
    for (const v of r.other) console.log(`# axe, not failed on: ${what} (${colorScheme}): ${v}`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

function report(violations) {
  for (const v of violations) console.log(`# axe: ${v}`);
  assert.deepEqual(violations, [], `${violations.length} serious/critical WCAG 2.1 AA violations`);
}

/** Wait until every glassbox widget matching `selector` is ready (or showed an error). */
async function waitWidgets(target, selector) {
  await target.waitForFunction((sel) => [...document.querySelectorAll(sel)]
    .every((e) => e.dataset.status === 'ready' || e.dataset.status === 'error'), selector, WAIT);
}

describe('axe-core, WCAG 2.1 A/AA: no serious or critical violations', () => {
  it('the main page, with each model loaded and a text run', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const found = [];
    try {
      await page.goto(setup.server.url);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, WAIT);
      found.push(...await audit(page, page, 'index.html before a model'));
      for (const model of setup.models.models) {
        await pickModel(page, model.name);
        await page.fill('#text-input', TEXTS[model.kind]);
        await typingSettled(page);
        await teachingSettled(page, () => page.click('#run-button'), WAIT.timeout);
        await waitIdle(page);
        if (model.kind !== 'encoder-only') {
          await page.fill('#temperature', '0');
          await page.fill('#max-tokens', '4');
          await pressGenerate(page, WAIT.timeout);
          await page.click('#generated .gen-token[data-index="0"]');
          await waitIdle(page);
        }
        const shown = await page.evaluate(() => ({
          chips: document.querySelectorAll('#tokens .chip').length,
          teaching: document.querySelectorAll('#teaching section').length,
          generated: document.querySelectorAll('#generated .gen-token').length,
        }));
        assert.ok(shown.chips >= 3 && shown.teaching >= 3, `${model.name}: chips and teaching views shown: ${JSON.stringify(shown)}`);
        if (model.kind !== 'encoder-only') assert.ok(shown.generated >= 1, `${model.name}: generated tokens shown`);
        // A token chip selected, so the selected and related states are measured too.
        await page.click('#tokens [role="option"] >> nth=1');
        found.push(...await audit(page, page, `index.html with ${model.name}`));
      }
    } finally {
      await context.close();
    }
    report(found);
  });

  it('the tutorial, once its widgets render', async () => {
    // Tall enough that every lazy widget is on screen and loads.
    const { context, page } = await newWatchedPage(setup.browser.browser, { viewport: { width: 1200, height: 20000 } });
    let found;
    try {
      await page.goto(`${setup.server.url}tutorial.html`);
      await waitWidgets(page, '[data-status]');
      const statuses = await page.$$eval('[data-status]', (els) => els.filter((e) => e.localName.startsWith('glassbox-'))
        .map((e) => `${e.localName} ${e.dataset.status}`));
      assert.ok(statuses.length >= 10, `the tutorial's widgets: ${statuses.join(', ')}`);
      assert.ok(statuses.filter((s) => s.startsWith('glassbox-lesson ')).length >= 8, `the tutorial's lessons: ${statuses.join(', ')}`);
      assert.deepEqual(statuses.filter((s) => !s.endsWith(' ready')), [], 'every tutorial lesson and widget rendered');
      found = await audit(page, page, 'tutorial.html');
      // Each lesson at its last step shows other widgets (Q/K/V, predictions, two maps side by side): audit those too.
      await page.$$eval('glassbox-lesson', (els) => els.forEach((e) => e.go(Infinity)));
      await page.waitForFunction(() => [...document.querySelectorAll('glassbox-lesson')].every((e) => e.step === e.lesson?.steps.length), null, WAIT);
      await waitWidgets(page, '[data-status]');
      found.push(...await audit(page, page, 'tutorial.html, every lesson at its last step'));
    } finally {
      await context.close();
    }
    report(found);
  });

  it('the iframe embed page, in each of its views', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const model = setup.models.models.find((m) => m.kind === 'decoder-only');
    const found = [];
    try {
      for (const view of ['attention', 'tokens', 'generate']) {
        await page.goto(`${setup.server.url}embed.html#model=${model.name}&text=The+cat+sat+down&view=${view}&generate=1&max-tokens=4`);
        await page.waitForFunction(() => document.body.dataset.ready === 'true', null, WAIT);
        await waitWidgets(page, '[data-status]');
        assert.equal(await page.$eval('[data-status]', (e) => e.dataset.status), 'ready', `embed view=${view} rendered`);
        found.push(...await audit(page, page, `embed.html view=${view}`));
      }
    } finally {
      await context.close();
    }
    report(found);
  });

  it('each widget on a host page', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser, { viewport: { width: 1200, height: 4000 } });
    const found = [];
    try {
      const dec = setup.models.models.find((m) => m.kind === 'decoder-only').name;
      const enc = setup.models.models.find((m) => m.kind === 'encoder-only').name;
      await context.route('**/__a11y-host.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Glassbox widgets</title>
<script type="module" src="/glassbox-widgets.js"></script></head>
<body><main>
  <glassbox-tokens id="w-tokens" eager model="${dec}" text="Unbelievably, the tokenizer split everything."></glassbox-tokens>
  <glassbox-attention id="w-attention" eager model="${dec}" text="The cat sat on the mat" layer="1" head="mean"></glassbox-attention>
  <glassbox-generation id="w-generation" eager model="${dec}" text="Once upon a time" seed="7" max-tokens="4" autorun></glassbox-generation>
  <glassbox-predictions id="w-predictions" eager model="${enc}" text="The dog chased the [MASK]."></glassbox-predictions>
  <glassbox-qkv id="w-qkv" eager model="${enc}" text="The dog chased the cat." kind="encoder" layer="1" head="1" query="2"></glassbox-qkv>
  <glassbox-attention id="w-attention-dark" eager model="${enc}" text="The dog chased the cat." theme="dark"></glassbox-attention>
</main></body></html>` }));
      await page.goto(`${setup.server.url}__a11y-host.html`);
      await waitWidgets(page, '[id^="w-"]');
      await page.waitForFunction(() => document.querySelector('#w-generation').generated, null, WAIT);
      for (const id of ['w-tokens', 'w-attention', 'w-generation', 'w-predictions', 'w-qkv', 'w-attention-dark']) {
        const status = await page.$eval(`#${id}`, (e) => e.dataset.status);
        assert.equal(status, 'ready', `#${id} rendered`);
        found.push(...await audit(page, page, `<${id.replace(/^w-/, 'glassbox-').replace(/-dark$/, '')}> #${id}`, [`#${id}`]));
      }
    } finally {
      await context.close();
    }
    report(found);
  });
});
