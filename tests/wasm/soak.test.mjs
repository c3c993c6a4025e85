// A long session in one wasm instance: 1,000 runs and 100 load/free cycles of the bundled models, and the
// instance's linear memory stays bounded. Wasm memory never shrinks, so a leak shows as growth: after a warm-up
// (the allocator's high-water mark for these models and texts), the rest of the session may grow the memory by
// at most MAX_GROWTH. One leaked model per cycle (a few MB each) or one leaked run result per run (attention,
// hidden states: tens of KB) would exceed it many times over.
//
//   scripts/build-wasm.sh && node --test tests/wasm/soak.test.mjs

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PKG = join(ROOT, 'pkg', 'glassbox.js');
const MODELS = join(ROOT, 'models');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'models');
const MIB = 1 << 20;
const MAX_GROWTH = 16 * MIB;
const RUNS = 1000;
const CYCLES = 100;
const WARMUP_RUNS = 60;
const WARMUP_CYCLES = 10;

const FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];
const TEXTS = ['The cat sat on the mat.', 'Hello, wörld 🙂 naïve café', 'the red car', 'A much longer sentence, with commas, numbers like 1234 and a question?'];

let wasm;
let memory;
let folders;

before(async () => {
  assert.ok(existsSync(PKG), 'pkg/glassbox.js is missing. Build the wasm first: scripts/build-wasm.sh');
  wasm = await import(pathToFileURL(PKG).href);
  const exports = await wasm.default({ module_or_path: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  memory = exports.memory;
  wasm.installPanicHook();
  // The bundled models (the fixtures' tiny models stand in for a clone without them).
  const pick = (root) => (existsSync(root) ? readdirSync(root).filter((n) => existsSync(join(root, n, 'config.json')) && existsSync(join(root, n, 'model.safetensors'))).map((n) => join(root, n)) : []);
  const dirs = pick(MODELS).length ? pick(MODELS) : pick(FIXTURES).filter((d) => /gpt2$|bert$|t5_tiny$/.test(d));
  assert.ok(dirs.length > 0, 'no model folders to soak');
  folders = dirs.map((dir) => ({
    dir,
    files: Object.fromEntries(FILES.map((n) => [n, existsSync(join(dir, n)) ? new Uint8Array(readFileSync(join(dir, n))) : null])),
  }));
});

function load({ files }) {
  return wasm.WasmModel.load(files['config.json'], files['model.safetensors'], files['tokenizer.json'],
    files['tokenizer_config.json'], files['special_tokens_map.json'], files['generation_config.json'], {});
}

const mib = (bytes) => `${(bytes / MIB).toFixed(1)} MiB`;

test(`${RUNS} runs stay within ${mib(MAX_GROWTH)} of the warmed-up memory`, () => {
  const models = folders.map(load);
  let baseline = 0;
  let checked = 0;
  for (let i = 0; i < RUNS; i++) {
    if (i === WARMUP_RUNS) baseline = memory.buffer.byteLength;
    const model = models[i % models.length];
    const text = TEXTS[i % TEXTS.length];
    const out = model.run(text, { scores: i % 3 === 0, topK: 5, logits: i % 2 === 0 });
    assert.ok(out.attentions, 'a run gives attention');
    checked++;
    // A bad input every so often: the error path must not leak either.
    if (i % 50 === 25) assert.throws(() => model.run(text, { decoderIds: [999999], topK: 0 }), /decoder ids|outside/);
  }
  const grown = memory.buffer.byteLength - baseline;
  console.log(`soak: ${checked} runs over ${models.length} models: memory ${mib(baseline)} after warm-up, ${mib(memory.buffer.byteLength)} at the end`);
  assert.ok(grown <= MAX_GROWTH, `wasm memory grew by ${mib(grown)} after the warm-up`);
  for (const m of models) m.free();
});

test(`${CYCLES} load/free cycles of every model stay within ${mib(MAX_GROWTH)} of the warmed-up memory`, () => {
  let baseline = 0;
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    if (cycle === WARMUP_CYCLES) baseline = memory.buffer.byteLength;
    for (const folder of folders) {
      const model = load(folder);
      if (cycle % 10 === 0) assert.ok(model.run(TEXTS[cycle % TEXTS.length], { topK: 1 }).attentions);
      model.free();
    }
  }
  const grown = memory.buffer.byteLength - baseline;
  console.log(`soak: ${CYCLES} load/free cycles of ${folders.length} models: memory ${mib(baseline)} after warm-up, ${mib(memory.buffer.byteLength)} at the end`);
  assert.ok(grown <= MAX_GROWTH, `wasm memory grew by ${mib(grown)} after the warm-up: a loaded model is not freed`);
});
