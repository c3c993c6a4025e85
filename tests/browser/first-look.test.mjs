// What a learner meets first: each bundled model opens on a sentence it can read, and says what it knows.
// The bundled translator learned a small made-up English; the page's example sentence ("The cat sat on the mat
// because it was warm.") is mostly outside it, cut into single letters and translated as nonsense. So picking the
// translator puts one of its own sentences in the box (only while the box holds an example, never what the reader
// typed or a link brought) and a line under the text says what it was trained on.
//
//   node tests/browser/run.mjs --no-build   (or: node --test tests/browser/first-look.test.mjs)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, closePage, newWatchedPage, pickModel, waitLoaded } from './helpers.mjs';

const TRANSLATOR = 'glassbox-translator';
const setup = {};

before(async () => { Object.assign(setup, await openPage()); });
after(() => closePage(setup));

const hint = (page) => page.$eval('#text-hint', (e) => (e.hidden ? '' : e.textContent));

describe('the text a bundled model opens on', () => {
  it('the translator gets a sentence of its own grammar instead of the example, and says what it knows', async (t) => {
    const { page, models } = setup;
    const translator = models.models.find((m) => m.name === TRANSLATOR);
    const other = models.models.find((m) => m.bundled && m.name !== TRANSLATOR);
    if (!translator || !other) return t.skip('the bundled models are not here');
    const example = await page.$eval('#text-input', (e) => e.defaultValue);
    await pickModel(page, other.name);
    assert.equal(await page.inputValue('#text-input'), example);
    assert.equal(await hint(page), '', 'no note for a model that reads everyday English');

    await pickModel(page, TRANSLATOR);
    const text = await page.inputValue('#text-input');
    assert.notEqual(text, example);
    assert.match(await hint(page), /made-up English/);
    // Every word is one piece of its vocabulary: no word cut into letters.
    await page.waitForFunction(() => document.querySelectorAll('#tokens .chip').length > 0 && !document.querySelector('#tokens').classList.contains('stale'));
    const words = text.toLowerCase().replace(/\.$/, '').split(' ');
    const shown = await page.$$eval('#tokens .chip', (els) => els.length);
    assert.equal(shown, words.length + 2, `one token per word, the full stop and </s>: ${shown} chips for "${text}"`);
    // The link carries the sentence, so it can be shared as it is.
    await page.waitForFunction((s) => new URLSearchParams(location.hash.slice(1)).get('text') === s, text, { timeout: 5000 });

    // Back to another model: the page's own example returns, the note goes.
    await pickModel(page, other.name);
    assert.equal(await page.inputValue('#text-input'), example);
    assert.equal(await hint(page), '');

    // What the reader typed is never replaced.
    await page.fill('#text-input', 'My own words, kept.');
    await pickModel(page, TRANSLATOR);
    assert.equal(await page.inputValue('#text-input'), 'My own words, kept.');
    assert.match(await hint(page), /made-up English/, 'the note still says why the translation may be nonsense');
    assert.deepEqual(setup.watch.errors, []);
  });

  it('a link\'s own text wins over the translator\'s sentence', async (t) => {
    if (!setup.models.models.some((m) => m.name === TRANSLATOR)) return t.skip('the bundled models are not here');
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    await page.goto(`${setup.server.url}#model=${TRANSLATOR}&text=the+dog+sleeps.`);
    await waitLoaded(page, TRANSLATOR);
    await page.waitForFunction(() => document.querySelector('#text-input').value === 'the dog sleeps.', null, { timeout: 30000 });
    assert.match(await hint(page), /made-up English/);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});
