// An ELECTRA discriminator (the electra_discriminator fixture: ElectraForPreTraining, whose head gives each token a
// "was this token replaced?" logit) opened on the page as a folder the server offers, in headless Chromium: the
// predictions section shows every token with the probability the CLI's logits give (which equal transformers'), and
// axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/electra-discriminator.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, ROOT } from './helpers.mjs';

const FIXTURE = path.join(ROOT, 'tests/fixtures/models/electra_discriminator');
const TEXT = 'The cat sat on the carpet today.';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel('zz-electra-disc', FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('an ELECTRA discriminator on the page', () => {
  it('every token comes with the probability that it was replaced, the CLI\'s', async () => {
    const { page } = setup;
    await page.waitForSelector('#predictions .replaced-chip');
    assert.match(await page.$eval('#predictions', (e) => e.textContent), /This is an ELECTRA discriminator/);
    const shown = await page.$$eval('#predictions .replaced-chip', (chips) => chips.map((c) => Number(c.dataset.prob)));
    const want = cliInspect(FIXTURE, TEXT).replaced_logits.map((z) => 1 / (1 + Math.exp(-z)));
    assert.equal(shown.length, want.length, 'one chip per token');
    shown.forEach((p, i) => assert.ok(Math.abs(p - want[i]) < 1e-4, `token ${i}: page ${p}, CLI ${want[i]}`));
    const texts = await page.$$eval('#predictions .replaced-prob', (els) => els.map((e) => e.textContent.trim()));
    assert.equal(texts[1], `${(100 * want[1]).toFixed(0)}%`);
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the predictions section', async () => {
    const violations = await axeViolations(setup.page, ['#predictions']);
    assert.ok(violations.passed > 2, `axe checked the section (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
