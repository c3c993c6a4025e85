// An MPNet encoder (the mpnet fixture: all-mpnet-base-v2's network in small) opened on the page as a folder the
// server offers, in headless Chromium. MPNet adds learned position vectors like BERT and, on top, a learned bias per
// head and distance bucket to every layer's scores (one table for all layers): the facts and the model paragraph
// must say both, not just "learned". Its fill-mask runs on the page, and axe-core finds no serious/critical
// WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/mpnet.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, axeViolations, modelFacts, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/mpnet');
const TEXT = 'The cat sat on the mat';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-mpnet', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('an MPNet model on the page', () => {
  it('the facts and the model paragraph give both the learned positions and the distance bias', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /mpnet · encoder-only/);
    assert.match(facts.Positions, /plus a learned bias per head for each distance bucket between two tokens \(one bucket per distance nearby, wider log-spaced buckets further out; the same in every layer\)$/);
    const about = await page.$eval('#model-explain', (e) => e.textContent);
    assert.match(about, /adds a learned position vector/);
    assert.match(about, /On top of that, every attention score gets a learned bias that depends on how far, and in which direction, the key is from the query/);
    // Its masked-LM head transforms the vector before the tied table, and adds a bias (as BERT's does).
    assert.match(about, /dot product of the final vector \(first sent through a dense layer, its activation and a LayerNorm of its own\) with that token’s embedding, plus a bias per token\./);
  });

  it('the positions view shows the learned table and, below it, the distance bias per head and bucket', async () => {
    const { page } = setup;
    const text = await page.$eval('#positions', (e) => e.textContent);
    assert.match(text, /Columns →: the 64 dimensions of a position vector/);
    assert.match(text, /This model also adds a learned bias to every attention score that depends only on where the key sits relative to the query/);
    assert.match(text, /Distance \(key − query\) → bucket \(32 buckets, half per direction\)/);
    assert.equal(await page.$$eval('#positions canvas', (els) => els.length) >= 4, true, 'the table, its curves, the buckets and the bias');
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts, the model paragraph and the positions view', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#model-explain', '#positions']);
    assert.ok(violations.passed > 2, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
