"""Train glassbox-gpt2: a small GPT2LMHeadModel with a byte-level BPE tokenizer, on the English
sentences of build_corpus.py.

    python scripts/training/build_corpus.py   # once
    python scripts/training/train_gpt2.py     # ~15 minutes on one core

Writes models/glassbox-gpt2/ (f16 weights), models/glassbox-gpt2/heldout.txt (held-out sentences
read by tests/rust/bundled_models.rs) and metrics.json (held-out cross-entropy of the model and of
a smoothed bigram baseline on exactly those sentences).
"""

import collections
import math
import os
import shutil
import sys

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from common import LossLog, apply_update, DATA, MODELS, Clock, folder_size_mb, load_f16, log, python_versions, require_corpus, save_folder, setup, write_metrics

SEED = 11
OUT = MODELS / "glassbox-gpt2"
# 16,000 pieces keep about 95% of everyday English words whole (animals, colours, food, places,
# story verbs; tests/fixtures/words/everyday.txt) and 86% of a second list written afterwards
# (everyday-more.txt); 12,000 kept only 77% of that one. The f16 weights stay under 6 MB.
VOCAB_SIZE = 16000
EOT = "<|endoftext|>"
CONTEXT = 128
# Compute is the limit (one shared core), so small batches: more updates per token seen.
BATCH = 8
LR = 2e-3
WARMUP = 200
# Phase 1 (one core, about 75 minutes) is the shipped model. An optional phase 2 anneals from its
# f16-rounded weights with a quarter of the rows repeated, hoping for induction heads. Tried with
# 4,000 steps (GLASSBOX_GPT2_PHASE2_STEPS=4000, two cores, 19 minutes): the best induction score
# rose from 0.05 to 0.15, short of a head with that job, while held-out quality fell (1.248 ->
# 1.278 nats/char) and greedy text looped more. So it is off by default; the model card says so.
PHASE1_STEPS = int(os.environ.get("GLASSBOX_GPT2_STEPS", "7000"))
PHASE2_STEPS = int(os.environ.get("GLASSBOX_GPT2_PHASE2_STEPS", "0"))
PHASE2_LR = 1e-3
MAX_MINUTES = float(os.environ.get("GLASSBOX_GPT2_MINUTES", "95"))
N_HELDOUT = 120  # sentences committed for the Rust test (kept small for debug builds)
PROMPTS = ["The computer", "A hacker is", "I went to the", "The cat", "Once upon a time", "It is",
           "The president said", "My favourite colour is", "The old man walked", "Water is"]
# Induction heads (attend to the token after an earlier occurrence of the current one, then copy
# it) form late in natural text, long after a one-core budget. So one row of each batch (1 in 8)
# is a repeated span instead: half the time a span of the corpus, half the time random whole-word
# tokens (whose first copy is unpredictable, so it carries no loss). Repeats are where the circuit
# pays off, so it forms within the budget; the model card says so.


def read_lines(name):
    return [ln for ln in open(DATA / "english" / name).read().splitlines() if ln.strip()]


def train_tokenizer(train):
    bpe = ByteLevelBPETokenizer(add_prefix_space=False, trim_offsets=True)
    bpe.train_from_iterator(train, vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=[EOT], show_progress=False)
    tok = bpe._tokenizer
    assert tok.token_to_id(EOT) == 0
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOT, eos_token=EOT, unk_token=EOT, model_max_length=CONTEXT)
    return tok, hf


def stream(sentences, tok):
    """Every sentence preceded by <|endoftext|>, as GPT-2 separates documents."""
    ids = []
    for s in sentences:
        ids.append(0)
        ids.extend(tok.encode(s).ids)
    return torch.tensor(ids)


def repeated_row(data, word_ids, gen):
    """`[EOT] span span span ...` cut to CONTEXT, with labels (-100 where nothing can be predicted)."""
    n = int(torch.randint(8, 33, (1,), generator=gen))
    if torch.rand(1, generator=gen).item() < 0.5:
        start = int(torch.randint(0, len(data) - n, (1,), generator=gen))
        span, learn_first = data[start:start + n], True
    else:
        span, learn_first = word_ids[torch.randint(0, len(word_ids), (n,), generator=gen)], False
    reps = (CONTEXT - 1) // n + 1
    x = torch.cat([torch.zeros(1, dtype=torch.long), span.repeat(reps)])[:CONTEXT]
    labels = x.clone()
    if not learn_first:
        labels[:n + 1] = -100  # the first copy is random: nothing to learn there
    return x, labels


def train_phase(model, data, word_ids, clock, steps, lr, repeated_rows, seed):
    """`steps` AdamW updates with a fresh optimizer: warm-up, then a linear decay; `repeated_rows`
    rows of each batch are repeated spans. Returns the number of steps taken (fewer if the time
    limit comes first)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / WARMUP) * max(0.05, 1 - s / steps))
    gen = torch.Generator().manual_seed(seed)
    n_windows = (len(data) - 1) // CONTEXT
    step, losses = 0, LossLog(clock)
    while step < steps and clock.minutes() < MAX_MINUTES:
        # One epoch: non-overlapping windows at a random offset, in random order.
        offset = int(torch.randint(0, CONTEXT, (1,), generator=gen))
        order = torch.randperm(n_windows - 1, generator=gen)
        for i in range(0, len(order) - BATCH + 1, BATCH):
            starts = offset + order[i:i + BATCH] * CONTEXT
            x = torch.stack([data[s:s + CONTEXT] for s in starts.tolist()])
            labels = x.clone()
            for r in range(repeated_rows):
                x[r], labels[r] = repeated_row(data, word_ids, gen)
            model.train()
            loss = model(x, labels=labels).loss
            apply_update(model, opt, sched, loss)
            step += 1
            losses.add(step, loss)
            if step >= steps or clock.minutes() >= MAX_MINUTES:
                break
    return step


def bigram_baseline(train_ids, heldout_seqs, V):
    """Interpolated bigram/unigram (add-one unigram), with the mixing weight chosen on the
    held-out sentences themselves: a generous baseline."""
    uni = collections.Counter(train_ids.tolist())
    big = collections.Counter(zip(train_ids[:-1].tolist(), train_ids[1:].tolist()))
    n = len(train_ids)
    p_uni = {t: (uni[t] + 1) / (n + V) for t in range(V)}
    best = None
    for lam in [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]:
        nll, count = 0.0, 0
        for seq in heldout_seqs:
            for a, b in zip(seq[:-1], seq[1:]):
                pb = big[(a, b)] / uni[a] if uni[a] else 0.0
                nll -= math.log(lam * pb + (1 - lam) * p_uni[b])
                count += 1
        ce = nll / count
        if best is None or ce < best[0]:
            best = (ce, lam)
    return best


@torch.no_grad()
def heldout_ce(model, seqs):
    nll, count = 0.0, 0
    for seq in seqs:
        x = torch.tensor([seq])
        logits = model(x).logits[0, :-1]
        nll += torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="sum").item()
        count += len(seq) - 1
    return nll / count


@torch.no_grad()
def nats_per_char(model, tok, sentences):
    """Held-out negative log-likelihood per character: unlike nats per token, comparable between
    models with different vocabularies (each sentence after <|endoftext|>, as in training)."""
    nll, chars = 0.0, 0
    for s in sentences:
        x = torch.tensor([[0] + tok.encode(s).ids])
        logits = model(x).logits[0, :-1]
        nll += torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="sum").item()
        chars += len(s)
    return nll / chars


def previous_model_figure(sentences):
    """nats/char of the model in OUT before this run replaces it, or of GLASSBOX_PREVIOUS_GPT2 (a
    folder) when given (None if there is none)."""
    from pathlib import Path
    from tokenizers import Tokenizer
    folder = Path(os.environ.get("GLASSBOX_PREVIOUS_GPT2", OUT))
    if not (folder / "model.safetensors").exists():
        return None
    previous = load_f16(GPT2LMHeadModel, folder)
    return nats_per_char(previous, Tokenizer.from_file(str(folder / "tokenizer.json")), sentences)


def main():
    setup(SEED)
    require_corpus("english/train.txt")
    clock = Clock()
    train, heldout = read_lines("train.txt"), read_lines("heldout.txt")
    tok, hf_tok = train_tokenizer(train)
    log(f"tokenizer: {tok.get_vocab_size()} tokens; {tok.encode('The quick brown fox jumps over the lazy dog.').tokens}")
    data = stream(train, tok)
    log(f"training stream: {len(data)} tokens")
    # The committed held-out set: the first N_HELDOUT held-out sentences that fit the context.
    held = [s for s in heldout if len(tok.encode(s).ids) < CONTEXT - 1][:N_HELDOUT]
    held_seqs = [[0] + tok.encode(s).ids for s in held]

    config = GPT2Config(
        vocab_size=tok.get_vocab_size(), n_positions=CONTEXT, n_embd=128, n_layer=4, n_head=4,
        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,  # under-trained, not over-fitted: no dropout
        bos_token_id=0, eos_token_id=0, tie_word_embeddings=True,
    )
    model = GPT2LMHeadModel(config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters")
    vocab = tok.get_vocab()
    word_ids = torch.tensor(sorted(i for t, i in vocab.items() if t.startswith("\u0120") and t[1:].isalpha() and len(t) > 2))
    if "--resume" in sys.argv:
        # Phase 2 only, from a phase-1 folder (its f16 weights are what phase 2 starts from anyway).
        model = load_f16(GPT2LMHeadModel, sys.argv[sys.argv.index("--resume") + 1])
        step = PHASE1_STEPS
    else:
        step = train_phase(model, data, word_ids, clock, steps=PHASE1_STEPS, lr=LR, repeated_rows=1, seed=SEED)
        model = model.half().float()  # phase 2 starts from the f16-rounded weights, as --resume does
    if PHASE2_STEPS:  # off for the shipped model (see PHASE2_STEPS)
        # Phase 2 has both cores to itself (the BERT run is over).
        torch.set_num_threads(int(os.environ.get("GLASSBOX_PHASE2_THREADS", "2")))
        step += train_phase(model, data, word_ids, clock, steps=PHASE2_STEPS, lr=PHASE2_LR, repeated_rows=2, seed=SEED + 1)
    train_minutes = clock.minutes()
    model.eval()

    previous_per_char = previous_model_figure(held)
    if OUT.exists():
        shutil.rmtree(OUT)
    save_folder(model, hf_tok, OUT, {"bos_token": EOT, "eos_token": EOT, "unk_token": EOT})
    f16 = load_f16(GPT2LMHeadModel, OUT)
    ce = heldout_ce(f16, held_seqs)
    per_char = nats_per_char(f16, tok, held)
    log(f"f16 held-out {per_char:.3f} nats/char; the previous model in {OUT}: {previous_per_char}")
    bigram_ce, lam = bigram_baseline(data, held_seqs, tok.get_vocab_size())
    log(f"f16 held-out cross-entropy {ce:.3f} nats/token; bigram baseline {bigram_ce:.3f} (lambda {lam})")
    samples = []
    torch.manual_seed(SEED)
    for p in PROMPTS:
        ids = torch.tensor([tok.encode(p).ids])
        greedy = f16.generate(ids, max_new_tokens=40, do_sample=False, pad_token_id=0, eos_token_id=0)
        sampled = f16.generate(ids, max_new_tokens=40, do_sample=True, top_k=40, temperature=0.8, pad_token_id=0, eos_token_id=0)
        samples.append({"prompt": p, "greedy": tok.decode(greedy[0].tolist()), "top_k_40_t_0.8": tok.decode(sampled[0].tolist())})
        log(f"  {samples[-1]}")
    (OUT / "heldout.txt").write_text("\n".join(held) + "\n")
    write_metrics(OUT, {
        "seed": SEED, "parameters": n_params, "vocab_size": tok.get_vocab_size(), "train_tokens": len(data),
        "steps": step, "phase1_steps": PHASE1_STEPS, "phase2_steps": PHASE2_STEPS, "batch": BATCH, "context": CONTEXT, "train_minutes": round(train_minutes, 1),
        "heldout_sentences": len(held), "heldout_ce_f16": ce, "bigram_baseline_ce": bigram_ce, "bigram_lambda": lam,
        "heldout_nats_per_char_f16": per_char, "previous_model_nats_per_char": previous_per_char,
        "size_mb": round(folder_size_mb(OUT), 2), "versions": python_versions(), "samples": samples,
    })
    log(f"saved {OUT} ({folder_size_mb(OUT):.2f} MB) in {clock.minutes():.1f} min")


if __name__ == "__main__":
    main()
