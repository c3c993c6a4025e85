// Granite, OLMo 2 and 3, SmolLM3, Phi-3 and StableLM (the granite, olmo2, olmo3, smollm3, phi3_longrope, stablelm_parallel and stablelm
// fixtures, OLMo 1: olmo, StarCoder2: starcoder2, Cohere: cohere), each opened on the page as a folder the
// server offers, in headless Chromium. Each differs from Llama in one way the teaching text must not get wrong:
// Granite's four multipliers (embeddings, what each step adds, the scores' scale, the logits), OLMo 2's norms on
// each step's output with none on its input (and one q/k norm over all heads), SmolLM3's layers that turn nothing
// ("NoPE"), OLMo 3's sliding layers with a rotation of their own and YaRN on its full layers, Phi-3's LongRoPE
// on part of each head, StableLM's LayerNorms, parallel block and per-head q/k norms with a scale per head, OLMo 1's weightless LayerNorms and clip_qkv, StarCoder2's ungated MLP and window, Cohere's neighbouring rotary pairs and logit_scale. The facts, the block formulas, the positions view and the Q/K/V
// step-through must say so; axe-core finds no serious or
// critical WCAG 2.1 AA violation there.
//
//   node tests/browser/run.mjs            (or, with pkg/ and target/debug/glassbox built:)
//   node --test tests/browser/modern-llamas.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openPageWithModel, closePage, axeViolations, modelFacts, ROOT } from './helpers.mjs';

const TEXT = 'The dog chased the cat across the garden';
const fixture = (name) => path.join(ROOT, 'tests/fixtures/models', name);
const formulas = (page) => page.$$eval('#block-view .block-step code', (els) => els.map((e) => e.textContent));
const qkvFormula = (page) => page.$eval('#qkv .qkv-formula', (e) => e.textContent);

describe('a Granite model on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-granite', fixture('granite'), TEXT)));
  after(() => closePage(setup));

  it('the facts give its multipliers, not Gemma’s √d_model or the usual 1/√d_k', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /granite · decoder-only/);
    assert.equal(facts['Token embeddings'], 'multiplied by 3 on the way in (embedding_multiplier)');
    assert.match(facts['Residual stream'], /multiplied by 0\.4 before it is added \(residual_multiplier\)/);
    assert.match(facts['Attention scores'], /q·k times 0\.09, a number the config sets \(attention_multiplier\), not 1\/√d_k = 0\.25/);
    assert.match(facts['Output head'], /logits divided by 2\.5 \(logits_scaling\)/);
  });

  it('the block formulas scale what each step adds, and the Q/K/V step-through names the config’s scale', async () => {
    const { page } = setup;
    assert.deepEqual(await formulas(page), ['x ← x + 0.4 · SelfAttention(RMSNorm(x))', 'x ← x + 0.4 · FFN(RMSNorm(x))']);
    const formula = await qkvFormula(page);
    assert.match(formula, /× 0\.09 \(the scale is this model’s attention_multiplier/);
    assert.doesNotMatch(formula, /scale_attn_by_inverse_layer_idx|does not scale the scores/);
  });

  it('axe: no serious or critical violations in the facts, the block view and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#block-view', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('an OLMo 2 model on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-olmo2', fixture('olmo2'), TEXT)));
  after(() => closePage(setup));

  it('the facts and the block view put the norms on each step’s output, with none on its input', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /olmo2 · decoder-only/);
    assert.match(facts.Normalisation, /^on each step’s output only \(no norm on what a step reads; two a layer\), RMSNorm; the queries and the keys normalised too, all heads at once$/);
    assert.deepEqual(await formulas(page), ['x ← x + RMSNorm(SelfAttention(x))', 'x ← x + RMSNorm(FFN(x))']);
    assert.equal(await page.$eval('#block-view', (e) => e.dataset.norm), 'output');
    const view = await page.$eval('#block-view', (e) => e.textContent);
    assert.match(view, /does not normalise what a step reads/);
    assert.doesNotMatch(view, /normalises the input of each step|post-norm/);
  });

  it('the Q/K/V step-through says the q/k norm spans all heads', async () => {
    assert.match(await qkvFormula(setup.page), /already normalised \(one RMSNorm over all heads’ queries, one over all keys\) and turned/);
  });

  it('axe: no serious or critical violations in the facts, the block view and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#block-view', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a SmolLM3 model on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-smollm3', fixture('smollm3'), TEXT)));
  after(() => closePage(setup));

  it('the facts and the positions view name the layers without rotation', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /smollm3 · decoder-only/);
    assert.match(facts.Positions, /, except layers 2, 4 \(2 of 4\), which turn nothing and see no positions \(“NoPE”\)$/);
    assert.match(await page.$eval('#positions', (e) => e.textContent), /Layers 2, 4 do not use it/);
  });

  it('the Q/K/V step-through turns q and k on a rotated layer and says it does not on a NoPE layer', async () => {
    const { page } = setup;
    await page.selectOption('#qkv-layer', '0');
    await page.waitForFunction(() => /turned by their positions/.test(document.querySelector('#qkv .qkv-formula')?.textContent ?? ''));
    await page.selectOption('#qkv-layer', '1');
    await page.waitForFunction(() => /this layer does not turn q and k/.test(document.querySelector('#qkv .qkv-formula')?.textContent ?? ''));
    assert.doesNotMatch(await qkvFormula(page), /turned by their positions/);
  });

  it('axe: no serious or critical violations in the facts, the positions view and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#positions', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a Phi-3 model with LongRoPE on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-phi3', fixture('phi3_longrope'), TEXT)));
  after(() => closePage(setup));

  it('the facts and the positions view give the partial rotation and LongRoPE’s two sets of factors', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /phi3 · decoder-only/);
    assert.match(facts.Positions, /, on the first 12 of each head’s 16 dimensions$/);
    const text = await page.$eval('#positions', (e) => e.textContent);
    assert.match(text, /pair i turns by θ\^\(−2i\/12\) \/ fᵢ radians per position/);
    assert.match(text, /This model uses LongRoPE: .* texts of up to 16 tokens, another \(long_factor\) longer ones; these \d+ positions use the (long|short) set/);
    assert.match(text, /multiplied by 1\.225 \(the attention factor\)/);
    assert.match(text, /Only the first 12 of each head’s 16 dimensions turn \(6 pairs\)/);
  });

  it('axe: no serious or critical violations in the facts and the positions view', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#positions']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('an OLMo 3 model with YaRN on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-olmo3', fixture('olmo3'), TEXT)));
  after(() => closePage(setup));

  it('the facts name the sliding layers and the positions view explains YaRN and the second rotation', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /olmo3 · decoder-only/);
    assert.match(facts.Normalisation, /^on each step’s output only/);
    const text = await page.$eval('#positions', (e) => e.textContent);
    assert.match(text, /This model uses YaRN scaling: pairs that turn many times within the 16 positions it was first trained on keep their speed/);
    assert.match(text, /multiplied by 1\.139 \(the attention factor\)/);
    assert.match(text, /This is the rotation of OLMo 3’s full-attention layers; its sliding-window layers turn q and k with a rotation of their own/);
  });

  it('axe: no serious or critical violations in the facts and the positions view', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#positions']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a Gemma 3 image-and-text checkpoint on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-gemma3-vision', fixture('gemma3_vision'), TEXT)));
  after(() => closePage(setup));

  it('its language model runs: the facts, the sliding layers and the second rotation are Gemma 3’s', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /gemma3 · decoder-only/);
    assert.doesNotMatch(facts['Output head'] ?? '', /squashed/, 'no logit cap in the image-and-text model');
    assert.match(await page.$eval('#positions', (e) => e.textContent), /This is the rotation of Gemma 3’s full-attention layers/);
    // The vision tower's weights are read by nothing here, and the facts say so rather than leave them out in silence.
    assert.match(facts['Weights not used'] ?? '', /^\d+ tensors of the file are not read .*multi_modal_projector\..*vision_tower\..*pretraining head or a vision tower\.$/,
      `facts: ${JSON.stringify(facts)}`);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a StableLM model with the parallel block and per-head q/k norms on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-stablelm', fixture('stablelm_parallel'), TEXT)));
  after(() => closePage(setup));

  it('the facts say LayerNorm, the shared norm of the parallel block, the per-head q/k norms and the partial rotation', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.match(facts.Type, /stablelm · decoder-only/);
    assert.equal(facts.Normalisation, 'pre-norm, LayerNorm; attention and the feed-forward network side by side, reading through one shared norm; ' +
      'each head’s query and key normalised too, each head with a scale of its own');
    assert.match(facts.Positions, /, on the first 8 of each head’s 16 dimensions$/);
  });

  it('the block formula reads both branches from one LayerNorm, and the paragraph says LayerNorm, not RMSNorm', async () => {
    const { page } = setup;
    assert.deepEqual(await formulas(page), ['x ← x + SelfAttention(a) + FFN(a),  a = LayerNorm(x)']);
    const view = await page.$eval('#block-view', (e) => e.textContent);
    assert.match(view, /runs attention and the feed-forward network side by side: both read the same stream through one shared LayerNorm \(subtracts a vector’s mean, divides by its spread, then scales and shifts\)/);
    assert.match(view, /each head’s query and key are normalised on their own \(a LayerNorm over the head’s numbers, with a learned scale of its own for every head and no shift\)/);
    assert.doesNotMatch(view, /RMSNorm|that all heads share/);
    const paragraph = await page.$eval('#model-explain', (e) => e.textContent);
    assert.match(paragraph, /; it runs attention and the feed-forward network side by side: both read the same stream through one shared LayerNorm/);
    assert.doesNotMatch(paragraph, /RMSNorm/);
  });

  it('the Q/K/V step-through says each head is normalised with its own scale and only part of it turns', async () => {
    const formula = await qkvFormula(setup.page);
    assert.match(formula, /already normalised head by head \(LayerNorm, each head with its own scale\) and turned by their positions' rotary angles \(their first 8 of 16 numbers\)/);
  });

  it('axe: no serious or critical violations in the facts, the block view and the Q/K/V section', async () => {
    const violations = await axeViolations(setup.page, ['#model-facts', '#block-view', '#qkv-section']);
    assert.ok(violations.passed > 3, `axe checked the sections (${violations.passed} rules passed)`);
    assert.deepEqual(violations.serious, []);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a StableLM 2 model (one block after the other) on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-stablelm2', fixture('stablelm'), TEXT)));
  after(() => closePage(setup));

  it('the facts and formulas give two LayerNorms a layer, pre-norm, and a quarter of each head turned', async () => {
    const { page } = setup;
    const facts = await modelFacts(page);
    assert.equal(facts.Normalisation, 'pre-norm, LayerNorm');
    assert.match(facts.Positions, /, on the first 4 of each head’s 16 dimensions$/);
    assert.deepEqual(await formulas(page), ['x ← x + SelfAttention(LayerNorm(x))', 'x ← x + FFN(LayerNorm(x))']);
    assert.match(await page.$eval('#block-view', (e) => e.textContent), /normalises the input of each step \(pre-norm\) with LayerNorm \(subtracts a vector’s mean, divides by its spread, then scales and shifts\)/);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('an OLMo 1 model (weightless LayerNorms, clip_qkv) on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-olmo1', fixture('olmo'), TEXT)));
  after(() => closePage(setup));

  it('the facts say LayerNorm and the clamp on q, k and v', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /olmo · decoder-only/);
    assert.equal(facts.Normalisation, 'pre-norm, LayerNorm');
    assert.equal(facts['Queries, keys, values'], 'clamped to ±0.9 straight after their projections (clip_qkv)');
  });

  it('the paragraphs say its LayerNorms learn nothing and name the clamp; the Q/K/V step-through says q and k are clamped', async () => {
    const { page } = setup;
    assert.deepEqual(await formulas(page), ['x ← x + SelfAttention(LayerNorm(x))', 'x ← x + FFN(LayerNorm(x))']);
    for (const where of ['#block-view', '#model-explain']) {
      const text = await page.$eval(where, (e) => e.textContent);
      assert.match(text, /LayerNorm \(subtracts a vector’s mean and divides by its spread; it learns no scale and no shift\)/, where);
      assert.match(text, /every number of each query, key and value is clamped to ±0\.9 \(this model’s clip_qkv\)/, where);
      assert.doesNotMatch(text, /RMSNorm|scales and shifts/, where);
    }
    assert.match(await qkvFormula(page), /q and k here are already clamped to ±0\.9 \(clip_qkv, v too\) and turned by their positions/);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a StarCoder2 model (LayerNorms, an ungated GELU MLP, a window on every layer) on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-starcoder2', fixture('starcoder2'), TEXT)));
  after(() => closePage(setup));

  it('the facts say LayerNorm, an ungated feed-forward network and the window on every layer', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /starcoder2 · decoder-only/);
    assert.equal(facts.Normalisation, 'pre-norm, LayerNorm');
    assert.equal(facts['Feed-forward (d_ff)'], '128 (2× d_model), GELU (tanh approximation)');
    assert.match(facts['Attention window'], /6/);
  });

  it('the block view gives LayerNorm formulas and a two-matrix feed-forward network, and the paragraph says LayerNorm', async () => {
    const { page } = setup;
    assert.deepEqual(await formulas(page), ['x ← x + SelfAttention(LayerNorm(x))', 'x ← x + FFN(LayerNorm(x))']);
    const view = await page.$eval('#block-view', (e) => e.textContent);
    assert.match(view, /The feed-forward network is two matrices: the first widens the vector from 64 to 128 numbers \(2×\), GELU \(tanh approximation\) bends each number/);
    assert.match(view, /Activation: GELU \(tanh approximation\)\. /);
    assert.doesNotMatch(view, /gated|RMSNorm/);
    assert.match(await page.$eval('#model-explain', (e) => e.textContent), /normalises the input of each step \(pre-norm\) with LayerNorm \(subtracts a vector’s mean, divides by its spread, then scales and shifts\)/);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

describe('a Cohere model (parallel block, interleaved rotation, per-head q/k norms, logit_scale) on the page', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-cohere', fixture('cohere'), TEXT)));
  after(() => closePage(setup));

  it('the facts say LayerNorm with one shared norm, per-head q/k norms, the neighbouring pairs and the logit scale', async () => {
    const facts = await modelFacts(setup.page);
    assert.match(facts.Type, /cohere · decoder-only/);
    assert.equal(facts.Normalisation, 'pre-norm, LayerNorm; attention and the feed-forward network side by side, reading through one shared norm; ' +
      'each head’s query and key normalised too, each head with a scale of its own');
    assert.match(facts.Positions, /, turning neighbouring dimensions together \(pair i is dimensions 2i and 2i \+ 1\)$/);
    assert.match(facts['Output head'], /^tied to the input embeddings; logits multiplied by 0\.25 \(logit_scale\)$/);
  });

  it('the paragraphs say the LayerNorm learns a scale and no shift, and the scores are multiplied by logit_scale', async () => {
    const { page } = setup;
    assert.deepEqual(await formulas(page), ['x ← x + SelfAttention(a) + FFN(a),  a = LayerNorm(x)']);
    const paragraph = await page.$eval('#model-explain', (e) => e.textContent);
    assert.match(paragraph, /through one shared LayerNorm \(subtracts a vector’s mean, divides by its spread, then scales it; it learns no shift\)/);
    assert.match(paragraph, /The scores are then multiplied by 0\.25 \(this model’s logit_scale\)/);
    assert.doesNotMatch(paragraph, /RMSNorm|scales and shifts/);
  });

  it('the positions view says which dimensions pair up, and the offset demonstration holds with that layout', async () => {
    const { page } = setup;
    const text = await page.$eval('#positions', (e) => e.textContent);
    assert.match(text, /This model pairs neighbouring dimensions: pair i is dimensions 2i and 2i \+ 1 of each head/);
    // Shifting both positions leaves the score unchanged only if the demonstration turns the pairs the model turns.
    const rows = await page.$$eval('#positions .rotary-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    const offset = rows[0][2];
    const same = rows.filter((r) => r[2] === offset);
    assert.ok(same.length >= 2, `the demonstration shifts the pair at least once (${JSON.stringify(rows)})`);
    for (const r of same) assert.equal(r[3], same[0][3], `q·k at ${r[0]}, ${r[1]} equals q·k at ${same[0][0]}, ${same[0][1]}`);
    assert.ok(rows.some((r) => r[2] !== offset && r[3] !== same[0][3]), 'another offset scores differently');
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});

// A model with more heads than a phone's width holds as thumbnails (8 of them at 52 px): the model view scrolls in
// its own box. Its thumbnails' visually-hidden labels once took the page as their box and widened a 390 px page to
// 755 (a 12-head MiniLM), so the whole page scrolled sideways.
describe('a model with many heads on a 390 px screen', () => {
  const setup = {};
  before(async () => Object.assign(setup, await openPageWithModel('zz-mistral', fixture('mistral'), TEXT)));
  after(() => closePage(setup));

  it('scrolls the thumbnails in their own box, not the page', async () => {
    const { page } = setup;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => document.querySelector('#model-view')?.shadowRoot?.querySelectorAll('.mv-thumb').length >= 8, null, { timeout: 30000 });
    const shown = await page.evaluate(() => {
      const scroller = document.querySelector('#model-view').shadowRoot.querySelector('.mv-scroll');
      return { page: document.documentElement.scrollWidth - window.innerWidth, scrolls: scroller.scrollWidth > scroller.clientWidth };
    });
    assert.ok(shown.scrolls, 'the thumbnails are wider than the screen: the premise of this test');
    assert.ok(shown.page <= 0, `the page scrolls sideways by ${shown.page}px`);
  });

  it('no console errors', () => assert.deepEqual(setup.watch.errors, []));
});
