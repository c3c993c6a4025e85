// A tutorial author's mistakes in widget attributes, as the author would see them on their own page: a number
// attribute that is not a number, a layer or head the model lacks, a kind it does not have. The widget still draws
// (what it shows is unchanged) and a note names the attribute and what is shown instead; it used to replace such a
// value silently. Error messages keep a file's or a model's name as written (config.json, not "Config.json").
//
//   GLASSBOX_BIN=$PWD/target/release/glassbox node --test tests/browser/attribute-notes.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, closePage, newWatchedPage, axeViolations } from './helpers.mjs';

const WAIT = { timeout: 90000 };
const setup = {};

before(async () => {
  Object.assign(setup, await openPage({ openPage: false }));
  setup.decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
  setup.encoder = setup.models.models.find((m) => m.kind === 'encoder-only');
  assert.ok(setup.decoder && setup.encoder, 'a decoder-only and an encoder-only model are needed');
});

after(() => closePage(setup));

describe('widget attributes an author got wrong', () => {
  it('are named in a note, with what is shown instead; good ones give no note', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    const dec = setup.decoder.name;
    const body = `
<glassbox-attention id="fine" eager model="${dec}" text="the cat sat" layer="1" head="2"></glassbox-attention>
<glassbox-attention id="mean" eager model="${dec}" text="the cat sat" layer="1" head="mean"></glassbox-attention>
<glassbox-attention id="word" eager model="${dec}" text="the cat sat" layer="two"></glassbox-attention>
<glassbox-attention id="deep" eager model="${dec}" text="the cat sat" layer="99" head="99"></glassbox-attention>
<glassbox-attention id="cross" eager model="${dec}" text="the cat sat" kind="cross"></glassbox-attention>
<glassbox-attention id="bogus" eager model="${dec}" text="the cat sat" kind="self"></glassbox-attention>
<glassbox-generation id="comma" eager model="${dec}" text="Once" temperature="0,8" max-tokens="2"></glassbox-generation>
<glassbox-generation id="range" eager model="${dec}" text="Once" top-p="7" top-k="2.5" seed="-3" max-tokens="500"></glassbox-generation>
<glassbox-attention id="missing" eager model="models/no-such-folder/" text="the cat sat"></glassbox-attention>
<glassbox-generation id="encoder" eager model="${setup.encoder.name}" text="Once"></glassbox-generation>
<glassbox-tokens id="tok" eager model="${dec}" text="hi" tokenizer="gpt3"></glassbox-tokens>
<glassbox-rollout id="roll" eager model="${dec}" text="the cat sat" output="99"></glassbox-rollout>
<glassbox-qkv id="qkv" eager model="${dec}" text="the cat" layer="9" query="9"></glassbox-qkv>
<glassbox-model-view id="mv" eager model="${dec}" text="the cat sat" layer="one"></glassbox-model-view>`;
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>attribute notes</title>
<script type="module" src="/glassbox-widgets.js"></script></head><body><main>${body}</main></body></html>`;
    await context.route('**/__attribute-notes.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
    await page.goto(`${setup.server.url}__attribute-notes.html`);
    await page.waitForFunction(() => [...document.querySelectorAll('main > *')]
      .every((e) => e.dataset.status === 'ready' || e.dataset.status === 'error'), null, WAIT);
    const read = () => page.$$eval('main > *', (els) => Object.fromEntries(els.map((e) => [e.id, {
      status: e.dataset.status,
      note: e.shadowRoot.querySelector('.gb-note:not([hidden])')?.textContent ?? '',
      error: e.shadowRoot.querySelector('.error:not([hidden])')?.textContent ?? '',
      shown: e.shown ?? null,
    }])));
    const w = await read();

    assert.equal(w.fine.note, '', 'valid attributes: no note');
    assert.equal(w.mean.note, '', 'head="mean" is a word the attribute takes');
    assert.deepEqual([w.fine.shown.layer, w.fine.shown.head], [0, 1]);

    assert.equal(w.word.note, 'layer="two" is not a number, so its default is used.');
    assert.equal(w.word.shown.layer, 0);

    const layers = w.deep.shown.layer + 1;
    const heads = w.deep.shown.head + 1;
    assert.equal(w.deep.note, `layer="99": layers count from 1 and the decoder attention has ${layers}, so layer ${layers} is shown. `
      + `head="99": heads count from 1 and each layer has ${heads}, so head ${heads} is shown.`);

    assert.equal(w.cross.note, 'kind="cross": this model has no cross attention (it has decoder), so decoder is shown.');
    assert.equal(w.bogus.note, 'kind="self" is not a kind (encoder, decoder or cross); this model has decoder, so decoder is shown.');
    assert.equal(w.comma.note, 'temperature="0,8" is not a number, so its default is used (write decimals with a point: 0.8).');
    assert.equal(w.comma.status, 'ready');
    // Numbers out of a setting's range: each named with the value used instead (top-p was once clamped silently).
    assert.equal(w.range.note, 'Top-k 2.5 is not a whole number, so 2 is used. Top-p 7 is past 1, so 1 is used. '
      + 'Seed -3 is below 0, so 42 is used. Tokens 500 is past 200, so 200 is used.');
    assert.deepEqual(await page.$eval('#range', (e) => { const s = e.sampling(); return [s.topP, s.topK, s.seed, s.maxNewTokens]; }), [1, 2, 42, 200]);

    const T = w.roll.shown.output + 1;
    assert.equal(w.roll.note, `output="99": output tokens count from 1 and this text has ${T}, so token ${T} is shown.`);
    assert.match(w.qkv.note, /^layer="9": layers count from 1 and there are (\d+), so layer \1 is shown\. query="9": query tokens count from 1 and this text has (\d+), so token \2 is shown\.$/);
    // The views keep their own explanation beside the note (both were once called ui.note).
    assert.equal(w.mv.note, 'layer="one" is not a number, so its default is used.');
    assert.ok(await page.$eval('#mv', (e) => e.shadowRoot.querySelector('.mv-note').textContent.length > 20), 'the model view still explains itself');
    // A real tokenizer the site does not have.
    assert.match(w.tok.note, /^tokenizer="gpt3" is not one of the real tokenizers here \(.*gpt2.*\), so none is chosen\.$/);

    // A file's and a model's name stay as the reader must type them at the start of a message.
    assert.match(w.missing.error, /^config\.json: the server answered 404/);
    assert.match(w.encoder.error, new RegExp(`^${setup.encoder.name} is an encoder-only model`));

    // The reader fixes the input: the note follows what the inputs say now.
    await page.locator('#range').locator('input[type="number"]').nth(2).fill('0.9');
    assert.equal((await read()).range.note, 'Top-k 2.5 is not a whole number, so 2 is used. Seed -3 is below 0, so 42 is used. '
      + 'Tokens 500 is past 200, so 200 is used.');

    // The author fixes the attribute: the note goes.
    await page.$eval('#word', (e) => e.setAttribute('layer', '2'));
    await page.waitForFunction(() => document.querySelector('#word').shown?.layer === 1, null, WAIT);
    assert.equal((await read()).word.note, '');
    // The reader's own choice in the menu is always one the model has: no note about the author's attribute then.
    await page.locator('#deep').locator('select').first().selectOption('0');
    await page.waitForFunction(() => document.querySelector('#deep').shown?.layer === 0, null, WAIT);
    assert.equal((await read()).deep.note, `head="99": heads count from 1 and each layer has ${heads}, so head ${heads} is shown.`);

    const axe = await axeViolations(page);
    assert.deepEqual(axe.serious, [], 'axe: no serious or critical violations');
    await context.close();
  });
});

describe('a page link an author got wrong', () => {
  it('says which attention settings it could not show, and still shows the model', async () => {
    const dec = setup.decoder.name;
    const cases = [
      [`model=${dec}&text=the+cat+sat&view=attention&layer=99&head=99`, /^The link asks for layer 99 \(this map has \d+\), head 99 \(each layer has \d+\); the attention map shows what the page picked instead\.$/],
      [`model=${dec}&text=the+cat+sat&view=attention&kind=cross&layer=abc`, /^The link asks for cross attention \(this model has none\), layer=abc \(not a layer number\); /],
      [`model=${dec}&text=the+cat+sat&view=attention&kind=self&head=first`, /^The link asks for kind=self \(not encoder, decoder or cross\), head=first \(not a head number or mean\); /],
      [`model=${dec}&text=the+cat+sat&view=attention&layer=1&head=mean`, /^$/],
      // Settings in a form no control takes: named, and the model's own values kept (not the link's defaults).
      [`model=${dec}&text=the+cat+sat&view=attention&temperature=hot&beams=0.5`, /^The link's temperature=hot \(not a number of 0 or more\), beams=0\.5 \(not a whole number of 1 or more\) could not be used; the page keeps its own values\.$/],
      [`model=${dec}&text=the+cat+sat&view=graph&layer=99`, /^The link asks for layer 99 \(this map has \d+\); the attention map shows what the page picked instead\. The link's view=graph \(not tokens, attention or generate\) could not be used; the page keeps its own value\.$/],
      // A tokenizer the server does not have was dropped without a word.
      [`model=${dec}&text=the+cat+sat&view=tokens&tokenizer=klingon`, /^The link asks for the klingon tokenizer \(this server has none by that name\), which the page cannot show\.$/],
      // Values in a form nothing takes were dropped without a word too.
      [`model=${dec}&text=the+cat+sat&view=tokens&tokenizer=..%2Fsecret&src-lang=fr%20FR&tgt-lang=%3Cb%3E&rollout-kind=self&rollout-output=-2`,
        /^The link's rollout-kind=self \(not encoder, decoder or cross\), rollout-output=-2 \(not a token number, or 0 for the last\), src-lang=fr FR \(not a language code such as eng_Latn or fr_XX\), tgt-lang=<b> \(not a language code such as eng_Latn or fr_XX\), tokenizer=\.\.\/secret \(not a tokenizer's folder name\) could not be used; the page keeps its own values\.$/],
    ];
    for (const [hash, want] of cases) {
      const { context, page, watch } = await newWatchedPage(setup.browser.browser);
      await page.goto(`${setup.server.url}#${hash}`);
      await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
      const note = await page.$eval('#share-status', (e) => e.textContent);
      assert.match(note, want, hash);
      assert.equal(await page.$eval('#heatmap', (e) => e.hidden), false, `${hash}: the map is still drawn`);
      assert.deepEqual(watch.errors, []);
      await context.close();
    }
    // The next link replayed in the same page speaks for itself: the last link's note goes (it stayed).
    const { context, page } = await newWatchedPage(setup.browser.browser);
    await page.goto(`${setup.server.url}#model=${dec}&text=the+cat+sat&view=attention&layer=99`);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    assert.match(await page.$eval('#share-status', (e) => e.textContent), /layer 99/);
    await page.evaluate((d) => {
      delete document.documentElement.dataset.stateApplied;
      location.hash = `#model=${d}&text=the+dog+ran&view=attention&layer=1&head=mean`;
    }, dec);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    assert.equal(await page.$eval('#share-status', (e) => e.textContent), '');
    await context.close();
  });
});

describe('links that follow each other quickly', () => {
  it('replay whole, the last one winning, without mixing their settings', async () => {
    const [enc, dec] = [setup.encoder.name, setup.decoder.name];
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await page.goto(`${setup.server.url}#model=${dec}&text=the+cat+sat&view=attention&layer=1&head=mean`);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    // A second link replaces the first 20 ms after it, while the first is still loading its model.
    await page.evaluate(([e, d]) => {
      delete document.documentElement.dataset.stateApplied;
      location.hash = `#model=${e}&text=A+b&view=attention&layer=1&head=1`;
      setTimeout(() => { location.hash = `#model=${d}&text=Only+this&view=attention&layer=2&head=2`; }, 20);
    }, [enc, dec]);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('text') === 'Only this', null, WAIT);
    const shown = await page.evaluate(() => ({ model: document.querySelector('#model-select').value, text: document.querySelector('#text-input').value, hash: new URLSearchParams(location.hash.slice(1)) .get('model') }));
    assert.equal(shown.text, 'Only this', 'the last link\'s text, not the first one\'s');
    assert.ok(shown.model.includes(dec) || shown.hash === dec, `the last link's model: ${JSON.stringify(shown)}`);
    assert.doesNotMatch(await page.$eval('#share-status', (e) => e.textContent), /kind=|not encoder/);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('a link that arrives while the page is still starting', () => {
  it('waits for the page and is replayed alone, not beside the first', async () => {
    const [enc, dec] = [setup.encoder.name, setup.decoder.name];
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    // The model list comes 3 s late: the second link arrives before the first one's replay could start (the two
    // then ran side by side, and the note read the first link's settings against the second model).
    await context.route('**/models/index.json', async (route) => {
      await new Promise((r) => setTimeout(r, 3000));
      await route.continue();
    });
    await page.goto(`${setup.server.url}#model=${dec}&text=first+link&view=attention&kind=decoder&layer=2&head=2`);
    await page.waitForTimeout(500);
    await page.evaluate((e) => { location.hash = `#model=${e}&text=second+link&view=attention&layer=1&head=1`; }, enc);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    const shown = await page.evaluate(() => ({
      text: document.querySelector('#text-input').value,
      model: document.querySelector('#model-select').selectedOptions[0]?.textContent ?? '',
      hash: new URLSearchParams(location.hash.slice(1)).get('text'),
    }));
    assert.equal(shown.text, 'second link');
    assert.equal(shown.hash, 'second link', 'the address is the second link\'s');
    assert.ok(shown.model.includes(enc), `the second link's model: ${shown.model}`);
    assert.equal(await page.$eval('#share-status', (e) => e.textContent), '', 'no note mixing the two links');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('an embed link an author got wrong', () => {
  it('hands the widget the values as written, so its note names them', async () => {
    const dec = setup.decoder.name;
    const cases = [
      ['view=generate&top-p=7&temperature=hot', 'temperature="hot" is not a number, so its default is used (write decimals with a point: 0.8). Top-p 7 is past 1, so 1 is used.'],
      ['view=attention&layer=abc', 'layer="abc" is not a number, so its default is used.'],
      ['view=attention&layer=2&head=1', ''],
    ];
    for (const [hash, want] of cases) {
      const { context, page, watch } = await newWatchedPage(setup.browser.browser);
      await page.goto(`${setup.server.url}embed.html#model=${dec}&text=Once+upon&${hash}`);
      await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('glassbox-generation, glassbox-attention')?.dataset.status), null, WAIT);
      const note = await page.evaluate(() => {
        const w = document.querySelector('glassbox-generation, glassbox-attention');
        return w.shadowRoot.querySelector('.gb-note:not([hidden])')?.textContent ?? '';
      });
      assert.equal(note, want, hash);
      assert.deepEqual(watch.errors, []);
      await context.close();
    }
  });
});

describe('the Generate panel', () => {
  it('says top-p 0 is the problem when sampling, with the range to use', async () => {
    const { context, page } = await newWatchedPage(setup.browser.browser);
    await page.goto(`${setup.server.url}#model=${setup.decoder.name}&text=Once`);
    await page.waitForFunction(() => document.documentElement.dataset.stateApplied === 'true', null, WAIT);
    await page.fill('#temperature', '1');
    await page.fill('#top-p', '0');
    await page.click('#generate-button');
    await page.waitForFunction(() => !document.querySelector('#generate-error').hidden, null, { timeout: 10000 });
    assert.equal(await page.$eval('#generate-error', (e) => e.textContent),
      'Top-p 0 would keep no token to sample from: use a top-p above 0 and at most 1 (1 switches it off).');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'top-p', 'the field to fix has the focus');
    await context.close();
  });
});
