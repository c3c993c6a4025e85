// The wasm build's files as the offline bundle and the npm package take them from pkg/, and the question the worker
// asks the engine to choose between its two builds (www/worker.js and www/sw.js carry their own copy of these
// bytes: a data: worker and a classic service worker cannot import this module).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PKG = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'pkg');
/** What must be there: the glue and the SIMD128 build. */
export const PKG_FILES = ['glassbox.js', 'glassbox_bg.wasm'];

/** PKG_FILES and the relaxed-SIMD build when it was made (scripts/build-wasm.sh leaves it out without npm's binaryen). */
export function pkgFiles() {
  return [...PKG_FILES, ...(fs.existsSync(path.join(PKG, 'glassbox_relaxed_bg.wasm')) ? ['glassbox_relaxed_bg.wasm'] : [])];
}

/** A 35-byte module whose one function is an f32x4.relaxed_madd: an engine that validates it runs the relaxed build. */
export const RELAXED_SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 123, 1, 123, 3, 2, 1, 0,
  10, 13, 1, 11, 0, 32, 0, 32, 0, 32, 0, 253, 133, 2, 11];

/** Whether this JS engine (Node here) validates the probe, i.e. can run the relaxed build. */
export const engineHasRelaxedSimd = () => WebAssembly.validate(new Uint8Array(RELAXED_SIMD_PROBE));

/** What Node 20 needs to run the relaxed build; Node 22 has relaxed SIMD on and refuses this flag as a bad option. */
export const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
