// An OPT decoder shaped like opt-350m (the opt_350m fixture: norms after each residual add, no final norm, token
// embeddings 32 wide under a 64-wide model, widened by project_in and narrowed back by project_out) opened on the
// page as a folder the server offers, in headless Chromium: the facts and the layer view describe the post-norm
// block and the narrow embeddings, the attention map is the CLI's (which equals transformers'), the position vectors
// the page shows are the table's rows from 2 on, and axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/opt.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, modelFacts, showAttention, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/opt_350m');
const TEXT = 'The dog chased the cat across the garden';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-opt-350m', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('an OPT model (opt-350m\'s shape) on the page', () => {
  it('the facts and the layer view describe the post-norm block and the narrow embeddings', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /opt · decoder-only/);
    assert.equal(facts['Embedding width'], '32, widened to 64 by one matrix before the first layer and narrowed back by another after the last, for the tied output head (word_embed_proj_dim)');
    assert.match(facts.Normalisation, /^post-norm, LayerNorm/);
    assert.match(facts['Feed-forward (d_ff)'], /ReLU|relu/);
    const steps = await page.$$eval('#block-view .block-step code', (els) => els.map((e) => e.textContent));
    assert.ok(steps.some((s) => /LayerNorm.*\(x \+ SelfAttention\(x\)\)/.test(s)), `a post-norm step: ${steps.join(' | ')}`);
    // Only the token rows are narrow: opt-350m's position rows are 64 wide, added after project_in, and the tied head
    // reads the final vectors after project_out.
    const paragraph = await page.$eval('#model-explain', (e) => e.textContent);
    assert.match(paragraph, /Its token vectors are only 32 numbers wide; one matrix widens them to 64 before the position vectors \(64 wide\) are added/);
    assert.doesNotMatch(paragraph, /token and position vectors are only/);
    assert.match(paragraph, /dot product of the final vector \(first narrowed back to 32 numbers, as above\) with that token’s embedding/);
  });

  it('the attention map is the CLI\'s', async () => {
    const want = cliInspect(FIXTURE, TEXT).attentions.decoder;
    const map = await showAttention(setup.page, 'decoder', 2, 1);
    const T = map.nRows;
    map.values.forEach((v, i) => {
      const [q, k] = [Math.floor(i / T), i % T];
      assert.ok(Math.abs(v - want[2][1][q][k]) < 1e-4, `query ${q}, key ${k}: page ${v}, CLI ${want[2][1][q][k]}`);
    });
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the layer view and the map', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#block-view', '#heatmap']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
