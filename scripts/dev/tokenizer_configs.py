#!/usr/bin/env python3
"""Compare `glassbox tokenize` with transformers 5's AutoTokenizer on tokenizer folders whose
config files change what tokenizer.json says (named special tokens, added_tokens_decoder,
split_special_tokens, special_tokens_map.json; tokenizer_class against config.json's model_type).

Development only (needs `transformers`); run from the repository root after `cargo build --release`:
    python3 -P scripts/dev/tokenizer_configs.py --random 1000   # random special-token configurations
    python3 -P scripts/dev/tokenizer_configs.py --classes       # fixture files x model types x classes
Prints the configurations whose ids or offsets differ and a count; a folder transformers cannot
load is skipped, one Glassbox refuses is counted as refused.
"""
import argparse, json, os, random, shutil, subprocess, sys, tempfile, warnings

warnings.filterwarnings("ignore")
import transformers
from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers
from transformers import AutoTokenizer

transformers.logging.set_verbosity_error()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(ROOT, "target", "release", "glassbox")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
WORK = tempfile.mkdtemp(prefix="glassbox-tokcfg-")


def glassbox(folder, texts):
    args = [CLI, "tokenize", folder]
    for t in texts:
        args += ["--text", t]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip()
    return json.loads(out.stdout)["cases"], None


def compare(folder, texts, label):
    """'skip' (transformers cannot load it), 'refused', 'same' or 'differs'."""
    try:
        hf = AutoTokenizer.from_pretrained(folder)
        wanted = [hf(t, return_offsets_mapping=True) for t in texts]
    except Exception:
        return "skip"
    cases, error = glassbox(folder, texts)
    if cases is None:
        print("refused", label, type(hf).__name__, error[:120])
        return "refused"
    for t, w, c in zip(texts, wanted, cases):
        if w["input_ids"] != c["ids"] or [list(o) for o in w["offset_mapping"]] != [list(o) for o in c["offsets"]]:
            print("DIFFERS", label, type(hf).__name__, repr(t)[:40], hf.convert_ids_to_tokens(w["input_ids"])[:10], c["tokens"][:10])
            return "differs"
    return "same"


VOCAB = ["[UNK]", "hello", "world", "</s>", "<s>", "<a>", "<b>", "x", "y", "<|im_end|>", "[new]", "."]
CANDIDATES = ["</s>", "<s>", "<a>", "<b>", "<|im_end|>", "<new>", "[NEW]", "<m>", "<z>"]
RANDOM_TEXTS = ["hello</s>", "hello <s> world", "<a><a> x", "  <b>  y ", "<|im_end|>hello", "HELLO [NEW] world", "x <m>y <z> <new>", "[new] . hello  </s>  "]


def random_folder(seed):
    r = random.Random(seed)
    token = lambda: AddedToken(r.choice(CANDIDATES), special=r.random() < .5, normalized=r.random() < .4, lstrip=r.random() < .3, rstrip=r.random() < .3, single_word=r.random() < .1)
    flags = lambda t: {"content": t.content, "special": t.special, "normalized": t.normalized, "lstrip": t.lstrip, "rstrip": t.rstrip, "single_word": t.single_word}
    tok = Tokenizer(models.WordLevel({v: i for i, v in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if r.random() < .4:
        tok.normalizer = normalizers.Lowercase()
    for _ in range(r.randint(0, 3)):
        a = token()
        (tok.add_special_tokens if a.special else tok.add_tokens)([a])
    d = os.path.join(WORK, f"random{seed}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tok.save(os.path.join(d, "tokenizer.json"))
    cfg = {}
    for role in ["bos_token", "eos_token", "unk_token", "pad_token", "mask_token", "image_token"]:
        if r.random() < .3:
            c = r.choice(CANDIDATES + ["[UNK]", "hello"])
            cfg[role] = c if r.random() < .8 else {"__type": "AddedToken", **flags(token()), "content": c}
    if r.random() < .3:
        cfg[r.choice(["extra_special_tokens", "additional_special_tokens"])] = r.sample(CANDIDATES, r.randint(1, 3))
    if r.random() < .3:
        cfg["added_tokens_decoder"] = {str(r.randint(3, 15)): flags(token()) for _ in range(r.randint(1, 2))}
    if r.random() < .15:
        cfg["split_special_tokens"] = True
    json.dump(cfg, open(os.path.join(d, "tokenizer_config.json"), "w"))
    if r.random() < .2:
        json.dump({"eos_token": r.choice(CANDIDATES)}, open(os.path.join(d, "special_tokens_map.json"), "w"))
    return d


CLASS_FILES = ["tokenizers/wordpiece_cased", "tokenizers/wordpiece_stripped", "models/distilbert", "tokenizers/gpt2", "models/qwen2",
               "tokenizers/roberta_bpe", "tokenizers/llama_bpe_bytes", "tokenizers/t5_unigram", "tokenizers/albert_unigram", "tokenizers/bert_uncased",
               "models/xlm_roberta", "models/gemma3"]
MODEL_TYPES = [None, "qwen2", "qwen3", "llama", "t5", "gpt2", "mistral", "bert", "distilbert", "roberta", "bart", "xlm-roberta", "gemma3_text"]
CLASS_CONFIGS = [{}, {"tokenizer_class": "TokenizersBackend"}, {"tokenizer_class": "LlamaTokenizerFast"}, {"tokenizer_class": "T5Tokenizer", "extra_ids": 2},
                 {"tokenizer_class": "Qwen2Tokenizer", "add_prefix_space": True}, {"tokenizer_class": "GPT2Tokenizer", "eos_token": "<|endoftext|>"},
                 {"tokenizer_class": "BertTokenizer", "do_lower_case": False}, {"tokenizer_class": "BertTokenizerFast", "strip_accents": False},
                 {"tokenizer_class": "RobertaTokenizer", "add_prefix_space": True}, {"tokenizer_class": "BartTokenizerFast", "trim_offsets": False},
                 {"tokenizer_class": "DistilBertTokenizer"}, {"tokenizer_class": "XLMRobertaTokenizer"},
                 {"tokenizer_class": "XLMRobertaTokenizerFast", "add_prefix_space": False, "bos_token": "</s>"}, {"tokenizer_class": "GemmaTokenizer"}]
CLASS_TEXTS = ["", " hi", "Hello   world  with   runs", "In 2024 I'M here, 1,000 times.", "x\n\ny\r\nz", "Café naïve ÅNGSTRÖM",
               "<|endoftext|>a<|endoftext|>", "a</s>b <s> <unk> <pad> [CLS] [MASK]", "日本語 and emoji 👍🏽"]


def class_folder(src, model_type, cfg):
    d = os.path.join(WORK, "class")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    shutil.copy(os.path.join(FIXTURES, src, "tokenizer.json"), d)
    config_path = os.path.join(FIXTURES, src, "tokenizer_config.json")
    base = json.load(open(config_path)) if os.path.exists(config_path) else {}
    base.pop("tokenizer_class", None)
    base.update(cfg)
    json.dump(base, open(os.path.join(d, "tokenizer_config.json"), "w"))
    if model_type:
        json.dump({"model_type": model_type}, open(os.path.join(d, "config.json"), "w"))
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", type=int, default=0, help="this many random special-token configurations")
    ap.add_argument("--classes", action="store_true", help="every fixture file x model type x class configuration")
    args = ap.parse_args()
    if not os.path.exists(CLI):
        sys.exit(f"{CLI} is missing: run cargo build --release first")
    tally = {"same": 0, "differs": 0, "refused": 0, "skip": 0}
    for seed in range(args.random):
        tally[compare(random_folder(seed), RANDOM_TEXTS, f"random seed {seed}")] += 1
    if args.classes:
        for src in CLASS_FILES:
            for mt in MODEL_TYPES:
                for cfg in CLASS_CONFIGS:
                    tally[compare(class_folder(src, mt, cfg), CLASS_TEXTS, f"{src} model_type={mt} {cfg}")] += 1
    print(f"{sum(tally.values()) - tally['skip']} configurations: {tally['same']} same ids and offsets, "
          f"{tally['differs']} differ, {tally['refused']} refused by Glassbox ({tally['skip']} transformers cannot load)")
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
