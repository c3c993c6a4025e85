// The residual stream's sizes the block view draws (`inspect(..., { logitLens })` -> `residual`), from the wasm build
// in Node: one row per hidden state and position; the last state is the model's output, so its sizes equal the
// root mean square of the native CLI's last_hidden_state rows; the embeddings row changes nothing.
//
//   node --test tests/wasm/residual.test.mjs      (needs pkg/ from scripts/build-wasm.sh and the glassbox CLI)

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(ROOT, 'tests', 'fixtures', 'models');
const PKG = join(ROOT, 'pkg', 'glassbox.js');
const CLI = process.env.GLASSBOX_BIN ?? join(ROOT, 'target', 'debug', 'glassbox');
const TEXT = 'The dog chased the cat';

let wasm;

before(async () => {
  assert.ok(existsSync(PKG), `${PKG} is missing: run scripts/build-wasm.sh`);
  assert.ok(existsSync(CLI), `${CLI} is missing: run cargo build --bin glassbox (or set GLASSBOX_BIN)`);
  wasm = await import(pathToFileURL(PKG).href);
  wasm.initSync({ module: readFileSync(join(ROOT, 'pkg', 'glassbox_bg.wasm')) });
});

function load(name) {
  const dir = join(FIXTURES, name);
  const opt = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : undefined);
  return wasm.WasmModel.load(readFileSync(join(dir, 'config.json')), readFileSync(join(dir, 'model.safetensors')),
    readFileSync(join(dir, 'tokenizer.json')), opt('tokenizer_config.json'), opt('special_tokens_map.json'), opt('generation_config.json'), {});
}

/** Root mean square of each row of the CLI's `[T][C]` matrix, in float64. */
function rowRms(rows) {
  return rows.map((r) => Math.sqrt(r.reduce((s, x) => s + x * x, 0) / r.length));
}

for (const name of ['gpt2', 'bert', 'llama_gqa']) {
  test(`${name}: residual sizes per hidden state and position, the last row from the output`, () => {
    const model = load(name);
    const info = model.info();
    const { residual } = model.inspect(TEXT, { logitLens: 1 });
    assert.ok(residual, 'a lens inspection carries the residual sizes');
    const out = spawnSync(CLI, ['inspect', join(FIXTURES, name), '--text', TEXT], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(out.status, 0, out.stderr);
    const cli = JSON.parse(out.stdout).cases[0];
    const { nStates, seqLen, dModel, rms, change } = residual;
    assert.deepEqual([nStates, seqLen, dModel], [info.nLayers + 1, cli.ids.length, info.dModel]);
    assert.equal(rms.length, nStates * seqLen);
    assert.equal(change.length, nStates * seqLen);
    const want = rowRms(cli.last_hidden_state);
    const last = Array.from(rms.subarray((nStates - 1) * seqLen));
    last.forEach((v, p) => assert.ok(Math.abs(v - want[p]) <= 1e-4 * Math.max(1, want[p]), `position ${p}: ${v} vs the CLI's ${want[p]}`));
    assert.ok(Array.from(change.subarray(0, seqLen)).every((v) => v === 0), 'the embeddings row changes nothing');
    assert.ok(Array.from(change.subarray(seqLen)).every((v) => v > 0 && Number.isFinite(v)), 'every layer changes every position');
    assert.ok(Array.from(rms).every((v) => v > 0 && Number.isFinite(v)));
    model.free();
  });
}
