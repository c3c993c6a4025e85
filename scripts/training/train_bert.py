"""Train glassbox-bert: a small BertForMaskedLM with an uncased WordPiece tokenizer, on the
English sentences of build_corpus.py (masked-language modelling only, one sentence per input).

    python scripts/training/build_corpus.py   # once
    python scripts/training/train_bert.py     # about 66 minutes on one core (28,000 steps)
    python scripts/training/train_bert.py --continue FOLDER   # more steps for a saved model
    python scripts/training/train_bert.py --revocab FOLDER    # a saved model moved onto a new vocabulary, then more steps

Settings read from the environment (defaults in brackets): GLASSBOX_BERT_STEPS [28000],
GLASSBOX_BERT_MINUTES [95], GLASSBOX_BERT_LR [1e-3], GLASSBOX_BERT_CONTENT_BOOST [1],
GLASSBOX_BERT_OUT [models/glassbox-bert], GLASSBOX_BERT_PRIOR_WORDS [14000], GLASSBOX_BERT_PRIOR_REPEAT [1000].

Writes models/glassbox-bert/ (f16 weights), models/glassbox-bert/heldout.tsv (held-out sentences
with one whole word masked, read by tests/rust/bundled_models.rs) and metrics.json (top-1
accuracy of the model and of a unigram baseline on exactly those items).
"""

import collections
import json
import os
import random
import shutil
import sys
from pathlib import Path

import torch
from tokenizers import BertWordPieceTokenizer, Tokenizer, processors
from transformers import BertConfig, BertForMaskedLM, PreTrainedTokenizerFast

from common import everyday_words, moved_rows, prior_lines, LossLog, apply_update, FUNCTION_WORDS, DATA, MODELS, Clock, folder_size_mb, load_f16, log, python_versions, require_corpus, save_folder, setup, write_metrics

SEED = 13
OUT = MODELS / "glassbox-bert"
# The vocabulary: 13,000 WordPiece entries. The trainer learns the first BASE_SIZE from the corpus
# and the prior below (the characters, the ## endings and the commonest words); then the commonest
# everyday words (common.everyday_words) are added whole, in order, until there are VOCAB_SIZE. A
# WordPiece vocabulary needs no steps towards a word (it cuts by the longest entry that fits), so
# each added entry is a word kept whole; the trainer alone spent a fifth of 12,000 entries on pieces
# and kept 46% of tests/fixtures/words/everyday-fourth.txt whole, this way 80%
# (scripts/dev/vocab_prior.py).
VOCAB_SIZE = 13000
BASE_SIZE = 2000
# The trainer also reads the PRIOR_WORDS commonest everyday English words, each PRIOR_REPEAT times,
# as train_gpt2.py's does (common.prior_lines).
PRIOR_WORDS = int(os.environ.get("GLASSBOX_BERT_PRIOR_WORDS", "14000"))
PRIOR_REPEAT = int(os.environ.get("GLASSBOX_BERT_PRIOR_REPEAT", "1000"))
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MAX_LEN = 64
# A first run (batch 64, lr 2e-3, 15% masked, dropout 0.1, 900 steps) never left the unigram
# plateau. Smaller batches (more updates), a gentler rate for post-layer-norm BERT, more masked
# positions per sentence (more signal per step), no dropout and more steps get out of it.
BATCH = 32
LR = 1e-3
WARMUP = 200
MASK_RATE = 0.25
MAX_STEPS = int(os.environ.get("GLASSBOX_BERT_STEPS", "28000"))  # the learning rate decays linearly to this step
MAX_MINUTES = float(os.environ.get("GLASSBOX_BERT_MINUTES", "95"))
LR = float(os.environ.get("GLASSBOX_BERT_LR", LR))
# Whole content words (content_ids) are picked for prediction this many times as often as other
# tokens (capped at 60%): the fill-mask a learner tries hides a noun, verb or adjective, and at 1
# most of the predictions are of "the", "of" and punctuation.
CONTENT_BOOST = float(os.environ.get("GLASSBOX_BERT_CONTENT_BOOST", "1"))
OUT = Path(os.environ.get("GLASSBOX_BERT_OUT", OUT))
N_HELDOUT = 400  # held-out sentences, one content word masked in each
FILL_MASK = [
    "The dog chased the [MASK].", "I went to the [MASK] yesterday.", "The [MASK] is on the table.",
    "She opened the [MASK] and looked outside.", "A hacker is a person who enjoys [MASK].",
    "He was [MASK] to see me.", "The computer [MASK] the program.", "Paris is the capital of [MASK].",
]


def read_lines(name):
    return [ln for ln in open(DATA / "english" / name).read().splitlines() if ln.strip()]


def train_tokenizer(train, size=VOCAB_SIZE, prior_words=PRIOR_WORDS, prior_repeat=PRIOR_REPEAT, base_size=BASE_SIZE):
    """The uncased WordPiece: `base_size` entries learned from `train` and the word-frequency prior,
    then the prior's words added whole, commonest first, up to `size` entries (scripts/dev/vocab_prior.py
    calls it with other sizes); with BERT's [CLS] ... [SEP] template."""
    wp = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    wp.train_from_iterator(train + prior_lines(prior_words, prior_repeat), vocab_size=min(size, base_size), min_frequency=2, special_tokens=SPECIALS, show_progress=False)
    tok = wp._tokenizer
    if size > base_size:
        model = json.loads(tok.to_str())
        vocab = model["model"]["vocab"]
        for w in everyday_words(prior_words):
            if len(vocab) == size:
                break
            vocab.setdefault(w, len(vocab))
        tok = Tokenizer.from_str(json.dumps(model))
    assert [tok.token_to_id(s) for s in SPECIALS] == [0, 1, 2, 3, 4]
    # Trained from scratch, the implementation leaves out BERT's template: add [CLS] ... [SEP].
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return tok


def hf_tokenizer(tok):
    """The tokenizer as save_folder writes it (truncation to MAX_LEN in its files, none in `tok`)."""
    tok.enable_truncation(MAX_LEN)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                 sep_token="[SEP]", mask_token="[MASK]", do_lower_case=True, model_max_length=MAX_LEN)
    tok.no_truncation()
    return hf


def content_ids(tok):
    """A [V] mask of the vocabulary's content words: whole alphabetic words of three letters or
    more that are not function words (the kind of word the held-out items mask)."""
    vocab = tok.get_vocab()
    mask = torch.zeros(len(vocab), dtype=torch.bool)
    for t, i in vocab.items():
        mask[i] = t.isalpha() and len(t) >= 3 and t not in FUNCTION_WORDS and t not in SPECIALS
    return mask


def mask_batch(seqs, V, gen, content=None):
    """BERT's recipe with MASK_RATE of the non-special tokens predicted (content words, when
    `content` is given, CONTENT_BOOST times as often); of those 80% become [MASK], 10% a random
    token, 10% stay."""
    n = max(len(s) for s in seqs)
    x = torch.zeros((len(seqs), n), dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = torch.tensor(s)
    special = x < len(SPECIALS)
    rate = torch.full(x.shape, MASK_RATE)
    if content is not None and CONTENT_BOOST != 1:
        rate[content[x]] = min(0.6, MASK_RATE * CONTENT_BOOST)
    pick = (torch.rand(x.shape, generator=gen) < rate) & ~special
    labels = torch.where(pick, x, torch.full_like(x, -100))
    r = torch.rand(x.shape, generator=gen)
    inputs = x.clone()
    inputs[pick & (r < 0.8)] = 4
    rand_tok = torch.randint(len(SPECIALS), V, x.shape, generator=gen)
    swap = pick & (r >= 0.8) & (r < 0.9)
    inputs[swap] = rand_tok[swap]
    return inputs, (x != 0).long(), labels


def whole_words(tok, sentence, content_only=False):
    """Indices (in the encoding with [CLS]/[SEP]) of tokens that are a whole alphabetic word (and,
    with content_only, not a function word: the nouns, verbs, adjectives and adverbs a learner
    would try to guess)."""
    enc = tok.encode(sentence)
    out = []
    for i, t in enumerate(enc.tokens):
        nxt = enc.tokens[i + 1] if i + 1 < len(enc.tokens) else ""
        if t.isalpha() and not t.startswith("##") and not nxt.startswith("##") and t not in SPECIALS:
            if not (content_only and (t in FUNCTION_WORDS or len(t) < 3)):
                out.append(i)
    return enc, out


def make_heldout(tok, sentences, rng):
    """One masked content word per sentence, as text with [MASK] in the word's place."""
    items = []
    for s in sentences:
        enc, words = whole_words(tok, s, content_only=True)
        if not words or len(enc.ids) > MAX_LEN:
            continue
        i = rng.choice(words)
        a, b = enc.offsets[i]
        items.append((s[:a] + "[MASK]" + s[b:], enc.tokens[i]))
        if len(items) == N_HELDOUT:
            break
    return items


@torch.no_grad()
def accuracy(model, tok, items):
    """(top-1, top-5) share of items whose masked word the model ranks first / in its first five."""
    top1 = top5 = 0
    for text, answer in items:
        enc = tok.encode(text)
        pos = enc.ids.index(4)
        logits = model(input_ids=torch.tensor([enc.ids])).logits[0, pos]
        best = [tok.id_to_token(int(i)) for i in logits.topk(5).indices]
        top1 += best[0] == answer
        top5 += answer in best
    return top1 / len(items), top5 / len(items)


@torch.no_grad()
def head_patterns(model, tok, sentences):
    """Per head, the mean attention a token pays to the next token, the previous token, [SEP]
    and [CLS], over held-out sentences (rows of real tokens only); heads counted from 1."""
    L, H = model.config.num_hidden_layers, model.config.num_attention_heads
    sums = {k: torch.zeros(L, H) for k in ["next", "previous", "sep", "cls"]}
    n = 0
    for s in sentences:
        ids = tok.encode(s).ids[:MAX_LEN]
        T = len(ids)
        if T < 5:
            continue
        att = model(input_ids=torch.tensor([ids]), output_attentions=True).attentions
        rows = torch.arange(1, T - 1)
        for l in range(L):
            a = att[l][0]  # [H][T][T]
            sums["next"][l] += a[:, rows, rows + 1].mean(-1)
            sums["previous"][l] += a[:, rows, rows - 1].mean(-1)
            sums["sep"][l] += a[:, rows, T - 1].mean(-1)
            sums["cls"][l] += a[:, rows, 0].mean(-1)
        n += 1
    out = []
    for l in range(L):
        for h in range(H):
            out.append({"head": f"{l + 1}.{h + 1}", **{k: round(float(v[l, h] / n), 3) for k, v in sums.items()}})
            log(f"  head {l + 1}.{h + 1}: " + ", ".join(f"{k} {out[-1][k]:.3f}" for k in sums))
    return out


@torch.no_grad()
def fill_mask(model, tok, text, k=5):
    enc = tok.encode(text)
    pos = enc.ids.index(4)
    probs = model(input_ids=torch.tensor([enc.ids])).logits[0, pos].softmax(-1)
    top = probs.topk(k)
    return [(tok.id_to_token(int(i)), round(float(p), 3)) for p, i in zip(top.values, top.indices)]


def main():
    setup(SEED)
    require_corpus("english/train.txt")
    clock = Clock()
    train, heldout = read_lines("train.txt"), read_lines("heldout.txt")
    # --continue FOLDER: more training of a saved model (its tokenizer and f16 weights), with a
    # fresh warm-up and decay over GLASSBOX_BERT_STEPS; the counts in metrics.json add up.
    # --revocab FOLDER: the same, after moving the saved model onto a new tokenizer (train_tokenizer):
    # pieces both vocabularies have keep their rows, new ones start from their old pieces' mean.
    revocab = "--revocab" in sys.argv
    flag = "--revocab" if revocab else "--continue"
    resume = sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else None
    if "--eval-only" in sys.argv or (resume and not revocab):
        tok = Tokenizer.from_file(str(Path(resume or OUT) / "tokenizer.json"))
        tok.no_truncation()
    else:
        tok = train_tokenizer(train)
    hf_tok = hf_tokenizer(tok)
    V = tok.get_vocab_size()
    log(f"tokenizer: {V} tokens; {tok.encode('The dog chased the [MASK].').tokens}")
    if "--eval-only" in sys.argv:
        evaluate(tok, train, heldout, clock, json.loads((OUT / "metrics.json").read_text()))
        return
    seqs = [e.ids[:MAX_LEN - 1] + [3] if len(e.ids) > MAX_LEN else e.ids for e in tok.encode_batch(train)]
    content = content_ids(tok)
    # Chosen between runs on these, never on the test's items (the first held-out sentences).
    valid = make_heldout(tok, heldout[3000:], random.Random(SEED))

    if resume:
        model = load_f16(BertForMaskedLM, resume)
        earlier = json.loads((Path(resume) / "metrics.json").read_text())
        if revocab:
            old_tok = Tokenizer.from_file(str(Path(resume) / "tokenizer.json"))
            with torch.no_grad():
                (rows, bias_rows), kept = moved_rows([model.bert.embeddings.word_embeddings.weight, model.cls.predictions.bias], old_tok, tok)
                model.resize_token_embeddings(V)  # the new vocabulary may be larger or smaller
                table = model.bert.embeddings.word_embeddings.weight  # tied to the output projection
                bias = model.cls.predictions.bias
                assert rows.shape == table.shape and bias_rows.shape == bias.shape and model.cls.predictions.decoder.weight is table
                table.copy_(rows)
                bias.copy_(bias_rows)
            log(f"transplant: {kept} of {V} pieces kept their row, {V - kept} started from their old pieces' mean")
            earlier["revocab"] = {"kept_rows": kept, "new_rows": V - kept, "prior_words": PRIOR_WORDS, "prior_repeat": PRIOR_REPEAT,
                                  "from_steps": earlier["steps"], "from_heldout_top1_f16": earlier.get("heldout_top1_f16")}
    else:
        config = BertConfig(
            vocab_size=V, hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512,
            max_position_embeddings=MAX_LEN * 2, type_vocab_size=2, hidden_act="gelu",
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0,
        )
        model = BertForMaskedLM(config)
        earlier = {}
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters; validation top-1/top-5 {accuracy(model.eval(), tok, valid)}")
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.98), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / WARMUP) * max(0.05, 1 - s / MAX_STEPS))
    gen = torch.Generator().manual_seed(SEED + (1 if resume else 0))
    # Batches of similar length waste less time on padding.
    by_len = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    groups = [by_len[i:i + BATCH] for i in range(0, len(by_len), BATCH)]
    step, losses = 0, LossLog(clock)
    while step < MAX_STEPS and clock.minutes() < MAX_MINUTES:
        for g in torch.randperm(len(groups), generator=gen).tolist():
            inputs, mask, labels = mask_batch([seqs[i] for i in groups[g]], V, gen, content)
            if (labels != -100).sum() == 0:
                continue
            model.train()
            # The vocabulary projection only where a word is predicted (a quarter of the
            # positions): the same loss as BertForMaskedLM's, for a quarter of its largest product.
            hidden = model.bert(input_ids=inputs, attention_mask=mask).last_hidden_state
            picked = labels != -100
            logits = model.cls(hidden[picked])
            loss = torch.nn.functional.cross_entropy(logits, labels[picked])
            apply_update(model, opt, sched, loss)
            step += 1
            losses.add(step, loss)
            if step % 4000 == 0:
                log(f"step {step}: validation top-1/top-5 {accuracy(model.eval(), tok, valid)}")
            if step >= MAX_STEPS or clock.minutes() >= MAX_MINUTES:
                break
    train_minutes = clock.minutes()
    model.eval()

    if OUT.exists():
        shutil.rmtree(OUT)
    save_folder(model, hf_tok, OUT, {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"})
    metrics = {"seed": SEED, "parameters": n_params, "vocab_size": V, "steps": earlier.get("steps", 0) + step, "batch": BATCH,
               "train_minutes": round(earlier.get("train_minutes", 0) + train_minutes, 1)}
    if "revocab" in earlier:
        metrics["revocab"] = earlier["revocab"]
    if resume:
        metrics["stages"] = earlier.get("stages", [{"steps": earlier["steps"], "lr": 1e-3, "content_boost": 1, "minutes": earlier["train_minutes"]}])
        metrics["stages"].append({"steps": step, "lr": LR, "content_boost": CONTENT_BOOST, "minutes": round(train_minutes, 1),
                                  **({"new_vocabulary": True} if revocab else {})})
    evaluate(tok, train, heldout, clock, metrics, valid)


def evaluate(tok, train, heldout, clock, metrics, valid=None):
    """Reload the saved f16 folder and measure it on held-out sentences with one word masked (and on
    the validation items `valid`, when given)."""
    # Unigram baseline: always answer the most frequent content word of the training text.
    counts = collections.Counter()
    for s in train[:20000]:
        enc, words = whole_words(tok, s, content_only=True)
        counts.update(enc.tokens[i] for i in words)
    top_word = counts.most_common(1)[0][0]
    items = make_heldout(tok, heldout, random.Random(SEED))
    unigram_acc = sum(a == top_word for _, a in items) / len(items)
    log(f"held-out items: {len(items)}; unigram baseline '{top_word}': {unigram_acc:.3f}")
    f16 = load_f16(BertForMaskedLM, OUT)
    acc, acc5 = accuracy(f16, tok, items)
    if valid is not None:
        metrics["validation_top1_f16"], metrics["validation_top5_f16"] = accuracy(f16, tok, valid)
        metrics["validation"] = "one content word masked in each of the first 400 usable held-out sentences from the 3,001st on"
        log(f"validation top-1/top-5 (f16) {metrics['validation_top1_f16']}, {metrics['validation_top5_f16']}")
    log(f"f16 held-out top-1 {acc:.3f}, top-5 {acc5:.3f}; unigram baseline {unigram_acc:.3f} ('{top_word}')")
    heads = head_patterns(f16, tok, heldout[:200])
    samples = []
    for text in FILL_MASK:
        samples.append({"text": text, "top5": fill_mask(f16, tok, text)})
        log(f"  {samples[-1]}")
    with open(OUT / "heldout.tsv", "w") as f:
        for text, answer in items:
            f.write(f"{text}\t{answer}\n")
    write_metrics(OUT, {
        **metrics, "heldout_items": len(items), "heldout_top1_f16": acc, "heldout_top5_f16": acc5,
        "heldout_masked": "one content word (not a function word, 3+ letters) per held-out sentence",
        "heads": heads,
        "unigram_baseline_word": top_word, "unigram_baseline_top1": unigram_acc,
        "size_mb": round(folder_size_mb(OUT), 2), "versions": python_versions(), "samples": samples,
    })
    log(f"saved {OUT} ({folder_size_mb(OUT):.2f} MB) in {clock.minutes():.1f} min")


if __name__ == "__main__":
    main()
