// A Marian folder as transformers saves it (source.spm, target.spm, vocab.json, no tokenizer.json: every
// opus-mt checkpoint), offered by the server like any model folder and opened on the page in headless
// Chromium: the tokens are the CLI's (which match MarianTokenizer's), the tokenizer steps show the
// SentencePiece cut, greedy generation gives transformers' ids, and axe-core finds no serious/critical
// WCAG 2.1 AA violation. Fixture: tests/fixtures/marian_files/model (scripts/fixtures/marian_files.py).
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/marian-files.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, pressGenerate, pressRun, modelKind, ROOT } from './helpers.mjs';

const NAME = 'zz-opus-mt-tiny';
const FIXTURE = path.join(ROOT, 'tests/fixtures/marian_files/model');
const REFERENCE = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'reference.json'), 'utf8'));
const TEXT = REFERENCE.greedy[1].text; // "Unknown 😀 here": an unknown character among known pieces
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel(NAME, FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a Marian folder without tokenizer.json on the page', () => {
  it('loads, and its tokens are the CLI\'s and transformers\'', async () => {
    const { page } = setup;
    assert.equal(await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent)), '', 'no load error');
    assert.equal(await modelKind(page), 'encoder-decoder');
    const chipIds = await page.$$eval('#tokens .chip .id', (els) => els.map((e) => Number(e.textContent)));
    assert.deepEqual(chipIds, cliInspect(FIXTURE, TEXT).ids);
    assert.deepEqual(chipIds, REFERENCE.greedy[1].input_ids);
    const facts = await page.$eval('#model-facts', (e) => e.textContent);
    assert.match(facts, /Unigram/, 'the tokenizer fact names the SentencePiece unigram model');
  });

  it('the tokenizer steps show the SentencePiece cut of a stretch of text', async () => {
    const { page } = setup;
    await page.waitForSelector('#tokenizer-steps .word-choice');
    await page.click('#tokenizer-steps .word-choice[data-index="0"]');
    assert.equal(await page.$eval('#tokenizer-steps .word-steps', (e) => e.dataset.algorithm), 'Unigram');
    const steps = await page.$eval('#tokenizer-steps .word-steps', (e) => e.textContent);
    assert.match(steps, /\(unknown\)/, 'the emoji no piece covers is marked unknown');
    assert.match(steps, /total -?\d/);
    // A language code, and a piece source.spm has but vocab.json lacks (the fixture leaves "▁The" out).
    await page.fill('#text-input', '>>fra<< The cat');
    assert.equal(await pressRun(page), '');
    await page.waitForSelector('#tokenizer-steps .word-choice');
    await page.click('#tokenizer-steps .word-choice[data-index="0"]');
    await page.waitForFunction(() => /language code/.test(document.querySelector('#tokenizer-steps .word-steps')?.textContent ?? ''));
    const noted = await page.$eval('#tokenizer-steps .word-steps', (e) => e.textContent);
    assert.match(noted, />>fra<< \(a language code: one token of its own, not cut\)/);
    assert.match(noted, /The score -?[\d.]+ \(in source\.spm, not in vocab\.json: read as <unk>\)/);
    await page.fill('#text-input', TEXT);
    assert.equal(await pressRun(page), '');
  });

  it('greedy generation gives transformers\' ids', async () => {
    const { page } = setup;
    await page.fill('#max-tokens', String(REFERENCE.max_new_tokens));
    await page.fill('#temperature', '0');
    const shown = await pressGenerate(page);
    assert.deepEqual(shown.ids, REFERENCE.greedy[1].generated.slice(1));
  });

  it('axe-core finds no serious or critical violation', async () => {
    const result = await axeViolations(setup.page);
    assert.deepEqual(result.serious, []);
  });
});
