// GPT-2-small-shaped prefill (one causal forward pass over T tokens, attention captured as the page does),
// several builds in ONE process, interleaved A B A B: judges a change to the prefill path (GEMMs, causal
// attention by blocks) by a ratio measured side by side. Not part of the tests or CI.
//
//   node bench/prefill-ab.mjs THROWAWAY_DIR OLD_DIR NEW_DIR OLD_DIR NEW_DIR    (T=512 in the environment: tokens)
//   (each DIR a build with the benchmark handles: pkg-checks/ from scripts/build-wasm.sh --with-checks, or a copy)
//
// f32 weights, random (seed 7). Prints the least wall-clock ms of 5 passes per build after 2 of warm-up. Each
// build holds its own 0.5 GB model: five builds need about 2.5 GB. The first build listed reads slower in its
// slot, so list a throwaway build first (as bench/minilm-ab.mjs). Asserts nothing.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const T = Number(process.env.T) || 512;
const GPT2_SMALL = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true, bos_token_id: 50256, eos_token_id: 50256 };
const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: node bench/prefill-ab.mjs DIR [DIR ...] (each with glassbox.js and glassbox_bg.wasm)');
  process.exit(1);
}
const runs = [];
for (const d of dirs) {
  // The query string makes each DIR its own module instance, even when one is listed twice.
  const g = await import(`${pathToFileURL(join(resolve(d), 'glassbox.js')).href}?${runs.length}`);
  g.initSync({ module: readFileSync(join(resolve(d), 'glassbox_bg.wasm')) });
  runs.push({ d, m: new g.BenchModel(new TextEncoder().encode(JSON.stringify(GPT2_SMALL)), undefined, 'f32', 7) });
}
const ids = Uint32Array.from({ length: T }, (_, i) => (i * 7919) % 50000);
for (let w = 0; w < 2; w++) runs.forEach((r) => r.m.forward(ids, true));
const best = runs.map(() => Infinity);
for (let s = 0; s < 5; s++) {
  runs.forEach((r, i) => {
    const t0 = performance.now();
    r.m.forward(ids, true);
    best[i] = Math.min(best[i], performance.now() - t0);
  });
}
console.log(`${T} tokens:`, runs.map((r, i) => `${r.d} ${best[i].toFixed(0)} ms`).join('   '));
