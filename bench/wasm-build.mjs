// Which of the two wasm builds a benchmark runs (scripts/build-wasm.sh writes both):
//   --build=relaxed   glassbox_relaxed_bg.wasm: the kernels' multiply-adds fused (f32x4.relaxed_madd), what the page
//                     runs in engines with relaxed SIMD (Chromium since 114); the default when the file exists
//   --build=simd128   glassbox_bg.wasm: baseline SIMD128, what the page runs elsewhere
// Node 20 has relaxed SIMD only behind --experimental-wasm-relaxed-simd: a script that wants the relaxed build starts
// itself again with that flag (`relaunchForBuild`), so the commands stay `node bench/....mjs`.

import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, dirname, basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { engineHasRelaxedSimd, RELAXED_FLAG } from '../scripts/wasm-files.mjs';

// The worker's question (www/worker.js): does the engine validate a function that is one f32x4.relaxed_madd?
export { engineHasRelaxedSimd, RELAXED_FLAG };

export const wasmFile = (build) => (build === 'relaxed' ? 'glassbox_relaxed_bg.wasm' : 'glassbox_bg.wasm');

/** `--build=` of argv, else relaxed where `dir` holds that build, else simd128. */
export function chosenBuild(argv, dir) {
  const arg = argv.find((a) => a.startsWith('--build='));
  const build = arg ? arg.slice(8) : existsSync(join(dir, wasmFile('relaxed'))) ? 'relaxed' : 'simd128';
  if (!['relaxed', 'simd128'].includes(build)) throw new Error(`--build=${build}: use --build=relaxed or --build=simd128`);
  return build;
}

/** For the relaxed build in an engine without relaxed SIMD: runs this script again with the flag and exits with it. */
export function relaunchForBuild(build) {
  if (build !== 'relaxed' || engineHasRelaxedSimd()) return;
  if (process.execArgv.includes(RELAXED_FLAG)) throw new Error(`this Node has no relaxed SIMD even with ${RELAXED_FLAG}: use --build=simd128`);
  const r = spawnSync(process.execPath, [...process.execArgv, RELAXED_FLAG, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

/**
 * One build, initialised: `where` is a folder (its `build`'s wasm) or a .wasm file (the glue beside it). `tag` makes
 * a module instance of its own, so two builds of one folder can run side by side.
 */
export async function loadBuild(where, build, tag) {
  const [dir, file] = where.endsWith('.wasm') ? [dirname(where), basename(where)] : [where, wasmFile(build)];
  const api = await import(`${pathToFileURL(join(dir, 'glassbox.js')).href}?${tag}`);
  api.initSync({ module: readFileSync(join(dir, file)) });
  return { api, file: join(dir, file) };
}
