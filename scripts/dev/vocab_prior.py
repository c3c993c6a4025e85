"""How broad a vocabulary of a given size can be: train the bundled models' tokenizers on the training
sentences, optionally with a word-frequency prior, and print how many words of each list they keep whole.

    python scripts/dev/vocab_prior.py gpt2 16000 --base 16000          # the training sentences alone (the first recipe)
    python scripts/dev/vocab_prior.py gpt2 16000 --base 16000 --prior 15000 --repeat 100  # + a prior, trainer only
    python scripts/dev/vocab_prior.py gpt2 17000 --base 12000 --prior 13000 --repeat 300 --capitals 300 --fourth
    python scripts/dev/vocab_prior.py bert 13000 --base 2000 --prior 14000 --repeat 1000 --fourth
                                    # (these two are what train_gpt2.py / train_bert.py use)

The trainer learns `--base` entries; the rest, up to the vocabulary's size, are the prior's words made
whole in order (train_gpt2.train_tokenizer, train_bert.train_tokenizer).

The tokenizer is the training scripts' own (`train_gpt2.train_tokenizer`, `train_bert.train_tokenizer`), so
what is measured here is what they ship. Development-time only: needs `data/` (scripts/training/build_corpus.py)
and scripts/training/requirements.txt (wordfreq's word lists are CC BY-SA 4.0: a vocabulary chosen with them
should credit it). With
Debian's `scowl` package installed, SCOWL's size-10 and size-20 lists are measured too. A word is kept whole
when "the WORD" gives it one token, as in tests/rust/support/words.rs; tokens/word is over the first 3,000
held-out sentences (a broader vocabulary spends pieces on words this corpus rarely has).
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts/training"))
SCOWL = Path("/usr/share/dict/scowl")


def word_list(path, lowercase_words_only=False):
    out, seen = [], set()
    for line in open(path):
        if line.startswith("#"):
            continue
        for w in line.split():
            if lowercase_words_only and not (w.isalpha() and w.islower() and len(w) >= 3):
                continue
            if w not in seen:
                seen.add(w)
                out.append(w)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["gpt2", "bert"])
    ap.add_argument("vocab_size", type=int)
    ap.add_argument("--base", type=int, default=None, help="entries the trainer learns (the rest are completed words)")
    ap.add_argument("--prior", type=int, default=0, help="add the N commonest everyday English words (common.everyday_words)")
    ap.add_argument("--repeat", type=int, default=100, help="how many times each prior word is seen")
    ap.add_argument("--capitals", type=int, default=0, help="gpt2: also the N commonest words capitalised, as a sentence starts")
    ap.add_argument("--fourth", action="store_true", help="measure everyday-fourth.txt too (kept out of any choice made with this script)")
    ap.add_argument("--inflections", type=int, default=0, help="let the prior's list take inflected forms among wordfreq's N commonest (common.everyday_words)")
    ap.add_argument("--also", nargs="*", default=[], help="more lists of tests/fixtures/words/ to measure (names without .txt)")
    args = ap.parse_args()

    lines = lambda name: [l for l in open(ROOT / "data/english" / name).read().splitlines() if l.strip()]
    train, held = lines("train.txt"), lines("heldout.txt")[:3000]
    lists = {n: word_list(ROOT / "tests/fixtures/words" / f"{n}.txt")
             for n in ["frequent", "everyday", "everyday-more", "everyday-third"] + (["everyday-fourth"] if args.fourth else []) + args.also}
    for size in (10, 20):
        if (SCOWL / f"english-words.{size}").exists():
            lists[f"scowl-{size}"] = word_list(SCOWL / f"english-words.{size}", lowercase_words_only=True)

    import common

    common.INFLECTIONS = args.inflections  # what the training scripts' everyday_words calls then use
    if args.kind == "gpt2":
        import train_gpt2

        tok, _ = train_gpt2.train_tokenizer(train, args.vocab_size, args.prior, args.repeat, args.capitals, args.base or args.vocab_size)
    else:
        import train_bert

        tok = train_bert.train_tokenizer(train, args.vocab_size, args.prior, args.repeat, args.base or args.vocab_size)
    # Counted with the specials the post-processor adds (<|endoftext|> first; [CLS] ... [SEP]), subtracted below.
    count = lambda text: len(tok.encode(text).tokens)
    base = count("the")
    cells = []
    for name, words in lists.items():
        whole = sum(count(f"the {w}") - base == 1 for w in words)
        cells.append(f"{name} {100 * whole / len(words):.1f}%")
    # A prompt's first word: the 200 commonest words capitalised, each a text of its own.
    from wordfreq import top_n_list
    starts = [w.capitalize() for w in top_n_list("en", 1000) if w.isascii() and w.isalpha() and w.islower() and len(w) >= 2][:200]
    cells.append(f"capitalised first words {100 * sum(count(w) - count('') == 1 for w in starts) / len(starts):.1f}%")
    specials = count("")  # what the post-processor adds to every text
    tokens = sum(count(s) - specials for s in held)
    words = sum(len(s.split()) for s in held)
    print(f"{args.kind} {args.vocab_size} prior {args.prior}: " + ", ".join(cells) + f"; held-out tokens/word {tokens / words:.3f}")


if __name__ == "__main__":
    sys.exit(main())
