// A BLOOM decoder (the bloom fixture: ALiBi positions, 6 heads with HF's slopes, the embedding LayerNorm, each step's
// residual taken from its norm's output) opened on the page as a folder the server offers, in headless Chromium: the
// facts and the model section name ALiBi, the positions view explains it with each head's slope and penalties, the
// layer view shows where the residual comes from, the Q/K/V step-through shows the distance penalty as the position
// bias of each key (minus slope times distance) and weights equal to the CLI's (which equal transformers'), and
// axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/bloom.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, qkvShown, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/bloom');
const TEXT = 'The dog chased the cat across the garden';
// HF's _get_alibi_slopes for 6 heads: four from 2^-2, then 2^-1 to the powers 1 and 3.
const SLOPES = [0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125];
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-bloom', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a BLOOM model (ALiBi) on the page', () => {
  it('the facts, the model section and the layer view describe ALiBi and the residual from the norm', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /bloom · decoder-only/);
    assert.equal(facts.Positions, 'ALiBi (each score lowered by a slope times the distance)');
    assert.equal(facts['Longest input'], 'no fixed limit');
    assert.match(await page.$eval('#model-explain', (e) => e.textContent), /lowers every attention score by a fixed slope times how many tokens back the key is \(ALiBi/);
    const steps = await page.$$eval('#block-view .block-step code', (els) => els.map((e) => e.textContent));
    assert.deepEqual(steps, ['a = LayerNorm(x);  x ← a + SelfAttention(a)', 'a = LayerNorm(x);  x ← a + FFN(a)']);
    const wiring = await page.$eval('#block-view', (e) => e.textContent);
    assert.match(wiring, /its result is added to that copy, not to the stream it came from/);
    assert.doesNotMatch(wiring, /the stream x itself is never normalised/, 'the pre-norm sentence does not hold for BLOOM’s residual');
  });

  it('the positions view gives each head\'s slope and what it subtracts', async () => {
    const { page } = setup;
    await page.waitForSelector('#positions .alibi-table');
    const text = await page.$eval('#positions', (e) => e.textContent);
    assert.match(text, /ALiBi \(attention with linear biases\): nothing is added to the tokens/);
    const rows = await page.$$eval('#positions .alibi-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.equal(rows.length, SLOPES.length);
    rows.forEach((r, h) => {
      // Four significant digits shown.
      assert.ok(Math.abs(Number(r[1]) - SLOPES[h]) <= 1e-3 * SLOPES[h], `head ${h + 1}'s slope: ${r[1]}`);
      assert.ok(Math.abs(Number(r[3].replace('−', '-')) + 4 * SLOPES[h]) <= 1e-2 * SLOPES[h], `head ${h + 1} at 4 tokens back: ${r[3]}`);
    });
    assert.match(text, /Head 5 is the steepest/);
    // On a narrow screen the table scrolls inside its own box instead of widening the page.
    assert.equal(await page.$eval('#positions .alibi-table', (t) => getComputedStyle(t.parentElement).overflowX), 'auto');
  });

  it('the Q/K/V step-through shows the distance penalty as each key\'s bias, and the CLI\'s weights', async () => {
    const { page } = setup;
    const last = (await page.$$('#qkv .qkv-query')).length - 1;
    await page.click(`#qkv .qkv-query[data-index="${last}"]`);
    await page.waitForFunction((i) => document.querySelector(`#qkv .qkv-query[data-index="${i}"]`)?.getAttribute('aria-checked') === 'true', last);
    const shown = await qkvShown(page);
    const slope = SLOPES[shown.head];
    shown.bias.forEach((b, k) => {
      if (shown.blocked[k]) return;
      assert.ok(Math.abs(b - -slope * (shown.query - k)) < 1e-3, `key ${k}: bias ${b}, want ${-slope * (shown.query - k)}`);
    });
    const layer = Number(await page.$eval('#qkv-layer', (e) => e.value));
    const want = cliInspect(FIXTURE, TEXT).attentions.decoder[layer][shown.head][shown.query];
    shown.weights.forEach((w, k) => assert.ok(Math.abs(w - want[k]) < 1e-5, `key ${k}: page ${w}, CLI ${want[k]}`));
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the positions view and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#positions', '#block-view', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
