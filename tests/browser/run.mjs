// Runs the browser tests: builds what they need when it is missing (the wasm package, the native CLI,
// the npm packages), then hands over to node's test runner.
//
//   node tests/browser/run.mjs            # everything
//   node tests/browser/run.mjs --no-build # assume pkg/ and target/debug/glassbox are up to date

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const build = !process.argv.includes('--no-build');

function step(what, cmd, args, opts = {}) {
  console.log(`# ${what}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`# ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

if (!['playwright-core', 'vite'].every((p) => fs.existsSync(path.join(ROOT, 'node_modules', p)))) step('npm packages', 'npm', ['ci', '--no-audit', '--no-fund']);
/** Newest modification time of the files under `dir` (0 when it does not exist). */
function newest(dir) {
  let t = 0;
  if (!fs.existsSync(dir)) return t;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, fs.statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs);
  }
  return t;
}

if (build) {
  const wasm = path.join(ROOT, 'pkg/glassbox_bg.wasm');
  const sources = Math.max(newest(path.join(ROOT, 'crate/src')), fs.statSync(path.join(ROOT, 'crate/Cargo.toml')).mtimeMs);
  if (!fs.existsSync(wasm) || fs.statSync(wasm).mtimeMs < sources) step('wasm build', 'bash', ['scripts/build-wasm.sh']);
  step('native CLI', 'cargo', ['build', '--quiet', '--bin', 'glassbox']);
}
if (!fs.existsSync('/usr/bin/chromium') && !process.env.CHROMIUM) {
  console.error('# Chromium is missing: install the Debian package `chromium` (apt-get install chromium)');
  process.exit(1);
}

const files = fs.readdirSync(path.join(ROOT, 'tests/browser')).filter((f) => f.endsWith('.test.mjs'))
  .map((f) => path.join('tests/browser', f));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { cwd: ROOT, stdio: 'inherit' });
process.exit(r.status ?? 1);
