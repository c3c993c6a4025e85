// An ALBERT encoder (the albert fixture: 32-wide embeddings widened to 64, six layers applied by one shared set of
// two, a SentencePiece tokenizer that transformers 5's AlbertTokenizer rebuilds) opened on the page as a folder the
// server offers, in headless Chromium: the facts and the model paragraph say the layers share their weights and the
// embeddings are narrow, the positions view shows the 32-wide table, fill-mask answers with the CLI's argmax, and
// axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/albert.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/albert');
const TEXT = 'The cat sat on the [MASK] near the door.';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-albert', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('an ALBERT model on the page', () => {
  it('the facts say the layers share their weights and the embeddings are narrow', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /albert · encoder-only/);
    assert.equal(facts.Layers, '6, sharing 2 sets of weights (each run 3 times)');
    assert.equal(facts['Embedding width'], '32, widened to 64 by one matrix before the first layer (embedding_size)');
    assert.match(facts.Normalisation, /^post-norm, LayerNorm/);
    const paragraph = await setup.page.$eval('#model-explain', (e) => e.textContent);
    assert.match(paragraph, /Its layers share their weights: 2 sets of weights are run 3 times each/);
    assert.match(paragraph, /Its token and position vectors are only 32 numbers wide; one matrix widens them to 64/);
  });

  it('the positions view shows the 32-wide position table', async () => {
    const text = await setup.page.$eval('#positions', (e) => e.textContent);
    assert.match(text, /Columns →: the 32 dimensions of a position vector/);
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

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the positions and the predictions', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#positions', '#predictions']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
