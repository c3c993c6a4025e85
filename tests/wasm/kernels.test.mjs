// SIMD128 kernels == their scalar twins, in the real wasm binary.
//
//   scripts/build-wasm.sh && node --test tests/wasm/
//
// Each `check_*` export of pkg-checks/glassbox.js (the shipped build plus the `checks` feature,
// scripts/build-wasm.sh --with-checks) runs one kernel on our inputs, either the SIMD128 version
// (`simd = true`) or the scalar twin that the native build runs. The twins do the same f32
// operations in the same order per output, so the results must be identical, not merely close:
// that is what lets the page reproduce the native CLI. A float64 reference computed here also
// checks that both are right, not just equal.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomF32, assertIdentical, assertNear, referenceProduct, sumBound, wasmFeatures, simdLoadOffsets } from './support/kernel-reference.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const wasmPath = join(ROOT, 'pkg', 'glassbox_bg.wasm'); // what ships
const checksPath = join(ROOT, 'pkg-checks', 'glassbox_bg.wasm');
const glassbox = await import(pathToFileURL(join(ROOT, 'pkg-checks', 'glassbox.js')).href);
glassbox.initSync({ module: readFileSync(checksPath) });

const LENGTHS = [0, 1, 3, 4, 15, 16, 17, 1023];
// 40: more rows than the SIMD prefill takes in one K-block per panel (32), so K = 600 is cut in two.
const ROWS = [1, 2, 3, 4, 5, 8, 17, 40];
const DIMS = [1, 3, 8, 15, 16, 17, 50, 64, 100];
test('the binary was built with SIMD128', () => {
  assert.equal(glassbox.kernels_simd128(), true, 'kernels_simd128() is false: rebuild with scripts/build-wasm.sh (RUSTFLAGS must not override .cargo/config.toml)');
  // And the instructions are really there: 0xfd is the SIMD opcode prefix; f32x4.mul is 0xfd 0xe6 0x01.
  const bytes = readFileSync(wasmPath);
  let mul = 0;
  for (let i = 0; i + 2 < bytes.length; i++) if (bytes[i] === 0xfd && bytes[i + 1] === 0xe6 && bytes[i + 2] === 0x01) mul++;
  assert.ok(mul > 10, `only ${mul} f32x4.mul opcodes found in ${wasmPath}`);
});

test('the SIMD loads that broadcast or widen carry their constant offsets (crate/wasm-fold)', () => {
  // LLVM computes `base + C` with an i32.add before every such load; scripts/build-wasm.sh folds C
  // into the load's offset so V8 reads `[base + C]` in one instruction. Read in binaryen's text
  // (one operand per line, nested by indentation): a load whose address is `(i32.add X (i32.const C))`
  // with 0 <= C < 1024 is one the step missed.
  for (const path of [wasmPath, checksPath]) {
    const dis = spawnSync('wasm-dis', [...wasmFeatures(), path], { encoding: 'utf8', maxBuffer: 1 << 30 });
    assert.equal(dis.status, 0, `wasm-dis ${path}: ${dis.stderr}`);
    const { withOffset, missed } = simdLoadOffsets(dis.stdout);
    assert.deepEqual(missed, [], `${path}: SIMD loads whose constant offset is still an i32.add`);
    assert.ok(withOffset >= 40, `${path}: only ${withOffset} SIMD loads that broadcast or widen have an offset`);
  }
});

test('the shipped wasm carries no kernel checks or benchmark handles (they are pkg-checks/ only)', async () => {
  const shipped = await import(`${pathToFileURL(join(ROOT, 'pkg', 'glassbox.js')).href}?shipped`);
  assert.equal(typeof shipped.WasmModel, 'function', 'pkg/ is the real build');
  for (const name of ['check_linear', 'check_softmax', 'kernels_simd128', 'KernelBench', 'BenchModel', 'bench_memory_bytes', 'bench_set_decode_wide']) {
    assert.equal(shipped[name], undefined, `pkg/ exports ${name}: the \`checks\` feature leaked into the shipped build`);
  }
  assert.ok(readFileSync(checksPath).length > readFileSync(wasmPath).length, 'pkg-checks/ holds more than pkg/');
});

test('the shipped wasm stays under 1.5 MB', () => {
  // Issue 11's limit for what a visitor downloads (raw; about 0.6 MB gzipped). A change that
  // crosses it has to find the bytes elsewhere (scripts/build-wasm.sh prints the size).
  const bytes = readFileSync(wasmPath).length;
  assert.ok(bytes < 1_500_000, `${wasmPath} is ${bytes} bytes, over 1,500,000`);
});

test('Linear (packed GEMM / GEMV): SIMD == scalar == float64 reference on awkward shapes', () => {
  const rand = randomF32(1);
  // K = 600 with M = 40 crosses the SIMD K-block (512): partial sums are stored and reloaded.
  for (const k of [...DIMS, 600]) {
    for (const n of DIMS) {
      for (const m of ROWS) {
        const x = rand(m * k);
        const w = rand(n * k); // [N][K], the nn.Linear layout
        const bias = rand(n);
        const what = `Linear m=${m} k=${k} n=${n}`;
        const simd = glassbox.check_linear(x, m, k, w, n, bias, true);
        const scalar = glassbox.check_linear(x, m, k, w, n, bias, false);
        assertIdentical(simd, scalar, what);
        const { out, mag } = referenceProduct(x, m, k, w, n, bias, 'nk');
        assertNear(simd, out, (i) => sumBound(k, mag[i]), what);
      }
    }
  }
  // No bias, and the empty cases.
  const x = rand(5 * 17), w = rand(9 * 17);
  assertIdentical(glassbox.check_linear(x, 5, 17, w, 9, undefined, true), glassbox.check_linear(x, 5, 17, w, 9, undefined, false), 'Linear without bias');
  assert.equal(glassbox.check_linear(new Float32Array(0), 0, 17, w, 9, undefined, true).length, 0);
  const b = rand(9);
  assertIdentical(glassbox.check_linear(new Float32Array(0), 2, 0, new Float32Array(0), 9, b, true), [...b, ...b], 'Linear with K = 0 is the bias');
});

test('Linear after larger products: the prefill buffers kept between products carry nothing over', () => {
  // Prefill keeps its packed rows and widened block from one product to the next; a smaller product
  // after a larger one, f32 after 16-bit and back, must read only what it wrote itself.
  const rand = randomF32(7);
  const big = (len) => rand(len).map((v) => v * 1e6);
  for (const [storage, m, k, n] of [['bf16', 64, 700, 40], ['f32', 5, 17, 9], ['f16', 40, 600, 33], ['f32', 7, 3, 20], ['int8', 9, 64, 17], ['bf16', 6, 19, 21]]) {
    checkLinearStorage(rand, storage, m, k, n);
    // Leave large numbers behind in every buffer for the next product to trip over.
    glassbox.check_linear_storage(big(70 * 900), 70, 900, big(48 * 900), 48, big(48), storage === 'f32' ? 'bf16' : 'f32', true);
  }
});

test('Linear sums K in runs of 256 (each from zero), in SIMD as in the scalar twin: small terms after a large one are kept', () => {
  // After a 1, terms of 2^-25 (under half of 1's last bit) vanish one by one in a running sum but add
  // up inside each later run: 1 + 7 * 256 * 2^-25 at K = 2,048, whether decoding (M = 1) or in prefill.
  const k = 2048, n = 2, tiny = 2 ** -25;
  const want = Math.fround(1 + 7 * 256 * tiny);
  const w = new Float32Array(n * k).fill(1);
  for (const storage of ['f32', 'f16', 'bf16']) {
    for (const m of [1, 5, 40]) {
      const x = new Float32Array(m * k).fill(tiny);
      for (let i = 0; i < m; i++) x[i * k] = 1;
      for (const simd of [true, false]) {
        const out = glassbox.check_linear_storage(x, m, k, w, n, new Float32Array(n), storage, simd).subarray(0, m * n);
        assert.ok(out.every((v) => v === want), `${storage} m=${m} simd=${simd}: ${out[0]} (a running sum gives 1)`);
      }
    }
  }
});

test('Linear: a row decoded alone (GEMV) equals the same row in a batch (GEMM)', () => {
  const rand = randomF32(2);
  const [m, k, n] = [13, 300, 45];
  const x = rand(m * k), w = rand(n * k), bias = rand(n);
  const batch = glassbox.check_linear(x, m, k, w, n, bias, true);
  for (let i = 0; i < m; i++) {
    const alone = glassbox.check_linear(x.subarray(i * k, (i + 1) * k), 1, k, w, n, bias, true);
    assertIdentical(alone, batch.subarray(i * n, (i + 1) * n), `row ${i}`);
  }
});

// One Linear in one weight storage: SIMD == scalar bit for bit, the widened weights within the
// storage's rounding of the originals, and the product within the float64 reference's bound.
function checkLinearStorage(rand, storage, m, k, n, weightScale = 1) {
  const x = rand(m * k), w = rand(n * k).map((v) => v * weightScale), bias = rand(n);
  const what = `Linear ${storage} m=${m} k=${k} n=${n}`;
  // Output [M][N], then the weights as the layer widened them, [N][K].
  const simd = glassbox.check_linear_storage(x, m, k, w, n, bias, storage, true);
  const scalar = glassbox.check_linear_storage(x, m, k, w, n, bias, storage, false);
  assertIdentical(simd, scalar, what);
  const widened = simd.subarray(m * n);
  const step = { f32: 0, f16: 2 ** -11, bf16: 2 ** -8, int8: 1 / 254 }[storage];
  assertNear(widened, w, (i) => (storage === 'int8' ? step : step * Math.abs(w[i]) + 6e-8), `${what}: widened weights`);
  const { out, mag } = referenceProduct(x, m, k, widened, n, bias, 'nk');
  // int8 also quantises the activations to int16 per group of 64: each off by at most half a
  // step, max|x| / 65534 (|x| < 1 here), times its weight.
  const xStep = (i) => {
    if (storage !== 'int8') return 0;
    const j = i % n;
    let s = 0;
    for (let kk = 0; kk < k; kk++) s += Math.abs(widened[j * k + kk]);
    return s / 65534;
  };
  assertNear(simd.subarray(0, m * n), out, (i) => sumBound(k, mag[i]) + xStep(i), what);
}

test('Linear in every weight storage (f32, f16, bf16, int8): SIMD == scalar, and right for the widened weights', () => {
  const rand = randomF32(4);
  for (const storage of ['f32', 'f16', 'bf16', 'int8']) {
    for (const k of [1, 3, 15, 16, 17, 64, 600]) {
      // Decoding reads six panels of 8 columns side by side (int8: six tiles of 16): 50 (one set of six and a
      // panel past it), 64, 96 (two sets exactly; int8 one), 100 and 130 (two sets and five panels past them;
      // int8 one set and three tiles) take that path; the smaller ones only its remainder.
      for (const n of [1, 3, 8, 17, 33, 50, 64, 96, 100, 130]) {
        // 40 rows: K-blocks of 512 (16-bit panels widened block by block); fewer rows take K whole.
        for (const m of [1, 2, 3, 4, 7, 40]) checkLinearStorage(rand, storage, m, k, n);
      }
    }
  }
});

test('decoding narrow (two streams of weights) or wide (six), as a load chooses for the machine: the same bits, SIMD == scalar', () => {
  // Rows 1 to 3 decode (GEMV). Narrow takes pairs of panels half the matrix apart, then the panels past
  // them alone: 2 panels (n = 9..16) is one pair; 5 (n = 40) two pairs and one past; 13 (n = 100)
  // six pairs and one; 6,283 (the GPT-2 LM head's 50,257 columns) many pairs. int8 narrow reads one
  // tile of 16 columns at a time, wide six tiles a sixth of the matrix apart and the rest alone.
  const rand = randomF32(12);
  const wideBefore = glassbox.bench_decode_wide();
  try {
    for (const storage of ['f32', 'f16', 'bf16', 'int8']) {
      for (const [k, n] of [[17, 9], [64, 16], [130, 40], [300, 100], [8, 50257]]) {
        for (const m of [1, 2, 3]) {
          const x = rand(m * k), w = rand(n * k), bias = rand(n);
          const run = (wide, simd) => {
            glassbox.bench_set_decode_wide(wide);
            assert.equal(glassbox.bench_decode_wide(), wide);
            return glassbox.check_linear_storage(x, m, k, w, n, bias, storage, simd).slice(0, m * n);
          };
          const what = `${storage} m=${m} k=${k} n=${n}`;
          const narrow = run(false, true);
          assertIdentical(narrow, run(true, true), `${what}: narrow == wide`);
          assertIdentical(narrow, run(false, false), `${what}: narrow SIMD == scalar`);
        }
      }
    }
  } finally {
    glassbox.bench_set_decode_wide(wideBefore);
  }
});

test('f16 weights of every size: tiny (subnormal in f16) to 60,000 (a smaller exponent shift), SIMD == scalar and exact', () => {
  // f16 panels move the exponent up by 10, or less when a weight is 64 or more; the widening, its
  // scales and the scalar twin must agree at every shift.
  const rand = randomF32(6);
  for (const scale of [1e-5, 1, 63, 64, 1000, 60000]) {
    for (const [m, k, n] of [[1, 17, 33], [3, 64, 50], [7, 130, 17]]) checkLinearStorage(rand, 'f16', m, k, n, scale);
  }
});

test('Linear with few rows and a long K (past the 4,096 a few-row K-block holds), in every storage', () => {
  // A block added twice or left out errs by a whole block's sum, far past the bound.
  const rand = randomF32(5);
  for (const storage of ['f32', 'f16', 'bf16', 'int8']) {
    for (const [m, k, n] of [[3, 4097, 17], [16, 9000, 5], [32, 4200, 9]]) checkLinearStorage(rand, storage, m, k, n);
  }
});

test('matmul_kn and matmul_nk: SIMD == scalar == float64 reference on awkward shapes', () => {
  const rand = randomF32(3);
  for (const k of DIMS) {
    for (const n of DIMS) {
      for (const m of ROWS) {
        const x = rand(m * k);
        const w = rand(n * k);
        const bias = rand(n);
        let what = `matmul_nk m=${m} k=${k} n=${n}`;
        const nk = glassbox.check_matmul_nk(x, m, k, w, n, true);
        assertIdentical(nk, glassbox.check_matmul_nk(x, m, k, w, n, false), what);
        let ref = referenceProduct(x, m, k, w, n, null, 'nk');
        assertNear(nk, ref.out, (i) => sumBound(k, ref.mag[i]), what);

        what = `matmul_kn m=${m} k=${k} n=${n}`;
        const kn = glassbox.check_matmul_kn(x, m, k, w, n, bias, true); // w read as [K][N]
        assertIdentical(kn, glassbox.check_matmul_kn(x, m, k, w, n, bias, false), what);
        ref = referenceProduct(x, m, k, w, n, bias, 'kn');
        assertNear(kn, ref.out, (i) => sumBound(k, ref.mag[i]), what);
      }
    }
  }
});

test('dot and axpy: SIMD == scalar on awkward lengths', () => {
  const rand = randomF32(4);
  for (const len of LENGTHS) {
    const a = rand(len), b = rand(len);
    const simd = glassbox.check_dot(a, b, true);
    assert.equal(simd, glassbox.check_dot(a, b, false), `dot len=${len}`);
    const ref = referenceProduct(a, 1, len, b, 1, null, 'nk');
    assertNear([simd], ref.out, () => sumBound(len, ref.mag[0]), `dot len=${len}`);
    assertIdentical(glassbox.check_axpy(0.75, a, b, true), glassbox.check_axpy(0.75, a, b, false), `axpy len=${len}`);
  }
});

test('attention rows in place (dot_rows, axpy_rows): SIMD == scalar on awkward sizes, zero weights skipped', () => {
  const rand = randomF32(11);
  for (const d of [1, 3, 4, 15, 16, 17, 32, 33, 48, 50, 64, 80, 128]) {
    for (const rows of [0, 1, 3, 4, 5, 9]) {
      const ld = d + 5;
      const v = rand(Math.max(rows, 1) * ld);
      const x = rand(d);
      assertIdentical(glassbox.check_dot_rows(x, d, v, ld, rows, true), glassbox.check_dot_rows(x, d, v, ld, rows, false), `dot_rows d=${d} rows=${rows}`);
      const p = rand(rows);
      if (rows > 1) p[1] = 0; // a masked key: skipped, as a separate axpy per row would be
      const out = rand(d);
      const simd = glassbox.check_axpy_rows(p, v, ld, d, out, true);
      assertIdentical(simd, glassbox.check_axpy_rows(p, v, ld, d, out, false), `axpy_rows d=${d} rows=${rows}`);
      let one = Float32Array.from(out); // one axpy per non-zero weight, in order
      for (let j = 0; j < rows; j++) if (p[j] !== 0) one = glassbox.check_axpy(p[j], v.subarray(j * ld, j * ld + d), one, true);
      assertIdentical(simd, one, `axpy_rows d=${d} rows=${rows} vs axpy per row`);
    }
  }
});

test('attention, every head in one pass (decoding): SIMD == scalar == one head at a time, grouped heads share rows', () => {
  const rand = randomF32(13);
  for (const d of [1, 4, 7, 16, 64]) {
    for (const [heads, group] of [[1, 1], [3, 1], [4, 2], [6, 3]]) {
      for (const rows of [0, 1, 5, 9]) {
        const ld = (heads / group) * d + 3;
        const keys = rand(Math.max(rows, 1) * ld), values = rand(Math.max(rows, 1) * ld);
        const q = rand(heads * d), p = rand(heads * rows), start = rand(heads * d);
        if (rows > 1) p[1] = 0; // head 0 skips row 1
        const scores = glassbox.check_dot_rows_heads(q, heads, d, group, keys, ld, rows, true);
        assertIdentical(scores, glassbox.check_dot_rows_heads(q, heads, d, group, keys, ld, rows, false), `dot_rows_heads d=${d} heads=${heads}/${group} rows=${rows}`);
        const ctx = glassbox.check_axpy_rows_heads(p, rows, heads, d, group, values, ld, start, true);
        assertIdentical(ctx, glassbox.check_axpy_rows_heads(p, rows, heads, d, group, values, ld, start, false), `axpy_rows_heads d=${d} heads=${heads}/${group} rows=${rows}`);
        for (let h = 0; h < heads; h++) {
          const at = Math.floor(h / group) * d;
          const one = glassbox.check_dot_rows(q.subarray(h * d, (h + 1) * d), d, keys.subarray(at), ld, rows, true);
          assertIdentical(scores.subarray(h * rows, (h + 1) * rows), one, `dot_rows_heads head ${h} vs dot_rows`);
          const out = glassbox.check_axpy_rows(p.subarray(h * rows, (h + 1) * rows), values.subarray(at), ld, d, start.subarray(h * d, (h + 1) * d), true);
          assertIdentical(ctx.subarray(h * d, (h + 1) * d), out, `axpy_rows_heads head ${h} vs axpy_rows`);
        }
      }
    }
  }
  assert.throws(() => glassbox.check_dot_rows_heads(new Float32Array(8), 3, 2, 2, new Float32Array(8), 4, 1, true), /group must divide heads/);
});

test('softmax: SIMD == scalar, masked entries exactly 0, rows sum to 1', () => {
  const rand = randomF32(5);
  for (const len of LENGTHS) {
    const row = rand(len, 8);
    for (let i = 2; i < len; i += 3) row[i] = -Infinity; // masked keys
    const simd = glassbox.check_softmax(row, true);
    assertIdentical(simd, glassbox.check_softmax(row, false), `softmax len=${len}`);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    const e = Array.from(row, (v) => Math.exp(v - max));
    const sum = e.reduce((s, v) => s + v, 0);
    assertNear(simd, e.map((v) => v / sum), (i) => 1e-6 * (e[i] / sum) + 1e-9, `softmax len=${len}`);
    for (let i = 2; i < len; i += 3) assert.ok(Object.is(simd[i], 0), `softmax len=${len}: masked entry ${i} is ${simd[i]}`);
  }
  const masked = new Float32Array(17).fill(-Infinity);
  assertIdentical(glassbox.check_softmax(masked, true), new Float32Array(17), 'an all-masked row is zeros');
});

test('layer_norm and rms_norm: SIMD == scalar on awkward widths', () => {
  const rand = randomF32(6);
  for (const c of LENGTHS.slice(1)) {
    const x = rand(3 * c, 4).map((v) => v + 2);
    const gamma = rand(c), beta = rand(c);
    assertIdentical(glassbox.check_layer_norm(x, gamma, beta, 1e-5, true), glassbox.check_layer_norm(x, gamma, beta, 1e-5, false), `layer_norm C=${c}`);
    assertIdentical(glassbox.check_rms_norm(x, gamma, 1e-6, true), glassbox.check_rms_norm(x, gamma, 1e-6, false), `rms_norm C=${c}`);
  }
  assert.throws(() => glassbox.check_layer_norm(new Float32Array(4), new Float32Array(4), new Float32Array(3), 1e-5, true), /beta has 3 values/);
});

test('activations and exp: SIMD == scalar on awkward lengths and at the edges', () => {
  const rand = randomF32(7);
  const edges = Float32Array.from([0, -0, 1e-30, -1e-30, 87, -87, -87.3, -87.31, 88.3, 88.4, -100, 100, -1e30, 1e30, Infinity, -Infinity]);
  const reference = {
    exp: Math.exp,
    gelu_tanh: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    silu: (v) => v / (1 + Math.exp(-v)),
    relu: (v) => Math.max(v, 0),
  };
  for (const name of ['gelu_erf', 'gelu_tanh', 'relu', 'silu', 'exp']) {
    for (const len of LENGTHS) {
      const x = rand(len, 6);
      const simd = glassbox.check_activation(name, x, true);
      assertIdentical(simd, glassbox.check_activation(name, x, false), `${name} len=${len}`);
      const f = reference[name];
      if (f) {
        const scale = (i) => (name === 'exp' ? Math.exp(x[i]) : Math.max(1, Math.abs(x[i])));
        assertNear(simd, Array.from(x, f), (i) => 1e-6 * scale(i), `${name} len=${len} vs float64`);
      }
    }
    assertIdentical(glassbox.check_activation(name, edges, true), glassbox.check_activation(name, edges, false), `${name} at the edges`);
  }
  assert.throws(() => glassbox.check_activation('gelu_fast', new Float32Array(1), true), /no activation named 'gelu_fast'/);
});
