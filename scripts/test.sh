#!/usr/bin/env bash
# Every test: native Rust (reference fixtures, properties, bad input, CLI, bundled models),
# the wasm build in Node (SIMD == scalar, wasm == native), and the page in headless Chromium.
# Installs whatever is missing first. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser --minilm

echo "== native tests (cargo test --release)"
cargo test --release --workspace 2>&1

# The wasm and browser tests compare against this CLI build.
cargo build --release --bin glassbox 2>&1
export GLASSBOX_BIN="$PWD/target/release/glassbox"

echo "== wasm build"
scripts/build-wasm.sh

echo "== wasm in Node"
node --test tests/wasm/ 2>&1

echo "== browser tests (headless Chromium)"
node tests/browser/run.mjs --no-build 2>&1
