// The page, used the way a person uses it, in headless Chromium: pick each model, type, run, read the
// attention back and compare it with the native CLI, generate, break things, shrink the window, use the keyboard.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  openPage, closePage,
  newWatchedPage, foreignRequests, cliInspect,
  maxAbsDiff, waitIdle, pickModel, canvasInk, CLI, ROOT,
  pressRun, pressGenerate, generationShown, readHeatmap, showAttention, modelFacts, modelKind, bundledIndex, waitLoaded, mark, waitThrough, eosIds,
  waitPainted, engineHasRelaxedSimd,
} from './helpers.mjs';
import { repeatedPhrase } from '../../www/views/generated.js';

/** Generate greedily, 20 tokens at most, on the page with `text` and check it writes what the CLI's run `cli` did. */
async function greedyAsTheCli(page, model, text, cli) {
  await pickModel(page, model.name);
  await page.fill('#text-input', text);
  await page.fill('#temperature', '0');
  await page.fill('#max-tokens', '20');
  const done = await pressGenerate(page);
  assert.deepEqual(done.ids, cli.generated_ids, 'the page writes what the CLI does');
  return done;
}

const TOLERANCE = 1e-4;
const SENTENCES = {
  'encoder-only': 'The dog chased the ball across the park.',
  'decoder-only': 'Once upon a time, the cat',
  'encoder-decoder': 'the small dog sees the red car',
};
const GENERATE_TOKENS = 6;

const setup = {};

before(async () => {
  Object.assign(setup, await openPage({ artifacts: true }));
  console.log(`# models: ${setup.models.models.map((m) => `${m.name} (${m.kind}, ${m.bundled ? 'bundled' : 'fixture'})`).join(', ')}`);
});

after(() => closePage(setup));

async function shot(page, name) {
  await page.screenshot({ path: path.join(setup.artifacts, `${name}.png`), fullPage: true });
}

async function typeAndRun(page, text) {
  await page.fill('#text-input', text);
  const err = await pressRun(page);
  assert.equal(err, '', `running "${text}" showed an error`);
}

function cliMatrix(maps, layer, head) {
  if (head !== 'mean') return maps[layer][head].flat();
  const heads = maps[layer];
  const flat = heads.map((h) => h.flat());
  return flat[0].map((_, i) => flat.reduce((s, h) => s + (h[i] ?? 0), 0) / flat.length);
}

describe('each model, as a user walks through it', () => {
  it('runs every model type and matches the native CLI', async () => {
    const { page } = setup;
    const { models } = setup.models;
    const kinds = new Set(models.map((m) => m.kind));
    for (const k of ['encoder-only', 'decoder-only', 'encoder-decoder']) assert.ok(kinds.has(k), `no ${k} model to test`);
    for (const model of models) {
      await pickModel(page, model.name);
      const text = SENTENCES[model.kind] ?? SENTENCES['encoder-only'];
      await typeAndRun(page, text);
      const cli = cliInspect(model.dir, text);

      // The chips show the CLI's token ids, in order.
      const chipIds = await page.$$eval('#tokens .chip .id', (els) => els.map((e) => Number(e.textContent)));
      assert.deepEqual(chipIds, cli.ids, `${model.name}: token ids shown`);
      const specials = await page.$$eval('#tokens .chip.special', (els) => els.length);
      if (model.kind !== 'decoder-only') assert.ok(specials > 0, `${model.name}: special tokens styled`);

      // The heatmap has drawn.
      const ink = await canvasInk(page, '#heatmap canvas');
      assert.ok(ink.inked > 1000 && ink.colours > 5, `${model.name}: heatmap drew (${JSON.stringify(ink)})`);

      // Every kind, first and last layer, first and last head and the mean, equal the CLI's numbers.
      let compared = 0;
      for (const kind of ['encoder', 'decoder', 'cross']) {
        const maps = cli.attentions[kind];
        if (!maps) continue;
        const L = maps.length, H = maps[0].length;
        for (const layer of new Set([0, L - 1])) {
          for (const head of [...new Set([0, H - 1])].map(String).concat('mean')) {
            const shown = await showAttention(page, kind, layer, head);
            assert.equal(shown.kind, kind);
            assert.equal(shown.nRows, maps[layer][0].length, `${model.name} ${kind}: rows`);
            assert.equal(shown.nCols, maps[layer][0][0].length, `${model.name} ${kind}: columns`);
            const expected = cliMatrix(maps, layer, head === 'mean' ? 'mean' : Number(head));
            const diff = maxAbsDiff(shown.values, expected.map((x) => (x === null ? 0 : x)));
            assert.ok(diff <= TOLERANCE, `${model.name} ${kind} layer ${layer} head ${head}: max |diff| ${diff}`);
            compared++;
          }
        }
        if (kind === 'decoder') {
          const note = await page.$eval('#heatmap .mask-note', (e) => (e.hidden ? '' : e.textContent));
          assert.match(note, /mask/i, `${model.name}: the causal mask is explained`);
        }
        await shot(page, `${model.name}-${kind}`);
      }
      assert.ok(compared >= 3, `${model.name}: compared ${compared} maps`);

      // The hover read-out gives the exact value and the two tokens.
      await page.focus('#heatmap canvas');
      await page.keyboard.press('ArrowDown');
      const readout = await page.$eval('#heatmap .readout', (e) => ({ text: e.textContent, value: e.dataset.value }));
      assert.match(readout.text, /query .* → key .*/);
    }
  });

  it('streams generated tokens and matches greedy decoding of the CLI', async () => {
    const { page } = setup;
    for (const model of setup.models.models) {
      if (model.kind === 'encoder-only') continue;
      await pickModel(page, model.name);
      const text = SENTENCES[model.kind];
      await page.fill('#text-input', text);
      await page.fill('#temperature', '0');
      await page.fill('#max-tokens', String(GENERATE_TOKENS));
      const drawnBefore = await page.evaluate(() => window.__seen.drawn.length);
      const done = await pressGenerate(page);
      assert.ok(done.ids.length >= 2, `${model.name}: ${done.ids.length} tokens shown`);
      // Drawn from the stream (at most once per frame). How many land in one frame depends on the machine (a short
      // generation can finish within a single frame, or a loaded one draw only after it ended), so only "drawn".
      const drawn = await page.evaluate((n) => window.__seen.drawn.slice(n), drawnBefore);
      assert.ok(drawn.some((n) => n >= 1), `${model.name}: tokens drawn (${drawn})`);
      assert.match(done.status, /Stopped (at the end-of-sequence token|after \d+ tokens)/, `${model.name}: how it ended`);
      const cli = cliInspect(model.dir, text, ['--generate', String(GENERATE_TOKENS)]);
      assert.deepEqual(done.ids, cli.generated_ids, `${model.name}: greedy ids equal the CLI's`);
      // Tokens/s comes from when the worker decoded each token (the chips' data-ms), not from when they reached
      // the page: a fast model's arrive a frame's worth at a time, which read as tens of thousands of tokens/s.
      const stamps = await page.$$eval('#generated .gen-token', (t) => t.map((c) => Number(c.dataset.ms)));
      assert.ok(stamps.every((ms, i) => Number.isFinite(ms) && (i === 0 || ms >= stamps[i - 1])), `${model.name}: stamps ${stamps}`);
      const rate = Number(await page.$eval('#perf-figures', (e) => e.dataset.tokensPerS));
      const expected = ((stamps.length - 1) * 1000) / (stamps.at(-1) - stamps[0]);
      assert.ok(Math.abs(rate - expected) <= 0.01 * expected + 0.01, `${model.name}: ${rate} tokens/s shown, ${expected} from the stamps`);
      const shown = Number((await page.$eval('#perf-figures', (e) => e.textContent)).match(/([\d.]+) tokens\/s/)?.[1]);
      assert.ok(Math.abs(shown - rate) <= 0.06, `${model.name}: the line says ${shown} tokens/s`);
      // The line says which wasm build decoded: with fused multiply-adds where the engine has relaxed SIMD (Chromium 156
      // does; tests/browser/wasm-builds.test.mjs).
      const relaxed = await engineHasRelaxedSimd(page);
      assert.equal(await page.$eval('#perf-figures', (e) => e.dataset.wasmBuild), relaxed ? 'relaxed-simd' : 'simd128');
      assert.match(await page.$eval('#perf-figures', (e) => e.textContent),
        relaxed ? /^On this machine \(WebAssembly SIMD with fused multiply-adds\): / : /^On this machine \(WebAssembly SIMD\): /);

      // The candidates chart shows bars; selecting the first token shows the attention it was produced with.
      const bars = await page.$$eval('#candidates .candidate', (els) => els.length);
      assert.ok(bars >= 2, `${model.name}: candidate bars`);
      await page.click('#generated .gen-token[data-index="0"]');
      const step = await readHeatmap(page, '#step-heatmap');
      assert.ok(step && step.nCols > 0, `${model.name}: step attention shown`);
      if (model.kind === 'decoder-only') {
        // The first token is produced from the prompt's last position: the step's rows (one per head)
        // equal the last query row of the full forward pass.
        const full = cliInspect(model.dir, text).attentions.decoder;
        const layer = Number(await page.$eval('#step-layer-select', (s) => s.value));
        const H = full[layer].length;
        const expected = full[layer].flatMap((h) => h[h.length - 1]);
        const diff = maxAbsDiff(step.values.slice(0, H * step.nCols), expected);
        assert.ok(diff <= TOLERANCE, `${model.name}: step 1 attention vs CLI: max |diff| ${diff}`);
        // The arrow keys walk through the generated tokens; each later step attends over one more key.
        await page.focus('#generated .gen-token[data-index="0"]');
        await page.keyboard.press('ArrowRight');
        assert.equal(await page.$eval('#generated .gen-token[aria-selected="true"]', (b) => b.dataset.index), '1');
        await page.waitForFunction((n) => Number(document.querySelector('#step-heatmap').dataset.cols) === n, step.nCols + 1);
        const next = await readHeatmap(page, '#step-heatmap');
        assert.equal(next.nCols, step.nCols + 1, `${model.name}: step 2 sees one more token`);
      } else {
        await page.click('#step-kind-switch label:has(input[value="cross"])');
        await page.waitForFunction((n) => Number(document.querySelector('#step-heatmap').dataset.cols) === n, cli.ids.length, { timeout: 10000 });
        const cross = await readHeatmap(page, '#step-heatmap');
        assert.equal(cross.nCols, cli.ids.length, `${model.name}: cross-attention over the source tokens`);
      }
      await shot(page, `${model.name}-generation`);
    }
  });

  it('says why when a decoder ends before writing anything, and what to type instead', async () => {
    const { page } = setup;
    const model = setup.models.models.find((m) => m.name === 'glassbox-gpt2');
    // The bundled GPT-2 read one sentence per text: after a full stop its likeliest token ends the text.
    const text = 'The cat sat on the mat because it was warm.';
    const cli = cliInspect(model.dir, text, ['--generate', '5']);
    assert.equal(cli.generated_ids.length, 1, `the CLI's greedy run ends at once (${cli.generated_ids}): pick another sentence for this test`);
    await pickModel(page, model.name);
    await page.fill('#text-input', text);
    await page.fill('#temperature', '0');
    const done = await pressGenerate(page);
    assert.deepEqual(done.ids, cli.generated_ids, 'the page ends where the CLI does');
    assert.match(done.status, /^Stopped at once: the likeliest first token was the end-of-sequence token/);
    assert.match(done.status, /Once upon a time/);
  });

  it('says when greedy text goes round in circles: the phrase, how often, and why', async () => {
    const { page } = setup;
    const model = setup.models.models.find((m) => m.name === 'glassbox-gpt2');
    const text = 'My mother said';
    const cli = cliInspect(model.dir, text, ['--generate', '20']);
    const loop = repeatedPhrase(text, cli.generated_text);
    assert.ok(loop, `the CLI's greedy run repeats itself (${JSON.stringify(cli.generated_text)}): pick another prompt for this test`);
    const done = await greedyAsTheCli(page, model, text, cli);
    assert.match(done.status, new RegExp(`The text goes round in circles: “${loop.phrase}” comes ${loop.count} times\\. Greedy decoding`));
    // A run that does not loop says nothing of the kind.
    await page.fill('#text-input', 'Once upon a time');
    const plain = await pressGenerate(page);
    const once = cliInspect(model.dir, 'Once upon a time', ['--generate', '20']);
    assert.equal(repeatedPhrase('Once upon a time', once.generated_text), null, `"Once upon a time" does not loop: ${once.generated_text}`);
    assert.doesNotMatch(plain.status, /round in circles|repeats itself/);
  });

  it('a link made after switching models names no attention kind the new model lacks', async () => {
    const { page } = setup;
    const enc = setup.models.models.find((m) => m.kind === 'encoder-only');
    const dec = setup.models.models.find((m) => m.kind === 'decoder-only');
    await pickModel(page, enc.name);
    await typeAndRun(page, 'the cat sat on the mat');
    await page.waitForFunction((n) => location.hash.includes(`model=${encodeURIComponent(n)}`) && location.hash.includes('kind=encoder'), enc.name, { timeout: 60000 });
    // No run after the switch: the old model's kind radios stayed checked and the link said kind=encoder.
    await pickModel(page, dec.name);
    await waitIdle(page);
    // The page writes the link 250 ms after it settles (page-share.js): read it after that.
    await page.waitForTimeout(750);
    const hash = await page.evaluate(() => location.hash);
    assert.match(hash, new RegExp(`model=${encodeURIComponent(dec.name)}`));
    assert.doesNotMatch(hash, /kind=encoder/);
    await page.click('#copy-embed');
    const codes = await page.$$eval('#embed-widget, #embed-iframe', (els) => els.map((e) => e.value));
    assert.ok(codes.every((c) => c.includes('model')), `both codes are written: ${codes}`);
    for (const c of codes) assert.doesNotMatch(c, /kind(="|=)encoder/);
  });

  it('takes a top-k above the vocabulary as no cut, as transformers does', async () => {
    const { page } = setup;
    const model = setup.models.models.find((m) => m.name === 'glassbox-gpt2');
    await pickModel(page, model.name);
    await page.fill('#text-input', 'Once upon a time');
    await page.fill('#temperature', '1');
    await page.fill('#max-tokens', '3');
    // 2^32 was sent on and refused by the engine in a developer's words, and the last output was wiped.
    await page.fill('#top-k', '4294967296');
    const done = await pressGenerate(page);
    assert.ok(done.ids.length >= 1, 'it generated');
    assert.equal(await page.$eval('#generate-error', (e) => (e.hidden ? '' : e.textContent)), '');
    await page.fill('#top-k', '0');
    await page.fill('#temperature', '0');
  });

  it('refuses a folder address that is not http or https, saying what to type', async () => {
    const { page } = setup;
    for (const address of ['javascript:alert(1)', 'data:text/plain,hello']) {
      await page.fill('#url-input', address);
      await page.click('#url-form button[type="submit"]');
      await page.waitForFunction(() => !document.querySelector('#model-error').hidden, null, { timeout: 10000 });
      const message = await page.$eval('#model-error', (e) => e.textContent);
      assert.match(message, /starts with http:\/\/ or https:\/\/, not (javascript|data):/);
      assert.doesNotMatch(message, /Failed to construct/);
    }
    await page.fill('#url-input', '');
  });

  it('says when the position table, not the length asked for, ended a generation', async () => {
    const { page } = setup;
    const model = setup.models.models.find((m) => m.name === 'glassbox-gpt2');
    // A prompt a few tokens short of the model's 128 positions, whose greedy run does not end first.
    const words = 'Once upon a time there was a little girl who lived in a village near the forest and'.split(' ');
    const text = Array.from({ length: 118 }, (_, i) => words[i % words.length]).join(' ');
    const cli = cliInspect(model.dir, text, ['--generate', '20']);
    const eos = eosIds(model.dir);
    assert.ok(cli.generated_ids.length < 20 && !cli.generated_ids.some((id) => eos.includes(id)),
      `the CLI's run is cut by the positions (${cli.ids.length} + ${cli.generated_ids.length}): pick another prompt for this test`);
    const done = await greedyAsTheCli(page, model, text, cli);
    assert.match(done.status, new RegExp(`^Stopped after ${cli.generated_ids.length} tokens, short of the 20 asked for: .*position limit`));
  });

  it('highlights the span of each token in the text (UTF-16 offsets, emoji and accents included)', async () => {
    const { page } = setup;
    const model = setup.models.models.find((m) => m.kind === 'decoder-only');
    await pickModel(page, model.name);
    const text = 'Naïve café — 😀 ok';
    await typeAndRun(page, text);
    const out = spawnSync(CLI, ['tokenize', model.dir, '--text', text], { encoding: 'utf8' });
    const cli = JSON.parse(out.stdout).cases[0];
    const chars = Array.from(text);
    const chips = await page.$$('#tokens .chip');
    assert.equal(chips.length, cli.ids.length);
    for (const [i, [a, b]] of cli.offsets.entries()) {
      if (b <= a) continue;
      await chips[i].hover();
      const marked = await page.$eval('#text-backdrop', (e) => e.querySelector('mark')?.textContent ?? null);
      assert.equal(marked, chars.slice(a, b).join(''), `chip ${i} (${cli.tokens[i]})`);
    }
    await chips[0].focus();
    await page.keyboard.press('ArrowRight');
    const focused = await page.$eval('#text-backdrop', (e) => e.querySelector('mark')?.textContent ?? null);
    assert.equal(focused, chars.slice(...cli.offsets[1]).join(''), 'focusing a chip highlights it too');
    await shot(page, 'tokens-highlight');
  });

  it('stops a generation with the Stop button', async () => {
    const { page } = setup;
    await pickModel(page, setup.models.models.find((m) => m.kind === 'decoder-only').name);
    await page.fill('#temperature', '1');
    await page.fill('#max-tokens', '200');
    const since = await mark(page);
    // Generate, then Stop at once: a tiny model writes its whole output faster than a test can press a button.
    const stopping = await generateThenStop(page);
    // Before the first token the first step is reading the prompt, which nothing cuts short: the line says so.
    assert.match(stopping ?? '', /^Stopping as soon as the model has read the prompt \(a step cannot be cut short\)…$/);
    await waitThrough(page, since, 'generating');
    await page.waitForFunction(() => /Stopped/.test(document.querySelector('#generated .gen-status')?.textContent));
    const done = await generationShown(page);
    // Stopped by the button: neither the end-of-text token nor the maximum ended it.
    assert.equal(done.status, 'Stopped.', `"${done.status}" after ${done.ids.length} tokens`);
    assert.ok(done.ids.length < 200);
    await waitIdle(page);
    assert.equal(await page.isEnabled('#generate-button'), true);
    // Beam search is one step: Stop says it waits for the whole search, not for the prompt.
    await page.fill('#temperature', '0');
    await page.fill('#num-beams', '3');
    const beamSince = await mark(page);
    const beamStopping = await generateThenStop(page);
    assert.match(beamStopping ?? '', /^Stopping once the beam search ends \(it runs as one step, which cannot be cut short\)…$/);
    await waitThrough(page, beamSince, 'generating');
    await page.fill('#num-beams', '1');
    await page.fill('#temperature', '1');
  });
});

/** Press Generate, then Stop in the same task (a tiny model would finish first otherwise): the status line then. */
function generateThenStop(page) {
  return page.evaluate(() => {
    document.querySelector('#generate-button').click();
    document.querySelector('#stop-button').click();
    return document.querySelector('#generated .gen-status')?.textContent;
  });
}

describe('errors while running', () => {
  it('shows the core\'s message for an over-long text and runs the next one', async () => {
    const { page } = setup;
    const model = setup.models.models.find((m) => m.kind === 'encoder-only');
    await pickModel(page, model.name);
    const long = Array.from({ length: 4000 }, (_, i) => `word${i}`).join(' ');
    await page.fill('#text-input', long);
    const message = await pressRun(page);
    assert.match(message, /\d/, `an error naming the limit is shown: ${message}`);
    assert.equal(await page.inputValue('#text-input'), long, 'the text is kept');
    await typeAndRun(page, SENTENCES['encoder-only']);
    assert.equal(await page.$eval('#run-error', (e) => e.hidden), true, 'the error goes away after a good run');
  });
});

describe('a very long text', () => {
  it('says what it lacks, leaves it out of links and embed codes, and is not laid out twice per keystroke', async () => {
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    // The browser's storage quota, small: a text above 50,000 characters does not fit (as 10 MB does not, for real).
    await context.addInitScript(() => {
      const setItem = Storage.prototype.setItem;
      Storage.prototype.setItem = function (key, value) {
        if (String(value).length > 50000) throw new DOMException('quota', 'QuotaExceededError');
        return setItem.call(this, key, value);
      };
    });
    await page.goto(setup.server.url);
    await waitIdle(page);
    const model = setup.models.models.find((m) => m.kind === 'decoder-only');
    await pickModel(page, model.name);
    const typeText = (n) => page.evaluate((length) => {
      const box = document.querySelector('#text-input');
      box.value = 'the cat sat on the mat '.repeat(Math.ceil(length / 23)).slice(0, length);
      box.dispatchEvent(new Event('input', { bubbles: true }));
    }, n);
    const note = () => page.$eval('#text-size-note', (e) => (e.hidden ? '' : e.textContent));
    const hashText = () => page.evaluate(() => new URLSearchParams(location.hash.slice(1)).get('text'));

    // Short: no note, the link carries the text, and typing leaves the backdrop empty (it was a second copy of the
    // whole text, laid out again on every keystroke: seconds per key for a 10 MB text).
    await typeText(300);
    await page.waitForFunction(() => /text=the\+cat/.test(location.hash), null, { timeout: 10000 });
    assert.equal(await note(), '');
    assert.equal(await page.$eval('#text-backdrop', (e) => e.childNodes.length), 0, 'no copy of the text behind the box while typing');

    // Over a link's most: the link and the embed codes leave the text out, and say so when copied.
    await typeText(20000);
    await page.waitForFunction(() => !/text=the\+cat/.test(location.hash), null, { timeout: 10000 });
    assert.match(await note(), /^This text is 20,000 characters: links leave it out, and there is no embed code for it \(they carry at most 10,000 characters\)\.$/);
    assert.equal(await hashText(), null, 'the address carries no text');
    assert.match(await page.$eval('#text-input', (e) => e.getAttribute('aria-describedby')), /\btext-size-note\b/, 'the note describes the box');
    await page.click('#copy-link');
    assert.match(await page.$eval('#share-status', (e) => e.textContent), /leaves the text out: 20,000 characters is more than a link carries/);
    // An embed without its text would show an empty map: no code, and the reason.
    await page.click('#copy-embed');
    const codes = await page.evaluate(() => [document.querySelector('#embed-widget').value, document.querySelector('#embed-iframe').value]);
    assert.deepEqual(codes, ['', '']);
    assert.match(await page.$eval('#share-status', (e) => e.textContent), /^No embed code: the text is 20,000 characters, more than an embed code carries \(10,000\)\. Shorten the text/);
    // Characters as a reader counts them: 6,000 emoji (12,000 UTF-16 units) are a short enough text.
    await page.evaluate(() => {
      const box = document.querySelector('#text-input');
      box.value = '\u{1F600}'.repeat(6000);
      box.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('text')?.length === 12000, null, { timeout: 10000 });
    assert.equal(await note(), '');
    await typeText(20000);
    await page.waitForFunction(() => !document.querySelector('#tokens').classList.contains('stale'), null, { timeout: 60000 });
    await page.hover('#tokens .chip >> nth=2');
    assert.match(await page.$eval('#text-backdrop mark', (e) => e.textContent), /^ ?(the|cat|sat|on|mat)$/, 'hovering still marks the token');

    // Over the highlight's most and the storage quota: both said; the text stays whole in the box.
    await typeText(250000);
    assert.match(await note(), /the text box does not mark the token under the pointer in a text this long; it is too long for this tab to keep if the page reloads/);
    assert.equal((await page.inputValue('#text-input')).length, 250000);
    // Opening a link with a text of its own replaces it, and the note goes.
    await page.evaluate(() => { location.hash = '#text=A+short+one'; });
    await page.waitForFunction(() => document.querySelector('#text-input').value === 'A short one', null, { timeout: 30000 });
    assert.equal(await note(), '');
    assert.deepEqual(watch.errors, []);
    await context.close();
  });
});

describe('bringing your own model', () => {
  it('shows the error of a truncated model.safetensors and keeps working', async () => {
    const { page } = setup;
    const model = setup.models.models.find((m) => m.kind === 'encoder-only') ?? setup.models.models[0];
    const index = setup.models.models.indexOf(model);
    await pickModel(page, model.name);
    const text = 'My own words stay here.';
    await page.fill('#text-input', text);
    const weights = fs.readFileSync(path.join(model.dir, 'model.safetensors'));
    await page.setInputFiles('#files-input', [
      { name: 'config.json', mimeType: 'application/json', buffer: fs.readFileSync(path.join(model.dir, 'config.json')) },
      { name: 'tokenizer.json', mimeType: 'application/json', buffer: fs.readFileSync(path.join(model.dir, 'tokenizer.json')) },
      { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: weights.subarray(0, Math.min(4000, weights.length >> 1)) },
    ]);
    await page.waitForFunction(() => !document.querySelector('#model-error').hidden, null, { timeout: 60000 });
    await waitIdle(page);
    const message = await page.$eval('#model-error', (e) => e.textContent);
    assert.match(message, /safetensors|truncat|short|bytes/i, `the error names the problem: ${message}`);
    await shot(page, 'broken-model-error');
    // Still usable: the text is kept, the picker names the model still loaded, and it still runs.
    assert.equal(await page.inputValue('#text-input'), text);
    const shownIndex = await page.$eval('#model-select', (s) => s.value);
    assert.equal(shownIndex, String(await bundledIndex(page, model.name)));
    await typeAndRun(page, 'Still working after the error.');
    const ink = await canvasInk(page, '#heatmap canvas');
    assert.ok(ink.inked > 0);
  });

  it('loads a model folder dropped on the page', async () => {
    const { page } = setup;
    const model = setup.models.models.find((m) => m.kind === 'decoder-only');
    const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']
      .filter((f) => fs.existsSync(path.join(model.dir, f)))
      .map((f) => ({ name: f, base64: fs.readFileSync(path.join(model.dir, f)).toString('base64') }));
    await page.evaluate((list) => {
      const dt = new DataTransfer();
      for (const f of list) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], f.name));
      }
      const zone = document.querySelector('#drop-zone');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, files);
    await waitLoaded(page, 'your files');
    assert.equal(await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent)), '', 'no load error');
    assert.equal(await page.$eval('#model-select', (s) => s.value), 'own');
    await typeAndRun(page, SENTENCES['decoder-only']);
    const cli = cliInspect(model.dir, SENTENCES['decoder-only']);
    const chipIds = await page.$$eval('#tokens .chip .id', (els) => els.map((e) => Number(e.textContent)));
    assert.deepEqual(chipIds, cli.ids);
  });

  it('loads a model folder from a URL', async () => {
    const { page, context, watch } = await newWatchedPage(setup.browser.browser);
    try {
      await page.goto(setup.server.url);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
      await waitIdle(page);
      const model = setup.models.models.find((m) => m.kind === 'encoder-decoder');
      const url = new URL(model.path.startsWith('models/') ? model.path : `models/${model.path}`, setup.server.url).href;
      await page.fill('#url-input', url);
      await page.click('#url-form button[type="submit"]');
      await waitLoaded(page, url);
      assert.equal(await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent)), '', 'no load error');
      assert.equal(await modelKind(page), 'encoder-decoder');
      await typeAndRun(page, SENTENCES['encoder-decoder']);
      // A bare URL cannot list the folder, so optional files it lacks are asked for and answered 404.
      const optional = /\/(tokenizer_config|special_tokens_map|generation_config)\.json$/;
      const missing = watch.errors.filter((e) => e.startsWith('HTTP '));
      assert.ok(missing.every((e) => e.startsWith('HTTP 404') && optional.test(e)), missing.join('\n'));
      const others = watch.errors.filter((e) => !e.startsWith('HTTP ') && !/Failed to load resource.* 404/.test(e));
      assert.deepEqual(others, []);
      assert.deepEqual(foreignRequests(watch.requests), []);
    } finally {
      await context.close();
    }
  });

  it('keeps the weights in the storage the user picks, loading the model again', async () => {
    const { page } = setup;
    const model = setup.models.models.find((m) => m.kind === 'decoder-only');
    await pickModel(page, model.name);
    await typeAndRun(page, SENTENCES['decoder-only']);
    const asFile = await page.$eval('#heatmap', (b) => b.dataset.layer);
    assert.equal((await modelFacts(page))['Weights in memory'], undefined, 'as in the file: no fact');
    // Choosing int8 loads the same model again in int8; the facts say so and it still runs.
    const since = await mark(page);
    await page.selectOption('#weights-select', 'int8');
    await waitThrough(page, since, 'loading');
    await waitLoaded(page, model.name);
    assert.match((await modelFacts(page))['Weights in memory'] ?? '', /^int8/);
    await typeAndRun(page, SENTENCES['decoder-only']);
    assert.equal(await page.$eval('#heatmap', (b) => b.dataset.layer), asFile);
    // Back to the file's own storage for the tests after this one.
    const back = await mark(page);
    await page.selectOption('#weights-select', '');
    await waitThrough(page, back, 'loading');
    await waitLoaded(page, model.name);
    assert.equal((await modelFacts(page))['Weights in memory'], undefined);
  });

  it('a new model shows none of the previous run’s views until it runs', async () => {
    const { page } = setup;
    const encoder = setup.models.models.find((m) => m.kind === 'encoder-only');
    const decoder = setup.models.models.find((m) => m.kind === 'decoder-only');
    await pickModel(page, encoder.name);
    await typeAndRun(page, SENTENCES['encoder-only']);
    await page.waitForFunction(() => !document.querySelector('#whole-run-views').hidden && document.querySelector('#head-why').textContent !== '');
    await pickModel(page, decoder.name);
    const shown = await page.evaluate(() => ({
      views: !document.querySelector('#whole-run-views').hidden,
      why: document.querySelector('#head-why').textContent,
      live: document.querySelector('#intervention-heatmap')?.previousElementSibling?.textContent ?? '',
      liveMap: !document.querySelector('#intervention-heatmap')?.hidden,
    }));
    // The encoder's grid of heads, its head view, "Opened on layer 2, head 4 …" and the teaching map's "encoder
    // self-attention" all stayed over the GPT-2 until its first run.
    assert.deepEqual(shown, { views: false, why: '', live: '', liveMap: false });
    await typeAndRun(page, SENTENCES['decoder-only']);
    await page.waitForFunction(() => !document.querySelector('#whole-run-views').hidden);
    // The teaching map comes back, drawn, once the new model has run (its box was hidden, not emptied).
    await page.locator('#predict-section').scrollIntoViewIfNeeded();
    await waitPainted(page, '#intervention-heatmap canvas.heatmap-canvas');
    assert.equal(await page.$eval('#intervention-heatmap', (e) => e.hidden), false);
  });

  it('a storage chosen while another model loads applies to that model, not the one it replaces', async () => {
    const { page } = setup;
    const [first, second] = setup.models.models.filter((m) => m.bundled).slice(0, 2);
    await pickModel(page, first.name);
    // Pick the second model and, before it has loaded, f16: the page ends on the second model, in f16.
    const since = await mark(page);
    await page.evaluate(({ index }) => {
      const pick = document.querySelector('#model-select');
      pick.value = String(index);
      pick.dispatchEvent(new Event('change'));
      const weights = document.querySelector('#weights-select');
      weights.value = 'f16';
      weights.dispatchEvent(new Event('change'));
    }, { index: await bundledIndex(page, second.name) });
    await waitThrough(page, since, 'loading');
    await waitLoaded(page, second.name);
    await waitIdle(page);
    assert.equal(await page.$eval('#model-select', (s) => s.value), String(await bundledIndex(page, second.name)), 'the picker shows it');
    assert.match((await modelFacts(page))['Weights in memory'] ?? '', /^f16/, 'the second model, in f16');
    // Back to the file's own storage for the tests after this one.
    const back = await mark(page);
    await page.selectOption('#weights-select', '');
    await waitThrough(page, back, 'loading');
    await waitLoaded(page, second.name);
  });

  it('a load replaced by another is withdrawn, not finished for nothing', async () => {
    const { page } = setup;
    const [first, second, third] = setup.models.models.filter((m) => m.bundled).slice(0, 3);
    await pickModel(page, first.name);
    // Every load the page asks for, with the signal it passes (the page's glassbox.js is this module).
    await page.evaluate(async () => {
      const { Glassbox } = await import('/glassbox.js');
      const original = Glassbox.prototype.loadModel;
      window.__loadSignals = [];
      Glassbox.prototype.loadModel = function (source, opts) {
        window.__loadSignals.push(opts?.signal);
        return original.call(this, source, opts);
      };
      window.__restoreLoad = () => { Glassbox.prototype.loadModel = original; };
    });
    const since = await mark(page);
    await page.evaluate(({ a, b }) => {
      const pick = document.querySelector('#model-select');
      for (const index of [a, b]) {
        pick.value = String(index);
        pick.dispatchEvent(new Event('change'));
      }
    }, { a: await bundledIndex(page, second.name), b: await bundledIndex(page, third.name) });
    await waitThrough(page, since, 'loading');
    await waitLoaded(page, third.name);
    await waitIdle(page);
    const signals = await page.evaluate(() => {
      const out = window.__loadSignals.map((s) => (s ? s.aborted : 'none'));
      window.__restoreLoad();
      return out;
    });
    assert.deepEqual(signals, [true, false], 'the first load was withdrawn when the second began; the second was not');
    assert.equal(await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent)), '', 'no error for the withdrawn load');
    assert.equal(await page.$eval('#model-select', (s) => s.value), String(await bundledIndex(page, third.name)), 'the picker shows the last pick');
  });

  it('Cancel stops a load under way and keeps the model shown before', async () => {
    // A page of its own, whose weights downloads are held back for seconds: time to press Cancel mid-load.
    const { context, page, watch } = await newWatchedPage(setup.browser.browser);
    let held = false;
    await page.goto(setup.server.url);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
    await context.route('**/model.safetensors', async (route) => {
      held = true;
      await new Promise((resolve) => setTimeout(resolve, 5000));
      await route.continue().catch(() => {});   // the request was aborted meanwhile
    });
    const shown = await page.$eval('#model-select', (s) => s.value);
    const shownName = (await modelFacts(page)).Model;
    const other = await page.$$eval('#model-select option', (o, v) => o.find((x) => x.value !== v).value, shown);
    await page.selectOption('#model-select', other);
    await page.waitForSelector('#cancel-load', { state: 'visible' });
    await page.waitForFunction(() => /model\.safetensors/.test(document.querySelector('#load-status').textContent)
      || document.body.dataset.status === 'loading', null, { timeout: 10000 });
    const pressedAt = Date.now();
    await page.click('#cancel-load');
    await page.waitForFunction(() => document.body.dataset.status === 'idle', null, { timeout: 4000 });
    assert.ok(Date.now() - pressedAt < 4000, 'the load ended before its held-back download would have');
    assert.ok(held, 'the weights download had begun');
    assert.match(await page.$eval('#load-note', (e) => e.textContent), new RegExp(`^Loading .+ was cancelled; ${shownName} is still loaded\\.$`));
    assert.equal(await page.$eval('#model-error', (e) => e.hidden), true, 'a cancel is not an error');
    assert.equal(await page.$eval('#model-select', (s) => s.value), shown, 'the picker shows the model still loaded');
    assert.equal((await modelFacts(page)).Model, shownName);
    assert.equal(await page.isVisible('#load-progress'), false);
    assert.deepEqual(watch.errors, []);
    await context.close();
  });

  it('says plainly when required files are missing', async () => {
    const { page } = setup;
    await page.setInputFiles('#files-input', [{ name: 'config.json', mimeType: 'application/json', buffer: Buffer.from('{}') }]);
    await page.waitForFunction(() => !document.querySelector('#model-error').hidden);
    assert.match(await page.$eval('#model-error', (e) => e.textContent), /Missing .*model\.safetensors/);
    // Shards without their index: named, with where to find it.
    const file = (name) => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from('{}') });
    await page.setInputFiles('#files-input', ['config.json', 'tokenizer.json',
      'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'].map(file));
    await page.waitForFunction(() => /shard files/.test(document.querySelector('#model-error').textContent));
    assert.match(await page.$eval('#model-error', (e) => e.textContent), /2 shard files .*not model\.safetensors\.index\.json.*Copy/);
  });

  it('takes the folder\'s own files when a picked folder has subfolders with files of the same names', async () => {
    const { page } = setup;
    // A sentence-transformers folder has 1_Pooling/config.json beside config.json; the picker lists both, and the
    // one listed last (here the subfolder's) used to replace the model's own.
    const model = setup.models.models.find((m) => m.kind === 'decoder-only');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'glassbox-subfolders-'));
    const folder = path.join(dir, 'with-subfolder');
    fs.cpSync(model.dir, folder, { recursive: true, dereference: true });
    fs.mkdirSync(path.join(folder, 'zz_pooling'));
    fs.writeFileSync(path.join(folder, 'zz_pooling', 'config.json'), JSON.stringify({ word_embedding_dimension: 384, pooling_mode_mean_tokens: true }));
    await page.setInputFiles('#folder-input', folder);
    await waitLoaded(page, 'with-subfolder');
    assert.equal(await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent)), '', 'no load error');
    const text = 'The cat sat';
    await typeAndRun(page, text);
    const chipIds = await page.$$eval('#tokens .chip .id', (els) => els.map((e) => Number(e.textContent)));
    assert.deepEqual(chipIds, cliInspect(model.dir, text).ids);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads a sharded checkpoint picked as a folder, shard by shard', async () => {
    const { page } = setup;
    // tests/fixtures/checkpoints/llama_sharded: model.safetensors.index.json and five shards written by transformers.
    const dir = path.join(ROOT, 'tests', 'fixtures', 'checkpoints', 'llama_sharded');
    const shards = fs.readdirSync(dir).filter((n) => /^model-\d+-of-\d+\.safetensors$/.test(n));
    assert.ok(shards.length >= 3, 'the fixture is sharded');
    await page.evaluate(() => {
      window.__seenStatus = [];
      const status = document.getElementById('load-status');
      new MutationObserver(() => window.__seenStatus.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
    });
    await page.setInputFiles('#folder-input', dir);
    await waitLoaded(page, 'llama_sharded');
    assert.equal(await page.$eval('#model-error', (e) => (e.hidden ? '' : e.textContent)), '', 'no load error');
    // Each shard is read from the picked file a range at a time, checked, then built into the layers.
    const seen = await page.evaluate(() => window.__seenStatus);
    for (const shard of shards) {
      assert.ok(seen.some((s) => s.startsWith(`${shard}: `)), `the loading line named ${shard}: ${[...new Set(seen)].join(' | ')}`);
    }
    assert.ok(seen.some((s) => /model-\d+-of-\d+\.safetensors: .*checking every value/.test(s)), `the checking pass: ${[...new Set(seen)].join(' | ')}`);
    const text = 'Hello world, this is a test.';
    await typeAndRun(page, text);
    const cli = cliInspect(dir, text);
    const chipIds = await page.$$eval('#tokens .chip .id', (els) => els.map((e) => Number(e.textContent)));
    assert.deepEqual(chipIds, cli.ids, 'the same ids as the CLI on the same folder');
    // The weights of every shard are in: the last layer's attention equals the CLI's.
    const maps = cli.attentions.decoder;
    const shown = await showAttention(page, 'decoder', maps.length - 1, 'mean');
    const diff = maxAbsDiff(shown.values, cliMatrix(maps, maps.length - 1, 'mean').map((x) => (x === null ? 0 : x)));
    assert.ok(diff <= TOLERANCE, `sharded: last layer's mean attention differs from the CLI's by ${diff}`);
    assert.equal((await modelFacts(page)).Parameters, '61.7\u00a0k', 'the card counts every shard\'s parameters (61,664)');
  });
});

describe('phones, keyboards and the network', () => {
  it('works at 390 px wide', async () => {
    const { page, context, watch } = await newWatchedPage(setup.browser.browser, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    try {
      await page.goto(setup.server.url);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
      await waitIdle(page);
      await typeAndRun(page, 'A small screen still shows every token.');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
      const ink = await canvasInk(page, '#heatmap canvas');
      assert.ok(ink.inked > 1000);
      const dpr = await page.$eval('#heatmap canvas', (c) => c.width / c.getBoundingClientRect().width);
      assert.ok(Math.abs(dpr - 2) < 0.05, `canvas backing store at devicePixelRatio 2 (got ${dpr})`);
      // A map wider than the screen says so (its hidden columns passed for blank rows), and one that fits says nothing.
      const scrolled = async () => {
        await page.waitForFunction(() => document.querySelector('#heatmap canvas.heatmap-canvas').dataset.painted === 'true', null, { timeout: 30000 });
        return page.$eval('#heatmap', (h) => {
        const s = h.querySelector('.heatmap-scroll');
        const hint = h.querySelector('.scroll-hint');
        return { cut: s.scrollWidth > s.clientWidth + 1, hint: hint.hidden ? '' : hint.textContent, cols: Number(h.dataset.cols) };
        });
      };
      const short = await scrolled();
      assert.equal(short.hint === '', !short.cut, `the hint shows exactly when the map is cut: ${JSON.stringify(short)}`);
      await typeAndRun(page, 'On a narrow screen a long sentence makes a map with many more columns than fit across it, so part of it scrolls.');
      const long = await scrolled();
      assert.ok(long.cut, `the long text's map is wider than the screen: ${JSON.stringify(long)}`);
      const inView = Number(/^(\d+) of the (\d+) keys fit in view: scroll the map sideways/.exec(long.hint)?.[1]);
      assert.ok(inView > 0 && inView < long.cols, `the hint names the columns in view: ${long.hint}`);
      assert.match(long.hint, new RegExp(`of the ${long.cols} keys`));
      await shot(page, 'phone-390');
      assert.deepEqual(watch.errors, []);
      assert.deepEqual(foreignRequests(watch.requests), []);
    } finally {
      await context.close();
    }
  });

  it('is usable by keyboard alone: Tab reaches Run and the heatmap, arrows read values', async () => {
    const { page, context, watch } = await newWatchedPage(setup.browser.browser, { colorScheme: 'dark' });
    try {
      await page.goto(setup.server.url);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
      await waitIdle(page);
      // The first tokenization lands after the load (it does not make the page busy): wait for its chips and
      // an enabled Run, or on a slow machine the chips are drawn again under the Tab key and focus falls back
      // to the body (a CI run saw text-input → BODY → a chip, Run skipped).
      await page.waitForFunction(() => document.querySelector('#tokens')?.children.length > 0
        && !document.querySelector('#run-button').disabled, null, { timeout: 60000 });
      const seen = [];
      let reachedRun = false;
      for (let i = 0; i < 40 && !reachedRun; i++) {
        await page.keyboard.press('Tab');
        const id = await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
        seen.push(id);
        reachedRun = id === 'run-button';
      }
      assert.ok(reachedRun, `Tab order never reached Run: ${seen.join(' → ')}`);
      assert.ok(seen.includes('text-input'), 'the text box comes before Run');
      const since = await mark(page);
      await page.keyboard.press('Enter');
      await waitThrough(page, since, 'running');
      assert.equal(await page.$eval('#run-error', (e) => (e.hidden ? '' : e.textContent)), '');
      let onHeatmap = false;
      for (let i = 0; i < 20 && !onHeatmap; i++) {
        await page.keyboard.press('Tab');
        onHeatmap = await page.evaluate(() => document.activeElement?.matches('#heatmap canvas'));
      }
      assert.ok(onHeatmap, 'Tab reaches the heatmap');
      const focusVisible = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle !== 'none');
      assert.ok(focusVisible, 'the focused heatmap shows a focus ring');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowRight');
      const readout = await page.$eval('#heatmap .readout', (e) => e.dataset);
      assert.equal(readout.row, '1');
      assert.equal(readout.col, '1');
      // The value read there is the model's: the CLI's weight for that cell of the map shown.
      const shownName = (await modelFacts(page)).Model;
      const model = setup.models.models.find((m) => m.name === shownName);
      assert.ok(model, `the page opened on ${shownName}, one of the models under test`);
      const text = await page.inputValue('#text-input');
      const { kind, layer, head } = await page.$eval('#heatmap', (b) => ({ ...b.dataset }));
      const maps = cliInspect(model.dir, text).attentions[kind];
      const expected = cliMatrix(maps, Number(layer), head === 'mean' ? 'mean' : Number(head))[1 * maps[0][0][0].length + 1];
      assert.ok(readout.value === 'masked' ? expected === null || expected === 0 : Math.abs(Number(readout.value) - expected) < TOLERANCE,
        `read-out ${readout.value} vs the CLI's ${expected}`);
      await shot(page, 'keyboard-dark');
      assert.deepEqual(watch.errors, []);
      assert.deepEqual(foreignRequests(watch.requests), []);
    } finally {
      await context.close();
    }
  });

  it('made no request beyond 127.0.0.1 and logged no console errors', () => {
    assert.deepEqual(foreignRequests(setup.watch.requests), []);
    assert.ok(setup.watch.requests.length > 0, 'requests were recorded');
    // The broken-model test provokes an error on purpose; the page shows it inline, never on the console.
    assert.deepEqual(setup.watch.errors, []);
  });
});
