// Fine-tuned classifiers opened on the page as folders the server offers, in headless Chromium: a sentiment
// model (bert_sentiment: BertForSequenceClassification, softmax over NEGATIVE / POSITIVE), a multi-label topic
// model (roberta_topics: a sigmoid per label) and a named-entity tagger (bert_ner: a label per token). The
// predictions section shows the verdict with the probabilities the CLI's scores give (which equal transformers'
// pipeline's, tests/rust/classifiers.rs), the facts name the head,
// and axe-core finds no serious/critical WCAG 2.1 AA violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/classifier.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, ROOT } from './helpers.mjs';

const fixture = (name) => path.join(ROOT, 'tests/fixtures/models', name);

function softmax(z) {
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

describe('a sentiment classifier on the page', () => {
  const setup = {};
  const TEXT = 'I loved this film.';
  before(async () => Object.assign(setup, await openPageWithModel('zz-sentiment', fixture('bert_sentiment'), TEXT)));
  after(() => closePage(setup));

  it('shows the verdict and every label with the CLI\'s probabilities', async () => {
    const { page } = setup;
    await page.waitForSelector('#predictions .class-verdict .candidate');
    const want = softmax(cliInspect(fixture('bert_sentiment'), TEXT).class_logits);
    const labels = ['NEGATIVE', 'POSITIVE'];
    const rows = await page.$$eval('#predictions .class-verdict .candidate', (lis) => lis.map((li) => [li.dataset.label, li.querySelector('.cand-prob').textContent]));
    assert.equal(rows.length, 2);
    for (const [label, shown] of rows) {
      assert.equal(shown, `${(100 * want[labels.indexOf(label)]).toFixed(1)}%`, label);
    }
    const top = want[1] > want[0] ? 'POSITIVE' : 'NEGATIVE';
    assert.equal(rows[0][0], top, 'likeliest label first');
    const text = await page.$eval('#predictions', (e) => e.textContent);
    assert.match(text, new RegExp(`Verdict: ${top}`));
    assert.match(text, /fine-tuned to sort whole texts into 2 labels \(BertForSequenceClassification\)/);
    assert.match(text, /through the pooler/);
    assert.match(text, /add up to 100%/);
  });

  it('the model facts name the head and its labels', async () => {
    const facts = await setup.page.evaluate(() => document.body.textContent);
    assert.match(facts, /Classification head.*one of 2 labels for the whole text \(NEGATIVE, POSITIVE\); a softmax over the labels; BertForSequenceClassification/s);
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the predictions section', async () => {
    const violations = await axeViolations(setup.page, ['#predictions']);
    assert.ok(violations.passed > 2, `axe checked the section (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a multi-label classifier on the page', () => {
  const setup = {};
  const TEXT = 'The match ended in a draw.';
  before(async () => Object.assign(setup, await openPageWithModel('zz-topics', fixture('roberta_topics'), TEXT)));
  after(() => closePage(setup));

  it('each label has its own sigmoid probability', async () => {
    const { page } = setup;
    await page.waitForSelector('#predictions .class-verdict .candidate');
    const z = cliInspect(fixture('roberta_topics'), TEXT).class_logits;
    const labels = ['sport', 'politics', 'science', 'arts'];
    const rows = await page.$$eval('#predictions .class-verdict .candidate', (lis) => lis.map((li) => [li.dataset.label, li.querySelector('.cand-prob').textContent]));
    assert.equal(rows.length, 4);
    for (const [label, shown] of rows) {
      const want = 1 / (1 + Math.exp(-z[labels.indexOf(label)]));
      assert.equal(shown, `${(100 * want).toFixed(1)}%`, label);
    }
    assert.match(await page.$eval('#predictions', (e) => e.textContent), /several may apply at once/);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a named-entity tagger on the page', () => {
  const setup = {};
  const TEXT = 'Ada Lovelace worked with Charles Babbage in London.';
  before(async () => Object.assign(setup, await openPageWithModel('zz-ner', fixture('bert_ner'), TEXT)));
  after(() => closePage(setup));

  it('every token shows its likeliest label, as the CLI\'s scores give it', async () => {
    const { page } = setup;
    await page.waitForSelector('#predictions .tag-chip');
    const labels = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC'];
    const scores = cliInspect(fixture('bert_ner'), TEXT).class_logits;
    const want = scores.map((row) => labels[row.indexOf(Math.max(...row))]);
    const shown = await page.$$eval('#predictions .tag-chip', (chips) => chips.map((c) => c.dataset.label));
    assert.deepEqual(shown, want);
    const tagged = await page.$$eval('#predictions .tag-chip.tagged', (chips) => chips.length);
    assert.equal(tagged, want.filter((l) => l !== 'O').length, 'tokens outside every name stay plain');
    const text = await page.$eval('#predictions', (e) => e.textContent);
    assert.match(text, /BIO scheme/);
    assert.match(text, /here PER a person, ORG an organisation, LOC a place/);
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the predictions section', async () => {
    const violations = await axeViolations(setup.page, ['#predictions']);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
