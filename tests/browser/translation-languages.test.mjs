// A many-to-many translation model on the page: an NLLB-shaped M2M100 with the NLLB tokenizer
// (tests/fixtures/translation_models/nllb_tiny, scripts/fixtures/translation_models.py). The page offers its
// language codes: the source language changes the tokens (the tokenizer puts its code before the text), the
// target language is forced as the first token the decoder writes, and the ids are transformers' (its translation
// pipeline passes the target's code as forced_bos_token_id). axe-core finds no serious or critical violation.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/translation-languages.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openPageWithModel, closePage, axeViolations, pressGenerate, pressRun, waitIdle, ROOT } from './helpers.mjs';

const NAME = 'zz-nllb-tiny';
const FIXTURE = path.join(ROOT, 'tests/fixtures/translation_models/nllb_tiny');
const REFERENCE = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'reference.json'), 'utf8'));
const TEXT = 'Hello world';
const setup = {};

const chipIds = (page) => page.$$eval('#tokens .chip .id', (els) => els.map((e) => Number(e.textContent)));
const reference = (src, tgt) => REFERENCE.cases.find((c) => c.text === TEXT && c.src_lang === src && c.tgt_lang === tgt);

before(async () => {
  Object.assign(setup, await openPageWithModel(NAME, FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a translation model\'s languages on the page', () => {
  it('offers the tokenizer\'s language codes, starting from its own source language', async () => {
    const { page } = setup;
    assert.equal(await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent)), '', 'no load error');
    assert.equal(await page.$eval('#language-row', (e) => e.hidden), false, 'the language row is shown');
    const codes = await page.$$eval('#src-lang option', (os) => os.map((o) => o.value));
    assert.ok(codes.includes('eng_Latn') && codes.includes('fra_Latn') && codes.length > 100, `${codes.length} codes`);
    assert.equal(await page.$eval('#src-lang', (e) => e.value), 'eng_Latn');
    assert.equal(await page.$eval('#tgt-lang', (e) => e.value), '', 'the target starts as the model\'s own choice');
    assert.deepEqual(await chipIds(page), reference('eng_Latn', null).input_ids);
  });

  it('a target language is forced first, as transformers does', async () => {
    const { page } = setup;
    await page.fill('#max-tokens', '8');
    await page.fill('#temperature', '0');
    await page.selectOption('#tgt-lang', 'deu_Latn');
    assert.deepEqual((await pressGenerate(page)).ids, reference('eng_Latn', 'deu_Latn').generated_ids);
    await page.selectOption('#tgt-lang', '');
    assert.deepEqual((await pressGenerate(page)).ids, reference('eng_Latn', null).generated_ids, 'no target: the model\'s own first token');
  });

  it('a source language changes the tokens and what is translated', async () => {
    const { page } = setup;
    await page.selectOption('#src-lang', 'fra_Latn');
    await waitIdle(page);
    await page.waitForFunction((id) => Number(document.querySelector('#tokens .chip .id')?.textContent) === id, reference('fra_Latn', null).input_ids[0]);
    assert.deepEqual(await chipIds(page), reference('fra_Latn', null).input_ids);
    await page.selectOption('#tgt-lang', 'fra_Latn');
    assert.deepEqual((await pressGenerate(page)).ids, reference('fra_Latn', 'fra_Latn').generated_ids);
    assert.equal(await pressRun(page), '');
  });

  it('the positions note says M2M100 has no fixed length limit (its sinusoids grow with the input)', async () => {
    const { page } = setup;
    await page.waitForSelector('#positions .position-image');
    const text = await page.$eval('#positions', (e) => e.textContent);
    assert.match(text, /Sinusoidal positions/);
    assert.match(text, /no fixed limit/);
    assert.doesNotMatch(text, /limit is|set by its config/);
  });

  it('a link keeps both languages and replays them', async () => {
    const { page } = setup;
    await page.waitForFunction(() => /src-lang=fra_Latn/.test(location.hash) && /tgt-lang=fra_Latn/.test(location.hash));
    const hash = await page.evaluate(() => location.hash);
    assert.doesNotMatch(hash.replace(/src-lang=fra_Latn|tgt-lang=fra_Latn/g, ''), /-lang=/, 'no other language field');
    await page.reload();
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, { timeout: 60000 });
    await waitIdle(page);
    assert.equal(await page.$eval('#src-lang', (e) => e.value), 'fra_Latn');
    assert.equal(await page.$eval('#tgt-lang', (e) => e.value), 'fra_Latn');
    assert.deepEqual(await chipIds(page), reference('fra_Latn', null).input_ids, 'the replayed source language cuts the text');
    // The tokenizer's own source language is left out of a link.
    await page.selectOption('#src-lang', 'eng_Latn');
    await waitIdle(page);
    await page.waitForFunction(() => !/src-lang=/.test(location.hash));
  });

  it('the JS API: srcLang at load, setSourceLanguage later, and both kept when the Stop button replaces the worker', async () => {
    const { page } = setup;
    const ids = await page.evaluate(async (name) => {
      const { Glassbox } = await import('./glassbox.js');
      const gb = await Glassbox.create();
      const cut = async (m) => Array.from((await m.tokenize('Hello world')).ids);
      try {
        const atLoad = await gb.loadModel({ baseUrl: `models/${name}/` }, { srcLang: 'fra_Latn' });
        const later = await gb.loadModel({ baseUrl: `models/${name}/` });
        const card = await later.setSourceLanguage('fra_Latn');
        const before = [await cut(atLoad), await cut(later)];
        await gb.interrupt();
        const after = [await cut(atLoad), await cut(later)];
        const refused = await later.setSourceLanguage('xx_Nowhere').then(() => '', (e) => e.message);
        return { before, after, srcLang: card.srcLang, info: later.info.srcLang, refused, kept: await cut(later) };
      } finally {
        gb.terminate();
      }
    }, NAME);
    const want = reference('fra_Latn', null).input_ids;
    assert.deepEqual(ids.before, [want, want]);
    assert.deepEqual(ids.after, [want, want], 'a replaced worker loads both models again with their source language');
    assert.equal(ids.srcLang, 'fra_Latn');
    assert.equal(ids.info, 'fra_Latn', 'model.info follows');
    assert.match(ids.refused, /"xx_Nowhere" is not one of this tokenizer's 202 language codes/);
    assert.deepEqual(ids.kept, want, 'a refused code changes nothing');
  });

  it('<glassbox-generation tgt-lang> forces the target too, and its link and embed code keep it', async () => {
    const { page } = setup;
    const got = await page.evaluate(async (name) => {
      const { widgetEmbedCode } = await import('./url-state.js');
      await import('./glassbox-widgets.js');
      const el = document.createElement('glassbox-generation');
      for (const [k, v] of Object.entries({ model: name, text: 'Hello world', 'tgt-lang': 'deu_Latn', 'max-tokens': '8', temperature: '0' })) el.setAttribute(k, v);
      el.setAttribute('autorun', '');
      document.body.prepend(el);
      el.scrollIntoView(); // widgets load when they come into view
      const t0 = Date.now();
      while (!el.generated && Date.now() - t0 < 60000) await new Promise((r) => setTimeout(r, 100));
      const ids = el.generated ? [...el.generated.ids] : null;
      const state = el.linkState();
      el.remove();
      return { ids, tgtLang: state.tgtLang, embed: widgetEmbedCode(location.href, state), status: el.dataset.status };
    }, NAME);
    assert.deepEqual(got.ids, reference('eng_Latn', 'deu_Latn').generated_ids, `widget status ${got.status}`);
    assert.equal(got.tgtLang, 'deu_Latn');
    assert.match(got.embed, /<glassbox-generation[^>]* tgt-lang="deu_Latn"/);
  });

  it('axe-core finds no serious or critical violation', async () => {
    const result = await axeViolations(setup.page);
    assert.deepEqual(result.serious, []);
  });
});
