// The per-token cost of choosing a token over a 50,257-token vocabulary, in several builds of Glassbox,
// interleaved in one process (A B A B), so a change to sampling, the candidate lists or beam search is judged
// by a ratio measured side by side on a shared machine. Not part of the tests or CI.
//
//   node bench/sampling-ab.mjs DIR [DIR ...] [--rounds=N]   (each DIR holds a build's glassbox.js and
//                                                            glassbox_bg.wasm, e.g. pkg/ and a copy of pkg/
//                                                            from before a change)
//
// The model is a GPT-2 of width 32 and one layer with random weights (the bundled GPT-2's tokenizer), so the
// forward pass is small beside what is measured: sorting and drawing from the vocabulary. Four modes: top-k 50
// with top-p 0.9, top-p 0.95 alone, greedy with the page's 10 candidates per step, and 4 beams (10 new tokens
// from `WasmGenerator.create` to the last token, per token). Prints the least CPU milliseconds per token over
// the rounds (5 unless --rounds), its ratio to the first DIR, and whether the generated ids are the first
// DIR's (they must be: a faster sort must choose the same tokens).

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CONFIG = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 32, n_layer: 1, n_head: 2, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true, bos_token_id: 0, eos_token_id: 0 };
const MODES = {
  'top-k 50 + top-p 0.9': { temperature: 1.0, topK: 50, topP: 0.9, seed: 7 },
  'top-p 0.95': { temperature: 1.0, topK: 0, topP: 0.95, seed: 7 },
  'greedy, 10 candidates': {},
  '4 beams': { numBeams: 4 },
};
const STEPS = 40; // sampled or greedy tokens timed per round (after the prompt's step)
const BEAM_TOKENS = 10;
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
const ROUNDS = roundsArg ? Number(roundsArg.slice(9)) : 5;
const dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (dirs.length === 0) {
  console.error('usage: node bench/sampling-ab.mjs DIR [DIR ...] [--rounds=N] (each with glassbox.js and glassbox_bg.wasm)');
  process.exit(1);
}

const tokenizer = readFileSync(join(ROOT, 'models', 'glassbox-gpt2', 'tokenizer.json'));
const cpu = (f) => {
  const c0 = process.cpuUsage();
  const result = f();
  const c = process.cpuUsage(c0);
  return [(c.user + c.system) / 1e3, result];
};

const runs = [];
for (const rel of dirs) {
  const dir = resolve(rel);
  // One module instance per DIR, even when two DIRs hold the same glassbox.js.
  const g = await import(`${pathToFileURL(join(dir, 'glassbox.js')).href}?${encodeURIComponent(dir)}`);
  g.initSync({ module: readFileSync(join(dir, 'glassbox_bg.wasm')) });
  const model = g.WasmModel.load(new TextEncoder().encode(JSON.stringify(CONFIG)), null, tokenizer, null, null, null, { randomSeed: 3 });
  for (const [mode, opts] of Object.entries(MODES)) runs.push({ dir: rel, mode, g, model, opts, best: Infinity, ids: null });
}

/// One round of `run`'s mode: CPU ms per token and the ids generated.
function round(run) {
  const { g, model, opts } = run;
  if (opts.numBeams) {
    const [ms, ids] = cpu(() => {
      const gen = g.WasmGenerator.create(model, 'Once upon a time', { maxNewTokens: BEAM_TOKENS, ...opts });
      gen.start(model);
      while (gen.nextToken(model) !== undefined);
      const out = Array.from(gen.ids());
      gen.free();
      return out;
    });
    return [ms / BEAM_TOKENS, ids];
  }
  const gen = g.WasmGenerator.create(model, 'Once upon a time', { maxNewTokens: STEPS + 1, ...opts });
  gen.start(model);
  gen.nextToken(model); // the prompt's step, not timed
  const [ms, ids] = cpu(() => {
    for (let i = 0; i < STEPS; i++) gen.nextToken(model);
    return Array.from(gen.ids());
  });
  gen.free();
  return [ms / STEPS, ids];
}

for (let r = 0; r < ROUNDS; r++) {
  for (const run of runs) {
    const [ms, ids] = round(run);
    run.best = Math.min(run.best, ms);
    run.ids ??= ids.join(',');
  }
}
for (const run of runs) {
  const first = runs.find((x) => x.mode === run.mode);
  const same = first.ids === run.ids ? 'same ids' : 'IDS DIFFER';
  console.log(`${run.mode.padEnd(22)} ${run.dir.padEnd(24)} ${run.best.toFixed(3).padStart(7)} ms/token  x${(run.best / first.best).toFixed(3)} of the first  ${same}`);
}
