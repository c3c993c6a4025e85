#!/usr/bin/env python3
"""ONNX files for the onnxruntime-web peer of `bench/compare.mjs` (development only).

    pip install onnx onnxscript      # besides torch + transformers (checked: torch 2.15, transformers 5.24, onnx 1.23)
    python3 scripts/dev/export_onnx.py

Writes (git-ignored) bench/onnx/:
  - all-minilm-l6-v2.onnx: the real all-MiniLM-L6-v2 of models/extra/all-minilm-l6-v2 (same
    safetensors Glassbox loads), exported with torch.onnx; inputs input_ids, attention_mask,
    token_type_ids (int64, [1][T], T dynamic); output last_hidden_state [1][T][384].
  - matmul_K_N.onnx for every GEMM shape the benchmark times: one MatMul node, X [M][K] (M dynamic)
    times a seeded random initializer W [K][N].
Nothing in the tests or CI runs this; compare.mjs prints a line when the files are absent.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "bench", "onnx")
# The last one is GPT-2's LM head (K = 768, N = vocabulary): 154 MB of weights, the GEMV that must
# stream from memory rather than cache.
SHAPES = [(384, 384), (384, 1536), (1536, 384), (768, 768), (768, 3072), (768, 2304), (3072, 768), (512, 2048), (768, 50257)]


def matmuls():
    rng = np.random.default_rng(0)
    for k, n in SHAPES:
        w = rng.uniform(-1, 1, size=(k, n)).astype(np.float32)
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["x", "w"], ["y"])],
            f"matmul_{k}_{n}",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["m", k])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["m", n])],
            [numpy_helper.from_array(w, "w")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.save(model, os.path.join(OUT, f"matmul_{k}_{n}.onnx"))


def minilm():
    import torch
    from transformers import AutoModel

    src = os.path.join(ROOT, "models", "extra", "all-minilm-l6-v2")
    if not os.path.exists(os.path.join(src, "model.safetensors")):
        print(f"{src} is missing: run scripts/fetch-minilm.sh first; MiniLM not exported")
        return
    model = AutoModel.from_pretrained(src, attn_implementation="eager").eval()
    t = 16
    ids = torch.randint(1000, 2000, (1, t), dtype=torch.long)
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)

    class Hidden(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

    dest = os.path.join(OUT, "all-minilm-l6-v2.onnx")
    torch.onnx.export(
        Hidden(model),
        (ids, mask, types),
        dest,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": {1: "t"}, "attention_mask": {1: "t"}, "token_type_ids": {1: "t"}, "last_hidden_state": {1: "t"}},
        opset_version=17,
        dynamo=False,
    )
    print(f"wrote {dest}")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    matmuls()
    minilm()
