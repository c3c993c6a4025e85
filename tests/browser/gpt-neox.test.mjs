// A GPT-NeoX decoder (the gpt_neox fixture, Pythia's family: attention and the feed-forward network side by side,
// rotary positions on the first 8 of each head's 16 dimensions) opened on the page as a folder the server offers, in
// headless Chromium: the facts, the layer view and the positions view describe the parallel block and the partial
// rotation, the Q/K/V step-through's weights are the CLI's attention (which equals transformers'), and the offset
// demonstration on the model's own q and k holds (the score depends on the offset only) with the partial turn, and
// axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/gpt-neox.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, ROOT } from './helpers.mjs';
import { offsetScores } from '../../www/views/positions.js';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/gpt_neox');
const TEXT = 'The dog chased the cat across the garden';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-gpt-neox', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a GPT-NeoX model on the page', () => {
  it('the facts and the layer view describe the parallel block and the partial rotation', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /gpt_neox · decoder-only/);
    assert.match(facts.Positions, /, on the first 8 of each head’s 16 dimensions$/);
    assert.equal(facts.Normalisation, 'pre-norm, LayerNorm; attention and the feed-forward network side by side, each with its own norm');
    assert.deepEqual(await page.$$eval('#block-view .block-step code', (els) => els.map((e) => e.textContent)),
      ['x ← x + SelfAttention(LayerNorm₁(x)) + FFN(LayerNorm₂(x))']);
    assert.match(await page.$eval('#block-view', (e) => e.textContent), /runs attention and the feed-forward network side by side/);
    assert.match(await page.$eval('#model-explain', (e) => e.textContent), /Only the first 8 of each head’s 16 dimensions are turned/);
    assert.match(await page.$eval('#positions', (e) => e.textContent), /Only the first 8 of each head’s 16 dimensions turn \(4 pairs\)/);
    assert.match((await page.$$eval('#positions figcaption', (fs) => fs.map((f) => f.textContent))).join(' | '), /columns: the 4 pairs of the 8 dimensions it turns \(of each head’s 16; the other 8 are not turned\)/);
  });

  it('the Q/K/V step-through shows the CLI\'s weights and says which numbers were turned', async () => {
    const { page } = setup;
    const formula = await page.$eval('#qkv .qkv-formula', (e) => e.textContent);
    assert.match(formula, /turned by their positions' rotary angles \(their first 8 of 16 numbers\)/);
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

  it('the offset demonstration: with only part of a head turned, a score still depends on the offset alone', () => {
    // A 16-wide head whose first 8 numbers turn (4 pairs), the rest passing through.
    const invFreq = [1, 0.1, 0.01, 0.001];
    const q = Float64Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
    const k = Float64Array.from({ length: 16 }, (_, i) => Math.cos(2 * i + 1));
    const { shifted, other } = offsetScores({ q, k, qPos: 5, kPos: 2 }, invFreq, [0, 1, 4, 9], 64);
    for (const s of shifted) assert.ok(Math.abs(s.score - shifted[0].score) < 1e-9, `shift to (${s.qPos}, ${s.kPos})`);
    assert.ok(other.some((o) => Math.abs(o.score - shifted[0].score) > 1e-6), 'another offset scores differently');
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the layer view and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#block-view', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
