// Teaching accuracy on the page, read from the DOM as a learner reads it: every number a sentence
// quotes (model width, feed-forward width and share, vocabulary size, head width, norm placement,
// tied embeddings) is the loaded model's, taken from the native CLI's `glassbox info` card and checked
// for two (three) different bundled models; the maps carry axis titles, a 1/n mark, a stretchable
// scale and the forced first causal row; strips, curves and the logit lens carry legends; the sampling
// view shows the model's softmax beside the distribution drawn from, which follows temperature and
// top-k and always lists the chosen token; axe finds nothing serious.
//
//   node --test tests/browser/accuracy.test.mjs   (needs pkg/ and GLASSBOX_BIN or target/debug/glassbox)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  openPage, closePage, waitIdle, pickModel, waitPainted, axeViolations, CLI, ARTIFACTS, typingSettled,
} from './helpers.mjs';

const setup = {};
const WAIT = { timeout: 60000 };

before(async () => {
  Object.assign(setup, await openPage());
});

/** A screenshot of one section, for a person to look at (tests/artifacts/accuracy-*.png). */
const shot = (name, selector) => setup.page.locator(selector).screenshot({ path: path.join(ARTIFACTS, `accuracy-${name}.png`) });

after(() => closePage(setup));

const byKind = (kind) => setup.models.models.find((m) => m.kind === kind);

/** The model card as the CLI prints it: the numbers the page's sentences must quote. */
function card(dir) {
  const out = spawnSync(CLI, ['info', dir], { encoding: 'utf8' });
  assert.equal(out.status, 0, `glassbox info failed: ${out.stderr}`);
  return JSON.parse(out.stdout);
}

/** Run `text` and wait until the teaching views have drawn from it (the block view and, with a head, the lens). */
async function run(page, text, info) {
  await page.fill('#text-input', text);
  await typingSettled(page);
  await page.click('#run-button');
  await waitIdle(page);
  await page.waitForFunction((lens) => document.body.dataset.teaching === 'idle'
    && document.querySelector('#block-view .block-diagram')
    && (!lens || document.querySelector('#logit-lens .lens-table')), info.hasLmHead, WAIT);
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent.replace(/\s+/g, ' ').trim());

describe('sentences follow the loaded model', () => {
  for (const kind of ['decoder-only', 'encoder-decoder', 'encoder-only']) {
    it(`${kind}: widths, vocabulary, norm placement, head width and tied head come from the model`, async () => {
      const { page } = setup;
      const model = byKind(kind);
      assert.ok(model, `a ${kind} model under test`);
      const info = card(model.dir);
      const b = info.block;
      await pickModel(page, model.name);
      await run(page, 'The cat sat on the mat because it was warm.', info);

      const explain = await text(page, '#model-explain');
      assert.ok(explain.includes(`from ${info.dModel} to ${b.ffnWidth} numbers`), `FFN widths quoted: ${explain}`);
      assert.ok(explain.includes(`(${b.ffnWidth / info.dModel}×)`), `FFN ratio quoted: ${explain}`);
      assert.ok(explain.includes(b.normPlacement === 'pre' ? '(pre-norm)' : '(post-norm)'), `norm placement: ${explain}`);
      assert.ok(!explain.includes(b.normPlacement === 'pre' ? '(post-norm)' : '(pre-norm)'), 'only the model\'s own placement');
      assert.ok(explain.includes(b.tiedEmbeddings ? 'tied embeddings' : 'untied embeddings'), `output head: ${explain}`);
      if (info.modelType === 'bert' && b.tiedEmbeddings) {
        // BERT's masked-LM head transforms the vector before the dot product and adds a bias per token (bert.rs mlm_logits).
        assert.ok(explain.includes('a LayerNorm of its own') && explain.includes('plus a bias per token'), `BERT's head: ${explain}`);
      }
      assert.ok(explain.includes(b.normKind), `norm kind ${b.normKind}: ${explain}`);
      const vocab = await text(page, '#vocab-note');
      assert.ok(vocab.includes(info.vocabSize.toLocaleString('en')), `vocabulary size quoted: ${vocab}`);
      const facts = await text(page, '#model-facts');
      assert.ok(facts.includes(`${b.normPlacement}-norm, ${b.normKind}`), `facts: ${facts}`);

      // The block view: the model's wiring and the feed-forward share computed from its card.
      assert.equal(await page.$eval('#block-view', (e) => e.dataset.norm), b.normPlacement);
      const ffn = await page.$eval('#block-view [data-ffn-width]', (e) => ({ ...e.dataset, text: e.textContent }));
      assert.equal(Number(ffn.ffnWidth), b.ffnWidth);
      assert.equal(ffn.activation, b.activation);
      const C = info.dModel;
      const ffnWeights = (b.gatedFfn ? 3 : 2) * C * b.ffnWidth;
      const attentionWeights = 2 * C * info.nHeads * b.dHead + 2 * C * b.nKvHeads * b.dHead;
      const shareWith = (attention) => Math.round((100 * ffnWeights) / (ffnWeights + attention));
      const share = shareWith(attentionWeights);
      if (kind === 'encoder-decoder') {
        // A decoder layer has cross-attention too: a second set of attention matrices. The block view draws a decoder layer.
        const decoderShare = shareWith(2 * attentionWeights);
        assert.equal(Number(ffn.share), decoderShare, 'feed-forward share of a decoder layer\'s weights');
        assert.ok(explain.includes(`holds ${share}% of an encoder layer’s weights and ${decoderShare}% of a decoder layer’s`), `shares quoted: ${explain}`);
        assert.ok(ffn.text.includes(`attention matrices ${(2 * attentionWeights).toLocaleString('en')} (self-attention and cross-attention)`), ffn.text);
      } else {
        assert.equal(Number(ffn.share), share, 'feed-forward share of a layer\'s weights');
        assert.ok(explain.includes(`holds ${share}% of a layer’s weights`), `share quoted: ${explain}`);
      }
      assert.ok(!explain.includes('most of them') || share > 50, 'says "most" only when it is');
      await shot(`block-${kind}`, '#block-section');
      const formulas = await page.$$eval('#block-view .block-step code', (els) => els.map((e) => e.textContent));
      assert.ok(formulas.length >= 2 && formulas.every((f) => (b.normPlacement === 'pre' ? /x ← x \+ \w+.*\(\w+Norm\(x\)\)/ : /x ← \w+Norm\(x \+/).test(f)),
        `block formulas: ${formulas}`);
      assert.equal(formulas.length, kind === 'encoder-decoder' ? 3 : 2, 'one step per sub-layer (a decoder layer of an encoder-decoder has three)');
      if (info.hasLmHead) {
        const rows = await page.$$eval('#block-view .residual-table tbody tr', (els) => els.length);
        assert.equal(rows, (kind === 'encoder-only' ? info.nLayers : kind === 'decoder-only' ? info.nLayers : info.nDecoderLayers) + 1,
          'one residual row per hidden state');
        // An encoder-decoder's table is its decoder's stream, and its heading says so (its rows are decoder tokens).
        const heading = await page.$$eval('#block-view h3', (els) => els.map((e) => e.textContent).find((t) => /residual stream, layer by layer/.test(t)));
        assert.equal(heading, kind === 'encoder-decoder' ? 'The decoder’s residual stream, layer by layer' : 'The residual stream, layer by layer');
      }

      // The Q/K/V scale sentence names the per-head width d_k.
      const dk = b.dHead;
      const formula = await text(page, '#qkv .qkv-formula');
      assert.ok(formula.includes(`d_k = ${dk}`) && formula.includes('saturate'), `scale explained with d_k: ${formula}`);
      assert.ok(await page.$('#qkv .vector-legend'), 'Q/K/V strips have a legend');

      // The logit lens: a shading scale, and the embeddings row explained from the card's tie.
      if (info.hasLmHead) {
        assert.ok(await page.$('#logit-lens .lens-legend'), 'logit lens shading scale');
        const note = await page.$$eval('#logit-lens p.muted', (els) => els.map((e) => e.textContent).join(' '));
        assert.ok(!/darker cells are more confident/i.test(note), 'no "darker = more confident"');
        assert.ok(note.includes(b.tiedEmbeddings ? 'tied embeddings' : 'untied'), `embeddings row: ${note}`);
        const [, echoes, of] = note.match(/At (\d+) of (\d+) positions/) ?? [];
        assert.ok(echoes !== undefined, `the echo is counted, not assumed: ${note}`);
        // The note claims only what its count says (BERT's head transforms the embedding first: few echo).
        assert.ok(!/\bmostly\b/.test(note) || 2 * Number(echoes) > Number(of), `"mostly" with ${echoes} of ${of}: ${note}`);
        assert.ok(!/strongly coloured/.test(note), `no claim about the colours the cells may not have: ${note}`);
        assert.equal(/shows that echo/.test(note), Number(echoes) > 0, `the echo sentence only where there is one: ${note}`);
        // Its table's name says what a cell predicts: the next token, or a masked-LM's token at the position.
        // (named when it scrolls: narrowed here until it does).
        const name = await page.evaluate(async () => {
          const box = document.querySelector('#logit-lens .qkv-scroll');
          box.style.width = '60px';
          for (let i = 0; i < 50 && !box.getAttribute('aria-label'); i++) await new Promise((r) => setTimeout(r, 20));
          const label = box.getAttribute('aria-label');
          box.style.width = '';
          return label;
        });
        assert.equal(name.includes('next token'), kind !== 'encoder-only', `lens region name: ${name}`);
      }
      // Positions: tables and curves carry axes.
      if (info.positions === 'learned' || info.positions === 'sinusoidal') {
        const axes = await page.$$eval('#positions .curve-axes', (els) => els.map((e) => e.textContent));
        assert.ok(axes.some((a) => a.includes('position 0')) && axes.some((a) => a.includes('Rows')), `position axes: ${axes}`);
        const explainPos = await text(page, '#positions p.explain');
        if (info.maxPositions) assert.ok(explainPos.includes(String(info.maxPositions)), `the position limit quoted: ${explainPos}`);
      }
    });
  }
});

describe('maps a learner can read', () => {
  it('axis titles, the 1/n mark, the forced first causal row and a stretchable scale', async () => {
    const { page } = setup;
    const gpt = byKind('decoder-only');
    const info = card(gpt.dir);
    await pickModel(page, gpt.name);
    await run(page, 'The animal did not cross the street because it was too tired.', info);
    await waitPainted(page, '#heatmap canvas.heatmap-canvas');
    const axes = await text(page, '#heatmap .heatmap-axes');
    assert.ok(axes.includes('query') && axes.includes('key'), `axis titles: ${axes}`);
    const nCols = Number(await page.$eval('#heatmap', (e) => e.dataset.cols));
    // A decoder's row r sees r keys: the marker's 1/n is the last row's, and says so.
    assert.equal(await text(page, '#heatmap .legend-uniform'), `▲ 1/${nCols} uniform (last row)`);
    assert.ok((await text(page, '#heatmap .mask-note')).includes('by construction'), 'the forced row is explained');
    // The first row's cell reads as forced.
    await page.focus('#heatmap canvas.heatmap-canvas');
    const readout = await text(page, '#heatmap .readout');
    assert.ok(readout.includes('forced') && readout.includes('1.0000'), `forced cell read-out: ${readout}`);

    const ticks = () => page.$$eval('#heatmap .legend-ticks span', (els) => els.map((e) => e.textContent));
    assert.deepEqual(await ticks(), ['0', '0.25', '0.5', '0.75', '1']);
    await page.check('#heatmap .legend-contrast input');
    await waitPainted(page, '#heatmap canvas.heatmap-canvas');
    const top = Number(await page.$eval('#heatmap canvas.heatmap-canvas', (c) => c.dataset.scaleTop));
    // The stretched top is the largest visible weight, the forced first row left out (it is 1 by
    // construction); the last tick shows it.
    assert.ok(top > 0 && top <= 1, `scale top ${top}`);
    assert.equal((await ticks()).at(-1), String(Number(top.toFixed(3))));
    await shot('attention-stretched', '#attention-section');
    await page.uncheck('#heatmap .legend-contrast input');
  });

  it('cross-attention: decoder rows, encoder columns, the start token labelled', async () => {
    const { page } = setup;
    const mt = byKind('encoder-decoder');
    const info = card(mt.dir);
    await pickModel(page, mt.name);
    await run(page, 'the cat sat on the mat', info);
    await page.$eval('#kind-switch input[value="cross"]', (e) => e.click());
    await page.waitForFunction(() => document.querySelector('#heatmap')?.dataset.kind === 'cross');
    await waitPainted(page, '#heatmap canvas.heatmap-canvas');
    const axes = await text(page, '#heatmap .heatmap-axes');
    assert.ok(axes.includes('decoder token') && axes.includes('encoder token'), `cross axes: ${axes}`);
    const rows = await page.evaluate(async () => {
      const { heatmapData } = await import('/views/heatmap.js');
      return heatmapData(document.querySelector('#heatmap')).rowLabels;
    });
    assert.match(rows[0], /\(start\)$/, `first row is the decoder start token: ${rows}`);
    const explain = await text(page, '#kind-explain');
    assert.ok(explain.includes('decoder start token') && !explain.includes('being written'), explain);
  });
});

describe('an honest sampling view', () => {
  /** Generate `n` tokens with these settings; the rows of the first step's table. */
  async function generate(page, { temperature, topK = 0, topP = 1, seed = 7, n = 3 }) {
    await page.fill('#temperature', String(temperature));
    await page.fill('#top-k', String(topK));
    await page.fill('#top-p', String(topP));
    await page.fill('#seed', String(seed));
    await page.fill('#max-tokens', String(n));
    await page.fill('#num-beams', '1');
    await page.click('#generate-button');
    await waitIdle(page);
    await page.click('#generated .gen-token[data-index="0"]');
    await page.waitForFunction(() => document.querySelector('#candidates')?.dataset.step === '0');
    return page.$$eval('#candidates tr.candidate, #candidates tr.candidate-extra', (trs) => trs.map((tr) => ({
      id: Number(tr.dataset.id),
      chosen: tr.classList.contains('chosen'),
      raw: tr.querySelector('.cand-raw')?.dataset.prob === undefined ? null : Number(tr.querySelector('.cand-raw').dataset.prob),
      sampled: tr.querySelector('.cand-sampled')?.dataset.prob === undefined ? null : Number(tr.querySelector('.cand-sampled').dataset.prob),
    })));
  }

  it('temperature and top-k change the distribution shown; the chosen token is always in it', async () => {
    const { page } = setup;
    const gpt = byKind('decoder-only');
    const info = card(gpt.dir);
    await pickModel(page, gpt.name);
    await run(page, 'Once upon a time', info);

    const greedy = await generate(page, { temperature: 0 });
    const chosenG = greedy.filter((r) => r.chosen);
    assert.equal(chosenG.length, 1, 'one chosen row');
    assert.equal(chosenG[0].sampled, 1, 'greedy: the chosen token has probability 1');
    assert.ok(greedy.filter((r) => !r.chosen).every((r) => r.sampled === 0), 'greedy: every other token 0');
    const note = await text(page, '#candidates .sampling-note');
    assert.ok(note.includes('T = 0') && note.includes(info.vocabSize.toLocaleString('en')), `settings explained: ${note}`);

    const hot = await generate(page, { temperature: 1.5, topK: 5 });
    await shot('sampling-hot', '#generate-section');
    const cold = await generate(page, { temperature: 0.5, topK: 5 });
    for (const [name, rows] of [['T 1.5', hot], ['T 0.5', cold]]) {
      const chosen = rows.filter((r) => r.chosen);
      assert.equal(chosen.length, 1, `${name}: the chosen token is listed`);
      assert.ok(chosen[0].sampled > 0, `${name}: the chosen token had a non-zero probability`);
      const kept = rows.filter((r) => r.sampled > 0);
      assert.ok(kept.length <= 5, `${name}: top-k 5 keeps at most 5 (${kept.length})`);
      const sum = kept.reduce((s, r) => s + r.sampled, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `${name}: the kept probabilities add up to 1 (${sum})`);
    }
    // The model's own softmax at step 0 is the same whatever the settings; what is drawn from is not.
    const rawOf = (rows) => rows.filter((r) => r.raw !== null).map((r) => [r.id, r.raw.toFixed(6)]).join();
    assert.equal(rawOf(hot), rawOf(greedy), 'the left column does not depend on the settings');
    const top = (rows) => Math.max(...rows.map((r) => r.sampled ?? 0));
    assert.ok(top(cold) > top(hot), `a lower temperature sharpens: ${top(cold)} vs ${top(hot)}`);
    assert.ok(top(hot) < 1, 'sampled at T 1.5 is not one-hot');
  });
});

describe('accessibility', () => {
  it('axe finds no serious or critical violation in the new views', async () => {
    const { page } = setup;
    const result = await axeViolations(page, ['#generate-section', '#block-section', '#attention-section', '#lens-section', '#positions-section', '#qkv-section']);
    assert.deepEqual(result.serious, [], result.serious.join('\n'));
  });
});
