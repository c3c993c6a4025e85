// The rotary and grouped-query data at the wasm boundary, in Node on the Llama fixtures:
// WasmModel.rotaryAngles(n) carries Hugging Face's inv_freq (reference.json, llama3 smoothing
// included) and angles p·invFreq[i]; other models refuse it by name; the Q/K/V trace's nKvHeads
// is the config's num_key_value_heads and the query heads of one group read the same k and v.
//
//   scripts/build-wasm.sh && node --test tests/wasm/rotary-boundary.test.mjs

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'models');
const PKG = join(ROOT, 'pkg', 'glassbox.js');

let wasm;
const models = {};

function load(name) {
  const dir = join(FIXTURES, name);
  const opt = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : undefined);
  return wasm.WasmModel.load(readFileSync(join(dir, 'config.json')), readFileSync(join(dir, 'model.safetensors')),
    readFileSync(join(dir, 'tokenizer.json')), opt('tokenizer_config.json'), opt('special_tokens_map.json'), opt('generation_config.json'), {});
}

const reference = (name) => JSON.parse(readFileSync(join(FIXTURES, name, 'reference.json'), 'utf8'));

before(async () => {
  assert.ok(existsSync(PKG), 'pkg/glassbox.js is missing: run scripts/build-wasm.sh first');
  wasm = await import(pathToFileURL(PKG).href);
  await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  for (const name of ['llama_gqa', 'llama3_tied', 'gpt2']) models[name] = load(name);
});

for (const [name, theta, scaling] of [['llama_gqa', 500, 'default'], ['llama3_tied', 10000, 'llama3']]) {
  test(`${name}: rotaryAngles carries HF's inv_freq and p·invFreq`, () => {
    const m = models[name];
    assert.equal(m.info().positions, 'rotary');
    const hf = reference(name).meta.inv_freq;
    const r = m.rotaryAngles(20);
    assert.equal(r.nPositions, 20);
    assert.equal(r.nPairs, hf.length);
    assert.equal(r.theta, theta);
    assert.equal(r.scaling, scaling);
    assert.ok(r.invFreq instanceof Float32Array && r.angles.data instanceof Float32Array);
    assert.deepEqual(r.angles.shape, [20, hf.length]);
    hf.forEach((f, i) => assert.ok(Math.abs(r.invFreq[i] - f) <= 1e-6 * Math.max(1, f), `invFreq[${i}] ${r.invFreq[i]} vs HF ${f}`));
    for (let p = 0; p < 20; p++) {
      for (let i = 0; i < hf.length; i++) {
        const want = p * hf[i];
        assert.ok(Math.abs(r.angles.data[p * hf.length + i] - want) <= 1e-5 * Math.max(1, want), `angle[${p}][${i}]`);
      }
    }
  });
}

test('phi3_longrope: rotaryAngles says which LongRoPE set the positions use, and the attention factor', () => {
  const m = load('phi3_longrope');
  const hf = reference('phi3_longrope').meta; // inv_freq: the short factors' frequencies
  const short = m.rotaryAngles(16);
  assert.equal(short.scaling, 'longrope');
  assert.equal(short.originalMaxPositions, 16);
  assert.equal(short.longFactors, false);
  assert.ok(Math.abs(short.attentionFactor - hf.attention_scaling) < 1e-6, `${short.attentionFactor}`);
  assert.deepEqual([short.nPairs, short.rotaryDims, short.dHead], [6, 12, 16]);
  hf.inv_freq.forEach((f, i) => assert.ok(Math.abs(short.invFreq[i] - f) <= 1e-7 * Math.max(1, f), `invFreq[${i}]`));
  const long = m.rotaryAngles(17);
  assert.equal(long.longFactors, true);
  const config = JSON.parse(readFileSync(join(FIXTURES, 'phi3_longrope', 'config.json'), 'utf8')).rope_parameters;
  for (let i = 0; i < 6; i++) {
    const ratio = short.invFreq[i] / long.invFreq[i];
    assert.ok(Math.abs(ratio - config.long_factor[i] / config.short_factor[i]) < 1e-5, `pair ${i}: ${ratio}`);
  }
  assert.equal(models.llama_gqa.rotaryAngles(4).attentionFactor, undefined, 'only LongRoPE reports it');
});

test('rotaryAngles is refused by name for other models and beyond max_position_embeddings', () => {
  assert.throws(() => models.gpt2.rotaryAngles(4), /not rotary/);
  assert.throws(() => models.llama_gqa.rotaryAngles(65), /64/);
});

test('llama_gqa: the Q/K/V trace says which key/value head each query head reads', () => {
  const m = models.llama_gqa;
  const cfg = JSON.parse(readFileSync(join(FIXTURES, 'llama_gqa', 'config.json'), 'utf8'));
  const t = m.inspect('The dog chased the cat', { topK: 1, qkv: { kind: 'decoder', layer: 1 } }).qkv;
  assert.equal(t.nHeads, cfg.num_attention_heads);
  assert.equal(t.nKvHeads, cfg.num_key_value_heads);
  const group = t.nHeads / t.nKvHeads;
  const block = t.kLen * t.dHead;   // one head's k or v: [Tk][D]
  for (let h = 0; h < t.nHeads; h++) {
    const kv = Math.floor(h / group);
    for (const key of ['k', 'v']) {
      const mine = t[key].subarray(h * block, (h + 1) * block);
      const first = t[key].subarray(kv * group * block, (kv * group + 1) * block);
      assert.deepEqual(Array.from(mine), Array.from(first), `${key} of query head ${h} is key/value head ${kv}'s`);
    }
  }
  // Different groups read different keys.
  assert.notDeepEqual(Array.from(t.k.subarray(0, block)), Array.from(t.k.subarray(group * block, (group + 1) * block)));
  // A model without grouped-query attention has as many key/value heads as query heads.
  const g = models.gpt2.inspect('The dog', { topK: 1, qkv: { kind: 'decoder', layer: 0 } }).qkv;
  assert.equal(g.nKvHeads, g.nHeads);
});

test('cohere: rotaryAngles says its pairs are neighbouring dimensions; the others leave the key out', () => {
  const r = load('cohere').rotaryAngles(4);
  assert.equal(r.interleaved, true);
  assert.equal(models.llama_gqa.rotaryAngles(4).interleaved, undefined);
  const hf = reference('cohere').meta.inv_freq;
  hf.forEach((f, i) => assert.ok(Math.abs(r.invFreq[i] - f) <= 1e-6 * Math.max(1, f), `invFreq[${i}]`));
});
