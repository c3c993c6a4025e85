#!/usr/bin/env bash
# Builds candle, the peer of bench/compare.mjs, for wasm32 + simd128 into bench/candle/pkg.
# Development only: never run by scripts/test.sh or CI. Needs the wasm32-unknown-unknown target
# and wasm-bindgen-cli 0.2.130 (the version pinned in Cargo.toml); fetches candle from crates.io.
#
#   bench/candle/build.sh && node bench/compare.mjs
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
# simd128 for candle's and gemm's wasm kernels; getrandom (via rand) takes its entropy from JS.
export RUSTFLAGS="-C target-feature=+simd128 --cfg getrandom_backend=\"wasm_js\""
export CARGO_TARGET_DIR="$here/target"
cargo build --release --target wasm32-unknown-unknown
rm -rf pkg
wasm-bindgen --target web --out-dir pkg "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/glassbox_candle_bench.wasm"
ls -l pkg/glassbox_candle_bench_bg.wasm
