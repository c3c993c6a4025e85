// The relaxed-SIMD build: pkg/glassbox_relaxed_bg.wasm (and pkg-checks/'s), the same code as glassbox_bg.wasm with
// the kernels' multiply-adds fused (`f32x4.relaxed_madd`), which www/worker.js loads where the engine validates
// relaxed SIMD. Node 20 does so only with --experimental-wasm-relaxed-simd, so the checks that run the build are
// in support/relaxed-checks.mjs, in a Node process started with that flag where this Node needs it (Node 22 has
// relaxed SIMD on and refuses the flag as a bad option); the ones here read the files.
//
//   scripts/build-wasm.sh --with-checks && node --test tests/wasm/relaxed.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wasmFeatures, simdLoadOffsets } from './support/kernel-reference.mjs';
import { RELAXED_SIMD_PROBE, RELAXED_FLAG, engineHasRelaxedSimd } from '../../scripts/wasm-files.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHIPPED = join(ROOT, 'pkg', 'glassbox_relaxed_bg.wasm');
const CHECKS = join(ROOT, 'pkg-checks', 'glassbox_relaxed_bg.wasm');
// Debian's binaryen 108 cannot read relaxed SIMD's final opcodes; the npm dev dependency (132) can.
const WASM_DIS = join(ROOT, 'node_modules', '.bin', 'wasm-dis');

test('the relaxed-SIMD build ships beside the SIMD128 one, under 1.5 MB', () => {
  for (const f of [SHIPPED, CHECKS]) assert.ok(existsSync(f), `${f} is missing: run scripts/build-wasm.sh --with-checks`);
  const bytes = readFileSync(SHIPPED).length;
  assert.ok(bytes < 1_500_000, `${SHIPPED} is ${bytes} bytes, over 1,500,000`);
  assert.ok(readFileSync(CHECKS).length > bytes, 'pkg-checks/ holds more than pkg/');
  // The worker's premise: an engine takes the binary exactly when it takes the probe (Node 20 without
  // --experimental-wasm-relaxed-simd takes neither; a newer Node, both).
  const probe = engineHasRelaxedSimd();
  assert.equal(WebAssembly.validate(readFileSync(SHIPPED)), probe, `this engine ${probe ? 'takes' : 'refuses'} the probe but not the binary`);
});

test('www/worker.js and www/sw.js ask the engine with the same probe bytes', () => {
  // Neither can import scripts/wasm-files.mjs (a data: worker in the single file, a classic service worker).
  for (const file of ['worker.js', 'sw.js']) {
    const text = readFileSync(join(ROOT, 'www', file), 'utf8');
    const literal = /WebAssembly\.validate\(new Uint8Array\(\[([\d,\s]+)\]\)\)/.exec(text);
    assert.ok(literal, `www/${file} no longer asks WebAssembly.validate about an inline module`);
    assert.deepEqual(literal[1].split(',').map((v) => Number(v.trim())), RELAXED_SIMD_PROBE, `www/${file}'s probe`);
  }
});

test('the relaxed-SIMD binaries fuse their multiply-adds and carry their SIMD loads\' constant offsets', () => {
  assert.ok(existsSync(WASM_DIS), `${WASM_DIS} is missing: run npm ci (binaryen is a dev dependency)`);
  for (const path of [SHIPPED, CHECKS]) {
    const dis = spawnSync(WASM_DIS, [...wasmFeatures(true), path], { encoding: 'utf8', maxBuffer: 1 << 30 });
    assert.equal(dis.status, 0, `wasm-dis ${path}: ${dis.stderr}`);
    const fused = (dis.stdout.match(/\(f32x4\.relaxed_madd\b/g) ?? []).length;
    // 93 in the shipped build of 2026-12-07: the GEMM tile, decoding's runs, the dot products, the axpys.
    assert.ok(fused >= 40, `${path}: only ${fused} f32x4.relaxed_madd`);
    const { withOffset, missed } = simdLoadOffsets(dis.stdout);
    assert.deepEqual(missed, [], `${path}: SIMD loads whose constant offset is still an i32.add`);
    assert.ok(withOffset >= 40, `${path}: only ${withOffset} SIMD loads that broadcast or widen have an offset`);
  }
});

test('run in an engine with relaxed SIMD: kernels within rounding of the reference, models beside the SIMD128 build', () => {
  const child = join(ROOT, 'tests', 'wasm', 'support', 'relaxed-checks.mjs');
  // The flag only where this engine lacks relaxed SIMD (Node 20): a Node that has it on (22) refuses the flag.
  const flag = engineHasRelaxedSimd() ? [] : [RELAXED_FLAG];
  const r = spawnSync(process.execPath, [...flag, '--test', '--test-reporter=tap', child],
    { encoding: 'utf8', maxBuffer: 1 << 26, cwd: ROOT, env: { ...process.env, NODE_TEST_CONTEXT: undefined } });
  const report = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, `support/relaxed-checks.mjs failed:\n${report}`);
  assert.match(r.stdout, /^# fail 0$/m, report);
  const passed = Number(/^# pass (\d+)$/m.exec(r.stdout)?.[1] ?? 0);
  assert.ok(passed >= 4, `only ${passed} relaxed-SIMD checks passed:\n${report}`);
});
