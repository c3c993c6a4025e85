// Memory after load (issue 11.3): a model loaded through the JS API (glassbox.js -> worker.js -> wasm) takes
// at most 1.15x its stored weights in wasm memory, plus a fixed allowance, and the page keeps no copy of the
// weights it handed over. Wasm memory grows and never shrinks, so its size after the load is the peak the
// load reached: a transient copy of the file, or of a tensor converted through f32, would show here.
//
//   scripts/build-wasm.sh && node --test tests/wasm/memory.test.mjs
//
// The models are GPT-2 shapes with random weights written by scripts/dev/make-shaped-model.mjs (committed
// code; no Python): a "large" one (C = 128, 4 layers, the real 50,257-token vocabulary: about 14 MB of f16
// weights, most of them the tied token table, the tensor whose one-off copy used to cost the most) in f32,
// f16 and bf16, and a "tiny" one (C = 8, one layer) that measures the allowance. The allowance is not a
// guess: it is what the same engine, tokenizer (the real GPT-2 one, 50,000 merges) and config cost with a
// model of under 1 MB of weights, measured in a fresh instance. A memory bound is deterministic (the same
// wasm makes the same allocations), so unlike a time it can be asserted.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NodeWorker } from './node-worker.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAX_RATIO = 1.15;
const TINY = { n_embd: 8, n_layer: 1, n_head: 1, n_positions: 16, vocab_size: 50257 };
const LARGE = { n_embd: 128, n_layer: 4, n_head: 4, n_positions: 256, vocab_size: 50257 };
// A Llama shape (grouped-query attention, SwiGLU, untied head): two 50,257-row token tables, the embedding
// and the LM head, which must stay in the file's 16 bits like every other matrix (about 26 MB in bf16).
const LARGE_LLAMA = { model_type: 'llama', hidden_size: 128, intermediate_size: 352, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, max_position_embeddings: 256, vocab_size: 50257 };
const FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];


let work;
let makeShapedModel;
let storedBytes;
let Glassbox;

before(async () => {
  assert.ok(existsSync(join(ROOT, 'pkg', 'glassbox.js')), 'pkg/ is missing. Build the wasm first: scripts/build-wasm.sh');
  ({ makeShapedModel, storedBytes } = await import(pathToFileURL(join(ROOT, 'scripts', 'dev', 'make-shaped-model.mjs')).href));
  ({ Glassbox } = await import(pathToFileURL(join(ROOT, 'www', 'glassbox.js')).href));
  work = mkdtempSync(join(tmpdir(), 'glassbox-memory-'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});


/// Load `dims` in `dtype` through a fresh Glassbox (its own worker and wasm instance); the files are handed
/// over as ArrayBuffers. Returns `{ wasmBytes, weights, stored, info, detached }`.
async function loadFresh(dims, dtype) {
  const out = join(work, `${dims.model_type ?? 'gpt2'}-${dims.n_embd ?? dims.hidden_size}-${dtype}`);
  makeShapedModel({ dims, dtype, seed: 3, out });
  const weightsFile = readFileSync(join(out, 'model.safetensors'));
  const files = Object.fromEntries(FILES.map((name) => {
    const bytes = readFileSync(join(out, name));
    return [name, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)];
  }));
  const handedOver = files['model.safetensors'];
  const gb = await Glassbox.create({ worker: new NodeWorker() });
  try {
    const model = await gb.loadModel({ files });
    const { wasmBytes } = await gb.memory();
    // The model works (the weights really were read): a short greedy step gives a token.
    const run = await model.run('Hello world', { topK: 1 });
    assert.equal(run.tokens.ids.length, 2);
    return { wasmBytes, stored: storedBytes(weightsFile), fileBytes: weightsFile.length, info: model.info, detached: handedOver.byteLength === 0 };
  } finally {
    gb.terminate();
  }
}

const MB = (bytes) => (bytes / 1e6).toFixed(2);

test('memory after load is at most 1.15x the stored weights plus the fixed allowance, for each file storage', async () => {
  const tiny = await loadFresh(TINY, 'f16');
  const allowance = tiny.wasmBytes;
  console.log(`allowance (engine + GPT-2 tokenizer + a ${MB(tiny.stored)} MB model): ${MB(allowance)} MB of wasm memory`);
  for (const [dims, dtype] of [[LARGE, 'f16'], [LARGE, 'bf16'], [LARGE, 'f32'], [LARGE_LLAMA, 'bf16'], [LARGE_LLAMA, 'f16']]) {
    const large = await loadFresh(dims, dtype);
    const bound = MAX_RATIO * large.stored + allowance;
    const ratio = (large.wasmBytes - allowance) / large.stored;
    console.log(`${dims.model_type ?? 'gpt2'} ${dtype}: file ${MB(large.fileBytes)} MB, stored weights ${MB(large.stored)} MB, wasm after load ${MB(large.wasmBytes)} MB `
      + `= allowance + ${ratio.toFixed(3)}x the weights (bound ${MAX_RATIO}x)`);
    assert.equal(large.info.nParams > 6e6, true, `${dtype}: the large model is the one loaded (${large.info.nParams} parameters)`);
    assert.ok(large.detached, `${dtype}: the page's ArrayBuffer of model.safetensors was transferred to the worker, not copied`);
    assert.ok(large.wasmBytes <= bound,
      `${dtype}: wasm memory after load ${MB(large.wasmBytes)} MB is over ${MAX_RATIO}x the ${MB(large.stored)} MB of stored weights `
      + `+ the ${MB(allowance)} MB allowance (${ratio.toFixed(3)}x)`);
  }
});
