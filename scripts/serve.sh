#!/usr/bin/env bash
# One command from a fresh clone to the playground: installs what is missing, builds the
# wasm, and serves the page at http://127.0.0.1:8080 (PORT overrides the port).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --minilm
scripts/build-wasm.sh
exec node scripts/serve.mjs
