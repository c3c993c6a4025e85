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
    assert.match(facts.Positions, /plus a learned bias per head for each distance between two tokens \(the same in every layer\)$/);
    const about = await page.$eval('#model-explain', (e) => e.textContent);
    assert.match(about, /adds a learned position vector/);
    assert.match(about, /On top of that, every attention score gets a learned bias that depends on how far, and in which direction, the key is from the query/);
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts and the model paragraph', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#model-explain']);
    assert.ok(violations.passed > 2, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
