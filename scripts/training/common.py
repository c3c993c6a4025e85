"""What the three training scripts share: seeding, timing, saving a model folder in f16."""

import functools
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
MODELS = ROOT / "models"


# Function words: what a fill-mask test leaves unmasked when it asks for content words.
FUNCTION_WORDS = set("""
a an the this that these those some any each every no all both either neither such what which who whom whose
i me my mine you your yours he him his she her hers it its we us our ours they them their theirs one ones
myself yourself himself herself itself ourselves themselves there here
and or but nor so yet for if then than because while although though as when where whether until unless since
of to in on at by with from into onto upon about above below over under between among through during before
after against without within along across behind beyond toward towards around off out up down near
is am are was were be been being have has had having do does did doing will would shall should can could may
might must ought not also very too just only even still more most much many few less least other another same
own s t don now how why let
""".split())


def prior_lines(words, repeat, capitals=0):
    """The tokenizer's word-frequency prior: one line per word of everyday_words(words) (the commonest
    everyday English words), the word said `repeat` times, so the trainer counts it as `repeat`
    words of text. The `capitals` words of prior_starts are also said capitalised, as they begin a
    sentence: `repeat` lines of the word alone (a byte-level BPE sees a sentence's first word
    without the space before it) and a line of it said `repeat` times (with the space: a name, a
    title). Without them a prior of lower-case words takes the merges that kept "She" and "When"
    whole at the start of a prompt."""
    if not words:
        return []
    lines = [" ".join([w] * repeat) for w in everyday_words(words)]
    for w in [w.capitalize() for w in prior_starts(capitals)]:
        lines += [w] * repeat + [" ".join([w] * repeat)]
    return lines


def prior_starts(n):
    """The n commonest English words (wordfreq, two letters or more) that start sentences once
    capitalised: *The*, *She*, *When*."""
    from wordfreq import top_n_list
    return [w for w in top_n_list("en", 4 * n + 100) if w.isascii() and w.isalpha() and w.islower() and len(w) >= 2][:n]


# Where the everyday-word list (everyday_words) looks words up: Debian's `scowl` package (SCOWL's
# graded English word lists, Kevin Atkinson, a permissive licence: use, copy, modify, distribute) and
# `wordnet-base` (Princeton WordNet 3.0's index files, the WordNet licence: the same freedoms).
SCOWL = Path("/usr/share/dict/scowl")
WORDNET = Path("/usr/share/wordnet")


# How many of wordfreq's commonest words everyday_words may take as inflected forms: 0 in the shipped
# recipe (see there); scripts/dev/vocab_prior.py --inflections sets it to measure the other choice.
INFLECTIONS = 0


def everyday_words(n, head=2000, inflections=None):
    """A fresh list of _everyday_words(n, head, inflections), `inflections` INFLECTIONS unless given
    (a tokenizer build asks twice: for the trainer's prior and for the words it completes)."""
    return list(_everyday_words(n, head, INFLECTIONS if inflections is None else inflections))


@functools.lru_cache(maxsize=None)
def _everyday_words(n, head, inflections):
    """The n words a bundled vocabulary keeps whole first, commonest first: wordfreq's English list
    (lower-case ASCII letters, two or more), its `head` commonest as they are (function words and
    their common inflections: *was*, *said*, *years*), then only ordinary words, i.e. words in SCOWL's
    common lists (sizes 10 to 40, American and British spellings: no names, abbreviations or rare
    words) that are a WordNet lemma (a noun, verb, adjective or adverb as a dictionary lists it:
    *giraffe*, *jump*) or, among wordfreq's `inflections` commonest, an inflected form of one
    (*jumped*, *swam*: `lemmas_of`). Sorting by wordfreq alone spends a third of the entries on names,
    web words and forms nobody would call a word, and a 16,000-entry vocabulary then keeps 6 in 10
    words of a list like tests/fixtures/words/everyday-fourth.txt whole instead of 8.

    The bundled vocabularies use no inflected forms (`inflections=0`): at their sizes every form let
    in pushes a rarer dictionary word out. Measured with scripts/dev/vocab_prior.py on the GPT-2's
    recipe, forms among the 5,000 commonest words bring everyday-sixth.txt (story verbs in the past
    tense) from 89.3% to 92.7% and SCOWL's size-10 list from 78.0% to 85.5%, and take
    everyday-third.txt from 91.0% to 89.1% and everyday-fourth.txt from 80.5% to 77.1%, under the 80%
    the vocabularies are held to; more forms, or a longer list, cost more."""
    missing = [p for p in (SCOWL / "english-words.35", WORDNET / "index.noun") if not p.exists()]
    if missing:
        sys.exit(f"{', '.join(map(str, missing))} missing: apt-get install scowl wordnet-base")
    common = set()
    for size in (10, 20, 35, 40):
        for kind in ("english-words", "american-words", "british-words"):
            path = SCOWL / f"{kind}.{size}"
            if path.exists():
                common.update(line.strip() for line in open(path, encoding="latin-1"))
    lemmas = set()
    for pos in ("noun", "verb", "adj", "adv"):
        lemmas.update(line.split(" ", 1)[0] for line in open(WORDNET / f"index.{pos}") if not line.startswith(" "))
    ordinary = common & lemmas
    irregular = wordnet_exceptions() if inflections else {}
    from wordfreq import top_n_list
    out, seen = [], set()
    for rank, w in enumerate(top_n_list("en", 200_000)):
        if len(out) == n:
            break
        if w in seen or len(w) < 2 or not (w.isascii() and w.isalpha() and w.islower()):
            continue
        if rank < head or w in ordinary or (rank < inflections and w in common and lemmas_of(w, irregular) & ordinary):
            seen.add(w)
            out.append(w)
    return tuple(out)


# WordNet's rules for taking an ending off (its `morphy`): nouns, verbs, adjectives.
ENDINGS = [("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
           ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""),
           ("er", ""), ("est", ""), ("er", "e"), ("est", "e")]


def wordnet_exceptions():
    """WordNet's irregular forms (`verb.exc`, `noun.exc`, `adj.exc`: *swam swim*, *mice mouse*), form -> bases."""
    out = {}
    for pos in ("noun", "verb", "adj"):
        for line in open(WORDNET / f"{pos}.exc"):
            form, *bases = line.split()
            out.setdefault(form, set()).update(bases)
    return out


def lemmas_of(word, irregular):
    """The dictionary forms `word` may be an inflection of: WordNet's irregular forms, then an ending
    taken off by its rules, with a doubled last consonant undone too (*hopped* -> *hopp* -> *hop*).
    Candidates only: the caller keeps those that are lemmas."""
    out = set(irregular.get(word, ()))
    for ending, put in ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 1:
            stem = word[: -len(ending)] + put
            out.add(stem)
            if put == "" and len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                out.add(stem[:-1])
    out.discard(word)
    return out


def complete_bpe(tok, pieces, size):
    """A byte-level BPE (a trained `tokenizers.Tokenizer`) grown to `size` entries by merges that make
    each of `pieces` (in the model's alphabet: "\u0120giraffe" is " giraffe"; in order, most wanted
    first) one token: a piece the merges so far cut into k parts gets k - 1 new merges at the end of
    the list, joining its parts left to right. Merges added later rank after it, so they never undo
    it. A piece that would take the vocabulary past `size` is skipped. Returns a new Tokenizer and
    how many pieces were completed."""
    from tokenizers import Tokenizer
    model = json.loads(tok.to_str())
    vocab = model["model"]["vocab"]
    merges = [m.split(" ") if isinstance(m, str) else list(m) for m in model["model"]["merges"]]
    rank = {(a, b): r for r, (a, b) in enumerate(merges)}

    def cut(piece):
        parts = list(piece)
        while len(parts) > 1:
            r, i = min((rank.get((parts[i], parts[i + 1]), 1 << 60), i) for i in range(len(parts) - 1))
            if r == 1 << 60:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return parts

    completed = 0
    for piece in pieces:
        parts = cut(piece)
        new = [p for p in (parts[0] + "".join(parts[1:j + 1]) for j in range(1, len(parts))) if p not in vocab]
        if len(parts) == 1 or len(vocab) + len(new) > size:
            continue
        joined = parts[0]
        for part in parts[1:]:
            # A pair the list already has keeps its place (it applies as soon as `joined` exists);
            # listing it twice would move its rank for every other word.
            if (joined, part) not in rank:
                rank[(joined, part)] = len(merges)
                merges.append([joined, part])
            joined += part
            vocab.setdefault(joined, len(vocab))
        completed += 1
    model["model"]["merges"] = merges
    grown = Tokenizer.from_str(json.dumps(model))
    assert grown.get_vocab_size() == len(vocab) <= size
    return grown, completed


@torch.no_grad()
def moved_rows(tables, old_tok, new_tok):
    """Trained tables indexed by the old vocabulary ([V_old] or [V_old][D]: embeddings, an output
    bias) moved onto a new one: a piece both vocabularies have keeps its row; a new piece (mostly a
    whole word the old vocabulary cut) starts as the mean of the rows of the old pieces it is cut
    into. Returns the [V_new](...) tables, in order, and how many pieces kept their row."""
    old_vocab, wordpiece = old_tok.get_vocab(), type(old_tok.model).__name__ == "WordPiece"
    sources = [None] * new_tok.get_vocab_size()  # per new piece, the old ids whose rows make its row
    for piece, i in new_tok.get_vocab().items():
        if piece in old_vocab:
            sources[i] = [old_vocab[piece]]
        else:
            # The old model alone (no pre-tokenizer) on the piece's characters: byte-level for BPE; for a
            # WordPiece "##" piece, its letters, cut as a word would be.
            text = piece[2:] if wordpiece and piece.startswith("##") and len(piece) > 2 else piece
            sources[i] = [t.id for t in old_tok.model.tokenize(text)]
    kept = sum(piece in old_vocab for piece in new_tok.get_vocab())
    return [torch.stack([table[ids].mean(0) for ids in sources]) for table in tables], kept


def setup(seed):
    """One thread (the machine is shared), fixed seeds, deterministic kernels."""
    torch.set_num_threads(int(os.environ.get("GLASSBOX_THREADS", "1")))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def require_corpus(*paths):
    for p in paths:
        if not (DATA / p).exists():
            raise SystemExit(f"{DATA / p} is missing: run `python scripts/training/build_corpus.py` first")


class Clock:
    def __init__(self):
        self.start = time.time()

    def minutes(self):
        return (time.time() - self.start) / 60


def log(msg):
    print(msg, flush=True)


def apply_update(model, opt, sched, loss):
    """One training update, the same in every script: backward, clip the gradient norm at 1, then a
    step of the optimizer and of the learning-rate schedule."""
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()


class LossLog:
    """The training loss smoothed over about 20 steps, printed every `every` steps."""

    def __init__(self, clock, every=100):
        self.clock, self.every, self.value = clock, every, None

    def add(self, step, loss, what="loss"):
        v = loss.item()
        self.value = v if self.value is None else 0.95 * self.value + 0.05 * v
        if step % self.every == 0:
            log(f"step {step}: {what} {self.value:.3f} ({self.clock.minutes():.1f} min)")


def save_folder(model, hf_tokenizer, out_dir, special_tokens_map):
    """Save config + f16 safetensors + tokenizer files, the folder layout any HF checkpoint has."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ["model.safetensors", "pytorch_model.bin", "generation_config.json"]:
        (out_dir / stale).unlink(missing_ok=True)
    half = model.half()
    half.save_pretrained(out_dir, safe_serialization=True)
    model.float()
    (out_dir / "generation_config.json").unlink(missing_ok=True)
    hf_tokenizer.save_pretrained(out_dir)
    compact_json(out_dir / "tokenizer.json")
    # transformers 5 no longer writes special_tokens_map.json; older readers (and Glassbox) use it.
    (out_dir / "special_tokens_map.json").write_text(json.dumps(special_tokens_map, indent=2) + "\n")
    for extra in ["chat_template.jinja"]:
        (out_dir / extra).unlink(missing_ok=True)


def compact_json(path):
    """Rewrite a JSON file without indentation: the same content, about half the bytes for a
    tokenizer.json (its merges are written one piece per line). A BPE's merges are written as
    "a b" strings, the older of the two forms tokenizers reads (a byte-level BPE's pieces have no
    spaces): 5 bytes a merge fewer than ["a","b"] pairs, 80 KB of a 17,000-piece tokenizer.json."""
    path = Path(path)
    content = json.loads(path.read_text())
    merges = (content.get("model") or {}).get("merges")
    if merges and all(isinstance(m, list) and " " not in m[0] + m[1] for m in merges):
        content["model"]["merges"] = [f"{a} {b}" for a, b in merges]
    path.write_text(json.dumps(content, ensure_ascii=False, separators=(",", ":")) + "\n")


def load_f16(model_class, out_dir):
    """Reload the saved folder the way any checkpoint is loaded, computing in f32 (as Glassbox does)."""
    model = model_class.from_pretrained(out_dir, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return model


def folder_size_mb(out_dir):
    return sum(f.stat().st_size for f in Path(out_dir).iterdir() if f.is_file()) / 1e6


def write_metrics(out_dir, metrics):
    Path(out_dir, "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def python_versions():
    import tokenizers
    import transformers
    return f"python {sys.version.split()[0]}, torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}"
