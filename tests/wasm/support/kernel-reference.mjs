// Helpers the kernel tests share (tests/wasm/kernels.test.mjs, tests/wasm/relaxed.test.mjs and the relaxed-SIMD
// checks it runs): seeded inputs, a float64 reference product with its rounding bound, comparisons, and a reading of
// the built binaries' SIMD loads.

import assert from 'node:assert/strict';

export const U = 2 ** -24; // unit roundoff of f32

/** Seeded uniform values in [-scale, scale), as float32. */
export function randomF32(seed) {
  let s = seed >>> 0;
  return (len, scale = 1) => {
    const out = new Float32Array(len);
    for (let i = 0; i < len; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      out[i] = ((s >>> 8) / 2 ** 24 * 2 - 1) * scale;
    }
    return out;
  };
}

/** SIMD and scalar outputs are the same numbers (+0 and -0 count as equal). */
export function assertIdentical(simd, scalar, what) {
  assert.equal(simd.length, scalar.length, `${what}: lengths differ`);
  for (let i = 0; i < simd.length; i++) {
    if (simd[i] !== scalar[i] && !(Number.isNaN(simd[i]) && Number.isNaN(scalar[i]))) {
      assert.fail(`${what}: element ${i} is ${simd[i]} with SIMD but ${scalar[i]} with the scalar twin`);
    }
  }
}

export function assertNear(got, want, bound, what) {
  assert.equal(got.length, want.length, `${what}: lengths differ`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= bound(i))) assert.fail(`${what}: element ${i} is ${got[i]}, reference ${want[i]}, error ${err} > ${bound(i)}`);
  }
}

/** `x[M][K] · W + bias` in float64 with `W` given as [N][K] (`nk`) or [K][N]; and Σ|terms| per output. */
export function referenceProduct(x, m, k, w, n, bias, layout) {
  const out = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      let a = Math.abs(s);
      for (let kk = 0; kk < k; kk++) {
        const p = x[i * k + kk] * (layout === 'nk' ? w[j * k + kk] : w[kk * n + j]);
        s += p;
        a += Math.abs(p);
      }
      out[i * n + j] = s;
      mag[i * n + j] = a;
    }
  }
  return { out, mag };
}

export const sumBound = (k, mag) => (k + 2) * U * mag + 1e-30;

/** The features our builds use, for binaryen's tools (`relaxed`: the relaxed-SIMD build's too). */
export function wasmFeatures(relaxed = false) {
  return ['--enable-simd', '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext',
    '--enable-mutable-globals', '--enable-multivalue', '--enable-reference-types', ...(relaxed ? ['--enable-relaxed-simd'] : [])];
}

/**
 * The SIMD loads that broadcast or widen in binaryen's text of a binary (one operand per line, nested by
 * indentation): how many carry a constant offset, and those whose address is still `(i32.add X (i32.const C))`
 * with 0 <= C < 1024, which crate/wasm-fold should have folded into the offset.
 */
export function simdLoadOffsets(text) {
  const lines = text.split('\n');
  const indent = (l) => l.length - l.trimStart().length;
  const LOAD = /^\((v128\.load(?:8x8|16x4|32x2)_[su]|v128\.load(?:8|16|32|64)_splat|v128\.load(?:32|64)_zero)( offset=\d+)?/;
  let withOffset = 0;
  const missed = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const m = LOAD.exec(lines[i].trim());
    if (!m) continue;
    if (m[2]) withOffset++;
    if (lines[i + 1].trim() !== '(i32.add') continue;
    const depth = indent(lines[i + 1]);
    let j = i + 2;
    while (j < lines.length && !(indent(lines[j]) === depth && lines[j].trim() === ')')) j++;
    const c = /^\(i32\.const (-?\d+)\)$/.exec(lines[j - 1].trim());
    if (c && indent(lines[j - 1]) === depth + 1 && Number(c[1]) >= 0 && Number(c[1]) < 1024) missed.push(`${m[1]} + ${c[1]}`);
  }
  return { withOffset, missed };
}
