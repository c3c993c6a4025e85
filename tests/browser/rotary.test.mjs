// A rotary, grouped-query model (the llama_gqa fixture: 4 query heads, 2 key/value heads, rope_theta 500)
// opened on the page as a folder the server offers, in headless Chromium: the positions section draws the
// rotary angle table with the core's numbers (Hugging Face's inv_freq from the fixture's reference.json),
// the offset demonstration uses the model's own q and k and gives one score per offset (the shift-0 score
// is the native CLI's), and the Q/K/V step-through names the key/value head each query head shares.
// axe-core finds no serious/critical WCAG 2.1 AA violation in those two sections.
// Screenshot: tests/artifacts/rotary-positions.png.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/rotary.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  openPageWithModel, closePage, cliInspect, canvasInk, axeViolations, CLI, ARTIFACTS, ROOT, qkvScale,
} from './helpers.mjs';

const NAME = 'zz-llama-gqa';
const FIXTURE = path.join(ROOT, 'tests/fixtures/models/llama_gqa');
const TEXT = 'The dog chased the cat';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel(NAME, FIXTURE, TEXT));
});

after(() => closePage(setup));

const reference = () => JSON.parse(fs.readFileSync(path.join(FIXTURE, 'reference.json'), 'utf8'));

/** The readout the angle image writes when the pointer is over pair `i` at position `p`. */
async function hoverAngle(page, p, i) {
  return page.$eval('#positions .position-image', (canvas, [p, i]) => {
    const P = 12;   // pairs (head_dim 24 / 2)
    const cell = parseFloat(canvas.style.width) / P;
    const row = parseFloat(canvas.style.height) / Number(canvas.getAttribute('aria-label').match(/(\d+) positions/)[1]);
    // offsetX/offsetY are read-only on a synthetic event: define them on the event we dispatch.
    const e = new PointerEvent('pointermove', { bubbles: true });
    Object.defineProperty(e, 'offsetX', { value: (i + 0.5) * cell });
    Object.defineProperty(e, 'offsetY', { value: (p + 0.5) * row });
    canvas.dispatchEvent(e);
    return canvas.closest('#positions').querySelector('.readout').textContent;
  }, [p, i]);
}

describe('a rotary, grouped-query model on the page', () => {
  it('the positions section draws the core\'s rotary angles', async () => {
    const { page } = setup;
    assert.equal(await page.$eval('#positions-section .error', (e) => (e.hidden ? '' : e.textContent)), '', 'no error in the positions section');
    assert.match(await page.$eval('#positions', (e) => e.textContent), /Rotary positions/);
    // Rotation makes the rotated q·k depend on the positions only through their offset; the score as a whole still
    // depends on what q and k hold (and the weights on which keys are visible): the text says so, not "the score
    // depends only on the distance".
    const positionsText = await page.$eval('#positions', (e) => e.textContent);
    assert.match(positionsText, /positions reach the score only through how far apart the two tokens are, not through where they stand; the rest of the score is what q and k hold/);
    assert.doesNotMatch(positionsText, /the score depends on how far apart the two tokens are/);
    const paragraph = await page.$eval('#model-explain', (e) => e.textContent);
    assert.match(paragraph, /positions enter a query·key product only through how far apart the two tokens are, not where they stand \(the product still depends on what the two vectors hold/);
    assert.doesNotMatch(paragraph, /the position part of a score depends only/);
    assert.match(await page.$eval('#positions .rotary-key', (e) => e.textContent), /Base θ = 500/);
    assert.ok((await canvasInk(page, '#positions .position-image')).colours > 10, 'the angle table is drawn');
    const invFreq = reference().meta.inv_freq;   // Hugging Face's rotary_emb.inv_freq
    for (const [p, i] of [[0, 0], [1, 0], [5, 3], [17, 7], [40, 11]]) {
      const text = await hoverAngle(page, p, i);
      const m = text.match(/^position (\d+), pair (\d+) .*turned by (-?[\d.e+-]+) rad/);
      assert.ok(m, `readout "${text}"`);
      assert.deepEqual([Number(m[1]), Number(m[2])], [p, i]);
      const want = p * invFreq[i];
      assert.ok(Math.abs(Number(m[3]) - want) <= 1e-4 * Math.max(1, want), `angle at position ${p}, pair ${i}: page ${m[3]}, HF ${want}`);
    }
  });

  it('the offset demonstration uses the model\'s q and k: one score per offset, the CLI\'s score at shift 0', async () => {
    const { page } = setup;
    assert.match(await page.$eval('#positions .rotary-demo', (e) => e.textContent), /The model's own query of/);
    const read = (cls) => page.$$eval(`#positions .rotary-table tr.${cls}`, (rows) => rows.map((r) => Array.from(r.cells, (c) => Number(c.textContent))));
    const same = await read('same-offset');
    const other = await read('other-offset');
    assert.ok(same.length >= 3, `${same.length} same-offset rows`);
    assert.ok(other.length >= 1, `${other.length} other-offset rows`);
    const [qPos, kPos, offset, score] = same[0];
    for (const r of same) {
      assert.equal(r[2], offset, 'the same offset');
      assert.ok(Math.abs(r[3] - score) <= 1e-4 * Math.max(1, Math.abs(score)), `score at (${r[0]}, ${r[1]}) ${r[3]} vs ${score}`);
    }
    assert.ok(other.some((r) => Math.abs(r[3] - score) > 1e-3), 'another offset changes the score');
    // Shift 0 is the model's own pair: q·k × scale is the native core's score (layer 1, head 1 by default).
    const cli = cliInspect(FIXTURE, TEXT, ['--scores']);
    const want = cli.scores.decoder[0][0][qPos][kPos];
    const scale = await qkvScale(page);
    assert.ok(Math.abs(score * scale - want) <= 1e-3 * Math.max(1, Math.abs(want)), `q·k × scale ${score * scale} vs CLI ${want}`);
  });

  it('the Q/K/V step-through names the key/value head each query head shares', async () => {
    const { page } = setup;
    assert.match(await page.$eval('#qkv .qkv-formula', (e) => e.textContent), /already turned/);
    const text = () => page.$eval('#qkv .qkv-gqa', (e) => e.textContent);
    assert.match(await text(), /4 query heads but only 2 key\/value heads/);
    assert.match(await text(), /Head 1 reads key\/value head 1, shared with head 2/);
    assert.match(await text(), /the cache of past keys and values that generation keeps \(to avoid recomputing them at every new token\) is 2× smaller/);
    await page.selectOption('#qkv-head', '2');
    await page.waitForFunction(() => document.querySelector('#qkv')?.dataset.head === '2');
    assert.match(await text(), /Head 3 reads key\/value head 2, shared with head 4/);
    assert.equal(await page.$eval('#qkv .qkv-gqa-q.current', (e) => e.getAttribute('aria-current') + e.textContent), 'trueQ 3');
    // The positions demonstration follows the chosen head.
    assert.match(await page.$eval('#positions .rotary-demo', (e) => e.textContent), /head 3/);
    await page.$eval('#positions-section', (e) => e.scrollIntoView());
    await page.locator('#positions-section').screenshot({ path: path.join(ARTIFACTS, 'rotary-positions.png') });
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the positions and Q/K/V sections', async () => {
    const violations = await axeViolations(setup.page, ['#positions-section', '#qkv-section']);
    assert.ok(violations.passed > 5, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors and no requests beyond the page', async () => {
    const { watch } = setup;
    assert.deepEqual(watch.errors, []);
    assert.ok(watch.requests.every((u) => u.startsWith(setup.server.url) || u.startsWith('data:') || u.startsWith('blob:')), 'only the page\'s own origin');
  });
});
