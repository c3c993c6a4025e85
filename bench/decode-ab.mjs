// GPT-2-small-shaped decoding, several builds and storages in ONE process, interleaved: the most robust
// A/B on a shared machine (every model sees the same moments). Not part of the tests or CI.
//
//   node bench/decode-ab.mjs f32:pkg-checks int8:pkg-checks f32:/tmp/old-pkg int8:/tmp/old-pkg [--rounds=N]
//   (each DIR a build with the benchmark handles: pkg-checks/ from scripts/build-wasm.sh --with-checks)
//
// Each argument is `storage:DIR` (DIR holds glassbox.js and glassbox_bg.wasm; one wasm instance per DIR), or
// `storage:DIR:wide` / `storage:DIR:narrow` to decode that model with six streams or two whatever its load chose.
// A relaxed-SIMD build (its wasm copied as DIR/glassbox_bg.wasm) needs `node --experimental-wasm-relaxed-simd` on Node 20
// (Node 22 has relaxed SIMD on, and refuses that flag).
// Every model prefills 128 tokens (`--context=N`: N), then 6 rounds (`--rounds=N`: more on a noisy machine) of 3 decoding
// steps each, round-robin across the models;
// the least CPU time per token is printed, with the ratio to the first f32 model of the same DIR.
// `--config=FILE` decodes another shape (a Hugging Face config.json: Llama, Qwen2, BERT-less decoders) instead
// of GPT-2 small; each line then also gives the weights' bytes read per token against the measured time.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const GPT2_SMALL = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true, bos_token_id: 50256, eos_token_id: 50256 };
const ids = (n, seed = 1) => Uint32Array.from({ length: n }, (_, i) => (i * 7919 + seed * 104729) % 30000 + 100);
const cpu = (f) => { const c0 = process.cpuUsage(); f(); const c = process.cpuUsage(c0); return (c.user + c.system) / 1e3; };
const configArg = process.argv.find((a) => a.startsWith('--config='));
const CONFIG = configArg ? JSON.parse(readFileSync(configArg.slice(9), 'utf8')) : GPT2_SMALL;
const mods = new Map();
const runs = [];
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
const contextArg = process.argv.find((a) => a.startsWith('--context='));
const CONTEXT = contextArg ? Number(contextArg.slice(10)) : 128;
const ROUNDS = roundsArg ? Number(roundsArg.slice(9)) : 6;
for (const arg of process.argv.slice(2).filter((a) => !a.startsWith('--'))) {
  const [storage, rel, mode] = arg.split(':');
  if (mode !== undefined && !['wide', 'narrow'].includes(mode)) throw new Error(`${arg}: the third part is wide or narrow`);
  const dir = resolve(rel);
  if (!mods.has(dir)) {
    const g = await import(pathToFileURL(join(dir, 'glassbox.js')).href);
    g.initSync({ module: readFileSync(join(dir, 'glassbox_bg.wasm')) });
    mods.set(dir, g);
  }
  const g = mods.get(dir);
  const m = new g.BenchModel(new TextEncoder().encode(JSON.stringify(CONFIG)), undefined, storage, 7);
  m.start(new Uint32Array(0), ids(CONTEXT));
  for (let i = 0; i < 2; i++) m.step(11 + i);
  runs.push({ storage, dir, mode, g, m, tok: 20, best: Infinity });
}
for (let round = 0; round < ROUNDS; round++) {
  for (const r of runs) {
    if (r.mode) r.g.bench_set_decode_wide(r.mode === 'wide'); // the instance's choice, for this run's steps
    r.best = Math.min(r.best, cpu(() => { for (let i = 0; i < 3; i++) r.m.step(r.tok++); }) / 3);
  }
}
const f32Of = (dir) => runs.find((r) => r.storage === 'f32' && r.dir === dir);
for (const r of runs) console.log(`${r.storage.padEnd(5)} ${`${r.dir}${r.mode ? `:${r.mode}` : ''}`.padEnd(26)} ${r.best.toFixed(2).padStart(7)} ms/token ${(1000 / r.best).toFixed(1).padStart(6)} tok/s  ${f32Of(r.dir) ? `x${(f32Of(r.dir).best / r.best).toFixed(2)} of f32` : ''}`);
