// The page's generation controls start from the model's generation_config.json (issue 10, part 2): a GPT-2
// checkpoint whose file asks for beam search (3 beams, length penalty 1.2, max_length 34) shows those values,
// says where they came from, generates what the native CLI's `generate` prints, and lets the user override
// them (a link then names only what was changed).
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/generation-config.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launchBrowser, newWatchedPage, modelsUnderTest, waitIdle, pickModel, cliInspect, CLI, ROOT, pressGenerate } from './helpers.mjs';

const NAME = 'zz-gpt2-beams';
// The same checkpoint asking for more new tokens (300) than the page once let its control hold (200).
const LONG = 'zz-gpt2-long';
// And more than the control takes at all (1000).
const LONGER = 'zz-gpt2-longer';
const SOURCE = path.join(ROOT, 'tests/fixtures/checkpoints/gpt2_beam_untied');
const TEXT = 'Hello world, this is a test.';
const setup = {};

before(async () => {
  assert.ok(fs.existsSync(CLI), `${CLI} is missing: run \`cargo build\` first (tests/browser/run.mjs does it)`);
  setup.models = await modelsUnderTest();
  const dir = path.join(setup.models.root, NAME);
  fs.mkdirSync(dir);
  // The model's files only (reference.json is the fixture's, not part of a model folder).
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
    fs.copyFileSync(path.join(SOURCE, f), path.join(dir, f));
  }
  for (const [name, maxNew] of [[LONG, 300], [LONGER, 2048]]) {
    const long = path.join(setup.models.root, name);
    fs.mkdirSync(long);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      fs.copyFileSync(path.join(SOURCE, f), path.join(long, f));
    }
    fs.writeFileSync(path.join(long, 'generation_config.json'), JSON.stringify({ bos_token_id: 0, eos_token_id: 0, max_new_tokens: maxNew }));
  }
  setup.server = await startServer(setup.models.root);
  setup.browser = await launchBrowser();
  const { context, page, watch } = await newWatchedPage(setup.browser.browser);
  Object.assign(setup, { context, page, watch });
  await page.goto(setup.server.url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
});

after(async () => {
  await setup.context?.close();
  await setup.browser?.close();
  await setup.server?.stop();
});

async function generate(page) {
  const done = await pressGenerate(page, 90000);
  const error = await page.$eval('#generate-error', (e) => (e.hidden ? '' : e.textContent));
  assert.equal(error, '', 'no generation error');
  return done;
}

describe('generation_config.json on the page', () => {
  it('the controls start from the model\'s values, generate as HF\'s model.generate does, and can be overridden', async () => {
    const { page } = setup;
    await pickModel(page, NAME);
    const value = (id) => page.inputValue(id);
    assert.equal(await value('#num-beams'), '3');
    assert.equal(await value('#temperature'), '0');
    // max_length counts the prompt, so the page leaves the number to the model and says so.
    assert.equal(await value('#max-tokens'), '');
    assert.equal(await page.$eval('#max-tokens', (e) => e.placeholder), 'max_length 34');
    const note = await page.$eval('#generation-source', (e) => (e.hidden ? '' : e.textContent));
    assert.match(note, /generation_config\.json/);
    assert.match(note, /3 beams/);
    assert.match(note, /length penalty 1\.2/);
    // Every control has a label (WCAG: each input is named).
    assert.equal(await page.$eval('label[for="num-beams"]', (e) => e.textContent.trim()), 'Beams');

    await page.fill('#text-input', TEXT);
    const beams = await generate(page);
    const shown = await page.$$eval('#generated .gen-token', (els) => els.length);
    assert.equal(shown, beams.ids.length, 'every token of the best beam is shown');
    const reference = JSON.parse(fs.readFileSync(path.join(SOURCE, 'reference.json'), 'utf8')).cases[0];
    assert.deepEqual(beams.ids, reference.generate.ids, 'the page\'s beam search equals HF\'s model.generate');
    // The score is HF's: the summed log-probability divided by the new tokens' count raised to the length penalty (not a
    // "log-probability per length^penalty", which reads as a per-token figure).
    assert.match(beams.status, /this is the best \(score -?[\d.]+: its summed log-probability divided by n\^p, n its new tokens' count and p the length penalty\)/);
    // One finished sequence per beam: the runners-up are quoted with their scores, which are no better than the best's.
    assert.match(beams.status, /Beam search kept 3 finished sequences/);
    const others = /The other 2: “[^”]*” \((-?[\d.]+)\), “[^”]*” \((-?[\d.]+)\)\./.exec(beams.status);
    assert.ok(others, `the two other sequences are quoted: ${beams.status}`);
    const best = Number(/score (-?[\d.]+)/.exec(beams.status)[1]);
    assert.ok(best >= Number(others[1]) && Number(others[1]) >= Number(others[2]), 'best first');

    // Override: one beam and 4 tokens is greedy, the CLI's `inspect --generate 4 --num-beams 1`.
    await page.fill('#num-beams', '1');
    await page.fill('#max-tokens', '4');
    const greedy = await generate(page);
    const cli = cliInspect(path.join(setup.models.root, NAME), TEXT, ['--generate', '4', '--num-beams', '1']);
    assert.deepEqual(greedy.ids, cli.generated_ids);
    await page.waitForFunction(() => /beams=1/.test(location.hash) && /max-tokens=4/.test(location.hash), null, { timeout: 5000 });
    assert.deepEqual(setup.watch.errors, [], 'no console errors');
  });

  it('a model\'s own max_new_tokens above 200 generates, and an impossible value is refused in words', async () => {
    const { page } = setup;
    await pickModel(page, LONG);
    assert.equal(await page.inputValue('#max-tokens'), '300');
    await page.fill('#text-input', TEXT);
    // The form once carried max="200": the browser's own validation then swallowed the press, with no message.
    const done = await generate(page);
    assert.ok(done.ids.length > 0, `tokens were generated: ${done.status}`);
    // A value no setting allows (a hand-edited link can carry one too) is named, with the range to use.
    const before = await page.$$eval('#generated .gen-token', (els) => els.length);
    await page.fill('#max-tokens', '5000');
    await page.click('#generate-button');
    await page.waitForFunction(() => !document.querySelector('#generate-error').hidden, null, { timeout: 5000 });
    const message = await page.$eval('#generate-error', (e) => e.textContent);
    assert.match(message, /Max tokens must be a whole number from 1 to 1000/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'max-tokens', 'the field to fix has the focus');
    assert.equal(await page.$$eval('#generated .gen-token', (els) => els.length), before, 'nothing new was generated');
    assert.equal(await page.inputValue('#max-tokens'), '5000', 'what was typed stays to be corrected');

    // A model asking for more than the page writes at once starts at the page's most, and the note says so.
    await pickModel(page, LONGER);
    assert.equal(await page.inputValue('#max-tokens'), '1000');
    assert.match(await page.$eval('#generation-source', (e) => e.textContent), /up to 2048 new tokens \(this page writes at most 1000/);
    await page.fill('#text-input', TEXT);
    assert.ok((await generate(page)).ids.length > 0, 'its own setting generates');
    assert.deepEqual(setup.watch.errors, [], 'no console errors');
  });

  it('<glassbox-generation> decodes with one beam, as its settings and docs say, whatever the model\'s file asks', async () => {
    // The widget has no Beams control (docs/widgets.md: beams are the page's only); it used to leave numBeams out,
    // so this checkpoint's num_beams 3 turned its temperature 0 into a beam search with no per-step probabilities.
    const { context } = setup;
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>widget</title>
<script type="module" src="/glassbox-widgets.js"></script></head><body><main>
<glassbox-generation id="g" eager autorun model="${NAME}" text="${TEXT}" max-tokens="4"></glassbox-generation></main></body></html>`;
    await context.route('**/__generation-widget.html', (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: html }));
    const page = await context.newPage();
    await page.goto(`${setup.server.url}__generation-widget.html`);
    await page.waitForFunction(() => document.querySelector('#g').generated, null, { timeout: 90000 });
    const result = await page.$eval('#g', (e) => ({ ids: e.generated.ids, beams: e.generated.beams ?? null }));
    assert.equal(result.beams, null, 'no beam search');
    const cli = cliInspect(path.join(setup.models.root, NAME), TEXT, ['--generate', '4', '--num-beams', '1']);
    assert.deepEqual(result.ids, cli.generated_ids, 'greedy, the CLI\'s one-beam continuation');
    await page.close();
  });
});
