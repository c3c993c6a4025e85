// A ModernBERT encoder (the modernbert fixture: pre-LayerNorms without biases, rotary positions, a gated GELU
// feed-forward, layer 1 attending to every token and layers 2-3 to a band of 4 tokens either side) opened on the
// page as a folder the server offers, in headless Chromium, on a text longer than the band: the facts and the
// layer view describe it, a band layer's map masks the keys outside the band (and equals the CLI's attention,
// which equals transformers'), fill-mask answers, and axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/modernbert.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, showAttention, ROOT } from './helpers.mjs';

const NAME = 'zz-modernbert';
const FIXTURE = path.join(ROOT, 'tests/fixtures/models/modernbert');
const TEXT = 'The quick brown fox jumps over the lazy [MASK] while the cat sleeps';
const REACH = 4;
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel(NAME, FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a ModernBERT model on the page', () => {
  it('the facts name the rotary positions, the gated network and the band layers', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /modernbert · encoder-only/);
    assert.match(facts.Positions, /rotary/i);
    assert.match(facts.Normalisation, /^pre-norm, LayerNorm/);
    assert.match(facts['Feed-forward (d_ff)'], /GELU, gated/);
    assert.equal(facts['Attention window'], `layers 2–3 (2 of 3) see only the tokens at most ${REACH} positions away, before or after; the other 1 sees every token`);
  });

  it('the layer view says the first attention step reads the normalised embeddings', async () => {
    const block = await setup.page.$eval('#block-view', (e) => e.textContent);
    assert.match(block, /x ← x \+ SelfAttention\(LayerNorm\(x\)\)/);
    assert.match(block, /the first layer’s attention step skips its norm/);
    assert.match(block, /the embeddings are normalised too before the first layer/);
    // ModernBERT's LayerNorms learn a shift only when norm_bias is set (off by default), unlike BERT's.
    assert.match(block, /then scales it; a learned shift too only if the config’s norm_bias is set, off by default/);
  });

  it('the model paragraph says that the band layers do not see every token', async () => {
    const about = await setup.page.$eval('#model-explain', (e) => e.textContent);
    assert.match(about, new RegExp(`In this model, though, 2 of its 3 layers see only the tokens at most ${REACH} positions away\\.`));
  });

  it('a band layer\'s map masks the keys outside the band, and equals the CLI\'s attention', async () => {
    const { page } = setup;
    const cli = cliInspect(FIXTURE, TEXT).attentions.encoder;
    const T = cli[0][0].length;
    assert.ok(T > 2 * REACH + 3, `the text is longer than the band (${T} tokens)`);
    for (const layer of [1, 0]) {
      const shown = await showAttention(page, 'encoder', layer, 0);
      const want = cli[layer][0].flat();
      shown.values.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-4, `layer ${layer + 1}, cell ${i}: page ${v}, CLI ${want[i]}`));
      const note = await page.$eval('#heatmap .mask-note', (e) => e.textContent).catch(() => '');
      const explain = await page.$eval('#kind-explain', (e) => e.textContent);
      // The last row, first key: outside the band on layer 2, visible on layer 1.
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
      if (layer === 1) {
        assert.match(note, new RegExp(`a band of ${2 * REACH + 1} keys`));
        assert.match(explain, new RegExp(`This layer sees only a band: each token attends to the tokens at most ${REACH} positions away`));
        assert.doesNotMatch(explain, /Every token sees every other/);
        assert.equal(corner.value, 'masked');
        assert.match(corner.text, /outside this layer’s band/);
        for (let r = 0; r < T; r++) {
          const seen = want.slice(r * T, (r + 1) * T).filter((w) => w > 0).length;
          assert.equal(seen, Math.min(T - 1, r + REACH) - Math.max(0, r - REACH) + 1, `row ${r} of the CLI's map`);
        }
      } else {
        assert.doesNotMatch(note, /band/);
        assert.doesNotMatch(explain, /only a band/);
        assert.notEqual(corner.value, 'masked');
      }
    }
  });

  it('the Q/K/V step-through of a band layer calls the masked keys outside the band, on both sides, not a decoder\'s', async () => {
    const { page } = setup;
    await page.selectOption('#qkv-layer', '1');
    const queries = await page.$$('#qkv .qkv-query');
    assert.ok(queries.length > 2 * REACH + 3, `the text is longer than the band (${queries.length} tokens)`);
    // A query in the middle: keys outside the band lie before and after it.
    const middle = Math.floor(queries.length / 2);
    await page.click(`#qkv .qkv-query[data-index="${middle}"]`);
    await page.waitForFunction(() => /this layer is local/.test(document.querySelector('#qkv-section')?.textContent ?? ''));
    const section = await page.$eval('#qkv-section', (e) => e.textContent);
    assert.match(section, new RegExp(`a band; here ${2 * REACH + 1} keys, the token itself included`));
    assert.doesNotMatch(section, /a decoder may not look at later tokens/);
    const masked = await page.$$eval('#qkv tbody tr', (rows) => rows.map((r) => /masked/.test(r.textContent)));
    masked.forEach((m, j) => assert.equal(m, Math.abs(j - middle) > REACH, `key ${j} against query ${middle}`));
  });

  it('fill-mask: one guess box, at [MASK], whose top guess is the CLI argmax', async () => {
    const cli = cliInspect(FIXTURE, TEXT);
    const at = cli.tokens.indexOf('[MASK]');
    assert.ok(at > 0, 'the CLI keeps [MASK] whole');
    const shown = await setup.page.$$eval('#predictions .prediction', (boxes) => boxes.map((b) => ({
      position: Number(b.dataset.position), ids: [...b.querySelectorAll('.candidate')].map((c) => Number(c.dataset.id)) })));
    assert.equal(shown.length, 1);
    assert.equal(shown[0].position, at);
    const row = cli.logits[at];
    assert.equal(shown[0].ids[0], row.indexOf(Math.max(...row)), 'top-1 = CLI argmax');
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the map and the layer view', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#heatmap', '#block-view']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
