// A GPT-Neo decoder (the gpt_neo fixture: TinyStories' and gpt-neo-125M's network; layers global, local, local with a
// window of 6 keys; scores not scaled by 1/√d_k) opened on the page as a folder the server offers, in headless
// Chromium: the facts say which layers slide and that the scores are unscaled, the attention map of a local layer is
// the CLI's (which equals transformers') with the keys past the window masked and says why, the Q/K/V step-through
// multiplies by 1 and explains it, and axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/gpt-neo.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, showAttention, qkvShown, teachingSettled, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/gpt_neo');
// Longer than the window (6 keys), so the local layers hide the oldest tokens from the last ones.
const TEXT = 'The dog chased the cat across the garden and over the wall';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-gpt-neo', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a GPT-Neo model on the page', () => {
  it('the facts name the local layers, their window and the unscaled scores', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /gpt_neo · decoder-only/);
    assert.equal(facts['Attention window'], 'layers 2–3 (2 of 3) see only the last 6 tokens, itself included; the other 1 sees every earlier token');
    assert.equal(facts['Attention scores'], 'q·k as it is, not divided by √d_k = 4: the model was trained without that factor');
    assert.match(facts.Positions, /^learned/i);
    assert.match(facts['Feed-forward (d_ff)'], /^256 \(4× d_model\)/);
  });

  it('a local layer\'s map is the CLI\'s, with the keys past the window masked, and the text says so', async () => {
    const { page } = setup;
    const want = cliInspect(FIXTURE, TEXT).attentions.decoder;
    const map = await showAttention(page, 'decoder', 1, 0);
    const T = map.nRows;
    assert.ok(T > 6, `the text (${T} tokens) is longer than the window`);
    map.values.forEach((v, i) => {
      const [q, k] = [Math.floor(i / T), i % T];
      assert.ok(Math.abs(v - want[1][0][q][k]) < 1e-4, `query ${q}, key ${k}: page ${v}, CLI ${want[1][0][q][k]}`);
      if (k <= q - 6) assert.equal(v, 0, `key ${k} is out of query ${q}'s window`);
    });
    assert.ok(want[0][0][T - 1][0] > 0, 'the global layer 1 still sees the first token from the last');
    const explained = await page.$eval('#kind-explain', (e) => e.textContent);
    assert.match(explained, /each token sees only the last 6 tokens, itself included/);
  });

  it('the Q/K/V step-through multiplies q·k by 1 and says why', async () => {
    const { page } = setup;
    await teachingSettled(page, () => page.selectOption('#qkv-layer', '2'));
    const shown = await qkvShown(page);
    assert.equal(shown.scale, 1);
    const formula = await page.$eval('#qkv .qkv-formula', (e) => e.textContent);
    assert.match(formula, /this model does not scale the scores: it was trained without the 1\/√d_k factor/);
    assert.doesNotMatch(formula, /attention_multiplier/);
    const want = cliInspect(FIXTURE, TEXT).attentions.decoder[2][shown.head][shown.query];
    shown.weights.forEach((w, k) => assert.ok(Math.abs(w - want[k]) < 1e-5, `key ${k}: page ${w}, CLI ${want[k]}`));
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the map and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#heatmap', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
