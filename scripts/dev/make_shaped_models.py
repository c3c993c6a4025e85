#!/usr/bin/env python3
"""Random-weight models shaped like GPT-2 small (124M) and T5-small (60M), for benchmarks.

    python3 scripts/dev/make_shaped_models.py [OUT_DIR]     # default: models/extra/shaped

Writes OUT_DIR/{gpt2-small,t5-small}-{f32,f16,bf16}/ with config.json, model.safetensors and a
tokenizer.json: GPT-2's real one (models/tokenizers/gpt2, whose 50,257 entries end with the
<|endoftext|> the GPT-2 config ends its text with; the bundled GPT-2's 17,000-entry tokenizer was
refused as another model's), and for T5 the bundled translator's (smaller than the model's
vocabulary, which the loader allows; its </s> is id 1, T5's eos). Seeded (torch.manual_seed(0)), so the files are the same on every run.
Development only: needs torch and transformers; nothing in the tests or CI runs it.
(`bench/compare.mjs` uses the core's own seeded random twin of the same shapes, so it does not
need these files; they are for loading a real-size *file* in the page, the CLI, or a peer.)
"""
import os
import shutil
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "extra", "shaped")
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def save(model, name, tokenizer_from):
    source = os.path.join(ROOT, "models", tokenizer_from, "tokenizer.json")
    if not os.path.exists(source):
        sys.exit(f"{source} is missing: run `node scripts/make-real-tokenizers.mjs` (scripts/setup.sh does) first")
    for tag, dtype in DTYPES.items():
        out = os.path.join(OUT, f"{name}-{tag}")
        os.makedirs(out, exist_ok=True)
        model.to(dtype).save_pretrained(out, safe_serialization=True)
        shutil.copy(source, out)
        model.to(torch.float32)
        size = os.path.getsize(os.path.join(out, "model.safetensors"))
        print(f"{out}: {size / 1e6:.0f} MB")


def main():
    torch.manual_seed(0)
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12)).eval()
    save(gpt2, "gpt2-small", os.path.join("tokenizers", "gpt2"))
    torch.manual_seed(0)
    t5 = T5ForConditionalGeneration(
        T5Config(vocab_size=32128, d_model=512, d_kv=64, d_ff=2048, num_layers=6, num_heads=8, feed_forward_proj="relu", decoder_start_token_id=0)
    ).eval()
    save(t5, "t5-small", "glassbox-translator")


if __name__ == "__main__":
    main()
