// The relaxed-SIMD build run, in a Node started with --experimental-wasm-relaxed-simd (tests/wasm/relaxed.test.mjs
// starts it; Node 20 has no relaxed SIMD without the flag):
//
//   node --experimental-wasm-relaxed-simd --test tests/wasm/support/relaxed-checks.mjs   (Node 20; Node 22 without the flag)
//
// A fused multiply-add rounds once where the SIMD128 build and the scalar twin round twice, so this build cannot
// equal them bit for bit. What it must do: products within the same float64-reference bound the SIMD128 build is
// held to; the widened weights, and every kernel without a multiply-add, exactly as before; a row decoded alone
// equal to the same row in a batch (decoding and prefill fuse alike); and whole models within a tenth of the
// Hugging Face tolerances of the SIMD128 build, which the other tests hold to the native CLI and to transformers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomF32, assertIdentical, assertNear, referenceProduct, sumBound } from './kernel-reference.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const GLUE = pathToFileURL(join(ROOT, 'pkg-checks', 'glassbox.js')).href;
// One glue module per build (the query makes a second instance), each with its own wasm instance.
const relaxed = await import(`${GLUE}?relaxed`);
relaxed.initSync({ module: readFileSync(join(ROOT, 'pkg-checks', 'glassbox_relaxed_bg.wasm')) });
const simd128 = await import(`${GLUE}?simd128`);
simd128.initSync({ module: readFileSync(join(ROOT, 'pkg-checks', 'glassbox_bg.wasm')) });

test('the two builds say what they are', () => {
  assert.deepEqual([relaxed.buildInfo().simd128, relaxed.buildInfo().relaxed_simd], [true, true]);
  assert.deepEqual([simd128.buildInfo().simd128, simd128.buildInfo().relaxed_simd], [true, false]);
});

test('Linear in f32, f16 and bf16: within the float64 bound, the widened weights exact; int8 (no multiply-add) equal to its twin', () => {
  const rand = randomF32(21);
  let fusedDiffers = 0;
  for (const storage of ['f32', 'f16', 'bf16', 'int8']) {
    for (const k of [1, 3, 16, 17, 64, 600]) {
      for (const n of [1, 8, 17, 50, 100, 130]) {
        for (const m of [1, 2, 3, 4, 7, 40]) {
          const x = rand(m * k), w = rand(n * k), bias = rand(n);
          const what = `Linear ${storage} m=${m} k=${k} n=${n}`;
          const got = relaxed.check_linear_storage(x, m, k, w, n, bias, storage, true);
          const twin = relaxed.check_linear_storage(x, m, k, w, n, bias, storage, false);
          // Output [M][N], then the weights as the layer widened them: widening has no multiply-add.
          assertIdentical(got.subarray(m * n), twin.subarray(m * n), `${what}: widened weights`);
          if (storage === 'int8') {
            assertIdentical(got, twin, what);
            continue;
          }
          const widened = got.subarray(m * n);
          const { out, mag } = referenceProduct(x, m, k, widened, n, bias, 'nk');
          assertNear(got.subarray(0, m * n), out, (i) => sumBound(k, mag[i]), what);
          assertNear(got.subarray(0, m * n), twin.subarray(0, m * n), (i) => 2 * sumBound(k, mag[i]), `${what} against the twin`);
          for (let i = 0; i < m * n; i++) if (got[i] !== twin[i]) fusedDiffers++;
        }
      }
    }
  }
  // Not asserted (an x86 core without FMA runs relaxed_madd as a multiply and an add), but said.
  console.log(`# outputs where the fused build differs from the twin: ${fusedDiffers}`);
});

test('a row decoded alone (GEMV) equals the same row in a batch (GEMM tile): both fuse alike', () => {
  const rand = randomF32(22);
  for (const storage of ['f32', 'f16', 'bf16']) {
    const [m, k, n] = [13, 300, 45];
    const x = rand(m * k), w = rand(n * k), bias = rand(n);
    const batch = relaxed.check_linear_storage(x, m, k, w, n, bias, storage, true);
    for (let i = 0; i < m; i++) {
      const alone = relaxed.check_linear_storage(x.subarray(i * k, (i + 1) * k), 1, k, w, n, bias, storage, true);
      assertIdentical(alone.subarray(0, n), batch.subarray(i * n, (i + 1) * n), `${storage} row ${i}`);
    }
  }
});

test('kernels without a multiply-add (softmax, norms, activations) are the SIMD128 build\'s, bit for bit', () => {
  const rand = randomF32(23);
  for (const len of [1, 4, 17, 1023]) {
    const row = rand(len, 8), gamma = rand(len), beta = rand(len);
    assertIdentical(relaxed.check_softmax(row, true), simd128.check_softmax(row, true), `softmax ${len}`);
    assertIdentical(relaxed.check_layer_norm(row, gamma, beta, 1e-5, true), simd128.check_layer_norm(row, gamma, beta, 1e-5, true), `layer_norm ${len}`);
    assertIdentical(relaxed.check_rms_norm(row, gamma, 1e-6, true), simd128.check_rms_norm(row, gamma, 1e-6, true), `rms_norm ${len}`);
    for (const act of ['gelu_erf', 'gelu_tanh', 'silu', 'exp']) {
      assertIdentical(relaxed.check_activation(act, row, true), simd128.check_activation(act, row, true), `${act} ${len}`);
    }
  }
});

// Fixture models of each kind and weight storage, run whole in both builds.
const MODELS = [
  ['models', 'gpt2'], ['models', 'bert'], ['models', 'llama_gqa'], ['models', 'flan_t5_tiny'], ['models', 'bart_tiny'],
  ['checkpoints', 'mbart_untied_f16'], ['checkpoints', 'pegasus_untied_bf16'],
];
const TEXT = 'The dog chased the cat.';

function load(api, dir) {
  const opt = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : undefined);
  return api.WasmModel.load(readFileSync(join(dir, 'config.json')), readFileSync(join(dir, 'model.safetensors')),
    readFileSync(join(dir, 'tokenizer.json')), opt('tokenizer_config.json'), opt('special_tokens_map.json'), opt('generation_config.json'), {});
}

function maxDiff(a, b, what) {
  assert.equal(a.length, b.length, `${what}: lengths differ`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  assert.ok(Number.isFinite(d), `${what}: not finite`);
  return d;
}

for (const [group, name] of MODELS) {
  test(`${name}: attentions within 1e-5, hidden states and logits within 1e-4 of the SIMD128 build`, () => {
    const dir = join(ROOT, 'tests', 'fixtures', group, name);
    const [a, b] = [load(relaxed, dir), load(simd128, dir)];
    const [ra, rb] = [a.run(TEXT, { logits: true }), b.run(TEXT, { logits: true })];
    assert.deepEqual(Array.from(ra.tokens.ids), Array.from(rb.tokens.ids));
    const kinds = Object.keys(rb.attentions);
    assert.ok(kinds.length > 0);
    for (const kind of kinds) assert.ok(maxDiff(ra.attentions[kind].data, rb.attentions[kind].data, `${kind} attention`) <= 1e-5, `${kind} attention`);
    assert.ok(maxDiff(ra.lastHiddenState.data, rb.lastHiddenState.data, 'hidden') <= 1e-4, 'last hidden state');
    if (rb.logits) assert.ok(maxDiff(ra.logits.data, rb.logits.data, 'logits') <= 1e-4, 'logits');
    a.free();
    b.free();
  });
}
