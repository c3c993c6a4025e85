// The page as a learner, a teacher and a tutorial author first meet it, each fix held by a test:
// - each bundled model opens on a sentence it can read: the translator learned a small made-up English, and the
//   page's example ("The cat sat on the mat because it was warm.") was mostly outside it, cut into letters and
//   translated as nonsense; it now gets a sentence of its own grammar (only while the box holds an example, never
//   what the reader typed or a link brought) and a line under the text saying what it knows; its parameter count
//   says that it holds the fixed sinusoid tables (transformers counts them);
// - hostile direction marks (an unclosed right-to-left override) cannot reorder the generated tokens or a label;
// - the header links to the tutorial (the article's neuron, RNN and pretraining parts live there);
// - at 390 px the model view's labels and the Q/K/V table's weights are whole on screen;
// - a text longer than the model reads is said under the text before Run fails;
// - a widget's "Open in Glassbox" from a translation's cross-attention opens the page on the same map;
// - a decoder's Q/K/V step-through opens on a query that sees every key.
//
//   node tests/browser/run.mjs --no-build   (or: node --test tests/browser/first-look.test.mjs)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, closePage, newWatchedPage, pickModel, waitLoaded, pressGenerate, pressRun, axeViolations, modelFacts, typingSettled } from './helpers.mjs';

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
    // Its parameter count is transformers', fixed sinusoid tables included, and the fact says so (a learned
    // table's model, the other, says nothing of the kind).
    assert.match((await modelFacts(page)).Parameters, /sinusoid position tables included, which are computed, not learned/);
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
    assert.doesNotMatch((await modelFacts(page)).Parameters, /sinusoid/);

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

describe('hostile direction marks', () => {
  it('an override left open in the prompt does not reorder the generated tokens, and tokens show such marks', async () => {
    const { page, models } = setup;
    const decoder = models.models.find((m) => m.kind === 'decoder-only');
    await pickModel(page, decoder.name);
    // U+202E (right-to-left override) with no U+202C to close it: everything after it on the line is drawn reversed.
    await page.fill('#text-input', 'Hello \u202eworld abc');
    await page.fill('#max-tokens', '4');
    const done = await pressGenerate(page);
    assert.ok(done.ids.length >= 2, `generated ${done.ids.length} tokens`);
    const boxes = await page.$$eval('#generated .prompt, #generated .gen-token', (els) => els.map((e) => e.getBoundingClientRect())
      .map((r) => ({ left: r.left, right: r.right, top: r.top })));
    const [prompt, ...tokens] = boxes;
    // Left to right, as generated (a wrapped line starts lower): the prompt first, then each token after the one before.
    let before = prompt;
    for (const [i, t] of tokens.entries()) {
      assert.ok(t.top > before.top + 1 || t.left >= before.right - 1, `token ${i} is drawn after what precedes it: ${JSON.stringify({ before, t })}`);
      before = t;
    }
    // A token's label writes an invisible direction mark as its code point (a vocabulary may hold one whole).
    const labels = await page.evaluate(async () => {
      const { tokenLabel } = await import('./views/token-text.js');
      return [tokenLabel('\u202eabc', 'plain'), tokenLabel('a\u200fb\u2067c\ufeff', 'plain'), tokenLabel('👩\u200d👧', 'plain'),
        // A piece that is only a space would read as a full stop if drawn "·": SentencePiece's lone "▁",
        // GPT-2's "ĠĠ"; a space before a word keeps its "·".
        tokenLabel('▁', 'plain'), tokenLabel('ĠĠ', 'byte-level'), tokenLabel('▁the', 'plain'), tokenLabel('Ġthe', 'byte-level')];
    });
    assert.deepEqual(labels, ['⟨U+202E⟩abc', 'a⟨U+200F⟩b⟨U+2067⟩c⟨U+FEFF⟩', '👩\u200d👧', '␣', '␣␣', '·the', '·the']);
    assert.deepEqual(setup.watch.errors, []);
  });
});

describe('the way to the tutorial', () => {
  it('the page links to it from its header, by keyboard, in both colour schemes', async () => {
    const { page } = setup;
    const link = page.locator('.page-header a[href="tutorial.html"]');
    assert.equal(await link.count(), 1, 'the header links to the tutorial');
    assert.ok(await link.isVisible());
    // The RNN, LSTM and pretraining parts of the article live there: the line says so.
    assert.match(await page.$eval('#tutorial-link', (e) => e.textContent), /RNNs and LSTMs[\s\S]*pretrained/);
    const res = await page.evaluate(async () => (await fetch('tutorial.html')).status);
    assert.equal(res, 200);
    // Reached by Tab at the top of the page: next after the skip link.
    await page.focus('.skip-link');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), 'tutorial.html');
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      const { serious } = await axeViolations(page, ['.page-header']);
      assert.deepEqual(serious, [], `${scheme}: no serious axe violation in the header`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });
});

describe('the page at 390 px', () => {
  it('every thumbnail of the model view shows its whole label', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const encoder = setup.models.models.find((m) => m.kind === 'encoder-only');
    await page.goto(`${setup.server.url}#model=${encoder.name}&text=The+cat+sat+on+the+mat+because+it+was+warm.`);
    await waitLoaded(page, encoder.name);
    await page.locator('#model-view').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => document.querySelector('#model-view').dataset.status === 'ready', null, { timeout: 60000 });
    const labels = await page.$eval('#model-view', (e) => [...e.shadowRoot.querySelectorAll('.mv-thumb > span')]
      .map((s) => ({ text: s.firstChild.textContent, clipped: s.scrollWidth > s.clientWidth + 0.5 || s.scrollHeight > s.clientHeight + 0.5 })));
    assert.ok(labels.length >= 4, `${labels.length} thumbnails`);
    assert.deepEqual(labels.filter((l) => l.clipped), [], 'no label is cut off');
    // Each label is either "none" / "—" or a pattern and a score with two decimals, whole.
    for (const { text } of labels) assert.match(text, /^(none|—|(prev|next|first|same|induct|diag) \d\.\d\d)$/);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'the page does not scroll sideways');

    // The Q/K/V table shows every key's weight without scrolling sideways (the weight column was off screen).
    await page.locator('#qkv').scrollIntoViewIfNeeded();
    await page.waitForSelector('#qkv .qkv-table .qkv-weight');
    const fit = await page.evaluate(() => ({ box: document.querySelector('#qkv .qkv-scroll').getBoundingClientRect().right,
      weights: [...document.querySelectorAll('#qkv .qkv-weight')].map((e) => e.getBoundingClientRect().right) }));
    assert.ok(fit.weights.every((r) => r <= fit.box), `weights end at ${Math.max(...fit.weights)} px, the box at ${fit.box} px`);
    // A narrowed strip still reads by position: its right end is the key's last dimension.
    const strip = page.locator('#qkv .qkv-table tbody tr').first().locator('canvas.vector-strip').first();
    const { width, height } = await strip.boundingBox();
    const n = Number((await strip.getAttribute('aria-label')).match(/: (\d+) numbers/)[1]);
    await strip.hover({ position: { x: width - 2, y: height / 2 } });
    assert.match(await page.$eval('#qkv .qkv-readout', (e) => e.textContent), new RegExp(`^k of “.*”\\[${n - 1}\\] = `));
    await strip.hover({ position: { x: 1, y: height / 2 } });
    assert.match(await page.$eval('#qkv .qkv-readout', (e) => e.textContent), /\[0\] = /);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('the tokenizer\'s steps', () => {
  it('a word of one token reads "id", of several "ids"', async () => {
    const { page } = setup;
    const encoder = setup.models.models.find((m) => m.kind === 'encoder-only');
    await pickModel(page, encoder.name);
    await page.fill('#text-input', 'the');
    await typingSettled(page);
    await page.click('#run-button');
    const result = () => page.$$eval('#teaching p.muted', (ps) => ps.map((p) => p.textContent).find((t) => t.startsWith('Result:')) ?? '');
    await page.locator('#teaching').scrollIntoViewIfNeeded();
    await page.waitForFunction(() => [...document.querySelectorAll('#teaching p.muted')].some((p) => p.textContent.startsWith('Result:')), null, { timeout: 60000 });
    assert.match(await result(), /\(id \d+\)$/, 'one token, one id');
    // The residual stream's token picker is as wide as its options, not the whole 1200 px section.
    await page.waitForSelector('#block-position');
    const width = await page.$eval('#block-position', (e) => e.getBoundingClientRect().width);
    assert.ok(width < 400, `the token picker is ${width} px wide`);
  });
});

describe('a text longer than the model reads', () => {
  it('is said under the text as soon as it is cut, with how much to shorten; Run names the limit; the text stays', async () => {
    const { page } = setup;
    const decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
    await pickModel(page, decoder.name);
    const longest = Number((await modelFacts(page))['Longest input']?.match(/^(\d+) tokens$/)?.[1]);
    assert.ok(longest > 0, 'a GPT-2 has a longest input (its learned position table)');
    const text = 'word '.repeat(longest * 2);
    await page.fill('#text-input', text);
    await page.waitForFunction(() => /more than the/.test(document.querySelector('#token-count').textContent), null, { timeout: 30000 });
    const count = await page.$eval('#token-count', (e) => e.textContent);
    const n = Number(count.match(/^(\d+) tokens/)[1]);
    assert.equal(count, `${n} tokens: more than the ${longest} this model reads at once. Shorten the text by ${n - longest} tokens to run it.`);
    assert.match(await pressRun(page), new RegExp(`${longest}`), 'Run names the same limit');
    assert.equal(await page.inputValue('#text-input'), text, 'the text is kept');
    await page.fill('#text-input', 'word word');
    await page.waitForFunction(() => !/more than/.test(document.querySelector('#token-count').textContent), null, { timeout: 30000 });
    assert.equal(await page.$eval('#token-count', (e) => e.classList.contains('over')), false);
    assert.equal(await pressRun(page), '', 'a short text runs again');
  });
});

describe('"Open in Glassbox" from a translation\'s cross-attention', () => {
  it('opens the page on the same map: the page generates the same greedy output first', async () => {
    const translator = setup.models.models.find((m) => m.kind === 'encoder-decoder');
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    const mapOf = (root) => page.evaluate(async (sel) => {
      const { heatmapData } = await import('./views/heatmap.js');
      const host = document.querySelector('glassbox-attention');
      const v = heatmapData(sel ? document.querySelector(sel) : host.shadowRoot.querySelector('.heatmap'));
      return v && { rows: v.rowLabels, cols: v.colLabels, values: Array.from(v.values, (x) => Math.round(x * 1e4) / 1e4) };
    }, root);
    await page.goto(`${setup.server.url}embed.html#model=${translator.name}&text=the+small+dog+sees+the+red+car&view=attention&kind=cross&layer=2`);
    await page.waitForFunction(() => document.querySelector('glassbox-attention')?.dataset.status === 'ready', null, { timeout: 60000 });
    const widget = await mapOf(null);
    assert.ok(widget.rows.length > 1, 'the widget shows the cross-attention of its whole translation');
    const href = await page.$eval('glassbox-attention', (e) => [...e.shadowRoot.querySelectorAll('a')].find((a) => a.href.includes('index.html#'))?.href);
    assert.ok(href, 'the widget links to the page');
    const hash = new URLSearchParams(new URL(href).hash.slice(1));
    assert.equal(hash.get('generate'), '1');
    assert.equal(hash.get('temperature'), '0');
    assert.equal(hash.get('beams'), '1');
    await page.goto(href);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
    await page.waitForFunction(() => document.body.dataset.status === 'idle' && document.querySelector('#generated .gen-status')?.textContent
      && document.querySelector('#heatmap').dataset.kind === 'cross' && Number(document.querySelector('#heatmap').dataset.rows) > 1, null, { timeout: 60000 });
    const shown = await page.$eval('#heatmap', (e) => ({ kind: e.dataset.kind, layer: e.dataset.layer, head: e.dataset.head }));
    assert.deepEqual(shown, { kind: 'cross', layer: '1', head: 'mean' });
    const onPage = await mapOf('#heatmap');
    assert.deepEqual(onPage.rows, widget.rows, 'the same decoder tokens');
    assert.deepEqual(onPage.cols, widget.cols);
    assert.deepEqual(onPage.values, widget.values, 'the same weights');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('the Q/K/V step-through of a decoder', () => {
  it('opens on the last token, which sees every other, not the first, whose only key is itself', async () => {
    const { page } = setup;
    const decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
    await pickModel(page, decoder.name);
    await page.fill('#text-input', 'The cat sat on the mat.');
    assert.equal(await pressRun(page), '');
    await page.locator('#qkv').scrollIntoViewIfNeeded();
    await page.waitForSelector('#qkv .qkv-table tbody tr');
    const n = await page.$$eval('#qkv .qkv-query', (b) => b.length);
    await page.waitForFunction((last) => document.querySelector('#qkv').dataset.query === String(last), n - 1, { timeout: 30000 });
    const masked = await page.$$eval('#qkv .qkv-table tbody tr', (rows) => rows.filter((r) => r.textContent.includes('masked')).length);
    assert.equal(masked, 0, 'the last token masks no key');
    // The reader's choice holds across runs.
    await page.click('#qkv .qkv-query[data-index="1"]');
    await page.waitForFunction(() => document.querySelector('#qkv').dataset.query === '1');
    assert.equal(await pressRun(page), '');
    await page.waitForSelector('#qkv .qkv-table tbody tr');
    assert.equal(await page.$eval('#qkv', (e) => e.dataset.query), '1');
  });
});

