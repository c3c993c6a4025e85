// The real tokenizers beside the bundled model's (issue 14.4), in headless Chromium: the text section's choice
// "Cut the same text with" shows GPT-2's real byte-level BPE and BERT uncased's real WordPiece cut of the same
// text next to the model's, with both counts and why they differ; by keyboard; axe-clean; the teaching section
// lists them beside the bundled tokenizers; and the <glassbox-tokens tokenizer="gpt2"> widget does the same on a
// host page.
//
// models/tokenizers/ is written by scripts/setup.sh (scripts/make-real-tokenizers.mjs); a missing folder fails.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  openPage, closePage, pickModel, axeViolations, newWatchedPage, foreignRequests, realTokenizerColumn as column, cutWithRealTokenizer, ROOT, typingSettled,
} from './helpers.mjs';

const FOX = 'The quick brown fox jumps over the lazy dog';
const FOX_WORDS = FOX.split(' ');
const REAL = path.join(ROOT, 'models', 'tokenizers');
const WAIT = { timeout: 120000 };
const setup = {};

before(async () => {
  for (const name of ['gpt2', 'bert-base-uncased']) {
    assert.ok(fs.existsSync(path.join(REAL, name, 'tokenizer.json')),
      `models/tokenizers/${name} is missing. Run scripts/setup.sh --minilm (it runs scripts/make-real-tokenizers.mjs)`);
  }
  Object.assign(setup, await openPage({ extraModels: { tokenizers: REAL } }));
  setup.decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
  assert.ok(setup.decoder, 'a decoder-only model is needed');
  await pickModel(setup.page, setup.decoder.name);
});

after(() => closePage(setup));

describe('the text section: the same text through a real tokenizer', () => {
  it('shows GPT-2\'s real cut of the fox sentence as whole words beside the bundled model\'s', async () => {
    const { page } = setup;
    await page.fill('#text-input', FOX);
    // The choice lists both real tokenizers with their vocabulary sizes.
    const labels = await page.$$eval('#real-tokenizers .tokenizer-choice label', (ls) => ls.map((l) => l.textContent));
    assert.deepEqual(labels, ['this model’s tokenizer only', 'GPT-2’s (50,257)', 'BERT uncased’s (30,522)']);
    // Both columns show this text (the model's chips follow the typing after a short delay).
    const gpt2 = await cutWithRealTokenizer(page, 'gpt2', FOX, FOX_WORDS.length);
    // Each word one token; every word after the first carries its leading space (drawn as ·).
    assert.deepEqual(gpt2.tokens, FOX_WORDS.map((w, i) => (i === 0 ? w : `Ġ${w}`)));
    assert.deepEqual(gpt2.labels, FOX_WORDS.map((w, i) => (i === 0 ? w : `·${w}`)));
    assert.equal(gpt2.total, `${FOX_WORDS.length} tokens`);
    // The bundled model's own cut of the same text, beside it, with its count (the section's own count agrees).
    const own = await column(page, 'own');
    const count = await page.$eval('#token-count', (e) => e.textContent);
    assert.equal(own.total, count);
    assert.equal(own.tokens.length, Number(count.split(' ')[0]));
    assert.ok(own.tokens.length > FOX_WORDS.length,
      `the bundled model cuts the sentence into more pieces than GPT-2 (${own.tokens.join(' ')})`);
    const why = await page.$eval('#real-tokenizers .why-counts', (e) => e.textContent);
    assert.match(why, /GPT-2’s vocabulary has 50,257 entries/);
    assert.match(why, new RegExp(`GPT-2 needs ${FOX_WORDS.length} tokens where this model needs ${own.tokens.length} tokens`));
    // The bundled GPT-2's template adds <|endoftext|>: counted apart, so the vocabulary is not blamed for it.
    const ownSpecial = own.tokens.filter((t) => t === '<|endoftext|>').length;
    assert.equal(ownSpecial, 1, `the bundled GPT-2 starts with <|endoftext|>: ${own.tokens.join(' ')}`);
    assert.match(why, new RegExp(`Of these, 0 and 1 are special tokens the tokenizers add; the text itself takes ${FOX_WORDS.length} tokens with GPT-2 and ${own.tokens.length - 1} with this model`));
    // The choice is part of the page's link (url-state.js).
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('tokenizer') === 'gpt2', null, WAIT);
    // Credited, with the licence file beside the tokenizer.
    const credit = await page.$eval('#real-tokenizers .tokenizer-credit', (e) => ({ text: e.textContent, href: e.querySelector('a')?.href }));
    assert.match(credit.text, /OpenAI’s GPT-2 \(Modified MIT License\)/);
    const license = await page.evaluate((href) => fetch(href).then(async (r) => ({ status: r.status, text: await r.text() })), credit.href);
    assert.equal(license.status, 200);
    assert.match(license.text, /Software Copyright \(c\) 2019 OpenAI/);
    assert.deepEqual(foreignRequests(setup.watch.requests), []);
  });

  it('switches to BERT uncased by keyboard: lowercased whole words between [CLS] and [SEP]', async () => {
    const { page } = setup;
    await page.focus('#real-tokenizers input[value="gpt2"]');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.$eval('#real-tokenizers input:checked', (i) => i.value), 'bert-base-uncased');
    await page.waitForSelector('#real-tokenizers .tokenizer-column[data-name="bert-base-uncased"]', WAIT);
    const bert = await column(page, 'bert-base-uncased');
    assert.deepEqual(bert.tokens, ['[CLS]', ...FOX_WORDS.map((w) => w.toLowerCase()), '[SEP]']);
    assert.equal(bert.total, `${FOX_WORDS.length + 2} tokens`);
    const why = await page.$eval('#real-tokenizers .why-counts', (e) => e.textContent);
    assert.match(why, /lowercases/);
    assert.match(why, /\[CLS\] and \[SEP\]/);
    // Focus stayed on the choice (it is not rebuilt under the reader's keyboard).
    assert.equal(await page.evaluate(() => document.activeElement?.value), 'bert-base-uncased');
    // A new text is cut again by the chosen tokenizer.
    await page.fill('#text-input', 'Café NAÏVE');
    await page.waitForFunction(() => [...document.querySelectorAll('#real-tokenizers .tokenizer-column[data-name="bert-base-uncased"] .chip .piece')]
      .map((p) => p.textContent).join(' ') === '[CLS] cafe naive [SEP]', null, WAIT);
  });

  it('is axe-clean and fits 390 px, then hides again with "this model’s tokenizer only"', async () => {
    const { page } = setup;
    const axe = await axeViolations(page, ['#text-section']);
    assert.deepEqual(axe.serious, []);
    await page.setViewportSize({ width: 390, height: 800 });
    const overflow = await page.$eval('#real-tokenizers', (e) => e.scrollWidth - e.clientWidth);
    assert.ok(overflow <= 1, `the comparison overflows by ${overflow}px at 390 px`);
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.check('#real-tokenizers input[value=""]');
    await page.waitForFunction(() => !document.querySelector('#real-tokenizers .tokenizer-column'), null, WAIT);
    assert.deepEqual(setup.watch.errors, []);
  });
});

describe('a link naming a real tokenizer', () => {
  it('opens with that tokenizer chosen, and its embed code carries the attribute', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const hash = new URLSearchParams({ model: setup.decoder.name, text: FOX, view: 'tokens', tokenizer: 'bert-base-uncased' });
    await page.goto(`${setup.server.url}#${hash}`);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    await page.waitForFunction(() => document.querySelectorAll('#real-tokenizers .tokenizer-column[data-name="bert-base-uncased"] .chip').length > 0,
      null, WAIT);
    assert.equal(await page.$eval('#real-tokenizers input:checked', (i) => i.value), 'bert-base-uncased');
    const { widgetEmbedCode, decodeState } = await page.evaluate(async () => {
      const m = await import('./url-state.js');
      return { widgetEmbedCode: m.widgetEmbedCode(location.href, m.decodeState(location.hash)), decodeState: m.decodeState(location.hash) };
    });
    assert.equal(decodeState.tokenizer, 'bert-base-uncased');
    assert.match(widgetEmbedCode, /<glassbox-tokens [^>]*tokenizer="bert-base-uncased"/);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('the teaching section "How the tokenizer cut your text"', () => {
  it('lists the real tokenizers beside the bundled ones after a run', async () => {
    const { page } = setup;
    await page.fill('#text-input', FOX);
    await typingSettled(page);
    await page.click('#run-button');
    await page.$eval('#tokenizer-section', (e) => e.scrollIntoView());
    const column = (name) => `#tokenizer-steps .tokenizer-column[data-name^="${name} (real"]`;
    await page.waitForFunction((sel) => document.querySelector(sel)?.querySelectorAll('.chip').length > 0,
      column('BERT uncased'), WAIT);
    const chips = (name) => page.$$eval(`${column(name)} .chip`, (cs) => cs.map((c) => JSON.parse(c.title.split(' · ')[0])));
    assert.deepEqual(await chips('GPT-2'), FOX_WORDS.map((w, i) => (i === 0 ? w : `Ġ${w}`)));
    assert.deepEqual(await chips('BERT uncased'), ['[CLS]', ...FOX_WORDS.map((w) => w.toLowerCase()), '[SEP]']);
    assert.match(await page.$eval(column('GPT-2'), (e) => e.textContent), /GPT-2 \(real\) BPE, 9 tokens from a vocabulary of 50,257/);
    assert.match(await page.$eval(column('BERT uncased'), (e) => e.textContent), /BERT uncased \(real\) WordPiece, 11 tokens from a vocabulary of 30,522/);
    assert.deepEqual(setup.watch.errors, []);
  });
});

describe('<glassbox-tokens tokenizer="gpt2">', () => {
  it('shows the real GPT-2 cut beside the model\'s inside the widget, and follows the attribute', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await context.route('**/__real-tokenizers-host.html', (route) => route.fulfill({
      contentType: 'text/html; charset=utf-8',
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>host</title>
<script type="module" src="/glassbox-widgets.js"></script></head><body>
<glassbox-tokens id="w" model="${setup.decoder.name}" text="${FOX}" tokenizer="gpt2" eager></glassbox-tokens>
</body></html>`,
    }));
    await page.goto(`${setup.server.url}__real-tokenizers-host.html`);
    const chipsOf = (name) => page.$eval('#w', (w, n) => [...w.shadowRoot.querySelectorAll(`.tokenizer-column[data-name="${n}"] .chip`)]
      .map((c) => JSON.parse(c.title.split(' · ')[0])), name);
    await page.waitForFunction(() => document.querySelector('#w').shadowRoot?.querySelector('.tokenizer-column[data-name="gpt2"]'), null, WAIT);
    assert.deepEqual(await chipsOf('gpt2'), FOX_WORDS.map((w, i) => (i === 0 ? w : `Ġ${w}`)));
    assert.ok((await chipsOf('own')).length > 0, 'the model\'s own chips are beside them');
    await page.$eval('#w', (w) => w.setAttribute('tokenizer', 'bert-base-uncased'));
    await page.waitForFunction(() => document.querySelector('#w').shadowRoot.querySelector('.tokenizer-column[data-name="bert-base-uncased"]'), null, WAIT);
    assert.deepEqual(await chipsOf('bert-base-uncased'), ['[CLS]', ...FOX_WORDS.map((w) => w.toLowerCase()), '[SEP]']);
    // The reader's choice goes back into the attribute, and into the widget's "Open in Glassbox" link.
    await page.$eval('#w', (w) => w.shadowRoot.querySelector('input[value="gpt2"]').click());
    await page.waitForFunction(() => document.querySelector('#w').getAttribute('tokenizer') === 'gpt2', null, WAIT);
    await page.waitForFunction(() => /[#&]tokenizer=gpt2(&|$)/.test(new URL([...document.querySelector('#w').shadowRoot
      .querySelectorAll('a')].find((a) => a.href.includes('#'))?.href ?? 'http://x/').hash), null, WAIT);
    assert.deepEqual((await axeViolations(page, ['#w'])).serious, []);
    assert.deepEqual(foreignRequests(watch.requests), []);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
