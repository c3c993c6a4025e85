// The teaching calls at the wasm boundary (WasmModel.inspect / attentionDims / positionVectors /
// relativePositions / tokenEmbeddings, generation with interventions), run in Node on the fixture
// models. The core's numbers are checked against Hugging Face in tests/rust/teaching.rs; here we
// check that they cross the boundary intact and mean what the page says, by property:
//   - the Q/K/V trace reproduces itself: scale·q·kᵀ (+ T5's bias) = scores on visible keys,
//     softmax(scores) = probs = the captured attention of that layer, probs·v = ctx;
//   - an all-ones head mask and token mask change nothing; ablating a head zeroes its attention
//     and changes the output; a hidden token gets no attention;
//   - the last logit-lens row is the run's top-k; the position tables are Marian's sinusoids,
//     GPT-2's learned rows, T5's buckets;
//   - the native CLI's logits give the same fill-mask argmax as the wasm's top-k.
//
//   scripts/build-wasm.sh && node --test tests/wasm/teaching.test.mjs

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'models');
const PKG = join(ROOT, 'pkg', 'glassbox.js');
const TOL = 1e-4;

let wasm;
const models = {};

function load(name) {
  const dir = join(FIXTURES, name);
  const opt = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : undefined);
  return wasm.WasmModel.load(readFileSync(join(dir, 'config.json')), readFileSync(join(dir, 'model.safetensors')),
    readFileSync(join(dir, 'tokenizer.json')), opt('tokenizer_config.json'), opt('special_tokens_map.json'), opt('generation_config.json'), {});
}

/// inspect with this file's default of 5 candidates (options are checked by name in Rust).
function inspect(model, text, o = {}) {
  return model.inspect(text, { topK: 5, ...o });
}

function assertClose(actual, expected, what, tol = TOL) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e) continue;
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: ${a} vs ${e}`);
  }
}

before(async () => {
  assert.ok(existsSync(PKG), 'pkg/glassbox.js is missing: run scripts/build-wasm.sh first');
  wasm = await import(pathToFileURL(PKG).href);
  await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  for (const name of ['gpt2', 'bert', 't5_tiny', 'marian_tiny', 'bart_tiny']) models[name] = load(name);
});

const CASES = [
  { model: 'gpt2', text: 'The dog chased the cat', kinds: ['decoder'] },
  { model: 'bert', text: 'the dog chased the [MASK].', kinds: ['encoder'] },
  { model: 't5_tiny', text: 'The dog chased the cat', kinds: ['encoder', 'decoder', 'cross'], decoderIds: [0, 5, 9] },
  { model: 'marian_tiny', text: 'The dog chased the cat', kinds: ['encoder', 'decoder', 'cross'], decoderIds: [0, 5, 9] },
  { model: 'bart_tiny', text: 'The dog chased the cat', kinds: ['encoder', 'decoder', 'cross'], decoderIds: [2, 5, 9] },
];

describe('Q/K/V trace reproduces scores, weights and output', () => {
  for (const c of CASES) {
    for (const kind of c.kinds) {
      test(`${c.model} ${kind}`, () => {
        const m = models[c.model];
        const [L, H] = m.attentionDims(kind);
        const layer = L - 1;
        const r = inspect(m, c.text, { decoderIds: c.decoderIds, qkv: { kind, layer } });
        const t = r.qkv;
        assert.equal(t.kind, kind);
        assert.equal(t.layer, layer);
        assert.equal(t.nHeads, H);
        const { qLen: Tq, kLen: Tk, dHead: D } = t;
        const att = r.attentions[kind];
        assert.deepEqual(att.shape, [L, H, Tq, Tk]);
        for (let h = 0; h < H; h++) {
          for (let i = 0; i < Tq; i++) {
            const row = (h * Tq + i) * Tk;
            let max = -Infinity;
            for (let j = 0; j < Tk; j++) max = Math.max(max, t.scores[row + j]);
            let sum = 0;
            const exps = [];
            for (let j = 0; j < Tk; j++) {
              const s = t.scores[row + j];
              const e = s === -Infinity ? 0 : Math.exp(s - max);
              exps.push(e);
              sum += e;
              if (s === -Infinity) {
                assert.equal(kind, 'decoder', 'only causal attention has -inf scores');
                assert.ok(j > i + (Tk - Tq), 'a -inf score is a future key');
                continue;
              }
              let dot = 0;
              for (let d = 0; d < D; d++) dot += t.q[(h * Tq + i) * D + d] * t.k[(h * Tk + j) * D + d];
              const expected = dot * t.scale + (t.bias ? t.bias[row + j] : 0);
              assert.ok(Math.abs(expected - s) <= TOL * Math.max(1, Math.abs(s)), `score ${h},${i},${j}: ${expected} vs ${s}`);
            }
            const probs = exps.map((e) => e / sum);
            assertClose(t.probs.subarray(row, row + Tk), probs, `probs ${h},${i}`);
            const mapRow = ((layer * H + h) * Tq + i) * Tk;
            assertClose(t.probs.subarray(row, row + Tk), att.data.subarray(mapRow, mapRow + Tk), `trace vs captured map ${h},${i}`, 1e-6);
            for (let d = 0; d < D; d++) {
              let ctx = 0;
              for (let j = 0; j < Tk; j++) ctx += t.probs[row + j] * t.v[(h * Tk + j) * D + d];
              assert.ok(Math.abs(ctx - t.ctx[(h * Tq + i) * D + d]) <= TOL, `ctx ${h},${i},${d}`);
            }
          }
        }
        assert.equal(!!t.bias, c.model === 't5_tiny' && kind !== 'cross', 'only T5 self-attention has a position bias');
      });
    }
  }
});

describe('interventions', () => {
  test('all-ones masks change nothing; the plain run equals inspect', () => {
    for (const c of CASES) {
      const m = models[c.model];
      const plain = m.run(c.text, { decoderIds: c.decoderIds, topK: 5 });
      const headMask = {};
      for (const kind of c.kinds) {
        const [L, H] = m.attentionDims(kind);
        headMask[kind] = new Float32Array(L * H).fill(1);
      }
      const n = plain.tokens.ids.length;
      const tokenMask = c.model === 'gpt2' ? undefined : new Uint8Array(n).fill(1);
      const masked = inspect(m, c.text, { decoderIds: c.decoderIds, headMask, tokenMask });
      for (const kind of c.kinds) assert.deepEqual(Array.from(masked.attentions[kind].data), Array.from(plain.attentions[kind].data), `${c.model} ${kind}`);
      assert.deepEqual(Array.from(masked.lastHiddenState.data), Array.from(plain.lastHiddenState.data), c.model);
    }
  });

  test('ablating a head zeroes its attention and changes the output', () => {
    for (const c of CASES) {
      const m = models[c.model];
      const kind = c.kinds[0];
      const [L, H] = m.attentionDims(kind);
      const mask = new Float32Array(L * H).fill(1);
      mask[0] = 0; // layer 0, head 0
      const plain = inspect(m, c.text, { decoderIds: c.decoderIds });
      const r = inspect(m, c.text, { decoderIds: c.decoderIds, headMask: { [kind]: mask } });
      const [, , Tq, Tk] = r.attentions[kind].shape;
      assert.ok(r.attentions[kind].data.subarray(0, Tq * Tk).every((x) => x === 0), `${c.model}: ablated head's map is zero`);
      const a = plain.lastHiddenState.data;
      const b = r.lastHiddenState.data;
      assert.ok(a.some((x, i) => Math.abs(x - b[i]) > 1e-6), `${c.model}: output changed`);
    }
  });

  test('a hidden token receives no attention from any query (BERT; T5 encoder and cross)', () => {
    for (const name of ['bert', 't5_tiny']) {
      const c = CASES.find((x) => x.model === name);
      const m = models[name];
      const n = m.tokenize(c.text).ids.length;
      const tokenMask = new Uint8Array(n).fill(1);
      tokenMask[1] = 0;
      const r = inspect(m, c.text, { decoderIds: c.decoderIds, tokenMask });
      for (const kind of name === 'bert' ? ['encoder'] : ['encoder', 'cross']) {
        const { data, shape } = r.attentions[kind];
        const Tk = shape[3];
        for (let row = 0; row < data.length / Tk; row++) assert.ok(data[row * Tk + 1] < 1e-12, `${name} ${kind} row ${row}`);
      }
    }
  });

  test('GPT-2 refuses a token mask with a message', () => {
    assert.throws(() => inspect(models.gpt2, 'The dog', { tokenMask: new Uint8Array([1, 0]) }), /mask/i);
  });

  test('bad requests are refused with a message naming the problem, and the model keeps working', () => {
    assert.throws(() => inspect(models.bert, 'the dog', { headMask: { encoder: new Float32Array(3) } }), /mask/i);
    assert.throws(() => inspect(models.bert, 'the dog', { qkv: { kind: 'cross', layer: 0 } }), /cross/i);
    assert.throws(() => inspect(models.bert, 'the dog', { qkv: { kind: 'sideways', layer: 0 } }), /qkv\.kind: unknown variant `sideways`/);
    assert.throws(() => inspect(models.bert, 'the dog', { qkv: { kind: 'encoder', layer: 99 } }), /layer/i);
    assert.ok(inspect(models.bert, 'the dog').topK.ids.length > 0);
  });

  test('generation: an all-ones mask equals plain generation; ablating every cross head changes the output', () => {
    const m = models.t5_tiny;
    const gen = (cross) => {
      const g = wasm.WasmGenerator.create(m, 'The dog chased the cat', { maxNewTokens: 8, numCandidates: 1, captureAttention: false, headMask: { cross } });
      const ids = [];
      for (let t; (t = g.nextToken(m)) !== undefined;) ids.push(t.id);
      g.free();
      return ids;
    };
    const [L, H] = m.attentionDims('cross');
    const plain = gen();
    assert.deepEqual(gen(new Float32Array(L * H).fill(1)), plain);
    assert.notDeepEqual(gen(new Float32Array(L * H).fill(0)), plain);
  });
});

describe('logit lens', () => {
  for (const name of ['gpt2', 'bert']) {
    test(`${name}: one row per hidden state; the last is the run's top-k`, () => {
      const m = models[name];
      const text = CASES.find((c) => c.model === name).text;
      const r = inspect(m, text, { topK: 3, logitLens: 3 });
      const { nStates, seqLen, k, ids, probs } = r.lens;
      const [L] = m.attentionDims(name === 'gpt2' ? 'decoder' : 'encoder');
      assert.equal(nStates, L + 1);
      assert.equal(seqLen, r.tokens.ids.length);
      assert.equal(k, 3);
      const last = L * seqLen * k;
      assert.deepEqual(Array.from(ids.subarray(last)), Array.from(r.topK.ids));
      assertClose(probs.subarray(last), r.topK.probs, 'lens probs', 1e-5);
    });
  }
  test('encoder-decoder: the lens reads the decoder positions', () => {
    const r = inspect(models.t5_tiny, 'The dog', { decoderIds: [0, 5], logitLens: 2 });
    assert.equal(r.lens.seqLen, 2);
  });
});

describe('positions and embeddings', () => {
  test("Marian's table is sin in the first half, cos in the second", () => {
    const m = models.marian_tiny;
    const { data, shape: [N, C] } = m.positionVectors('encoder', 10);
    assert.equal(N, 10);
    for (let p = 0; p < N; p++) {
      for (let k = 0; k < C / 2; k++) {
        const angle = p / 10000 ** ((2 * k) / C);
        assert.ok(Math.abs(data[p * C + k] - Math.sin(angle)) < 1e-5, `sin p${p} k${k}`);
        assert.ok(Math.abs(data[p * C + C / 2 + k] - Math.cos(angle)) < 1e-5, `cos p${p} k${k}`);
      }
    }
  });

  test('GPT-2: learned rows; the same token has the same embedding row at any position', () => {
    const m = models.gpt2;
    const a = m.tokenize('the dog chased the cat', { addSpecialTokens: false });
    const n = a.ids.length;
    const pos = m.positionVectors('decoder', n);
    const emb = m.tokenEmbeddings('decoder', a.ids);
    const C = pos.shape[1];
    assert.deepEqual(emb.rows.shape, [n, C]);
    assert.equal(emb.scale, 1);
    const ids = Array.from(a.ids);
    const again = ids.findIndex((id, i) => ids.indexOf(id) !== i);
    if (again >= 0) {
      const first = ids.indexOf(ids[again]);
      assert.deepEqual(Array.from(emb.rows.data.subarray(again * C, again * C + C)), Array.from(emb.rows.data.subarray(first * C, first * C + C)));
      assert.notDeepEqual(Array.from(pos.data.subarray(again * C, again * C + C)), Array.from(pos.data.subarray(first * C, first * C + C)));
    }
  });

  test('T5: no position vectors (the error points to relative positions); buckets and bias per head', () => {
    const m = models.t5_tiny;
    // The fix names the JS method to call, not the Rust one (relative_positions).
    assert.throws(() => m.positionVectors('encoder', 4), /Ask for relativePositions instead/);
    const r = m.relativePositions('encoder', 5);
    assert.deepEqual(Array.from(r.distances), [-4, -3, -2, -1, 0, 1, 2, 3, 4]);
    assert.equal(r.buckets[4], 0, 'distance 0 is bucket 0');
    assert.equal(r.bidirectional, true);
    assert.deepEqual(r.bias.shape, [r.nHeads, r.numBuckets]);
    const d = m.relativePositions('decoder', 5);
    assert.equal(d.bidirectional, false);
  });
});

describe('against the native CLI', () => {
  let cliBin = process.env.GLASSBOX_BIN;
  before(() => {
    if (cliBin) return;
    const built = spawnSync('cargo', ['build', '-q', '--bin', 'glassbox'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
    assert.equal(built.status, 0, 'cargo build --bin glassbox failed');
    cliBin = join(ROOT, 'target', 'debug', 'glassbox');
  });

  test('fill-mask: the top-1 at [MASK] is the argmax of the CLI logits there', () => {
    const text = 'the dog chased the [MASK].';
    const r = inspect(models.bert, text, { topK: 5 });
    const out = spawnSync(cliBin, ['inspect', join(FIXTURES, 'bert'), '--text', text], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(out.status, 0, out.stderr);
    const json = JSON.parse(out.stdout);
    const item = json.cases[0];
    assert.deepEqual(item.tokens, r.tokens.tokens);
    const at = r.tokens.tokens.indexOf('[MASK]');
    assert.ok(at > 0, 'the mask token is kept whole');
    const row = item.logits[at];
    const argmax = row.indexOf(Math.max(...row));
    assert.equal(r.topK.ids[at * 5], argmax);
  });
});
