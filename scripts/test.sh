#!/usr/bin/env bash
# Every test: native Rust (reference fixtures, properties, bad input, CLI, bundled models),
# the wasm build in Node (SIMD == scalar, wasm == native), and the page in headless Chromium.
# Installs whatever is missing first. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser --minilm

echo "== native tests (cargo test)"
cargo test --release --workspace 2>&1

echo "== wasm build"
scripts/build-wasm.sh

echo "== wasm in Node"
node --test tests/wasm/ 2>&1

echo "== browser tests (headless Chromium)"
cargo build --release --bin glassbox 2>&1
node --test tests/browser/ 2>&1
