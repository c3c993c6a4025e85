// A DeBERTa-v3 NLI classifier (the deberta_nli fixture: DebertaV2ForSequenceClassification over deberta_v3's
// network: disentangled attention, 8 log buckets over 64 positions, no absolute positions) opened on the page
// as a folder the server offers, in headless Chromium: the facts and the model paragraph name the disentangled
// positions and their terms, the positions view draws which table row each distance reads (the rows
// transformers computes; tests/wasm/disentangled-rows.test.mjs), the verdict has the CLI's probabilities, and
// axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/deberta.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/deberta_nli');
const TEXT = 'I loved this film.';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-deberta', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a DeBERTa-v3 classifier on the page', () => {
  it('the facts and the model paragraph name the disentangled positions and their two terms', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /deberta-v2 · encoder-only/);
    assert.equal(facts.Positions, 'disentangled (a learned table of relative distances, kept apart from the tokens): ' +
      '16 rows, exact up to 4 tokens apart, log buckets to 64; content-to-position and position-to-content terms in every score');
    assert.equal(facts['Longest input'], 'no fixed limit');
    const paragraph = await setup.page.$eval('#model-explain', (e) => e.textContent);
    assert.match(paragraph, /disentangled attention/);
    assert.match(paragraph, /content-to-position.*position-to-content/);
    // transformers reads the same table row (distance i - j) for both terms: p2c gathers at -r_pos, then transposes.
    assert.match(paragraph, /the key’s content against that same distance, its table row projected as a query \(position-to-content\)/);
    assert.match(paragraph, /Distances up to 4 each have their own row; farther ones share rows on a logarithmic scale that reaches 64/);
    assert.match(paragraph, /The tokens themselves carry no position\./);
  });

  it('the positions view explains the scheme and draws the row of every distance', async () => {
    const text = await setup.page.$eval('#positions', (e) => e.textContent);
    assert.match(text, /Disentangled positions \(DeBERTa\)/);
    assert.match(text, /divided by √\(3·d\)/);
    assert.match(text, /This checkpoint uses both terms\./);
    assert.match(text, /Far distances share the table’s first and last rows/);
    assert.match(text, /every distance up to 4 has a row of its own.*the table has 16 rows/);
    const label = await setup.page.$eval('#positions .bucket-strip canvas', (c) => c.getAttribute('aria-label'));
    assert.equal(label, 'Buckets of distances -40 to 40');
    // By keyboard: distance 0 reads the middle row (S = 8); a key one token later, row 7; 40 later, log bucket 7
    // (ceil(ln(40/4) / ln(63/4) · 3) + 4), so row 1.
    await setup.page.focus('#positions .bucket-strip canvas');
    const readout = () => setup.page.$eval('#positions .bucket-strip + .readout, #positions .readout', (e) => e.textContent);
    assert.equal(await readout(), 'distance 0 → bucket 8');
    await setup.page.keyboard.press('ArrowRight');
    assert.equal(await readout(), 'distance 1 → bucket 7');
    await setup.page.keyboard.press('End');
    assert.equal(await readout(), 'distance 40 → bucket 1');
  });

  it('the Q/K/V step-through says why the scale is 1/√(3·d_k) and names the position terms', async () => {
    const text = await setup.page.$eval('#qkv-section', (e) => e.textContent);
    assert.match(text, /score = q·k × 0\.1443 \+ position terms \(the scale is 1\/√\(3·d_k\): this score adds 3 dot products of d_k = 16 numbers/);
    assert.match(text, /the position terms \(the table’s row for each key’s distance, projected: the query’s content against the key’s distance, plus the key’s content against that distance\) are scaled the same way/);
    assert.doesNotMatch(text, /scale_attn_by_inverse_layer_idx/, 'not GPT-2\'s reason');
    const headers = await setup.page.$$eval('#qkv-section .qkv-table th', (ths) => ths.map((t) => t.textContent));
    assert.ok(headers.includes('position terms'), headers.join(', '));
  });

  it('the verdict has the CLI\'s probabilities', async () => {
    await setup.page.waitForSelector('#predictions .class-verdict .candidate');
    const z = cliInspect(FIXTURE, TEXT).class_logits;
    const top = Math.max(...z);
    const e = z.map((v) => Math.exp(v - top));
    const want = e.map((v) => v / e.reduce((a, b) => a + b, 0));
    const labels = ['entailment', 'neutral', 'contradiction'];
    const rows = await setup.page.$$eval('#predictions .class-verdict .candidate', (lis) => lis.map((li) => [li.dataset.label, li.querySelector('.cand-prob').textContent]));
    assert.equal(rows.length, 3);
    for (const [label, shown] of rows) assert.equal(shown, `${(100 * want[labels.indexOf(label)]).toFixed(1)}%`, label);
    const text = await setup.page.$eval('#predictions', (el) => el.textContent);
    assert.match(text, /DebertaV2ForSequenceClassification/);
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the positions and the predictions', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#positions', '#predictions']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
