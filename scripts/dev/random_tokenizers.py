#!/usr/bin/env python3
"""Random tokenizer.json pipelines, cut by transformers' AutoTokenizer and by `glassbox tokenize`.

Each pipeline is drawn from the components real checkpoints use (normalizers, pre-tokenizers,
BPE / WordPiece / Unigram / WordLevel models trained here on the repository's own text,
post-processors, decoders, added tokens with every flag), saved as a folder whose
tokenizer_config.json names a generic class (so transformers keeps the file's pipeline), and
compared on hostile texts: ids and character offsets must be equal.

Development only (needs `transformers` and `tokenizers`; no network); from the repository root
after `cargo build --release --bin glassbox`:
    python3 -P scripts/dev/random_tokenizers.py                  # 150 pipelines, seed 0
    python3 -P scripts/dev/random_tokenizers.py --count 400 --seed 7 --verbose
    python3 -P scripts/dev/random_tokenizers.py --keep /tmp/rt   # where to leave the failing folders
    python3 -P scripts/dev/random_tokenizers.py --minimize       # shrink each failing pipeline
Prints, per component, how many pipelines using it differed (or were refused) out of how many
drew it, then the totals. With --minimize every differing pipeline is shrunk (parts of it
dropped while the difference stays) and its smallest form printed, which names the culprit.
The seed fixes the components and the texts; the trained vocabularies may still differ from run to
run (the trainers break ties in hash order), so every folder that differed is left on disk.
"""
import argparse, copy, json, os, random, shutil, subprocess, sys, tempfile, warnings
from collections import Counter

warnings.filterwarnings("ignore")
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

transformers.logging.set_verbosity_error()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "target", "release", "glassbox")
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]", "<s>", "</s>"]

HOSTILE = [
    "", " ", "   ", "\n\n\t  \r\n", "Hello, world! It's 2026.", "  leading and trailing  ", "a  b   c    d",
    "naïve café — résumé", "e\u0301te\u0301 a\u0300\u0301\u0302 \u0301 lone mark", "ﬁ ligature Å ǅ Ⅻ ½ ²",
    "👩‍👩‍👧‍👦 family 🇫🇷🇩🇪 flags 👍🏽 skin", "مرحبا بالعالم 123", "עברית עם ניקוד שָׁלוֹם", "abc مرحبا def",
    "日本語のテキストと中文，标点。", "한국어 텍스트", "हिन्दी पाठ", "ไทยภาษา", "Ελληνικά και русский",
    "\x01\x07\x1b[0m control \x7f\x85", "\u200b\u200c\u200d\ufeff zero width", "\u00a0nbsp\u2009thin\u3000ideo",
    "x" * 250, "supercalifragilisticexpialidocious" * 4, "don't won't y'all'd've I'M", "123,456.78 and 1e-9 and ٣٤٥",
    "tab\there\nnewline\r\nCRLF", "UPPER lower MiXeD", "a-b-c--d---e", "___init___ __x", "<s> [CLS] </s> [SEP] [MASK]",
    "end.", ".start", "...", "!?!?", "İstanbul ǰ ß ẞ ΐ", "\U0001d400\U0001d41a math bold", "\ud7ff\ue000 private",
    "ΣΑΣ ΟΔΟΣ ǅungla ı", "a" + " " * 50 + "b", "\n" * 12 + "x", "\u1100\u1161\u11a8 jamo", "1\ufe0f\u20e3 #\ufe0f\u20e3 keycaps",
    "flag\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f tags", "abc 123 مرحبا 456 def", "a\u180eb \u2028line\u2029para",
    "x.y(z)[w]{v}*+?^$|\\", "$1 \\1 ${x}", "😀" * 30, "e" + "\u0301" * 20, "ﷺ ﷽ ㈱ ㌀", "\u0130i\u0307 \u1e9e",
]


def corpus():
    """Local text to train on: the bundled model's held-out text, the README and the docs."""
    paths = [os.path.join(ROOT, "models", "glassbox-gpt2", "heldout.txt"), os.path.join(ROOT, "README.md")]
    docs = os.path.join(ROOT, "docs")
    paths += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    lines = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            lines += [l.strip() for l in f if l.strip()]
    # A few hostile lines so some of their characters are in the vocabularies too.
    return lines + HOSTILE


def precompiled_charsmap():
    with open(os.path.join(ROOT, "tests", "fixtures", "tokenizers", "t5_unigram", "tokenizer.json"), encoding="utf-8") as f:
        return json.load(f)["normalizer"]["normalizers"][0]["precompiled_charsmap"]


# ---- random components: each returns (component, label) ----

def pick_pattern(r, kind):
    if r.random() < 0.4:
        s = r.choice([" ", "-", "a", "ab", "  ", "'", "é", "▁", ".", "(", "\\", "$"])
        return s, f"{kind}(str {s!r})"
    s = r.choice([r"\s+", r"\d+", r"[aeiou]", r"\p{L}+", r"'s|'t|'re", r"(?i:the)", r"\w+|[^\w\s]+", r"[\p{P}\p{S}]", r" ?\p{L}+| ?\p{N}+", r"^ ", r"\b", r"(?<=a)b", r"\s+(?!\S)", r"(?=a)", r"[^\s]+", r"\p{Lu}\p{Ll}*", r"\s", r"(\d)(\d)", r"'(?i:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}{1,3}",
                  r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
                  r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?", r"\p{N}", r"[一-龥ぁ-ゟ゠-ヿ]+"])
    return Regex(s), f"{kind}(re {s!r})"


def normalizer(r, charsmap):
    kind = r.choice(["NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip", "StripAccents", "Replace", "Prepend", "Bert", "Precompiled", "Nmt", "ByteLevel"])
    if kind == "ByteLevel": return normalizers.ByteLevel(), kind
    if kind == "NFC": return normalizers.NFC(), kind
    if kind == "NFD": return normalizers.NFD(), kind
    if kind == "NFKC": return normalizers.NFKC(), kind
    if kind == "NFKD": return normalizers.NFKD(), kind
    if kind == "Lowercase": return normalizers.Lowercase(), kind
    if kind == "Nmt": return normalizers.Nmt(), kind
    if kind == "StripAccents": return normalizers.StripAccents(), kind
    if kind == "Strip":
        left, right = r.choice([(True, True), (True, False), (False, True)])
        return normalizers.Strip(left=left, right=right), f"Strip(left={left},right={right})"
    if kind == "Replace":
        pattern, label = pick_pattern(r, "Replace")
        content = r.choice(["", " ", "▁", "#", "XY", "$1", "\\1"])
        return normalizers.Replace(pattern, content), f"{label}->{content!r}"
    if kind == "Prepend":
        p = r.choice(["▁", " ", "@@"])
        return normalizers.Prepend(p), f"Prepend({p!r})"
    if kind == "Precompiled":
        return normalizers.Precompiled(__import__("base64").b64decode(charsmap)), "Precompiled"
    opts = {k: r.choice([True, False]) for k in ["clean_text", "handle_chinese_chars", "lowercase"]}
    opts["strip_accents"] = r.choice([True, False, None])
    return normalizers.BertNormalizer(**opts), "Bert(" + ",".join(f"{k}={v}" for k, v in opts.items()) + ")"


def behaviour(r):
    return r.choice(["removed", "isolated", "merged_with_previous", "merged_with_next", "contiguous"])


def pre_tokenizer(r, byte_level_ok=True):
    kinds = ["Whitespace", "WhitespaceSplit", "Metaspace", "Split", "Punctuation", "Digits", "CharDelimiterSplit", "Bert"] + (["UnicodeScripts"] if r.random() < 0.3 else [])
    if byte_level_ok:
        kinds += ["ByteLevel", "ByteLevel"]
    kind = r.choice(kinds)
    if kind == "ByteLevel":
        a, u, t = (r.choice([True, False]) for _ in range(3))
        return pre_tokenizers.ByteLevel(add_prefix_space=a, use_regex=u, trim_offsets=t), f"ByteLevel(prefix={a},regex={u},trim={t})"
    if kind == "Whitespace": return pre_tokenizers.Whitespace(), kind
    if kind == "WhitespaceSplit": return pre_tokenizers.WhitespaceSplit(), kind
    if kind == "Bert": return pre_tokenizers.BertPreTokenizer(), kind
    if kind == "UnicodeScripts": return pre_tokenizers.UnicodeScripts(), kind
    if kind == "Metaspace":
        scheme, split, rep = r.choice(["always", "first", "never"]), r.choice([True, False]), r.choice(["▁", "_"])
        return pre_tokenizers.Metaspace(replacement=rep, prepend_scheme=scheme, split=split), f"Metaspace({rep!r},{scheme},split={split})"
    if kind == "Split":
        pattern, label = pick_pattern(r, "Split")
        b, inv = behaviour(r), r.random() < 0.3
        return pre_tokenizers.Split(pattern, behavior=b, invert=inv), f"{label},{b},invert={inv}"
    if kind == "Punctuation":
        b = behaviour(r)
        return pre_tokenizers.Punctuation(behavior=b), f"Punctuation({b})"
    if kind == "Digits":
        i = r.choice([True, False])
        return pre_tokenizers.Digits(individual_digits=i), f"Digits(individual={i})"
    d = r.choice(["-", " ", "a", "é"])
    return pre_tokenizers.CharDelimiterSplit(d), f"CharDelimiterSplit({d!r})"


def model_and_trainer(r, byte_level):
    kind = r.choice(["BPE", "BPE", "WordPiece", "Unigram", "WordLevel"])
    size = r.choice([120, 300, 800, 2000])
    alphabet = pre_tokenizers.ByteLevel.alphabet() if byte_level else []
    if kind == "BPE":
        prefix = r.choice([None, None, "##", "Ġ"])
        suffix = r.choice([None, None, "</w>"])
        unk = r.choice(["[UNK]", "[UNK]", None])
        opts = dict(unk_token=unk, continuing_subword_prefix=prefix, end_of_word_suffix=suffix,
                    fuse_unk=r.random() < 0.3, ignore_merges=r.random() < 0.3)
        extra = dict(byte_fallback=r.random() < 0.3)
        given = dict(continuing_subword_prefix=prefix, end_of_word_suffix=suffix, limit_alphabet=r.choice([None, 60]))
        t = trainers.BpeTrainer(vocab_size=size, special_tokens=SPECIALS, initial_alphabet=alphabet, show_progress=False, min_frequency=1,
                                **{k: v for k, v in given.items() if v is not None})
        label = "BPE(" + ",".join(f"{k}={v}" for k, v in {**opts, **extra}.items() if v) + ")"
        return models.BPE(**{k: v for k, v in opts.items() if v is not None}), t, label, extra
    if kind == "WordPiece":
        prefix = r.choice(["##", "##", "@@", ""])
        maxc = r.choice([100, 100, 12])
        t = trainers.WordPieceTrainer(vocab_size=size, special_tokens=SPECIALS, initial_alphabet=alphabet, show_progress=False, continuing_subword_prefix=prefix)
        return models.WordPiece(unk_token="[UNK]", continuing_subword_prefix=prefix, max_input_chars_per_word=maxc), t, f"WordPiece(prefix={prefix!r},max={maxc})", {}
    if kind == "Unigram":
        extra = dict(byte_fallback=r.random() < 0.3)
        t = trainers.UnigramTrainer(vocab_size=max(size, 200), special_tokens=SPECIALS, unk_token="[UNK]", initial_alphabet=alphabet, show_progress=False,
                                    max_piece_length=r.choice([16, 4]))
        return models.Unigram(), t, "Unigram(" + ("byte_fallback" if extra["byte_fallback"] else "") + ")", extra
    t = trainers.WordLevelTrainer(vocab_size=size, special_tokens=SPECIALS, show_progress=False)
    return models.WordLevel(unk_token="[UNK]"), t, "WordLevel", {}


def post_processor(r, byte_level):
    kind = r.choice(["none", "Template", "Template", "Bert", "Roberta", "ByteLevel", "Sequence"])
    cls, sep = ("[CLS]", "[SEP]") if r.random() < 0.5 else ("<s>", "</s>")
    if kind == "none": return None, "none"
    if kind == "Template" or (kind == "Sequence" and not byte_level):
        single = r.choice([f"{cls} $A {sep}", f"$A {sep}", f"{cls} $A", "$A", f"{cls} $A:1 {sep}:1", "[BOTH] $A"])
        pair = r.choice([f"{cls} $A {sep} $B:1 {sep}:1", f"$A {sep} $B", f"{cls}:2 $B:1 $A:3", "[BOTH] $A [BOTH] $B:1"])
        specials = [(cls, SPECIALS.index(cls)), (sep, SPECIALS.index(sep)), {"id": "[BOTH]", "ids": [5, 6], "tokens": ["<s>", "</s>"]}]
        tp = processors.TemplateProcessing(single=single, pair=pair, special_tokens=specials)
        return tp, f"Template({single!r}|{pair!r})"
    if kind == "Bert":
        return processors.BertProcessing((sep, SPECIALS.index(sep)), (cls, SPECIALS.index(cls))), "BertProcessing"
    t, a = r.choice([True, False]), r.choice([True, False])
    if kind == "Roberta":
        return processors.RobertaProcessing((sep, SPECIALS.index(sep)), (cls, SPECIALS.index(cls)), trim_offsets=t, add_prefix_space=a), f"Roberta(trim={t},prefix={a})"
    if kind == "ByteLevel":
        return processors.ByteLevel(trim_offsets=t, add_prefix_space=a), f"ByteLevelPost(trim={t},prefix={a})"
    tp = processors.TemplateProcessing(single=f"{cls} $A {sep}", pair=f"{cls} $A {sep} $B:1 {sep}:1", special_tokens=[(cls, SPECIALS.index(cls)), (sep, SPECIALS.index(sep))])
    return processors.Sequence([processors.ByteLevel(trim_offsets=t, add_prefix_space=a), tp]), f"Sequence(ByteLevelPost(trim={t},prefix={a}),Template)"


def decoder(r, label_model):
    kind = r.choice(["none", "ByteLevel", "WordPiece", "Metaspace", "BPEDecoder", "ByteFallback", "Fuse", "Strip", "Replace", "CTC", "Sequence"])
    d = {"none": None, "ByteLevel": decoders.ByteLevel(), "WordPiece": decoders.WordPiece(), "Metaspace": decoders.Metaspace(),
         "BPEDecoder": decoders.BPEDecoder(), "ByteFallback": decoders.ByteFallback(), "Fuse": decoders.Fuse(), "Strip": decoders.Strip(" ", 1, 0),
         "Replace": decoders.Replace("▁", " "), "CTC": decoders.CTC(),
         "Sequence": decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])}[kind]
    return d, f"decoder:{kind}"


ADDED = ["<x>", "hello", " wor", "ab", "[NEW]", "é", "the", "<|end|>", "ZWJ\u200d", "ing ", "日本", "  ", "Hello", "▁", "\n", "🙂", "1", "<x><y>"]


def added_tokens(r):
    out, labels = [], []
    for content in r.sample(ADDED, r.choice([0, 0, 1, 2, 3])):
        flags = {k: r.random() < 0.35 for k in ["single_word", "lstrip", "rstrip"]}
        flags["normalized"] = r.random() < 0.5
        special = r.random() < 0.4
        out.append((AddedToken(content, special=special, **flags), special))
        labels.append("added(" + ",".join([k for k, v in flags.items() if v] + (["special"] if special else [])) + ")")
    return out, labels


def build(seed, lines, charsmap):
    """One random pipeline: (Tokenizer, {stage: label})."""
    r = random.Random(seed)
    labels = {}
    norms = [normalizer(r, charsmap) for _ in range(r.choice([0, 1, 1, 2, 3]))]
    pres = [pre_tokenizer(r) for _ in range(r.choice([1, 1, 1, 2, 3]))]
    byte_level = any(l.startswith("ByteLevel") for _, l in pres)
    model, trainer, labels["model"], extra = model_and_trainer(r, byte_level)
    tok = Tokenizer(model)
    if norms:
        tok.normalizer = norms[0][0] if len(norms) == 1 and r.random() < 0.5 else normalizers.Sequence([n for n, _ in norms])
        labels["normalizer"] = " + ".join(l for _, l in norms)
    tok.pre_tokenizer = pres[0][0] if len(pres) == 1 and r.random() < 0.7 else pre_tokenizers.Sequence([p for p, _ in pres])
    labels["pre_tokenizer"] = " + ".join(l for _, l in pres)
    tok.train_from_iterator(lines, trainer=trainer)
    pp, labels["post_processor"] = post_processor(r, byte_level)
    if pp is not None:
        tok.post_processor = pp
    dec, labels["decoder"] = decoder(r, labels["model"])
    if dec is not None:
        tok.decoder = dec
    added, added_labels = added_tokens(r)
    for token, special in added:
        (tok.add_special_tokens if special else tok.add_tokens)([token])
    labels["added"] = " ".join(added_labels) or "none"
    j = json.loads(tok.to_str())
    if extra.get("byte_fallback"):
        # Byte fallback needs the <0xNN> pieces in the vocabulary, which the trainers do not add.
        vocab = j["model"]["vocab"]
        if isinstance(vocab, dict):
            for b in range(256):
                vocab.setdefault(f"<0x{b:02X}>", len(vocab))
        else:
            have = {p for p, _ in vocab}
            vocab += [[f"<0x{b:02X}>", -10.0] for b in range(256) if f"<0x{b:02X}>" not in have]
        j["model"]["byte_fallback"] = True
    return j, labels


def save(folder, tokenizer_json, class_name):
    """The folder; a `+types` class name also lists token_type_ids among the model's inputs (the
    generic class leaves them out, and then every type id is 0)."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json, f, ensure_ascii=False)
    config = {"tokenizer_class": class_name.removesuffix("+types")}
    if class_name.endswith("+types"):
        config["model_input_names"] = ["input_ids", "token_type_ids", "attention_mask"]
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f)


def texts_for(r, tokenizer_json):
    texts = list(HOSTILE)
    specials = [t["content"] for t in tokenizer_json["added_tokens"]]
    alphabet = "abcXYZthe 123.,!?'\"-_é日🙂\n\t\u0301\u200d  "
    for _ in range(25):
        parts = [r.choice(alphabet) for _ in range(r.randint(1, 20))]
        if specials and r.random() < 0.6:
            for _ in range(r.randint(1, 3)):
                parts.insert(r.randint(0, len(parts)), r.choice(specials))
        texts.append("".join(parts))
    # One long text of everything above, where a wrong offset early shifts every later one.
    texts.append("".join(r.choice(texts) + r.choice(["", " ", "\n", "  "]) for _ in range(60)))
    # Pairs go through the post-processor's pair template (type ids, offsets into the second text).
    texts += [(r.choice(texts), r.choice(texts)) for _ in range(12)]
    return texts


def in_child(fn, *args, limit=4 << 30, timeout=300):
    """fn(*args) in a forked child with bounded memory: `tokenizers` aborts the whole process on
    some pipelines (a 3 GB allocation, a panic across threads). None when the child died."""
    import pickle, resource, select, signal
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        # The panics' messages and backtraces would bury the report; the outcome says enough.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            data = pickle.dumps(("ok", fn(*args)))
        except BaseException as e:
            data = pickle.dumps(("error", f"{type(e).__name__}: {e}"[:300]))
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    chunks = []
    with os.fdopen(r, "rb") as f:
        if select.select([f], [], [], timeout)[0]:
            chunks.append(f.read())
        else:
            os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    if not chunks or not chunks[0]:
        return None
    return pickle.loads(chunks[0])


def reference(folder, texts):
    hf = AutoTokenizer.from_pretrained(folder)
    out = []
    for t in texts:
        try:
            e = hf(*(t if isinstance(t, tuple) else (t,)), return_offsets_mapping=True)
        except BaseException as e:  # `tokenizers` panics on some pipelines (a PanicException is no Exception)
            if isinstance(e, KeyboardInterrupt): raise
            out.append(None)
            continue
        out.append((e["input_ids"], [list(o) for o in e["offset_mapping"]], e.get("token_type_ids")))
    return out


def glassbox(folder, texts):
    args = [CLI, "tokenize", folder]
    for t in texts:
        args += ["--text", t[0], "--pair", t[1]] if isinstance(t, tuple) else ["--text", t]
    p = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return None, p.stderr.strip().splitlines()[-1][:300] if p.stderr.strip() else f"exit {p.returncode}"
    return [(c["ids"], [list(o) for o in c["offsets"]], c.get("type_ids")) for c in json.loads(p.stdout)["cases"]], None


def compare(folder, tokenizer_json, texts, class_name):
    """('skip' | 'refused' | 'differs' | 'same', detail)."""
    save(folder, tokenizer_json, class_name)
    result = in_child(reference, folder, texts)
    if result is None:
        return "skip", "transformers' process died"
    if result[0] == "error":
        return "skip", result[1]
    want = result[1]
    got, error = glassbox(folder, texts)
    if got is None:
        return "refused", error
    for t, w, g in zip(texts, want, got):
        # transformers leaves out the type ids when the tokenizer does not name them as a model
        # input; the CLI prints them for pairs only.
        if w is not None and ((w[0], w[1]) != (g[0], g[1]) or None not in (w[2], g[2]) and w[2] != g[2]):
            return "differs", (t, w, g)
    return "same", None


def without(j, path):
    """A copy of the pipeline with one part taken out (None when there is nothing to take)."""
    j = copy.deepcopy(j)
    stage, index = path
    if stage == "added_tokens":
        if index >= len(j["added_tokens"]): return None
        del j["added_tokens"][index]
        return j
    part = j.get(stage)
    if part is None: return None
    key = {"normalizer": "normalizers", "pre_tokenizer": "pretokenizers", "post_processor": "processors", "decoder": "decoders"}[stage]
    if index is None:
        j[stage] = None
    elif part.get("type") == "Sequence" and index < len(part[key]):
        del part[key][index]
    else:
        return None
    return j


def minimize(folder, j, text, class_name):
    """Drop parts while the text still differs; the smallest pipeline left names the culprit."""
    changed = True
    while changed:
        changed = False
        for stage in ["added_tokens", "decoder", "post_processor", "normalizer", "pre_tokenizer"]:
            for index in ([None] if stage != "added_tokens" else []) + list(range(8)):
                smaller = without(j, (stage, index))
                if smaller is None: continue
                status, _ = compare(folder, smaller, [text], class_name)
                if status in ("differs", "refused"):
                    j, changed = smaller, True
    return j


def summary(j):
    model = {k: v for k, v in j["model"].items() if k not in ("vocab", "merges")}
    return json.dumps({"normalizer": j.get("normalizer"), "pre_tokenizer": j.get("pre_tokenizer"), "model": model,
                       "post_processor": j.get("post_processor"), "added": [{k: v for k, v in t.items() if k != "id"} for t in j["added_tokens"] if not t["content"] in SPECIALS]},
                      ensure_ascii=False)


def main():
    global CLI
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start", type=int, default=0, help="first pipeline number (to rerun one: --start N --count 1)")
    ap.add_argument("--keep", help="write the folders here (default: a new temporary folder); those that pass are removed")
    ap.add_argument("--minimize", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--cli", help="the glassbox binary to check (default: target/release/glassbox)")
    args = ap.parse_args()
    CLI = args.cli or CLI
    work = args.keep or tempfile.mkdtemp(prefix="glassbox-randtok-")
    lines, charsmap = corpus(), precompiled_charsmap()
    used, bad = Counter(), Counter()
    totals = Counter()
    for n in range(args.start, args.start + args.count):
        seed = args.seed * 100_000 + n
        built = in_child(build, seed, lines, charsmap)
        if built is None or built[0] == "error":  # a trainer that cannot fit the alphabet into the vocabulary drawn
            totals["untrainable"] += 1
            if args.verbose: print(f"untrainable p{seed}: {built and built[1]}")
            continue
        j, labels = built[1]
        class_name = ("PreTrainedTokenizerFast" if n % 2 else "TokenizersBackend") + ("+types" if n % 3 == 0 else "")
        folder = os.path.join(work, f"p{seed}")
        texts = texts_for(random.Random(seed), j)
        status, detail = compare(folder, j, texts, class_name)
        totals[status] += 1
        for stage, label in labels.items():
            for part in label.split(" + ") if stage != "added" else label.split(" "):
                used[f"{stage}: {part}"] += 1
                if status in ("differs", "refused"):
                    bad[f"{stage}: {part}"] += 1
        if status == "same":
            shutil.rmtree(folder, ignore_errors=True)
            continue
        if status == "skip":
            if args.verbose: print(f"skip p{seed}: transformers cannot load it: {detail}")
            continue
        print(f"{status.upper()} p{seed}: {labels}")
        if status == "refused":
            print("   ", detail)
        else:
            t, w, g = detail
            print(f"    text {t!r:.80}\n    want {w[0][:16]} {w[1][:8]}\n    got  {g[0][:16]} {g[1][:8]}")
            if args.minimize:
                small = minimize(folder + "-min", j, t, class_name)
                save(folder + "-min", small, class_name)
                print("    minimal:", summary(small)[:1500])
            print("    folder:", folder)
    print("\nper component: differing-or-refused / drawn")
    for key in sorted(used, key=lambda k: (-bad[k] / used[k], k)):
        if bad[key] or args.verbose:
            print(f"  {bad[key]:4d} / {used[key]:<4d} {key}")
    print("\ntotals:", dict(totals), f"(of {args.count}; skip = transformers cannot load the pipeline)")
    print("the folders that differed or were refused are in", work)


if __name__ == "__main__":
    main()
