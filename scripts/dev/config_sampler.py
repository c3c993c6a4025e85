#!/usr/bin/env python3
"""Random configurations of every family, Glassbox against transformers (development time only).

Draws configurations across each family's options (widths, heads, depths, activations, norms,
position limits, tied or untied embeddings, generation settings), builds tiny seeded models with
`transformers`, saves each as a model folder, runs the glassbox CLI on texts up to the position limit
(`glassbox inspect DIR --text T [--decoder-ids ...] [--generate N]`; an encoder-decoder's generation in a run of
its own, as the CLI refuses --decoder-ids beside --generate) and prints one row per configuration:
the largest differences in attention, hidden states and logits, and whether the generated ids equal
`model.generate`'s. In 30% of the gpt2, t5 and BART-family draws some keys are written under their config class's
`attribute_map` alias (`num_attention_heads` for `n_head`, ...; a head count sometimes beside a wrong value that the
alias overrides), and transformers loads that same file for the reference. Never run in CI: it needs torch and
transformers.

    cargo build --release
    python3 scripts/dev/config_sampler.py --n 50 --seed 1            # the table
    python3 scripts/dev/config_sampler.py --n 50 --seed 1 --save 1   # and one per family as CI fixtures

`--save K` writes the first K passing configurations of each family as fixture folders
`tests/fixtures/checkpoints/sampled_<family>_<seed>/`, checked in CI by tests/rust/checkpoints.rs.

Adding a family: write `draw_<family>(rng) -> Draw` and add a row to FAMILIES (the model class and
config class come from `checkpoints.build`; add them there too).
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import checkpoints as ck  # noqa: E402

ROOT = ck.ROOT
GLASSBOX = ROOT / "target" / "release" / "glassbox"
LONG_TEXT = (
    "The quick brown fox jumps over the lazy dog while the cat sleeps in the warm afternoon sun, and "
    "nobody in the small house by the river knows what the morning will bring to the quiet town."
)
GENERATE = 6  # new tokens compared per text
TOL = {"attention": 1e-4, "hidden": 1e-3, "logits": 1e-3}


@dataclass
class Draw:
    """One drawn configuration: config.json kwargs, the saving layout and generation settings."""
    config: dict
    generation: dict = field(default_factory=dict)
    start: int | None = None  # decoder start (encoder-decoder)
    limit: int | None = None  # position limit (None: no table)
    summary: str = ""
    # config.json keys written under their config class's `attribute_map` alias once saved: {key: (alias, wrong
    # value left under the key itself, or None to remove it)}. transformers reads the alias over the key.
    aliases: dict = field(default_factory=dict)


def pick(rng, *options):
    return rng.choice(options)


def heads_for(rng, width):
    return rng.choice([h for h in (1, 2, 4, 8) if width % h == 0])


# The config classes' `attribute_map`: (key config.json is saved with, alias that sets it). Head counts are the keys
# a wrong value can sit beside (1 divides every width); the other keys are moved to their alias.
ALIASES = {
    "gpt2": [("n_embd", "hidden_size"), ("n_positions", "max_position_embeddings"), ("n_head", "num_attention_heads"), ("n_layer", "num_hidden_layers")],
    "t5": [("d_model", "hidden_size"), ("num_heads", "num_attention_heads"), ("num_layers", "num_hidden_layers"), ("d_kv", "head_dim")],
    "bart": [("encoder_attention_heads", "num_attention_heads"), ("d_model", "hidden_size"), ("encoder_layers", "num_hidden_layers")],
}
HEAD_KEYS = {"n_head", "num_heads", "encoder_attention_heads"}


def draw_aliases(rng, family):
    """In 30% of draws, some of the family's keys written under their alias (head counts beside a wrong 1)."""
    if rng.random() >= 0.3:
        return {}
    chosen = [pair for pair in ALIASES[family] if rng.random() < 0.6] or [rng.choice(ALIASES[family])]
    return {key: (alias, 1 if key in HEAD_KEYS and rng.random() < 0.5 else None) for key, alias in chosen}


def write_aliases(folder, aliases):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    for key, (alias, wrong) in aliases.items():
        config[alias] = config.pop(key)
        if wrong is not None:
            config[key] = wrong
    path.write_text(json.dumps(config, indent=2))


def generation_settings(rng, eos, beams=True):
    """A random handful of generation keys (always greedy or beams: sampling cannot be compared)."""
    g = {}
    if rng.random() < 0.4:
        g["repetition_penalty"] = pick(rng, 1.2, 1.5, 0.8)
    if rng.random() < 0.4:
        g["no_repeat_ngram_size"] = pick(rng, 2, 3)
    if rng.random() < 0.3:
        g["min_new_tokens"] = pick(rng, 2, 4)
    if rng.random() < 0.3:
        g["bad_words_ids"] = [[rng.randrange(5, 200)], [rng.randrange(5, 200), rng.randrange(5, 200)]]
    if beams and rng.random() < 0.35:
        g.update(num_beams=pick(rng, 2, 3), length_penalty=pick(rng, 0.6, 1.0, 1.5), early_stopping=pick(rng, True, False, "never"))
    if rng.random() < 0.2:
        g["eos_token_id"] = [eos, rng.randrange(5, 200)]
    return g


def draw_gpt2(rng):
    width = pick(rng, 8, 12, 16, 24)
    limit = pick(rng, 16, 24, 32, 48)
    cfg = dict(vocab_size=ck.tokenizer_vocab("gpt2"), n_positions=limit, n_embd=width, n_head=heads_for(rng, width), n_layer=rng.randint(1, 3),
               n_inner=pick(rng, None, 8, 40), activation_function=pick(rng, "gelu_new", "gelu", "relu", "silu", "gelu_pytorch_tanh"),
               layer_norm_epsilon=pick(rng, 1e-5, 1e-3), scale_attn_weights=pick(rng, True, True, False),
               scale_attn_by_inverse_layer_idx=pick(rng, False, True), tie_word_embeddings=pick(rng, True, False), bos_token_id=0, eos_token_id=0)
    return Draw(cfg, generation_settings(rng, 0), limit=limit, aliases=draw_aliases(rng, "gpt2"))


def draw_bert(rng):
    width = pick(rng, 8, 12, 16, 24)
    limit = pick(rng, 16, 32, 48)
    cfg = dict(vocab_size=ck.tokenizer_vocab("bert"), hidden_size=width, num_attention_heads=heads_for(rng, width), num_hidden_layers=rng.randint(1, 3),
               intermediate_size=pick(rng, 8, 20, 40), hidden_act=pick(rng, "gelu", "gelu_new", "relu", "silu"), layer_norm_eps=pick(rng, 1e-12, 1e-5, 1e-3),
               max_position_embeddings=limit, type_vocab_size=pick(rng, 1, 2), hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return Draw(cfg, limit=limit)


def draw_t5(rng):
    width = pick(rng, 8, 12, 16)
    layers = rng.randint(1, 3)
    cfg = dict(vocab_size=ck.tokenizer_vocab("bart_tiny") + rng.randint(0, 20), d_model=width, d_kv=pick(rng, 2, 4, 6), d_ff=pick(rng, 8, 24),
               num_layers=layers, num_decoder_layers=pick(rng, layers, rng.randint(1, 3)), num_heads=pick(rng, 1, 2, 4),
               relative_attention_num_buckets=(buckets := pick(rng, 6, 8, 16, 32)), relative_attention_max_distance=pick(rng, buckets // 2 + 1, 20, 128),
               feed_forward_proj=pick(rng, "relu", "gated-gelu", "gated-silu", "gelu"), tie_word_embeddings=pick(rng, True, False),
               layer_norm_epsilon=pick(rng, 1e-6, 1e-3), pad_token_id=1, eos_token_id=2, decoder_start_token_id=1, dropout_rate=0.0)
    return Draw(cfg, generation_settings(rng, 2), start=1, aliases=draw_aliases(rng, "t5"))


def draw_bart(rng, marian=False):
    width = pick(rng, 8, 12, 16)
    limit = pick(rng, 24, 32, 48)
    vocab = ck.tokenizer_vocab("bart_tiny")
    cfg = dict(vocab_size=vocab, d_model=width, encoder_layers=rng.randint(1, 3), decoder_layers=rng.randint(1, 3),
               encoder_attention_heads=heads_for(rng, width), decoder_attention_heads=heads_for(rng, width), encoder_ffn_dim=pick(rng, 8, 24),
               decoder_ffn_dim=pick(rng, 8, 24), max_position_embeddings=limit, scale_embedding=pick(rng, True, False),
               activation_function=pick(rng, "gelu", "gelu_new", "relu", "swish"), tie_word_embeddings=pick(rng, True, True, False),
               pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2, dropout=0.0, forced_eos_token_id=2)
    start = 2
    if marian:
        share = pick(rng, True, False)
        cfg.update(share_encoder_decoder_embeddings=share, decoder_vocab_size=vocab + rng.randint(0, 30) if not share else None,
                   decoder_start_token_id=1, bos_token_id=None, forced_eos_token_id=2)
        start = 1
    gen = generation_settings(rng, 2)
    if not marian and rng.random() < 0.3:
        gen["forced_bos_token_id"] = 0
    return Draw(cfg, gen, start=start, limit=limit, aliases=draw_aliases(rng, "bart"))


def draw_pre_ln(rng, family):
    """mBART, Pegasus, M2M100: BART's keys, each family's ids and defaults, sometimes left out."""
    draw = draw_bart(rng)
    cfg = draw.config
    if family == "pegasus":
        cfg.update(pad_token_id=0, eos_token_id=1, bos_token_id=None, decoder_start_token_id=0, forced_eos_token_id=1)
        draw.start, eos = 0, 1
    else:
        eos = 2
    if family == "m2m_100":
        # fairseq positions count from the pad id and outgrow a small max_position_embeddings.
        cfg.update(pad_token_id=pick(rng, 1, 1, 3), max_position_embeddings=pick(rng, 8, 24, 48), forced_eos_token_id=None)
        draw.limit = 40
        if rng.random() < 0.3:  # M2M100Config's own defaults: scale_embedding true, relu
            del cfg["scale_embedding"], cfg["activation_function"]
    draw.generation = generation_settings(rng, eos)
    return draw


# One row per family: (draw, kind, tokenizer fixture). New families add a row here.
FAMILIES = {
    "gpt2": (draw_gpt2, "decoder", "gpt2"),
    "bert": (draw_bert, "encoder", "bert"),
    "t5": (draw_t5, "seq2seq", "bart_tiny"),
    "bart": (draw_bart, "seq2seq", "bart_tiny"),
    "marian": (lambda rng: draw_bart(rng, marian=True), "seq2seq", "bart_tiny"),
    "mbart": (lambda rng: draw_pre_ln(rng, "mbart"), "seq2seq", "bart_tiny"),
    "pegasus": (lambda rng: draw_pre_ln(rng, "pegasus"), "seq2seq", "bart_tiny"),
    "m2m_100": (lambda rng: draw_pre_ln(rng, "m2m_100"), "seq2seq", "bart_tiny"),
}


def texts_for(tok, draw, kind):
    """A short text and the longest prefix of LONG_TEXT that fits the position limit (leaving room
    for the generated tokens of a decoder-only model)."""
    room = (draw.limit or 40) - (GENERATE + 1 if kind == "decoder" else 0)
    words = LONG_TEXT.split()
    long = ""
    for n in range(1, len(words) + 1):
        candidate = " ".join(words[:n])
        if len(tok.encode(candidate).ids) > room:
            break
        long = candidate
    return ["Hello world.", long]


LABELS = {  # config key -> short label in the table
    "n_layer": "L", "num_hidden_layers": "L", "num_layers": "Le", "num_decoder_layers": "Ld", "encoder_layers": "Le", "decoder_layers": "Ld",
    "n_embd": "C", "hidden_size": "C", "d_model": "C", "n_head": "H", "num_attention_heads": "H", "num_heads": "H",
    "encoder_attention_heads": "He", "decoder_attention_heads": "Hd", "d_kv": "D", "n_positions": "P", "max_position_embeddings": "P",
    "activation_function": "act", "hidden_act": "act", "feed_forward_proj": "ffn", "relative_attention_num_buckets": "buckets",
    "tie_word_embeddings": "tied", "share_encoder_decoder_embeddings": "shared", "decoder_vocab_size": "Vdec", "scale_embedding": "scale",
    "scale_attn_weights": "scaled", "scale_attn_by_inverse_layer_idx": "inv_l", "type_vocab_size": "types",
}
GEN_LABELS = {"repetition_penalty": "rep", "no_repeat_ngram_size": "ngram", "min_new_tokens": "min", "bad_words_ids": "bad",
              "num_beams": "beams", "length_penalty": "lp", "early_stopping": "es", "eos_token_id": "eos[]", "forced_bos_token_id": "fbos"}


def describe(draw):
    short = lambda v: ("y" if v else "n") if isinstance(v, bool) else v
    parts = [f"{label}={short(draw.config[k])}" for k, label in LABELS.items() if draw.config.get(k) is not None]
    gen = [GEN_LABELS[k] for k in draw.generation if k in GEN_LABELS and k not in ("length_penalty", "early_stopping")]
    aliased = [alias + ("!" if wrong is not None else "") for alias, wrong in draw.aliases.values()]
    return " ".join(parts) + (" | " + ",".join(gen) if gen else "") + (" | alias " + ",".join(aliased) if aliased else "")


def max_diff(got, want):
    if got is None or want is None:
        return float("nan") if (got is None) != (want is None) else 0.0
    a, b = torch.tensor(got, dtype=torch.float64), torch.tensor(want, dtype=torch.float64)
    if a.shape != b.shape:
        return float("inf")
    return (a - b).abs().max().item() if a.numel() else 0.0


def compare(folder, model, kind, draw, tok, texts):
    """Run the CLI on each text; the worst differences and whether generation agrees."""
    worst = {"attention": 0.0, "hidden": 0.0, "logits": 0.0}
    greedy_equal = True
    for text in texts:
        ids = tok.encode(text).ids
        with torch.no_grad():
            ref = ck.forward_reference(model, kind, ids, draw.start)
        args = [str(GLASSBOX), "inspect", str(folder), "--text", text]
        # Generation starts from the decoder start token, so an encoder-decoder's maps (over the reference's
        # decoder ids) and its generation are two runs: the CLI refuses --decoder-ids beside --generate.
        generate_args = None
        if kind == "seq2seq":
            generate_args = args + ["--generate", str(GENERATE)]
            args = args + ["--decoder-ids", ",".join(map(str, ref["decoder_ids"]))]
        elif kind != "encoder":
            args = args + ["--generate", str(GENERATE)]
        run = subprocess.run(args, capture_output=True, text=True)
        if run.returncode != 0:
            return None, run.stderr.strip()
        case = json.loads(run.stdout)["cases"][0]
        generated_ids = case.get("generated_ids")
        if generate_args is not None:
            generated = subprocess.run(generate_args, capture_output=True, text=True)
            if generated.returncode != 0:
                return None, generated.stderr.strip()
            generated_ids = json.loads(generated.stdout)["cases"][0]["generated_ids"]
        if case["ids"] != ids:
            return None, f"token ids differ: {case['ids']} vs {ids}"
        for stack, want in ref["attentions"].items():
            worst["attention"] = max(worst["attention"], max_diff(case["attentions"][stack], want))
        worst["hidden"] = max(worst["hidden"], max_diff(case["last_hidden_state"], ref["last_hidden_state"]))
        if "encoder_last_hidden_state" in ref:
            worst["hidden"] = max(worst["hidden"], max_diff(case["encoder_last_hidden_state"], ref["encoder_last_hidden_state"]))
        worst["logits"] = max(worst["logits"], max_diff(case["logits"], ref["logits"]))
        if kind != "encoder":
            with torch.no_grad():
                want = ck.generate_reference(model, kind, ids, GENERATE)["ids"]
            greedy_equal &= generated_ids == want
    return (worst, greedy_equal if kind != "encoder" else None), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50, help="configurations to draw")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--families", default=",".join(FAMILIES), help="comma-separated subset of " + ", ".join(FAMILIES))
    ap.add_argument("--save", type=int, default=0, help="also write this many drawn configurations per family as CI fixtures")
    args = ap.parse_args()
    if not GLASSBOX.exists():
        sys.exit(f"{GLASSBOX} is missing: run `cargo build --release` first")
    families = args.families.split(",")
    rng = random.Random(args.seed)
    rows, failures, saved = [], 0, {f: 0 for f in families}
    refused_by_hf = 0  # draws transformers itself cannot run: counted in the summary, judged neither way
    ck.DIGITS = 9  # compare against unrounded references
    print(f"{'#':>3} | {'family':7} | {'config':96} | {'attn':>8} | {'hidden':>8} | {'logits':>8} | gen")
    with tempfile.TemporaryDirectory() as tmp:
        ck.OUT = Path(tmp)
        for i in range(args.n):
            family = families[i % len(families)]
            draw_fn, kind, tokenizer = FAMILIES[family]
            draw = draw_fn(rng)
            seed = args.seed * 1000 + i
            name = f"sampled_{family}_{seed}"
            model = ck.build(family, seed, **{k: v for k, v in draw.config.items() if v is not None})
            folder = ck.save_folder(name, model, tokenizer, generation=draw.generation or None)
            # transformers reads the aliased folder too: the reference is what it makes of the same file.
            write_aliases(folder, draw.aliases)
            loaded = type(model).from_pretrained(folder, attn_implementation="eager").eval()
            from tokenizers import Tokenizer
            tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
            texts = texts_for(tok, draw, kind)
            try:
                result, error = compare(folder, loaded, kind, draw, tok, texts)
            except Exception as e:  # transformers itself fails on some corners; not Glassbox's row to judge
                print(f"{i:>3} | {family:7} | {describe(draw):96} | transformers failed: {type(e).__name__}: {e}")
                refused_by_hf += 1
                continue
            summary = describe(draw)
            if error:
                failures += 1
                print(f"{i:>3} | {family:7} | {summary:96} | ERROR {error}")
                continue
            worst, gen_equal = result
            bad = any(worst[k] > TOL[k] or worst[k] != worst[k] for k in TOL) or gen_equal is False
            failures += bad
            gen = "-" if gen_equal is None else ("yes" if gen_equal else "NO")
            print(f"{i:>3} | {family:7} | {summary:96} | {worst['attention']:8.1e} | {worst['hidden']:8.1e} | {worst['logits']:8.1e} | {gen}{'  <-- over tolerance' if bad else ''}")
            rows.append((family, summary, worst, gen_equal))
            if saved[family] < args.save and not bad:
                ck.OUT = ck.ROOT / "tests" / "fixtures" / "checkpoints"
                keep = ck.TEXTS
                ck.TEXTS, ck.DIGITS = texts[:1], 5  # keep fixtures tiny: the short text only
                model = ck.build(family, seed, **{k: v for k, v in draw.config.items() if v is not None})
                ck.record(name, model, kind, tokenizer, start=draw.start, generate=kind != "encoder", max_new_tokens=GENERATE,
                          generation=draw.generation or None, notes=f"config_sampler.py --seed {args.seed}: {summary}")
                ck.TEXTS, ck.DIGITS = keep, 9
                ck.OUT = Path(tmp)
                saved[family] += 1
    compared = args.n - refused_by_hf
    print(f"\n{args.n} configurations: {compared} compared, {failures} of them over tolerance or failing; "
          f"{refused_by_hf} that transformers itself failed on (not compared)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
