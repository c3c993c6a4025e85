// An ELECTRA generator (the electra fixture: BERT's layers under 32-wide embeddings, widened to the model's 64 by
// embeddings_project; its masked-LM head narrows back for the tied table) opened on the page as a folder the server
// offers, in headless Chromium: the facts give the narrow embeddings, the masked-word predictions are the CLI's, the
// positions view draws the 32-wide table, and axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/electra.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, axeViolations, modelFacts, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/electra');
const TEXT = 'The cat sat on the [MASK].';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-electra', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('an ELECTRA generator on the page', () => {
  it('the facts give the narrow embeddings and the positions view draws their table', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /electra · encoder-only/);
    assert.equal(facts['Embedding width'], '32, widened to 64 by one matrix before the first layer (embedding_size)');
    assert.match(facts.Positions, /^learned/);
    await page.waitForFunction(() => /the 32 dimensions of a position vector/.test(document.querySelector('#positions')?.textContent ?? ''));
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts and the positions view', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#positions']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
