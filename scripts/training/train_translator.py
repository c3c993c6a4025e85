"""Train glassbox-translator: a small MarianMTModel (sinusoidal positions) that translates the
synthetic English -> French-like language of grammar.py, with a SentencePiece-style Unigram
tokenizer shared by both languages.

    python scripts/training/build_corpus.py        # once
    python scripts/training/train_translator.py    # ~10 minutes on one core

Writes models/glassbox-translator/ (f16 weights), models/glassbox-translator/heldout.tsv (the 500
held-out pairs with alignments, read by tests/rust/bundled_models.rs) and metrics.json.
"""

import collections
import json
import math
import shutil
import string
import sys

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

from common import apply_update, DATA, MODELS, Clock, folder_size_mb, load_f16, log, python_versions, require_corpus, save_folder, setup, write_metrics

SEED = 7
OUT = MODELS / "glassbox-translator"
PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
BATCH = 64
LR = 1e-3
WARMUP = 400
MAX_STEPS = 2400  # the learning rate decays linearly to this step
EVAL_EVERY = 300
MAX_MINUTES = 16
TARGET_VALID_EXACT = 0.995


def read_tsv(name):
    rows = []
    for line in open(DATA / "parallel" / name):
        src, tgt, align, content = line.rstrip("\n").split("\t")
        links = [tuple(map(int, a.split("-"))) for a in align.split()]
        rows.append((src, tgt, links, [int(c) for c in content.split(",") if c]))
    return rows


def train_tokenizer(train):
    """A SentencePiece-style Unigram tokenizer whose pieces are the corpus words (with the
    Metaspace marker) plus single characters as a fallback for anything else a learner types.
    Scores are log relative frequencies, the maximum-likelihood unigram model for a whole-word
    segmentation. (The EM trainers of `tokenizers` and `sentencepiece` both split this corpus's
    most frequent words into fragments such as s|mal|l: their seed search only keeps substrings
    followed by more than one distinct character, and a word always followed by a space is not.)"""
    counts = collections.Counter()
    for s, t, _, _ in train:
        for w in (s + " " + t).lower().split():
            word, dot = (w[:-1], ".") if w.endswith(".") else (w, None)
            counts["\u2581" + word] += 1
            if dot:
                counts[dot] += 1
    total = sum(counts.values())
    pieces = [(PAD, 0.0), (EOS, 0.0), (UNK, 0.0)]
    pieces += [(p, math.log(c / total)) for p, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    floor = math.log(1 / total) - 2.0
    fallback = "\u2581" + string.ascii_lowercase + string.digits + ".,!?;:'\"-()"
    pieces += [(c, floor) for c in fallback if c not in counts]
    tok = Tokenizer(models.Unigram(pieces, unk_id=2, byte_fallback=False))
    # Lower-casing lets "The dog sees the cat." typed by a learner reach the same pieces.
    tok.normalizer = normalizers.Sequence([normalizers.Nmt(), normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.add_special_tokens([PAD, EOS, UNK])
    tok.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", pair=f"$A $B {EOS}", special_tokens=[(EOS, 1)])
    assert tok.token_to_id(PAD) == 0 and tok.token_to_id(EOS) == 1 and tok.token_to_id(UNK) == 2
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS, unk_token=UNK, model_max_length=128)
    return tok, hf


def batches(pairs, tok, shuffle, gen):
    order = torch.randperm(len(pairs), generator=gen).tolist() if shuffle else list(range(len(pairs)))
    for i in range(0, len(order), BATCH):
        chunk = [pairs[j] for j in order[i:i + BATCH]]
        src = [tok.encode(s).ids for s, _, _, _ in chunk]
        tgt = [tok.encode(t).ids for _, t, _, _ in chunk]  # ends with </s> (post-processor)
        yield pad(src, 0), pad(tgt, -100)


def pad(seqs, value):
    n = max(len(s) for s in seqs)
    out = torch.full((len(seqs), n), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s)
    return out


@torch.no_grad()
def greedy(model, tok, sources, max_len=64):
    """Batched greedy decoding: decoder starts at <pad> (Marian's decoder_start), stops at </s>."""
    outs = []
    for i in range(0, len(sources), 100):
        enc = [tok.encode(s).ids for s in sources[i:i + 100]]
        src = pad(enc, 0)
        mask = (src != 0).long()
        gen = model.generate(input_ids=src, attention_mask=mask, max_new_tokens=max_len, num_beams=1, do_sample=False,
                             decoder_start_token_id=0, eos_token_id=1, pad_token_id=0)
        for row in gen.tolist():
            ids = [t for t in row[1:] if t not in (0,)]
            if 1 in ids:
                ids = ids[:ids.index(1)]
            outs.append(tok.decode(ids))
    return outs


def exact_match(model, tok, rows):
    hyps = greedy(model, tok, [s for s, _, _, _ in rows])
    ok = [h.strip() == t for h, (_, t, _, _) in zip(hyps, rows)]
    return sum(ok) / len(rows), hyps


def word_of_tokens(enc, text):
    """Word index (by spaces) of each token, from its character offsets; None for specials."""
    starts, pos = [], 0
    for w in text.split(" "):
        starts.append(pos)
        pos += len(w) + 1
    out = []
    for (a, b), special in zip(enc.offsets, enc.special_tokens_mask):
        if special or b <= a:
            out.append(None)
            continue
        ch = b - 1
        out.append(max(i for i, s in enumerate(starts) if s <= ch))
    return out


@torch.no_grad()
def alignment_scores(model, tok, rows):
    """For each decoder layer and two row conventions, the share of target content words whose
    head-averaged cross-attention peaks on a source token of the aligned source word.
    'predict': the row that outputs the word's first token (decoder input = the token before);
    'input': the row whose decoder input is the word's first token."""
    L = model.config.decoder_layers
    hits = {(l, c): 0 for l in range(L) for c in ("predict", "input")}
    total = 0
    for src, tgt, links, content in rows:
        se, te = tok.encode(src), tok.encode(tgt, add_special_tokens=False)
        s_word, t_word = word_of_tokens(se, src), word_of_tokens(te, tgt)
        dec_in = torch.tensor([[0] + te.ids])
        out = model(input_ids=torch.tensor([se.ids]), decoder_input_ids=dec_in, output_attentions=True)
        aligned = {}
        for s, t in links:
            aligned.setdefault(t, set()).add(s)
        for t in content:
            if t not in aligned:
                continue
            first = t_word.index(t)
            total += 1
            for l in range(L):
                probs = out.cross_attentions[l][0].mean(0)  # [T][S]
                for conv, row in (("predict", first), ("input", first + 1)):
                    peak = int(probs[row].argmax())
                    if s_word[peak] in aligned[t]:
                        hits[(l, conv)] += 1
    return {f"layer{l}_{c}": hits[(l, c)] / total for (l, c) in hits}


def main():
    setup(SEED)
    require_corpus("parallel/train.tsv")
    clock = Clock()
    train, valid, heldout = read_tsv("train.tsv"), read_tsv("valid.tsv"), read_tsv("heldout.tsv")
    tok, hf_tok = train_tokenizer(train)
    V = tok.get_vocab_size()
    if "--eval-only" in sys.argv:
        evaluate(tok, heldout, clock, json.loads((OUT / "metrics.json").read_text()) if (OUT / "metrics.json").exists() else {})
        return
    log(f"tokenizer: {V} pieces; 'the small red car.' -> {tok.encode('the small red car.').tokens}")

    config = MarianConfig(
        vocab_size=V, d_model=128, encoder_layers=3, decoder_layers=3,
        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=256, decoder_ffn_dim=256,
        activation_function="gelu", max_position_embeddings=128, scale_embedding=True,
        dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, forced_eos_token_id=1, bos_token_id=None,
        share_encoder_decoder_embeddings=True, tie_word_embeddings=True,
    )
    model = MarianMTModel(config)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters")
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.98), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / WARMUP) * max(0.05, 1 - s / MAX_STEPS))
    gen = torch.Generator().manual_seed(SEED)
    step, epoch, done, run = 0, 0, False, None
    while not done:
        for src, labels in batches(train, tok, True, gen):
            model.train()
            loss = model(input_ids=src, attention_mask=(src != 0).long(), labels=labels).loss
            apply_update(model, opt, sched, loss)
            step += 1
            run = loss.item() if run is None else 0.95 * run + 0.05 * loss.item()
            if step % EVAL_EVERY == 0:
                model.eval()
                em, _ = exact_match(model, tok, valid)
                log(f"epoch {epoch} step {step}: loss {run:.4f}, valid exact match {em:.3f} ({clock.minutes():.1f} min)")
                if em >= TARGET_VALID_EXACT or step >= MAX_STEPS or clock.minutes() > MAX_MINUTES:
                    done = True
                    break
        epoch += 1
    model.eval()
    train_minutes = clock.minutes()

    if OUT.exists():
        shutil.rmtree(OUT)
    save_folder(model, hf_tok, OUT, {"eos_token": EOS, "unk_token": UNK, "pad_token": PAD})
    evaluate(tok, heldout, clock, {
        "seed": SEED, "parameters": n_params, "vocab_size": V, "steps": step, "batch": BATCH,
        "train_minutes": round(train_minutes, 1),
    })


def evaluate(tok, heldout, clock, metrics):
    """Reload the saved f16 folder and measure it on the held-out pairs."""
    f16 = load_f16(MarianMTModel, OUT)
    em, hyps = exact_match(f16, tok, heldout)
    align = alignment_scores(f16, tok, heldout)
    best = max(align, key=align.get)
    log(f"f16 held-out exact match {em:.3f}; alignment {align}")
    for (s, t, _, _), h in list(zip(heldout, hyps))[:8]:
        log(f"  {s}  ->  {h}{'' if h == t else '   (expected ' + t + ')'}")
    with open(OUT / "heldout.tsv", "w") as f:
        f.write(open(DATA / "parallel" / "heldout.tsv").read())
    write_metrics(OUT, {
        **metrics, "heldout_exact_match_f16": em, "alignment_f16": align,
        "best_alignment": best, "size_mb": round(folder_size_mb(OUT), 2), "versions": python_versions(),
        "samples": [[s, h] for (s, _, _, _), h in list(zip(heldout, hyps))[:12]],
    })
    log(f"saved {OUT} ({folder_size_mb(OUT):.2f} MB) in {clock.minutes():.1f} min")


if __name__ == "__main__":
    main()
