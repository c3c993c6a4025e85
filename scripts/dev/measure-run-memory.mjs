#!/usr/bin/env node
// How much wasm memory one long run of a real-size model needs, with every attention map kept and with
// only the one layer a view shows (the `attention` run option), each in a fresh wasm instance (wasm
// memory grows and never shrinks, so one instance per case).
//
//   node scripts/dev/measure-run-memory.mjs [--tokens 1024] [--model DIR] [--json FILE]
//
// DIR defaults to tests/artifacts/shaped/gpt2-small-f16, made first when missing (make-shaped-model.mjs).
// Needs pkg/ (scripts/build-wasm.sh). Prints MB after load and after the run, against the weights' own
// size in memory: matrices in the file's dtype (a model keeps its file's storage), vectors and the
// position table in f32, as the engine keeps them. `--cases every,one,none` picks the runs (default all
// three: every layer's maps, one layer's, none).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MB = 1e6;

if (isMainThread) {
  const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
  const tokens = Number(args.tokens ?? 1024);
  const dir = path.resolve(args.model ?? path.join(ROOT, 'tests/artifacts/shaped/gpt2-small-f16'));
  if (!fs.existsSync(path.join(dir, 'model.safetensors'))) {
    const { makeShapedModel } = await import(pathToFileURL(path.join(ROOT, 'scripts/dev/make-shaped-model.mjs')).href);
    makeShapedModel({ shape: 'gpt2-small', dtype: 'f16', seed: 1, out: dir });
  }
  const wanted = String(args.cases ?? 'every,one,none').split(',');
  const cases = [
    { key: 'every', name: 'every layer', attention: undefined },
    { key: 'one', name: 'one layer', attention: { layers: [0, 1] } },
    { key: 'none', name: 'no maps', attention: { kinds: [] } },
  ].filter((c) => wanted.includes(c.key));
  const results = [];
  for (const c of cases) {
    // A worker per case: a fresh wasm instance, so each starts from the memory of a load alone.
    const result = await new Promise((resolve, reject) => {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { dir, tokens, attention: c.attention } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    results.push({ case: c.name, ...result });
    console.log(`${c.name}: weights ${(result.weightsMb).toFixed(0)} MB as stored | wasm after load ${result.afterLoadMb.toFixed(0)} MB `
      + `(${(result.afterLoadMb / result.weightsMb).toFixed(2)}x) | `
      + `after a ${result.tokens}-token run ${result.afterRunMb.toFixed(0)} MB (${(result.afterRunMb / result.weightsMb).toFixed(2)}x the weights) | `
      + `maps returned ${result.mapsMb.toFixed(0)} MB | ${(result.runMs / 1000).toFixed(1)} s`);
  }
  if (args.json) fs.writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
} else {
  const { dir, tokens, attention } = workerData;
  const wasm = await import(pathToFileURL(path.join(ROOT, 'pkg', 'glassbox.js')).href);
  const { storedBytes } = await import(pathToFileURL(path.join(ROOT, 'scripts/dev/make-shaped-model.mjs')).href);
  const exports = await wasm.default({ module_or_path: fs.readFileSync(path.join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
  const read = (name) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name)) : null);
  let model = wasm.WasmModel.load(read('config.json'), read('model.safetensors'), read('tokenizer.json'),
    read('tokenizer_config.json'), read('special_tokens_map.json'), read('generation_config.json'), {});
  const afterLoad = exports.memory.buffer.byteLength;
  // A text of exactly `tokens` tokens: one word repeated (" the" is one GPT-2 token).
  const text = `The${' the'.repeat(tokens - 1)}`;
  const started = performance.now();
  const run = model.run(text, { topK: 0, attention });
  const runMs = performance.now() - started;
  const mapsBytes = Object.values(run.attentions).reduce((n, t) => n + t.data.byteLength, 0);
  parentPort.postMessage({
    tokens: run.tokens.ids.length,
    weightsMb: storedBytes(read('model.safetensors')) / MB,
    afterLoadMb: afterLoad / MB,
    afterRunMb: exports.memory.buffer.byteLength / MB,
    mapsMb: mapsBytes / MB,
    runMs,
  });
  model.free();
  model = null;
}

