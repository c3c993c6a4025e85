#!/usr/bin/env python3
"""Cross-check `glassbox tokenize` against Hugging Face `transformers`' AutoTokenizer (the
contract: tokenizer.json plus what tokenizer_config.json and config.json change) on texts no
fixture holds.

Development only (needs `transformers`); run from the repository root after `cargo build --release`:
    python3 -P scripts/dev/crosscheck_tokenizers.py tests/fixtures/tokenizers/* tests/fixtures/models/t5_tiny
Prints, per tokenizer folder, how many texts gave different ids or offsets (0 is the goal).
"""
import json, subprocess, sys, random, warnings
warnings.filterwarnings("ignore")
import transformers
from transformers import AutoTokenizer
transformers.logging.set_verbosity_error()
texts = ["Hello, world! It's 2026.", "naïve café — résumé", "  leading and trailing  ", "tab\there\nnewline\r\nCRLF",
 "日本語のテキストと中文", "emoji 👩‍👩‍👧 and 🇫🇷 flags", "x"*300, "Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ", "don't won't y'all'd've",
 "ﬁ ligature and Å and ǅ", "<|endoftext|> mid <|endoftext|>", "[CLS] [MASK] [SEP] [PAD]", "\u200b\u200d\ufeffzero width",
 "123,456.78 and 1e-9", "Ελληνικά και русский", "مرحبا بالعالم", "हिन्दी पाठ", "a\u0301e\u0300", "\x01\x07 control", "", " ", "   \n\n  "]
rng = random.Random(1)
alphabet = "abcXYZ 123.,!?'\"-_é日🙂\n\t\u0301"
for _ in range(40):
    texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))))
for d in sys.argv[1:]:
    try:
        hf = AutoTokenizer.from_pretrained(d)
    except Exception as e:  # a deliberately broken fixture folder
        print(d, "skipped: transformers cannot load it:", str(e)[:80])
        continue
    args = ["target/release/glassbox", "tokenize", d]
    for t in texts: args += ["--text", t]
    run = subprocess.run(args, capture_output=True, text=True)
    if run.returncode != 0:  # a refusal is reported, not a crash of the whole sweep
        print(d, "refused:", run.stderr.strip().splitlines()[-1][:160] if run.stderr.strip() else f"exit {run.returncode}")
        continue
    out = json.loads(run.stdout)
    bad = 0
    for t, case in zip(texts, out["cases"]):
        e = hf(t, return_offsets_mapping=True)
        ids, offsets = e["input_ids"], [list(o) for o in e["offset_mapping"]]
        if ids != case["ids"] or offsets != [list(o) for o in case["offsets"]]:
            bad += 1
            if bad < 4: print("MISMATCH", d, repr(t)[:60], ids[:12], case["ids"][:12], offsets[:5], case["offsets"][:5])
    print(d, "mismatches:", bad, "of", len(texts))
