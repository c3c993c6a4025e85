// A Qwen3 model (the qwen3 fixture: per-head q_norm/k_norm, 4 query heads on 2 key/value heads, head_dim 24)
// opened on the page as a folder the server offers, in headless Chromium: the model facts and the layer
// explanation say that each head's query and key are normalised, the Q/K/V step-through says its q and k
// are normalised and turned, and the weights it shows are the native CLI's attention (so the page's q and
// k are the normalised ones). axe-core finds no serious/critical WCAG 2.1 AA violation there.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/qwen3.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, cliInspect, axeViolations, ROOT } from './helpers.mjs';

const NAME = 'zz-qwen3';
const FIXTURE = path.join(ROOT, 'tests/fixtures/models/qwen3');
const TEXT = 'The dog chased the cat';
const setup = {};

before(async () => {
  Object.assign(setup, await openPageWithModel(NAME, FIXTURE, TEXT));
});

after(() => closePage(setup));

describe('a Qwen3 model on the page', () => {
  it('the facts and the layer explanation name the per-head query/key norm', async () => {
    const { page } = setup;
    const facts = await page.$eval('#model-facts', (e) => e.textContent);
    assert.match(facts, /qwen3/);
    assert.match(facts, /pre-norm, RMSNorm; each head’s query and key normalised too/);
    assert.match(await page.$eval('#block-view', (e) => e.textContent), /each head’s query and key are normalised on their own \(an RMSNorm over the head’s numbers, with one learned scale that all heads share\) before the rotation/);
  });

  it('the Q/K/V step-through shows the normalised, turned q and k: its weights are the CLI\'s attention', async () => {
    const { page } = setup;
    const formula = await page.$eval('#qkv .qkv-formula', (e) => e.textContent);
    assert.match(formula, /already normalised head by head \(RMSNorm\) and turned/);
    assert.match(await page.$eval('#qkv .qkv-gqa', (e) => e.textContent), /4 query heads but only 2 key\/value heads/);
    // The attention weights of the query the step-through shows, against the native core's attention
    // (the fixture's norms are far from 1, so q and k without their norm would give other weights).
    // The last token, whose row spreads over every key (the first one can only see itself).
    const last = (await page.$$('#qkv .qkv-query')).length - 1;
    await page.click(`#qkv .qkv-query[data-index="${last}"]`);
    await page.waitForFunction((i) => document.querySelector(`#qkv .qkv-query[data-index="${i}"]`)?.getAttribute('aria-checked') === 'true', last);
    const layer = Number(await page.$eval('#qkv-layer', (e) => e.value));
    const head = Number(await page.$eval('#qkv-head', (e) => e.value));
    const query = Number(await page.$eval('#qkv .qkv-query[aria-checked="true"]', (e) => e.dataset.index));
    const shown = await page.$$eval('#qkv .qkv-table tbody tr', (rows) => rows.map((r) => Number(r.querySelector('.qkv-weight .num').textContent.replace('%', ''))));
    const want = cliInspect(FIXTURE, TEXT).attentions.decoder[layer][head][query];
    assert.equal(shown.length, want.length, 'one row per key');
    shown.forEach((w, k) => assert.ok(Math.abs(w - 100 * want[k]) <= 0.051, `layer ${layer + 1}, head ${head + 1}, query ${query}, key ${k}: page ${w}%, CLI ${(100 * want[k]).toFixed(3)}%`));
    assert.ok(shown.some((w) => w > 0 && w < 100), 'the weights are spread over several keys');
  });

  it('axe (WCAG 2.1 A/AA): no serious or critical violations in the facts and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
