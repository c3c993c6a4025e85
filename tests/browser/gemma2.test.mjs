// A Gemma 2 model (the gemma2 fixture: attention scores capped at 3 by attn_logit_softcapping, logits at 2.5,
// query_pre_attn_scalar 20 against 24-wide heads, a window of 8 keys on layers 1 and 3) opened on the page as a
// folder the server offers, in headless Chromium: the facts name both caps, the Q/K/V step-through writes the
// score with its tanh cap and shows the weights the native CLI computes (which equal transformers'), and axe-core
// finds no serious/critical WCAG 2.1 AA violation there.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/gemma2.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, ROOT } from './helpers.mjs';

const NAME = 'zz-gemma2';
const FIXTURE = path.join(ROOT, 'tests/fixtures/models/gemma2');
const TEXT = 'The dog chased the cat across the garden';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel(NAME, FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a Gemma 2 model on the page', () => {
  it('the facts name the capped scores and logits, the four norms and the alternating windows', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /gemma2 · decoder-only/);
    assert.equal(facts['Attention scores'], 'squashed into ±3 (cap · tanh(score / cap)) before the softmax');
    assert.match(facts['Output head'], /logits squashed into ±2\.5/);
    assert.match(facts.Normalisation, /four norms a layer/);
    assert.doesNotMatch(facts.Normalisation, /query and key normalised/);
    assert.equal(facts['Attention window'], 'layers 1, 3 (2 of 3) see only the last 8 tokens, itself included; the other 1 sees every earlier token');
  });

  it('the Q/K/V step-through writes the capped score, and its weights are the CLI\'s attention', async () => {
    const { page } = setup;
    const formula = await page.$eval('#qkv .qkv-formula', (e) => e.textContent);
    assert.match(formula, /score = 3 · tanh\(q·k .* × 0\.22\d* \/ 3\)/);
    assert.match(formula, /tanh keeps every score between −3 and 3/);
    const last = (await page.$$('#qkv .qkv-query')).length - 1;
    await page.click(`#qkv .qkv-query[data-index="${last}"]`);
    await page.waitForFunction((i) => document.querySelector(`#qkv .qkv-query[data-index="${i}"]`)?.getAttribute('aria-checked') === 'true', last);
    const layer = Number(await page.$eval('#qkv-layer', (e) => e.value));
    const head = Number(await page.$eval('#qkv-head', (e) => e.value));
    const shown = await page.$$eval('#qkv .qkv-table tbody tr', (rows) => rows.map((r) => Number(r.querySelector('.qkv-weight .num').textContent.replace('%', ''))));
    const want = cliInspect(FIXTURE, TEXT).attentions.decoder[layer][head][last];
    assert.equal(shown.length, want.length, 'one row per key');
    shown.forEach((w, k) => assert.ok(Math.abs(w - 100 * want[k]) <= 0.051, `layer ${layer + 1}, head ${head + 1}, key ${k}: page ${w}%, CLI ${(100 * want[k]).toFixed(3)}%`));
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
