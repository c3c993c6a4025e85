// The teaching sections of the page, used as a person uses them, in headless Chromium: fill-mask and
// next-token predictions (checked against the native CLI), the Q/K/V step-through (its weights are the
// attention map's row), interventions by mouse and keyboard (an ablated head's map is zero, a hidden
// token gets no attention, Reset restores the run), positions, the logit lens, the tokenizer's steps,
// and a phone-width layout. Screenshots: tests/artifacts/teaching-*.png.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/teaching.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  openPage, closePage,
  cliInspect, cliInfo, maxAbsDiff, waitIdle, pickModel,
  canvasInk, CLI, ARTIFACTS, ROOT,
  teachingSettled, readHeatmap, showAttention, modelFacts, qkvShown, typingSettled,
} from './helpers.mjs';

const TOLERANCE = 1e-5;
const T5_NAME = 'zz-t5-relative';
// T5 (relative positions, a position bias in every self-attention score) beside the models under test.
const setup = {};

before(async () => {
  Object.assign(setup, await openPage({ extraModels: { [T5_NAME]: path.join(ROOT, 'tests/fixtures/models/t5_tiny') } }));
});

after(() => closePage(setup));

const byKind = (kind) => setup.models.models.find((m) => m.kind === kind);
/** The Q/K/V step-through's choice as its controls show it: kind, layer and head (from 0), query. */
const qkvChoice = () => setup.page.evaluate(() => ({
  kind: document.querySelector('#qkv-kind').value,
  layer: Number(document.querySelector('#qkv-layer').value),
  head: Number(document.querySelector('#qkv-head').value),
  query: Number(document.querySelector('#qkv').dataset.query),
}));

/** The map under the interventions (#intervention-heatmap: the run with the interventions, at the step-through's head), row `q`. */
async function liveRow(page, q) {
  const map = await readHeatmap(page, '#intervention-heatmap');
  return map.values.slice(q * map.nCols, (q + 1) * map.nCols);
}

/** The predictions shown (#predictions): per group, the candidates' ids and percentages; the output line of a translator. */
const predictionsShown = (page) => page.$eval('#predictions', (root) => ({
  groups: [...root.querySelectorAll('.prediction')].map((g) => [...g.querySelectorAll('.candidate')]
    .map((c) => ({ id: Number(c.dataset.id), prob: c.querySelector('.cand-prob')?.textContent }))),
  output: root.querySelector('.pred-text')?.textContent ?? null,
}));

/** The logit lens table (#logit-lens), bottom row (embeddings) first: the top token id per position. */
const lensShown = (page) => page.$$eval('#logit-lens tbody tr', (rows) => rows
  .map((r) => ({ state: Number(r.dataset.state), ids: [...r.querySelectorAll('td')].map((td) => Number(td.dataset.id)) }))
  .sort((a, b) => a.state - b.state).map((r) => r.ids));

// Numbers in the step-through's table are shown to 4 significant digits (weights to 6).
const shownClose = (a, b) => Math.abs(a - b) <= 1e-3 * Math.max(1, Math.abs(b));

async function shot(name, selector) {
  const target = selector ? await setup.page.$(selector) : setup.page;
  await target.screenshot({ path: path.join(ARTIFACTS, `teaching-${name}.png`), ...(selector ? {} : { fullPage: true }) });
}

/** Wait for the teaching views to finish the work started by `action`. */
async function settled(page, action) {
  await teachingSettled(page, action);
}

async function typeAndRun(page, text) {
  await page.fill('#text-input', text);
  await typingSettled(page);
  await settled(page, () => page.click('#run-button'));
  await waitIdle(page);
  for (const id of ['#run-error', '#predict-section .error', '#qkv-section .error']) {
    const err = await page.$eval(id, (e) => (e.hidden ? '' : e.textContent));
    assert.equal(err, '', `${id} after running "${text}"`);
  }
}

const argmax = (row) => row.indexOf(Math.max(...row));

describe('teaching views', () => {
  it('fill-mask: the top guess at [MASK] is the CLI argmax; Q/K/V weights are the attention row', async () => {
    const { page } = setup;
    const bert = byKind('encoder-only');
    await pickModel(page, bert.name);
    const text = 'The dog chased the [MASK].';
    await typeAndRun(page, text);
    const cli = cliInspect(bert.dir, text);
    const at = cli.tokens.indexOf('[MASK]');
    assert.ok(at > 0, 'the CLI keeps [MASK] whole');
    const shown = await page.$$eval('#predictions .prediction', (boxes) => boxes.map((b) => ({
      position: Number(b.dataset.position), ids: [...b.querySelectorAll('.candidate')].map((c) => Number(c.dataset.id)) })));
    assert.equal(shown.length, 1);
    assert.equal(shown[0].position, at);
    assert.equal(shown[0].ids[0], argmax(cli.logits[at]), 'top-1 = CLI argmax');

    // Q/K/V: layer 2 (if any), head 2, query = the mask, chosen with the controls and the keyboard.
    const layers = await page.$$eval('#qkv-layer option', (o) => o.length);
    await settled(page, () => page.selectOption('#qkv-layer', String(layers - 1)));
    await page.selectOption('#qkv-head', '1');
    await page.click('#qkv .qkv-query[data-index="0"]');
    await page.focus('#qkv .qkv-query[data-index="0"]');
    for (let i = 0; i < at; i++) await page.keyboard.press('ArrowRight');
    const st = await qkvChoice();
    assert.deepEqual([st.layer, st.head, st.query], [layers - 1, 1, at]);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.index), String(at), 'focus follows the arrow keys');
    const row = await qkvShown(page);
    assert.deepEqual([row.head, row.query], [1, at], 'the step-through shows the chosen head and query');
    const mapRow = await liveRow(page, at);
    assert.ok(maxAbsDiff(row.weights, mapRow) < TOLERANCE, 'step-through weights = attention map row');
    assert.ok(maxAbsDiff(row.weights, cli.attentions.encoder[layers - 1][1][at]) < 1e-4, 'and the CLI row');
    const cliScores = cliInspect(bert.dir, text, ['--scores']).scores.encoder[layers - 1][1][at];
    row.scores.forEach((sc, j) => assert.ok(shownClose(sc, cliScores[j]), `score ${j}: ${sc} vs the CLI's ${cliScores[j]}`));
    row.dots.forEach((d, j) => assert.ok(shownClose(d * row.scale, row.scores[j]), `score ${j} = q·k × ${row.scale}`));
    const percents = await page.$$eval('#qkv .qkv-table tbody tr .qkv-weight .num', (c) => c.map((e) => parseFloat(e.textContent)));
    percents.forEach((p, j) => assert.ok(Math.abs(p - row.weights[j] * 100) < 0.051, `shown weight ${j}`));
    // The main heatmap shows the same row when set to the same layer/head.
    const heat = await showAttention(page, 'encoder', layers - 1, 1);
    assert.ok(maxAbsDiff(heat.values.slice(at * heat.nCols, (at + 1) * heat.nCols), row.weights) < TOLERANCE, 'heatmap row');
    assert.ok((await canvasInk(page, '#qkv .vector-strip')).colours > 3, 'the query strip is drawn');
    // The query vector read with the keyboard: the read-out gives q[1] exactly.
    await page.focus('#qkv .qkv-vector .vector-strip');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const readout = await page.$eval('#qkv .qkv-readout', (e) => e.textContent);
    const m = /q of “.*”\[1\] = (\S+)/.exec(readout);
    assert.ok(m && Number.isFinite(Number(m[1].replace('−', '-'))), readout);
    await shot('qkv-bert', '#qkv-section');
  });

  it('interventions: ablate a head by mouse, hide a token by keyboard, reset', async () => {
    const { page } = setup;
    const before = await predictionsShown(page);
    await settled(page, () => page.click('#interventions .head-toggle[data-kind="encoder"][data-layer="0"][data-head="0"]'));
    assert.equal(await page.$eval('#interventions .head-toggle[data-layer="0"][data-head="0"]', (b) => b.getAttribute('aria-pressed')), 'true');
    // The step-through (and the map under the interventions) at layer 1, head 1.
    await settled(page, () => page.selectOption('#qkv-layer', '0'));
    await page.selectOption('#qkv-head', '0');
    const zero = await liveRow(page, 1);
    assert.ok(zero.every((x) => x === 0), `the ablated head attends nowhere: ${zero}`);
    const after = await predictionsShown(page);
    assert.notDeepEqual(after.groups.map((g) => g[0].prob), before.groups.map((g) => g[0].prob), 'the predictions changed');
    // Hide token 2 with the keyboard.
    await page.focus('#interventions .hide-toggle[data-index="2"]');
    await settled(page, () => page.keyboard.press('Enter'));
    assert.equal(await page.evaluate(() => document.activeElement.dataset.index), '2', 'focus stays on the toggled chip');
    const hidden = await page.$$eval('#interventions .hide-toggle', (bs) => bs.map((b) => b.getAttribute('aria-pressed')));
    assert.deepEqual(hidden.map((h, i) => [i, h]).filter(([, h]) => h === 'true'), [[2, 'true']], 'token 3 alone is hidden');
    await settled(page, () => page.selectOption('#qkv-layer', '1'));
    await page.selectOption('#qkv-head', '2');
    const map = await readHeatmap(page, '#intervention-heatmap');
    assert.equal(map.nRows, hidden.length);
    for (let q = 0; q < map.nRows; q++) {
      assert.ok(map.values[q * map.nCols + 2] < 1e-9, `query ${q} ignores the hidden token`);
    }
    assert.ok(await page.$eval('#predictions', (e) => /Without your changes|moved/.test(e.textContent)), 'the change is explained');
    await shot('interventions-bert', '#predict-section');
    await page.focus('#interventions .intervention-reset');
    await settled(page, () => page.keyboard.press('Enter'));
    const reset = await predictionsShown(page);
    assert.deepEqual(reset, before, 'Reset restores the original predictions');
    assert.equal(await page.$eval('#interventions .intervention-reset', (b) => b.disabled), true);
  });

  it('decoder-only: next token = CLI argmax; logit lens rows; learned positions; BPE merges', async () => {
    const { page } = setup;
    const gpt2 = byKind('decoder-only');
    await pickModel(page, gpt2.name);
    const text = 'The dog chased the cat';
    await typeAndRun(page, text);
    const cli = cliInspect(gpt2.dir, text);
    const last = cli.tokens.length - 1;
    const top = await page.$eval('#predictions .prediction .candidate', (c) => Number(c.dataset.id));
    assert.equal(top, argmax(cli.logits[last]));
    const lens = await lensShown(page);
    const nLayers = Number((await modelFacts(page)).Layers);
    assert.equal(nLayers, cli.attentions.decoder.length, 'the facts give the number of layers');
    assert.equal(lens.length, nLayers + 1);
    assert.deepEqual(lens.at(-1), cli.logits.map(argmax), 'the last lens row is the model output');
    await page.waitForSelector('#positions .position-image');
    assert.ok((await canvasInk(page, '#positions .position-image')).colours > 10, 'the position table is drawn');
    assert.match(await page.$eval('#positions', (e) => e.textContent), /Learned positions/);
    assert.equal(await page.$$eval('#order-demo .order-row', (r) => r.length), 2);
    assert.equal(await page.$$eval('#order-demo .moved-word .vector-strip', (r) => r.length), 4, 'token row + position row, twice');
    // Causal masking in the step-through: the first query sees only itself.
    await page.click('#qkv .qkv-query[data-index="0"]');
    const row = await qkvShown(page);
    assert.equal(row.query, 0);
    assert.equal(row.weights[0], 1);
    assert.ok(row.blocked.slice(1).every((b) => b === 'future'));
    // Tokenizer steps: pick "chased" and see BPE merges; the other tokenizers side by side.
    await page.waitForSelector('#tokenizer-steps .word-choice');
    const words = await page.$$eval('#tokenizer-steps .word-choice', (b) => b.map((x) => x.textContent));
    const chased = words.findIndex((w) => w.includes('chased'));
    assert.ok(chased >= 0, `a word "chased" among ${words}`);
    await page.click(`#tokenizer-steps .word-choice[data-index="${chased}"]`);
    assert.equal(await page.$eval('#tokenizer-steps .word-steps', (e) => e.dataset.algorithm), 'Bpe');
    assert.ok(await page.$$eval('#tokenizer-steps .bpe-step', (r) => r.length) >= 2, 'at least one merge');
    await page.waitForFunction(() => document.querySelectorAll('#tokenizer-steps .tokenizer-column').length >= 3);
    const kinds = await page.$$eval('#tokenizer-steps .tokenizer-column .muted', (e) => e.map((x) => x.textContent.split(',')[0].trim()));
    for (const k of ['BPE', 'WordPiece', 'Unigram']) assert.ok(kinds.includes(k), `${k} among ${kinds}`);
    // Each column says how many tokens its tokenizer knows, as the model card counts them.
    const columns = await page.$$eval('#tokenizer-steps .tokenizer-column', (cs) => cs.map((c) => [c.dataset.name, c.querySelector('.muted')?.textContent ?? '']));
    const models = columns.filter(([name]) => setup.models.models.some((m) => m.name === name));
    assert.ok(models.length >= 3, `a column per model under test: ${columns.map(([n]) => n)}`);
    for (const [name, text] of models) {
      const size = cliInfo(setup.models.models.find((m) => m.name === name).dir).tokenizerVocabSize;
      assert.ok(text.endsWith(`from a vocabulary of ${size.toLocaleString('en')}`), `${name}: ${text}`);
    }
    await shot('positions-gpt2', '#positions-section');
    await shot('lens-gpt2', '#lens-section');
    await shot('tokenizer-gpt2', '#tokenizer-section');
  });

  it('encoder-decoder: the greedy output is the CLI\'s; ablating every cross head changes it; sinusoids or buckets', async () => {
    const { page } = setup;
    const t = byKind('encoder-decoder');
    await pickModel(page, t.name);
    const text = 'the small dog sees the red car';
    await typeAndRun(page, text);
    const cli = spawnSync(CLI, ['generate', t.dir, '--text', text, '--max-new-tokens', '30'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const output = (await predictionsShown(page)).output;
    assert.equal(output, cli.stdout.trim());
    // Cross-attention step-through: keys are the source tokens.
    await settled(page, () => page.selectOption('#qkv-kind', 'cross'));
    const row = await qkvShown(page);
    const st = await qkvChoice();
    assert.equal(st.kind, 'cross');
    assert.equal(row.weights.length, cliInspect(t.dir, text).ids.length, 'one key per source token');
    const mapRow = await liveRow(page, st.query);
    assert.ok(maxAbsDiff(row.weights, mapRow) < TOLERANCE);
    const nCross = await page.$$eval('#interventions .head-toggle[data-kind="cross"]', (b) => b.length);
    for (let i = 0; i < nCross; i++) {
      await settled(page, () => page.locator('#interventions .head-toggle[data-kind="cross"]').nth(i).click());
    }
    const ablated = (await predictionsShown(page)).output;
    assert.notEqual(ablated, output, 'without cross-attention the decoder cannot see the source');
    assert.ok(await page.$eval('#predictions', (e) => e.textContent.includes('Without your changes')));
    await shot('interventions-translator', '#predict-section');
    await settled(page, () => page.click('#interventions .intervention-reset'));
    assert.equal((await predictionsShown(page)).output, output);
    // The facts name the positions ("relative buckets", "sinusoidal (fixed)", "learned table").
    const positions = (await modelFacts(page)).Positions;
    await page.waitForSelector(/relative/.test(positions) ? '#positions .bucket-strip canvas' : '#positions .position-image');
    assert.match(await page.$eval('#positions', (e) => e.textContent),
      /relative/.test(positions) ? /Relative positions/ : /sinusoidal/.test(positions) ? /Sinusoidal positions/ : /Learned/);
    await shot('positions-translator', '#positions-section');
    await shot('qkv-translator-cross', '#qkv-section');
  });

  it('T5: relative buckets and per-head bias; the step-through adds the bias to q·k', async () => {
    const { page } = setup;
    await pickModel(page, T5_NAME);
    await typeAndRun(page, 'The dog chased the cat');
    await page.waitForSelector('#positions .bucket-strip canvas');
    const positionsText = await page.$eval('#positions', (e) => e.textContent);
    assert.match(positionsText, /Relative positions/);
    // transformers' T5LayerCrossAttention has no relative bias: only self-attention scores get one.
    assert.match(positionsText, /each self-attention score gets a learned bias/);
    assert.match(positionsText, /cross-attention, where the decoder reads the encoder, gets no position bias/);
    assert.ok((await canvasInk(page, '#positions .position-figure canvas')).colours > 3, 'the bias per head and bucket is drawn');
    assert.ok(await page.$$eval('#order-demo .moved-word', (e) => e.length === 0), 'no position rows to add for T5');
    const heads = await page.$$eval('#qkv .qkv-table thead th', (t) => t.map((x) => x.textContent));
    assert.ok(heads.includes('bias'), `columns ${heads}`);
    const row = await qkvShown(page);
    assert.equal(row.scale, 1, 'T5 does not scale its scores');
    row.dots.forEach((d, j) => assert.ok(shownClose(d + row.bias[j], row.scores[j]), `score ${j}: ${d} + ${row.bias[j]} vs ${row.scores[j]}`));
    assert.ok(row.bias.some((b) => b !== 0));
    await shot('positions-t5', '#positions-section');
  });

  it('fits a 390 px phone screen without sideways scrolling of the page', async () => {
    const { page } = setup;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await shot('phone-predict', '#predict-section');
    await shot('phone-qkv', '#qkv-section');
    await shot('phone-positions', '#positions-section');
    await page.setViewportSize({ width: 1200, height: 900 });
  });

  it('widgets: <glassbox-qkv> and <glassbox-predictions> show the same numbers as the page', async () => {
    const { page } = setup;
    const bert = byKind('encoder-only');
    const text = 'The dog chased the [MASK].';
    await page.evaluate(async ({ name, text: t }) => {
      await import('./glassbox-widgets.js');
      const box = document.createElement('div');
      box.id = 'widget-box';
      box.innerHTML = `<glassbox-predictions eager model="${name}"></glassbox-predictions>`
        + `<glassbox-qkv eager model="${name}" kind="encoder" layer="1" head="2" query="2"></glassbox-qkv>`;
      for (const w of box.children) w.setAttribute('text', t);
      document.body.append(box);
    }, { name: bert.name, text });
    await page.waitForFunction(() => [...document.querySelectorAll('#widget-box > *')].every((w) => w.dataset.status === 'ready'), null, { timeout: 60000 });
    const cli = cliInspect(bert.dir, text);
    const at = cli.tokens.indexOf('[MASK]');
    const top = await page.evaluate(() => Number(document.querySelector('glassbox-predictions').shadowRoot.querySelector('.candidate').dataset.id));
    assert.equal(top, argmax(cli.logits[at]));
    const percents = await page.evaluate(() => [...document.querySelector('glassbox-qkv').shadowRoot
      .querySelectorAll('.qkv-table tbody .qkv-weight .num')].map((e) => parseFloat(e.textContent)));
    const expected = cli.attentions.encoder[0][1][1];
    percents.forEach((p, j) => assert.ok(Math.abs(p - expected[j] * 100) < 0.051, `widget weight ${j}: ${p} vs ${expected[j]}`));
    await page.keyboard.press('Tab');
    await (await page.$('#widget-box')).screenshot({ path: path.join(ARTIFACTS, 'teaching-widgets.png') });
    await page.evaluate(() => document.getElementById('widget-box').remove());
  });

  it('left no console errors', () => {
    assert.deepEqual(setup.watch.errors.filter((e) => !e.includes('favicon')), []);
  });
});

describe('the other tokenizers beside this one', () => {
  it('are loaded as tokenizers alone: no other model’s weights are built; the teaching run keeps one map', async () => {
    const { context, server } = setup;
    // Every request the page sends its worker, from the first (a fresh page in the same context).
    await context.addInitScript(() => {
      window.__workerRequests = [];
      const post = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function (msg, ...rest) {
        window.__workerRequests.push({ type: msg?.type, randomSeed: msg?.randomSeed ?? null, url: msg?.source?.baseUrl ?? null,
          lens: msg?.options?.logitLens ?? 0, attention: msg?.options?.attention ?? null });
        return post.call(this, msg, ...rest);
      };
    });
    const page = await context.newPage();
    try {
      await page.goto(server.url);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60000 });
      await page.locator('#tokenizer-section').scrollIntoViewIfNeeded();
      await page.waitForFunction(() => document.querySelectorAll('#tokenizer-steps .tokenizer-column').length >= 3, null, { timeout: 120000 });
      const requests = await page.evaluate(() => window.__workerRequests);
      const loads = requests.filter((r) => r.type === 'load');
      // The model shown is the one model loaded (a random-weight twin of every other listed model was built
      // before, for its tokenizer: hundreds of MB for a real-size folder nobody picked).
      assert.equal(loads.length, 1, `model loads: ${JSON.stringify(loads)}`);
      assert.equal(loads[0].randomSeed, null, 'the model shown, from its file');
      assert.ok(requests.filter((r) => r.type === 'loadTokenizer').length >= 2, `tokenizer loads: ${JSON.stringify(requests.filter((r) => r.type === 'loadTokenizer'))}`);
      // The teaching sections' run (the one with the logit lens) keeps the one attention map they draw, not every
      // layer's: a real-size model at 1,000 tokens would hold over 600 MB for it.
      const teaching = requests.filter((r) => r.type === 'inspect' && r.lens > 0);
      assert.ok(teaching.length >= 1, `the teaching sections ran: ${JSON.stringify(requests.map((r) => r.type))}`);
      for (const r of teaching) {
        assert.ok(r.attention && r.attention.kinds?.length === 1 && r.attention.layers?.[1] - r.attention.layers?.[0] === 1, `one layer of one kind: ${JSON.stringify(r.attention)}`);
      }
    } finally {
      await page.close();
    }
  });
});
