// A Phi decoder (the phi fixture: phi-2's shape in small) opened on the page as a folder the server offers, in
// headless Chromium. Phi runs attention and the feed-forward network side by side like GPT-NeoX, but both read the
// stream through one shared LayerNorm, not a norm each; it turns only part of each head, normalises each head's
// query and key with a LayerNorm (qk_layernorm), and its output head adds a bias per token. The facts, the layer
// view, the model paragraph and the Q/K/V step-through must say so (and not GPT-NeoX's two norms, or an RMSNorm),
// the step-through's weights are the CLI's attention, and axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/phi.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/phi');
const TEXT = 'The dog chased the cat across the garden';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-phi', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a Phi model on the page', () => {
  it('the facts, the layer view and the model paragraph describe one shared norm, the partial turn and the head’s bias', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /phi · decoder-only/);
    assert.match(facts.Positions, /, on the first 6 of each head’s 16 dimensions$/);
    assert.equal(facts.Normalisation, 'pre-norm, LayerNorm; attention and the feed-forward network side by side, reading through one shared norm; each head’s query and key normalised too');
    assert.deepEqual(await page.$$eval('#block-view .block-step code', (els) => els.map((e) => e.textContent)),
      ['x ← x + SelfAttention(a) + FFN(a),  a = LayerNorm(x)']);
    const view = await page.$eval('#block-view', (e) => e.textContent);
    assert.match(view, /both read the same stream through one shared LayerNorm/);
    assert.match(view, /Both read the same x, through one norm they share/);
    assert.doesNotMatch(view, /of its own|LayerNorm₁/);
    const about = await page.$eval('#model-explain', (e) => e.textContent);
    assert.match(about, /Its output head is a matrix of its own with a bias per token/);
    assert.match(about, /each head’s query and key are normalised on their own \(a LayerNorm over the head’s numbers, with one learned scale and shift that all heads share\) before the rotation/);
  });

  it('the Q/K/V step-through shows the CLI\'s weights, normalised by LayerNorm and partly turned', async () => {
    const { page } = setup;
    const formula = await page.$eval('#qkv .qkv-formula', (e) => e.textContent);
    assert.match(formula, /normalised head by head \(LayerNorm\)/);
    assert.match(formula, /their first 6 of 16 numbers/);
    const last = (await page.$$('#qkv .qkv-query')).length - 1;
    await page.click(`#qkv .qkv-query[data-index="${last}"]`);
    await page.waitForFunction((i) => document.querySelector(`#qkv .qkv-query[data-index="${i}"]`)?.getAttribute('aria-checked') === 'true', last);
    const layer = Number(await page.$eval('#qkv-layer', (e) => e.value));
    const head = Number(await page.$eval('#qkv-head', (e) => e.value));
    const shown = await page.$$eval('#qkv .qkv-table tbody tr', (rows) => rows.map((r) => Number(r.querySelector('.qkv-weight .num').textContent.replace('%', ''))));
    const want = cliInspect(FIXTURE, TEXT).attentions.decoder[layer][head][last];
    assert.equal(shown.length, want.length, 'one row per key');
    shown.forEach((w, k) => assert.ok(Math.abs(w - 100 * want[k]) <= 0.051, `key ${k}: page ${w}%, CLI ${(100 * want[k]).toFixed(3)}%`));
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the layer view and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#block-view', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
