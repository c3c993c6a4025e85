// `loadModel(source, { weights })` (issue 11.3, "the user can choose"): the page and the JS API keep the weight
// matrices in the storage asked for, as the CLI's `--weights` does, and the card says which.
//
//   scripts/build-wasm.sh && node --test tests/wasm/weights-option.test.mjs

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FOLDER = join(ROOT, 'models', 'glassbox-gpt2'); // its weights are f16 in the file
const FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
let Glassbox;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg', 'glassbox.js')), 'pkg/ is missing. Build the wasm first: scripts/build-wasm.sh');
  ({ Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href));
});

/// The bundled GPT-2 loaded in a fresh engine with `opts`; returns its card, the logits after a prompt, the
/// greedy continuation and the wasm memory after the load.
async function loadAndRun(opts) {
  const files = Object.fromEntries(FILES.filter((n) => existsSync(join(FOLDER, n))).map((n) => {
    const b = readFileSync(join(FOLDER, n));
    return [n, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)];
  }));
  const gb = await Glassbox.create({ worker: new NodeWorker() });
  try {
    const model = await gb.loadModel({ files }, opts);
    const { wasmBytes } = await gb.memory();
    const run = await model.run('The cat sat on the', { logits: true, topK: 0 });
    const gen = await model.generate('Once upon a time', { maxNewTokens: 8 }).done;
    return { info: model.info, logits: Array.from(run.logits.data), text: gen.text, wasmBytes };
  } finally {
    gb.terminate();
  }
}

const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('weights: the storage asked for at load is kept and reported; f32 of an f16 file gives the same numbers', async () => {
  const file = await loadAndRun({});
  const f32 = await loadAndRun({ weights: 'f32' });
  const int8 = await loadAndRun({ weights: 'int8' });
  assert.equal(file.info.weights, undefined, 'no storage asked for: the card says nothing');
  assert.equal(f32.info.weights, 'f32');
  assert.equal(int8.info.weights, 'int8');
  assert.equal(file.logits.length, f32.logits.length);
  // f16 weights widened to f32 are the same values: the same logits (the same sums, in the same order).
  assert.ok(maxDiff(file.logits, f32.logits) <= 1e-4, `f16 file as f32: logits moved by ${maxDiff(file.logits, f32.logits)}`);
  assert.equal(f32.text, file.text, 'the same greedy text');
  // int8 is an approximation: close, not equal, and it really is another storage.
  const d = maxDiff(file.logits, int8.logits);
  assert.ok(d > 0 && d < 2, `int8 logits are close to the file's but not identical (max difference ${d})`);
  // Memory follows the storage: f32 holds twice the f16 file's weights, int8 about half of them.
  console.log(`wasm after load: file (f16) ${(file.wasmBytes / 1e6).toFixed(1)} MB, f32 ${(f32.wasmBytes / 1e6).toFixed(1)} MB, int8 ${(int8.wasmBytes / 1e6).toFixed(1)} MB`);
  assert.ok(f32.wasmBytes > file.wasmBytes && int8.wasmBytes < file.wasmBytes, 'memory after load follows the storage');
});

test('weights: a name that is not a storage is refused with the four that are', async () => {
  const gb = await Glassbox.create({ worker: new NodeWorker() });
  try {
    // Fresh buffers for each load: a load transfers them to the worker.
    const files = () => ({ 'config.json': new Uint8Array(readFileSync(join(FOLDER, 'config.json'))), 'tokenizer.json': new Uint8Array(readFileSync(join(FOLDER, 'tokenizer.json'))) });
    await assert.rejects(gb.loadModel({ files: files() }, { randomSeed: 1, weights: 'int4' }), (e) => {
      assert.match(e.message, /int4/);
      assert.match(e.message, /"f32", "f16", "bf16" or "int8"/);
      return true;
    });
    // The engine is still usable after the refusal.
    const model = await gb.loadModel({ files: files() }, { randomSeed: 1, weights: 'bf16' });
    assert.equal(model.info.weights, 'bf16');
  } finally {
    gb.terminate();
  }
});
