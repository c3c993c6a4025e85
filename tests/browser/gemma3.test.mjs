// A Gemma 3 text model (the gemma3 fixture: four (1 + w) RMSNorms a layer, embeddings times √64, per-head q/k
// norms, query_pre_attn_scalar 20 against 24-wide heads, logits capped at ±2.5, a window of 8 keys on layers 1
// and 3) opened on the page as a folder the server offers, in headless Chromium, on a text longer than the
// window: the facts name what Gemma does differently, the layer view's formula has the norm after each step,
// the attention map of a sliding layer masks the keys that slid out of the window (and equals the CLI's
// attention, which equals transformers'), the Q/K/V step-through says why its scale is 1/√20, and axe-core finds
// no serious/critical WCAG 2.1 AA violation there.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/gemma3.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, showAttention, ROOT } from './helpers.mjs';

const NAME = 'zz-gemma3';
const FIXTURE = path.join(ROOT, 'tests/fixtures/models/gemma3');
const TEXT = 'The quick brown fox jumps over the lazy dog while the cat sleeps';
const WINDOW = 8;
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel(NAME, FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a Gemma 3 model on the page', () => {
  it('the facts name the four norms, the scaled embeddings, the capped logits and the windowed layers', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /gemma3_text · decoder-only/);
    assert.match(facts.Normalisation, /four norms a layer/);
    assert.match(facts.Normalisation, /each head’s query and key normalised too/);
    assert.equal(facts['Token embeddings'], 'multiplied by √64 ≈ 8.00 on the way in');
    assert.match(facts['Output head'], /tied to the input embeddings; logits squashed into ±2\.5/);
    assert.equal(facts['Attention window'], `layers 1, 3 (2 of 3) see only the last ${WINDOW} tokens, itself included; the other 1 sees every earlier token`);
    assert.match(facts['Feed-forward (d_ff)'], /GELU \(tanh approximation\), gated/);
  });

  it('the layer view writes each step with its output norm', async () => {
    const block = await setup.page.$eval('#block-view', (e) => e.textContent);
    assert.match(block, /x ← x \+ RMSNorm\(SelfAttention\(RMSNorm\(x\)\)\)/);
    assert.match(block, /x ← x \+ RMSNorm\(FFN\(RMSNorm\(x\)\)\)/);
    assert.match(block, /normalises the step’s result once more before adding it/);
  });

  it('a sliding layer\'s map masks the keys that slid out of its window, and equals the CLI\'s attention', async () => {
    const { page } = setup;
    const cli = cliInspect(FIXTURE, TEXT).attentions.decoder;
    const T = cli[0][0].length;
    assert.ok(T > WINDOW + 2, `the text is longer than the window (${T} tokens)`);
    for (const layer of [0, 1]) {
      const shown = await showAttention(page, 'decoder', layer, 0);
      const want = cli[layer][0].flat();
      shown.values.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-4, `layer ${layer + 1}, cell ${i}: page ${v}, CLI ${want[i]}`));
      const note = await page.$eval('#heatmap .mask-note', (e) => e.textContent);
      const explain = await page.$eval('#kind-explain', (e) => e.textContent);
      // The last row, first key: outside the window on layer 1 (sliding), visible on layer 2 (full).
      const corner = await page.evaluate(() => {
        const canvas = document.querySelector('#heatmap canvas.heatmap-canvas');
        const key = (k) => canvas.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));
        key('PageDown');
        key('Home');
        const readout = document.querySelector('#heatmap .readout');
        const seen = { text: readout.textContent, value: readout.dataset.value };
        key('Escape');
        return seen;
      });
      if (layer === 0) {
        assert.match(note, new RegExp(`sliding window of ${WINDOW} keys`));
        assert.match(explain, new RegExp(`This layer also slides: each token sees only the last ${WINDOW} tokens`));
        assert.equal(corner.value, 'masked');
        assert.match(corner.text, /outside this layer’s window/);
        // Every row past the window holds exactly WINDOW non-zero weights.
        for (let r = WINDOW; r < T; r++) {
          assert.equal(want.slice(r * T, (r + 1) * T).filter((w) => w > 0).length, WINDOW, `row ${r} of the CLI's map`);
        }
      } else {
        assert.doesNotMatch(note, /sliding window/);
        assert.doesNotMatch(explain, /This layer also slides/);
        assert.notEqual(corner.value, 'masked');
      }
    }
  });

  it('the Q/K/V step-through explains the scale 1/√20 and the window', async () => {
    const { page } = setup;
    const formula = await page.$eval('#qkv .qkv-formula', (e) => e.textContent);
    assert.match(formula, /already normalised head by head \(RMSNorm\) and turned/);
    assert.match(formula, /the scale is 1\/√20: this model’s config sets the number under the root, query_pre_attn_scalar/);
    // The step-through shows layer 1 (a sliding layer) from its first query on: pick the last query.
    await page.selectOption('#qkv-layer', '0');
    const last = (await page.$$('#qkv .qkv-query')).length - 1;
    await page.click(`#qkv .qkv-query[data-index="${last}"]`);
    await page.waitForFunction(() => /sliding window/.test(document.querySelector('#qkv-section')?.textContent ?? ''));
    const section = await page.$eval('#qkv-section', (e) => e.textContent);
    assert.match(section, new RegExp(`this layer looks only at the last ${WINDOW} \\(a sliding window`));
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the map and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#heatmap', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
