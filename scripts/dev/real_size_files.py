#!/usr/bin/env python3
"""Real-size checkpoints of modern families as *files*, through the CLI, against transformers.

    cargo build --release && python3 -P scripts/dev/real_size_files.py [--out /tmp/real-size] [--only NAME ...] [--shard-size 500MB]

Makes bf16 random-weight checkpoints in the published shapes of SmolLM2-360M (llama), Qwen2.5-0.5B
(qwen2) and Llama-3.2-1B (llama, llama3 rope scaling; 2.5 GB), saved by `save_pretrained` with the
bundled GPT-2's tokenizer beside them (their end and start tokens moved into its 16,000 ids). Then,
for each, `glassbox inspect` against transformers in float32 and float64 (eager attention): the
largest difference of the attention weights and logits, per layer too; `/usr/bin/time`'s peak
memory of the CLI when it is there; and 16 greedy ids through the KV cache (`inspect --generate`)
against `generate`. The random twins of `bench/` stop at 268M parameters; these are read from disk
as a user's checkpoint is. With `--shard-size`, each is also saved sharded (`save_pretrained(max_shard_size=...)`,
model.safetensors.index.json and its shards, as transformers 4 saves any model over 5 GB) into NAME-sharded/ and
checked the same way, and the CLI's output on it must equal its output on the one file byte for byte.
Development only (torch, transformers); CI never runs it.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CLI = os.path.join(ROOT, "target", "release", "glassbox")
TOKENIZER = os.path.join(ROOT, "models", "glassbox-gpt2", "tokenizer.json")
TEXT = "The quick brown fox jumps over the lazy dog, and then it runs away."
PROMPT = "The history of the city begins with a small fishing village"

SHAPES = {
    "smollm2-360m": lambda: LlamaConfig(vocab_size=49152, hidden_size=960, intermediate_size=2560, num_hidden_layers=32,
                                        num_attention_heads=15, num_key_value_heads=5, max_position_embeddings=8192,
                                        rope_theta=100000.0, rms_norm_eps=1e-5, tie_word_embeddings=True),
    "qwen2.5-0.5b": lambda: Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                                        num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                                        rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False),
    "llama-3.2-1b": lambda: LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                                        num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
                                        rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
                                        rope_scaling={"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                                      "original_max_position_embeddings": 8192, "rope_type": "llama3"}),
}


def weights_bytes(d):
    """Bytes of the folder's weights: model.safetensors, or every shard."""
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith(".safetensors"))


def make(out, name, shard_size=None):
    d = os.path.join(out, name + ("-sharded" if shard_size else ""))
    done = "model.safetensors.index.json" if shard_size else "model.safetensors"
    if os.path.exists(os.path.join(d, done)):
        return d
    torch.manual_seed(0)
    cfg = SHAPES[name]()
    # The borrowed tokenizer has 16,000 ids: the model's own start and end tokens would be refused.
    cfg.bos_token_id = cfg.eos_token_id = 0
    cfg._attn_implementation = "eager"
    torch.set_default_dtype(torch.bfloat16)
    model = AutoModelForCausalLM.from_config(cfg).eval()
    torch.set_default_dtype(torch.float32)
    with torch.no_grad():
        for n, p in model.named_parameters():
            # Large enough that attention is far from uniform and logits spread (std 0.02 leaves both flat).
            p.normal_(1.0, 0.1) if (p.dim() == 1 and "norm" in n) else p.normal_(0.0, 0.05)
    if shard_size:
        model.save_pretrained(d, max_shard_size=shard_size)
    else:
        model.save_pretrained(d)
    model.generation_config.bos_token_id = model.generation_config.eos_token_id = 0
    model.generation_config.save_pretrained(d)
    shutil.copy(TOKENIZER, d)
    shards = len([f for f in os.listdir(d) if f.endswith(".safetensors")])
    print(f"{d}: {weights_bytes(d) / 1e6:.0f} MB in {shards} file{'s' if shards > 1 else ''}")
    return d


def inspect(d, *args):
    r = subprocess.run([CLI, "inspect", d, *args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{d}: {r.stderr.strip()}")
    return json.loads(r.stdout)["cases"][0]


def peak_memory(d):
    if not os.path.exists("/usr/bin/time"):
        return None
    r = subprocess.run(["/usr/bin/time", "-v", CLI, "inspect", d, "--text", "Hello there"], capture_output=True, text=True)
    for line in r.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split()[-1]) / 1e6  # GB
    return None


def check(d):
    case = inspect(d, "--text", TEXT)
    ids = torch.tensor([case["ids"]])
    ours_att, ours_logits = np.array(case["attentions"]["decoder"]), np.array(case["logits"])
    ref = {}
    for dtype in (torch.float32, torch.float64):
        m = AutoModelForCausalLM.from_pretrained(d, dtype=dtype, attn_implementation="eager").eval()
        with torch.no_grad():
            o = m(input_ids=ids, output_attentions=True)
        ref[dtype] = (torch.stack(o.attentions)[:, 0].double().numpy(), o.logits[0].double().numpy())
        del m
    (a32, l32), (a64, l64) = ref[torch.float32], ref[torch.float64]
    print(f"{os.path.basename(d)}: {len(case['ids'])} tokens")
    print(f"  ours - transformers f32: attention {np.abs(ours_att - a32).max():.1e}, logits {np.abs(ours_logits - l32).max():.1e}")
    print(f"  ours - float64:          attention {np.abs(ours_att - a64).max():.1e}, logits {np.abs(ours_logits - l64).max():.1e}")
    print(f"  transformers f32 - f64:  attention {np.abs(a32 - a64).max():.1e}, logits {np.abs(l32 - l64).max():.1e}")
    layers = lambda a: " ".join(f"{x:.0e}" for x in np.abs(a - a64).reshape(a.shape[0], -1).max(1))
    print(f"  per layer, ours - f64:   {layers(ours_att)}")
    print(f"  per layer, f32 - f64:    {layers(a32)}")
    peak = peak_memory(d)
    if peak is not None:
        print(f"  CLI peak resident memory: {peak:.2f} GB (weights files {weights_bytes(d) / 1e9:.2f} GB)")
    n = 16
    gen = inspect(d, "--text", PROMPT, "--generate", str(n))
    ours = gen["generated_ids"][-n:]
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    prompt = torch.tensor([gen["ids"]])
    with torch.no_grad():
        # An all-ones mask: without it, generate takes the prompt's id 0 for padding and masks it.
        hf = m.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n, do_sample=False)[0, prompt.shape[1]:].tolist()
    print(f"  greedy, {n} tokens through the KV cache: {'the same ids' if ours == hf else f'DIFFER: ours {ours}, transformers {hf}'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/real-size")
    ap.add_argument("--only", nargs="*", choices=sorted(SHAPES), default=sorted(SHAPES))
    ap.add_argument("--shard-size", help="also save each sharded at this max_shard_size (e.g. 500MB) and check it")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)
    for name in args.only:
        one = make(args.out, name)
        check(one)
        if args.shard_size:
            sharded = make(args.out, name, args.shard_size)
            check(sharded)
            same = all(inspect(one, *a) == inspect(sharded, *a) for a in (["--text", TEXT], ["--text", PROMPT, "--generate", "4"]))
            print(f"  the CLI on the shards against the one file: {'the same output' if same else 'DIFFERENT OUTPUT'}")


if __name__ == "__main__":
    main()
