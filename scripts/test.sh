#!/usr/bin/env bash
# Every test: native Rust (reference fixtures, properties, bad input, CLI, bundled models),
# the wasm build in Node (SIMD == scalar, wasm == native), and the page in headless Chromium.
# Installs whatever is missing first. Safe to run twice. Runs every stage even when one
# fails, then exits non-zero if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser --minilm --fuzz || exit 1

failed=()
stage() {
  local name=$1; shift
  echo "== $name"
  if ! "$@" 2>&1; then failed+=("$name"); fi
}

stage "native tests (cargo test --release)" cargo test --release --workspace
# The wasm and browser tests compare against this CLI build.
cargo build --release --bin glassbox 2>&1 || exit 1
export GLASSBOX_BIN="$PWD/target/release/glassbox"
# pkg/ is what ships; pkg-checks/ adds the kernel checks and benchmark handles the Node tests use.
scripts/build-wasm.sh --with-checks || exit 1
# The files by name: Node 22 reads `node --test DIR` as a pattern that matches no file (Node 20 searched the folder).
stage "wasm in Node" node --test tests/wasm/*.test.mjs
stage "browser tests (headless Chromium)" node tests/browser/run.mjs --no-build
stage "fuzz smoke run (20 s per target)" scripts/fuzz.sh 20

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED stages: %s\n' "${failed[*]}"
  exit 1
fi
echo "all test stages passed"
