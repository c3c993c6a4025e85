// Wasm memory after loading a GPT-2-small-shaped random twin, for builds side by side (each in this
// process's own wasm instance; memory never shrinks, so one model per instance).
//
//   node bench/load-memory.mjs [--storage=int8] DIR [DIR ...]   (DIR holds glassbox.js and glassbox_bg.wasm built with
//   the benchmark handles: pkg-checks/ from scripts/build-wasm.sh --with-checks)
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const storage = (process.argv.find((a) => a.startsWith('--storage=')) || '--storage=int8').slice(10);
const GPT2_SMALL = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true, bos_token_id: 50256, eos_token_id: 50256 };
for (const arg of process.argv.slice(2).filter((a) => !a.startsWith('--'))) {
  const dir = resolve(arg);
  const g = await import(`${pathToFileURL(join(dir, 'glassbox.js')).href}?${Math.random()}`);
  g.initSync({ module: readFileSync(join(dir, 'glassbox_bg.wasm')) });
  const model = new g.BenchModel(new TextEncoder().encode(JSON.stringify(GPT2_SMALL)), undefined, storage, 7);
  console.log(`${dir.padEnd(30)} ${storage}: ${(g.bench_memory_bytes() / 1e6).toFixed(1)} MB of wasm memory after load (${(model.n_params() / 1e6).toFixed(1)}M parameters)`);
}
