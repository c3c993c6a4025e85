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
import { openPageWithModel, closePage, cliInspect, axeViolations, teachingSettled, waitIdle, pickModel, openPage, newWatchedPage, ROOT, typingSettled } from './helpers.mjs';

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

describe('an NLI classifier reads a pair of texts on the page', () => {
  const setup = {};
  const [PREMISE, HYPOTHESIS] = ['A dog runs in the park.', 'An animal is outside.'];
  before(async () => {
    Object.assign(setup, await openPageWithModel('zz-nli', fixture('albert_nli'), PREMISE));
    const { page } = setup;
    assert.equal(await page.isVisible('#pair-input'), true, 'an encoder offers a second text');
    await page.fill('#pair-input', HYPOTHESIS);
    await typingSettled(page);
    await teachingSettled(page, () => page.click('#run-button'), 60000);
    await waitIdle(page);
  });
  after(() => closePage(setup));

  it('the tokens are [CLS] A [SEP] B [SEP], and the verdict is the CLI\'s for the pair', async () => {
    const { page } = setup;
    const want = cliInspect(fixture('albert_nli'), PREMISE, ['--pair', HYPOTHESIS]);
    await page.waitForSelector('#tokens .chip.second');
    const chips = await page.$$eval('#tokens .chip', (cs) => cs.map((c) => ({ second: c.classList.contains('second'), special: c.classList.contains('special') })));
    assert.equal(chips.length, want.ids.length, 'one chip per token of the pair');
    assert.deepEqual(chips.map((c) => c.second), want.second, 'the second text\'s tokens are marked');
    const probs = softmax(want.class_logits);
    const labels = ['entailment', 'neutral', 'contradiction'];
    await page.waitForSelector('#predictions .class-verdict .candidate');
    const rows = await page.$$eval('#predictions .class-verdict .candidate', (lis) => lis.map((li) => [li.dataset.label, li.querySelector('.cand-prob').textContent]));
    for (const [label, shown] of rows) assert.equal(shown, `${(100 * probs[labels.indexOf(label)]).toFixed(1)}%`, label);
    // Alone, the premise gives other scores: the pair is what was read.
    const alone = softmax(cliInspect(fixture('albert_nli'), PREMISE).class_logits);
    assert.ok(alone.some((p, i) => Math.abs(p - probs[i]) > 1e-3), 'the second text changes the verdict');
  });

  it('the page link carries the second text, and a new tab replays it to the same verdict', async () => {
    const { page, context } = setup;
    await page.waitForFunction(() => location.hash.includes('pair='), null, { timeout: 15000 });
    assert.ok(page.url().includes(`pair=${new URLSearchParams({ p: HYPOTHESIS }).toString().slice(2)}`), page.url());
    const verdict = (p) => p.$$eval('#predictions .class-verdict .candidate', (lis) => lis.map((li) => [li.dataset.label, li.querySelector('.cand-prob').textContent]));
    const shown = await verdict(page);
    const again = await context.newPage();
    try {
      await again.goto(page.url());
      await again.waitForFunction((want) => document.querySelector('#pair-input')?.value === want, HYPOTHESIS, { timeout: 60000 });
      await again.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, { timeout: 90000 });
      await again.waitForSelector('#predictions .class-verdict .candidate', { timeout: 90000 });
      await again.waitForFunction(() => document.body.dataset.teaching === 'idle', null, { timeout: 90000 });
      assert.deepEqual(await verdict(again), shown);
    } finally {
      await again.close();
    }
  });

  it('a decoder offers no second text', async () => {
    const { page } = setup;
    await pickModel(page, 'glassbox-gpt2');
    await page.waitForFunction(() => /decoder-only/.test(document.querySelector('#model-facts')?.textContent ?? ''));
    assert.equal(await page.isVisible('#pair-input'), false);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a question-answering model points at the answer in the passage', () => {
  const setup = {};
  const [QUESTION, PASSAGE] = ['Who worked with Charles Babbage?', 'Ada Lovelace worked with Charles Babbage in London on his engine.'];
  before(async () => {
    Object.assign(setup, await openPageWithModel('zz-qa', fixture('bert_qa'), QUESTION));
    const { page } = setup;
    await page.fill('#pair-input', PASSAGE);
    await typingSettled(page);
    await teachingSettled(page, () => page.click('#run-button'), 60000);
    await waitIdle(page);
  });
  after(() => closePage(setup));

  it('the answer and the runners-up are the CLI\'s spans, with their text from the passage', async () => {
    const { page } = setup;
    const want = cliInspect(fixture('bert_qa'), QUESTION, ['--pair', PASSAGE]).answers;
    await page.waitForSelector('#predictions .answer-spans .candidate');
    const spans = await page.$$eval('#predictions .answer-spans .candidate', (lis) => lis.map((li) => [Number(li.dataset.start), Number(li.dataset.end), li.querySelector('.cand-prob').textContent]));
    assert.deepEqual(spans, want.map((a) => [a.start, a.end, `${(100 * a.score).toFixed(1)}%`]));
    const text = await page.$eval('#predictions', (e) => e.textContent);
    assert.ok(text.includes(`Answer: “${want[0].text}”`), text);
    assert.match(text, /points at one in the passage/);
    const facts = await page.$eval('#model-facts', (e) => e.textContent);
    assert.match(facts, /extractive question answering: a start and an end score for every token/);
    // Each passage token with its start and end probability, the CLI's.
    const probs = cliInspect(fixture('bert_qa'), QUESTION, ['--pair', PASSAGE]).answer_probs;
    const chips = await page.$$eval('#predictions .span-chip', (cs) => cs.map((c) => [Number(c.dataset.index), Number(c.dataset.start), Number(c.dataset.end)]));
    assert.ok(chips.length > 5, 'the passage\'s tokens are listed');
    for (const [i, s, e] of chips) {
      assert.ok(Math.abs(s - probs.start[i]) < 1e-5 && Math.abs(e - probs.end[i]) < 1e-5, `token ${i}`);
    }
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the predictions section', async () => {
    const violations = await axeViolations(setup.page, ['#predictions']);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('widgets read a pair too', () => {
  const setup = {};
  const [QUESTION, PASSAGE] = ['Who worked with Charles Babbage?', 'Ada Lovelace worked with Charles Babbage in London on his engine.'];
  before(async () => Object.assign(setup, await openPage({ extraModels: { 'zz-qa': fixture('bert_qa') }, openPage: false })));
  after(() => closePage(setup));

  it('<glassbox-predictions pair="..."> shows the question-answering model\'s answer, the CLI\'s', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    try {
      await context.route('**/__qa-host.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>host</title><script type="module" src="/glassbox-widgets.js"></script></head>
<body><glassbox-predictions id="qa" model="zz-qa" text="${QUESTION}" pair="${PASSAGE}"></glassbox-predictions></body></html>` }));
      await page.goto(`${setup.server.url}__qa-host.html`);
      await page.waitForFunction(() => document.querySelector('#qa')?.dataset.status === 'ready', null, { timeout: 120000 });
      const want = cliInspect(fixture('bert_qa'), QUESTION, ['--pair', PASSAGE]).answers[0];
      const text = await page.$eval('#qa', (e) => e.shadowRoot.querySelector('.predictions').textContent);
      assert.ok(text.includes(`Answer: “${want.text}”`), text);
      assert.deepEqual(watch.errors, []);
    } finally {
      await context.close();
    }
  });
});

describe('a decoder classifier on the page', () => {
  const setup = {};
  const TEXT = 'Who wrote this?';
  before(async () => Object.assign(setup, await openPageWithModel('zz-llama-cls', fixture('llama_classifier'), TEXT)));
  after(() => closePage(setup));

  it('reads the last token, says why, and shows the CLI\'s probabilities', async () => {
    const { page } = setup;
    await page.waitForSelector('#predictions .class-verdict .candidate');
    const want = softmax(cliInspect(fixture('llama_classifier'), TEXT).class_logits);
    const labels = ['question', 'statement', 'command'];
    const rows = await page.$$eval('#predictions .class-verdict .candidate', (lis) => lis.map((li) => [li.dataset.label, li.querySelector('.cand-prob').textContent]));
    for (const [label, shown] of rows) assert.equal(shown, `${(100 * want[labels.indexOf(label)]).toFixed(1)}%`, label);
    assert.match(await page.$eval('#predictions', (e) => e.textContent), /only the last has seen the whole text/);
    assert.equal(await page.isVisible('#pair-input'), false, 'a decoder takes no second text');
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('which words decided a verdict', () => {
  const setup = {};
  const TEXT = 'The service was slow and the food was cold.';
  before(async () => Object.assign(setup, await openPageWithModel('zz-effects', fixture('bert_sentiment'), TEXT)));
  after(() => closePage(setup));

  it('the button hides each token in turn and shows the CLI\'s effects', async () => {
    const { page } = setup;
    await page.click('#predictions .token-effects button');
    await page.waitForSelector('#predictions .effect-chip', { timeout: 60000 });
    const want = cliInspect(fixture('bert_sentiment'), TEXT, ['--token-effects']).token_effects;
    const chips = await page.$$eval('#predictions .effect-chip', (cs) => cs.map((c) => [Number(c.dataset.index), Number(c.dataset.effect)]));
    assert.equal(chips.length, want.effects.length - 2, 'every token but [CLS] and [SEP]');
    for (const [i, d] of chips) assert.ok(Math.abs(d - want.effects[i]) < 1e-5, `token ${i}: page ${d}, CLI ${want.effects[i]}`);
    const label = ['NEGATIVE', 'POSITIVE'][want.label];
    assert.match(await page.$eval('#predictions', (e) => e.textContent), new RegExp(`how much “${label}”`));
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations with the effects shown', async () => {
    const violations = await axeViolations(setup.page, ['#predictions']);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a BART NLI classifier reads a pair on the page', () => {
  const setup = {};
  const [PREMISE, HYPOTHESIS] = ['A dog runs in the park.', 'An animal is outside.'];
  before(async () => {
    Object.assign(setup, await openPageWithModel('zz-bart-nli', fixture('bart_nli'), PREMISE));
    const { page } = setup;
    assert.equal(await page.isVisible('#pair-input'), true, 'an encoder-decoder classifier offers a second text');
    await page.fill('#pair-input', HYPOTHESIS);
    await typingSettled(page);
    await teachingSettled(page, () => page.click('#run-button'), 60000);
    await waitIdle(page);
  });
  after(() => closePage(setup));

  it('the verdict is the CLI\'s for the pair, read at the last </s>', async () => {
    const { page } = setup;
    const want = softmax(cliInspect(fixture('bart_nli'), PREMISE, ['--pair', HYPOTHESIS]).class_logits);
    const labels = ['contradiction', 'neutral', 'entailment'];
    await page.waitForSelector('#predictions .class-verdict .candidate');
    const rows = await page.$$eval('#predictions .class-verdict .candidate', (lis) => lis.map((li) => [li.dataset.label, li.querySelector('.cand-prob').textContent]));
    assert.equal(rows.length, 3);
    for (const [label, shown] of rows) assert.equal(shown, `${(100 * want[labels.indexOf(label)]).toFixed(1)}%`, label);
    // Why the last position: the decoder's causal reading of its copy, not a decoder-only model's blindness.
    const text = await page.$eval('#predictions', (e) => e.textContent);
    assert.match(text, /the decoder’s final vector at the closing <\/s>: every decoder position sees the whole encoded text through cross-attention/);
    assert.doesNotMatch(text, /in a decoder each token sees only the ones before it/);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('zero-shot classification with an NLI model on the page', () => {
  const setup = {};
  const TEXT = 'The match ended in a draw.';
  before(async () => Object.assign(setup, await openPageWithModel('zz-zero-shot', fixture('bart_nli'), TEXT)));
  after(() => closePage(setup));

  it('scores the candidate labels as the CLI does', async () => {
    const { page } = setup;
    await page.fill('#zero-shot-labels', 'sport, politics, cooking, weather');
    await page.click('#predictions .zero-shot button');
    await page.waitForSelector('#predictions .zero-shot-scores .candidate', { timeout: 60000 });
    const want = cliInspect(fixture('bart_nli'), TEXT, ['--zero-shot', 'sport,politics,cooking,weather']).zero_shot;
    const rows = await page.$$eval('#predictions .zero-shot-scores .candidate', (lis) => lis.map((li) => [li.dataset.label, li.querySelector('.cand-prob').textContent]));
    assert.equal(rows.length, 4);
    for (const [label, shown] of rows) assert.equal(shown, `${(100 * want.scores[want.labels.indexOf(label)]).toFixed(1)}%`, label);
    const best = want.labels[want.scores.indexOf(Math.max(...want.scores))];
    assert.equal(rows[0][0], best, 'best first');
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations with the zero-shot form', async () => {
    const violations = await axeViolations(setup.page, ['#predictions']);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
