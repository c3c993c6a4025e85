#!/usr/bin/env python3
"""Cross-check `glassbox tokenize` against Hugging Face `tokenizers` on texts no fixture holds.

Development only (needs `tokenizers`); run from the repository root after `cargo build --release`:
    python3 -P scripts/dev/crosscheck_tokenizers.py tests/fixtures/tokenizers/* tests/fixtures/models/t5_tiny
Prints, per tokenizer folder, how many texts gave different ids or offsets (0 is the goal).
"""
import json, subprocess, sys, random
from tokenizers import Tokenizer
texts = ["Hello, world! It's 2026.", "naïve café — résumé", "  leading and trailing  ", "tab\there\nnewline\r\nCRLF",
 "日本語のテキストと中文", "emoji 👩‍👩‍👧 and 🇫🇷 flags", "x"*300, "Ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ", "don't won't y'all'd've",
 "ﬁ ligature and Å and ǅ", "<|endoftext|> mid <|endoftext|>", "[CLS] [MASK] [SEP] [PAD]", "\u200b\u200d\ufeffzero width",
 "123,456.78 and 1e-9", "Ελληνικά και русский", "مرحبا بالعالم", "हिन्दी पाठ", "a\u0301e\u0300", "\x01\x07 control", "", " ", "   \n\n  "]
rng = random.Random(1)
alphabet = "abcXYZ 123.,!?'\"-_é日🙂\n\t\u0301"
for _ in range(40):
    texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))))
for d in sys.argv[1:]:
    hf = Tokenizer.from_file(f"{d}/tokenizer.json")
    hf.no_padding(); hf.no_truncation()
    args = ["target/release/glassbox", "tokenize", d]
    for t in texts: args += ["--text", t]
    out = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    bad = 0
    for t, case in zip(texts, out["cases"]):
        e = hf.encode(t)
        if e.ids != case["ids"] or [list(o) for o in e.offsets] != [list(o) for o in case["offsets"]]:
            bad += 1
            if bad < 4: print("MISMATCH", d, repr(t)[:60], e.ids[:12], case["ids"][:12], e.offsets[:5], case["offsets"][:5])
    print(d, "mismatches:", bad, "of", len(texts))
