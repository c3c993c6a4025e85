//! Our tokenizer-pattern matcher (crate/src/tokenizer/pattern.rs) against fancy-regex, the engine it
//! replaced in the shipped build (kept here as a dev-dependency only): the same matches, at the same
//! byte offsets, for the patterns of real tokenizer.json files over many generated texts, and the
//! same membership for every char of every class those patterns use.

use fancy_regex::Regex;
use glassbox::tokenizer::pattern::{Pattern, PatternError, ONIG_WORD_DIFFERENCES};

/// Split / Replace patterns seen in real tokenizer.json files, and the Whitespace pre-tokenizer's.
const REAL_PATTERNS: &[&str] = &[
    // GPT-2, RoBERTa, BART (ByteLevel's regex, also written out as a Split)
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    // Llama-3
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    // Qwen2
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    // GPT-4o (o200k)
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    // DeepSeek-style: CJK runs, punctuation glued to letters
    r"[\r\n]|\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-Ֆ]+|\s?[!-/:-~！-／：-～‘-‟　-。]+|\s+$|[一-龥ࠀ-一가-퟿]+|\p{N}",
    r"[!\x22#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    // BLOOM (a class nested in a class) and Falcon-like digit groups
    r" ?[^(\s|[.,!?…。，、।۔،])]+",
    r"[0-9][0-9][0-9]",
    r"\d{1,3}(?=(?:\d{3})*\b)",
    r"\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))",
    // The Whitespace pre-tokenizer; Replace normalisers and decoders
    r"\w+|[^\w\s]+",
    r" {2,}",
    "▁",
    r"\s+",
    r"^ +| +$",
    r"(?m)^\s+|\s+$",
    r"\p{Zs}+|\p{Cc}",
    r"[\u2000-\u200b\u3000]",
    r"(?i)hello|world",
    r"(?m).{1,4}?x|.",
    r"(?<=\p{L})'(?=\p{L})",
    r"(?<![a-z])\d+",
    r"\b\w+\b",
    r"\B.\B",
    r"(?>\s+)\S",
    r"a*?b|a+",
    r"(?:ab|a)(?:c|bcd)",
    r"(a|ab)(c|bcd)(d*)",
    r"x*",
    r"\P{L}+|\pN",
];

/// A small seeded generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces texts are built from: mixed scripts, digits, whitespace runs (with \r\n and Unicode
/// spaces), emoji, combining marks, apostrophes and the chars case folding is subtle for.
const PIECES: &[&str] = &[
    "Hello", "world", "WORLD", "McDonald", "a", "I", "x", " ", "  ", "   ", "\t", "\n", "\r\n", "\r", " \n ", "\n\n", "\u{a0}", "\u{3000}",
    "\u{2009}", "\u{200b}", "\u{85}", "\u{2028}", "'s", "'S", "'t", "'re", "'VE", "'m", "'ll", "'LL", "'d", "'ſ", "'\u{212a}", "’s", "'", "''",
    "don't", "I'M", "0", "7", "42", "2024", "1234567", "٣٤", "१२", "½", "Ⅻ", "3.14", "1,000", "!", "?!", "...", "…", ",", ".", "-", "--",
    "/", "(", ")", "[x]", "\"", "#", "@", "$", "%", "^", "&", "*", "_", "__init__", "+", "=", "<>", "{", "}", "|", "\\", "~", "`", "é",
    "e\u{301}", "naïve", "Ελληνικά", "ΣΊΣΥΦΟΣ", "ς", "дом", "ДОМ", "漢字", "日本語", "。", "，", "、", "한국어", "العربية", "،", "۔", "हिन्दी",
    "।", "ไทย", "😀", "👍🏽", "👩\u{200d}💻", "🇫🇷", "Ⓐ", "🄰", "ß", "ẞ", "İ", "ı", "ǅ", "ﬁ", "µ", "K", "k", "ſ", "\u{0}", "\u{7}", "\u{1b}",
    "abc", "aaaa", "ab", "bcd", "b", "c", "d", "xx", "▁", "▁the", "_", "\u{feff}", "\u{200d}", "\u{e000}", "\u{10ffff}", "a\u{30a}",
];

fn random_text(rng: &mut Rng) -> String {
    let n = 1 + rng.below(12);
    (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

/// Every match of `re` in `text` the way `regex_matches` walks them (step over an empty match).
fn reference_matches(re: &Regex, text: &str) -> Vec<(usize, usize)> {
    let mut out = vec![];
    let mut pos = 0;
    while pos <= text.len() {
        match re.find_from_pos(text, pos).expect("the reference stays within its backtrack limit") {
            Some(m) => {
                out.push((m.start(), m.end()));
                pos = if m.end() > m.start() { m.end() } else { m.end() + text[m.end()..].chars().next().map_or(1, char::len_utf8) };
            }
            None => break,
        }
    }
    out
}

fn our_matches(p: &Pattern, text: &str) -> Vec<(usize, usize)> {
    let mut steps = usize::MAX;
    let mut out = vec![];
    let mut pos = 0;
    while pos <= text.len() {
        match p.find_at(text, pos, &mut steps).expect("an unbounded budget never runs out") {
            Some((s, e)) => {
                out.push((s, e));
                pos = if e > s { e } else { e + text[e..].chars().next().map_or(1, char::len_utf8) };
            }
            None => break,
        }
    }
    out
}

fn compile(pattern: &str) -> (Pattern, Regex) {
    let ours = Pattern::new(pattern).unwrap_or_else(|e| panic!("`{pattern}` should compile: {e:?}"));
    let perl = perl_syntax(pattern);
    let reference = Regex::new(&perl).unwrap_or_else(|e| panic!("fancy-regex should compile `{perl}`: {e}"));
    (ours, reference)
}

/// The fancy-regex (Perl syntax) twin of one of our patterns (Oniguruma's Ruby syntax, as `tokenizers`
/// compiles them): Ruby's `^` and `$` are always line anchors, Perl's only under `(?m)`; Ruby's `(?m)`
/// is Perl's `(?s)`. Exact for the patterns here, where nothing that can match empty follows a `^`
/// (Perl's multi-line `^` also matches after a final `\n`, Ruby's does not: see
/// `anchors_and_flags_are_onigurumas`).
fn perl_syntax(pattern: &str) -> String {
    format!("(?m){}", pattern.replace("(?m", "(?s"))
}

#[test]
fn real_tokenizer_patterns_match_exactly_like_fancy_regex_on_generated_texts() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let texts: Vec<String> =
        (0..3000).map(|_| random_text(&mut rng)).chain(PIECES.iter().map(|s| s.to_string())).chain([String::new()]).map(|t| without_onig_word_differences(&t)).collect();
    let mut compared = 0usize;
    for pattern in REAL_PATTERNS {
        let (ours, reference) = compile(pattern);
        for text in &texts {
            let want = reference_matches(&reference, text);
            let got = our_matches(&ours, text);
            assert_eq!(got, want, "pattern `{pattern}` on {text:?}");
            compared += want.len();
        }
    }
    println!("{} patterns x {} texts: {compared} matches equal", REAL_PATTERNS.len(), texts.len());

    // Throughput on one long text, printed beside fancy-regex's (a figure, not a timed assertion).
    let long: String = texts.concat();
    for pattern in &REAL_PATTERNS[..4] {
        let (ours, reference) = compile(pattern);
        let t = std::time::Instant::now();
        let n = our_matches(&ours, &long).len();
        let ours_s = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        assert_eq!(reference_matches(&reference, &long).len(), n);
        let theirs_s = t.elapsed().as_secs_f64();
        let mb = long.len() as f64 / 1e6;
        println!("{:.40}...: ours {:.1} MB/s, fancy-regex {:.1} MB/s ({n} matches in {mb:.2} MB)", pattern, mb / ours_s, mb / theirs_s);
    }
}

/// One text holding every Unicode scalar value, and the matches of a one-char pattern in it: a
/// char-by-char comparison of class membership (general categories, Perl classes, case folding).
/// Planes 4 to 13 are unassigned and the private-use planes are one category, so one char in 64
/// of them stands for the rest.
#[test]
fn every_char_is_in_the_same_classes_as_in_fancy_regex() {
    let all: String = (0..=0x10ffffu32).filter(|&c| c < 0x40000 || (0xe0000..0xe1000).contains(&c) || c % 64 == 0 || c == 0x10ffff).filter_map(char::from_u32).collect();
    let all = without_onig_word_differences(&all);
    let classes = [
        r"\w", r"\W", r"\s", r"\S", r"\d", r"\D", ".", r"\p{L}", r"\p{Lu}", r"\p{Ll}", r"\p{Lt}", r"\p{Lm}", r"\p{Lo}", r"\p{M}", r"\p{Mn}", r"\p{Mc}",
        r"\p{Me}", r"\p{N}", r"\p{Nd}", r"\p{Nl}", r"\p{No}", r"\p{P}", r"\p{Pc}", r"\p{Pd}", r"\p{Ps}", r"\p{Pe}", r"\p{Pi}", r"\p{Pf}", r"\p{Po}",
        r"\p{S}", r"\p{Sm}", r"\p{Sc}", r"\p{Sk}", r"\p{So}", r"\p{Z}", r"\p{Zs}", r"\p{Zl}", r"\p{Zp}", r"\p{C}", r"\p{Cc}", r"\p{Cf}", r"\p{Co}",
        r"\p{Cn}", r"\P{L}", r"\pN", r"\p{Letter}", r"\p{gc=Lu}", r"\p{Uppercase_Letter}", r"\p{ASCII}", r"\P{ASCII}", r"\p{Any}", r"[^\s\p{L}\p{N}]",
        r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]", r"(?i)[a-z]", r"(?i)[^a-z]", r"(?i)s", r"(?i)k", r"(?i)i", r"(?i)ı", r"(?i)σ", r"(?i)ß", r"(?i)[α-ω]",
        r"(?i)[а-я]", r"(?i)\p{Lu}", r"(?i)é", r"(?i)ǆ", r"(?i)θ", r"(?i)\p{Lt}", r"(?i)[k-s]", r"(?i)[ϑΩ]",
    ];
    for class in classes {
        let (ours, reference) = compile(class);
        let want: Vec<(usize, usize)> = reference.find_iter(&all).map(|m| m.expect("a one-char class never backtracks")).map(|m| (m.start(), m.end())).collect();
        let got = our_matches(&ours, &all);
        if got != want {
            let differ = got.iter().zip(&want).find(|(a, b)| a != b).map(|(a, b)| (all[a.0..].chars().next(), all[b.0..].chars().next()));
            panic!("`{class}`: {} matches against fancy-regex's {}; first difference (ours, theirs): {differ:?}", got.len(), want.len());
        }
    }
}

// `ONIG_WORD_DIFFERENCES`: the chars whose `\w` membership Oniguruma (what HF's tokenizers
// compile patterns with) gives differently from Unicode's (fancy-regex's, the reference above). A
// sweep of every code point against `tokenizers` 0.23 found exactly these.

fn without_onig_word_differences(text: &str) -> String {
    text.chars().filter(|c| !ONIG_WORD_DIFFERENCES.contains(c)).collect()
}

/// Those 8 chars as HF's tokenizers class them (`\w`, `\W`, `\b`), and a real digit-grouping
/// pattern on a text with `½`, whose ids `tokenizers` 0.23 gives as no split at all (the `\b` after
/// the digits is not a boundary when `½` is a word char).
#[test]
fn word_chars_are_oniguruma_s() {
    let word = Pattern::new(r"\w").unwrap();
    let not_word = Pattern::new(r"\W").unwrap();
    for c in ONIG_WORD_DIFFERENCES {
        let text = c.to_string();
        let is_word = !matches!(c, '\u{200c}' | '\u{200d}');
        assert_eq!(our_matches(&word, &text).len(), is_word as usize, "\\w on U+{:04X}", c as u32);
        assert_eq!(our_matches(&not_word, &text).len(), !is_word as usize, "\\W on U+{:04X}", c as u32);
    }
    let grouping = Pattern::new(r"\d{1,3}(?=(?:\d{3})*\b)").unwrap();
    assert_eq!(our_matches(&grouping, "WORLD1234567½Hello"), []);
    assert_eq!(our_matches(&grouping, "WORLD1234567 Hello"), [(5, 6), (6, 9), (9, 12)]);
}

#[test]
fn case_insensitive_contractions_fold_like_unicode() {
    let (ours, reference) = compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)");
    for text in ["'s", "'S", "'ſ", "'T", "'Re", "'rE", "'VE", "'M", "'Ll", "'lL", "'D", "'ı", "'İ", "'\u{212a}", "'ß", "'ẞ"] {
        assert_eq!(our_matches(&ours, text), reference_matches(&reference, text), "{text:?}");
    }
    assert_eq!(our_matches(&ours, "'ſ"), [(0, 3)], "long s folds to s");
}

/// `^`, `$`, `\Z` and the flags as `tokenizers` 0.23.3 (Oniguruma, Ruby syntax) matches them; every
/// expected span was read from its `Replace` normaliser on the same pattern and text (development
/// time: Python is never needed to run these). DeepSeek's pre-tokenizer ends in `\s+$`.
#[test]
fn anchors_and_flags_are_onigurumas() {
    for (pattern, text, want) in [
        (r"^\n", "a\n\nb\n\n", vec![(2, 3), (5, 6)]),
        (r"\n^", "a\n\n", vec![(1, 2)]), // not at the end, after the final newline
        (r"\n$", "a\n\n", vec![(1, 2), (2, 3)]),
        (r"\s+$", "a  \nb \n", vec![(1, 3), (5, 7)]),
        (r"^.", "ab\ncd\n", vec![(0, 1), (3, 4)]),
        (r".$", "ab\ncd", vec![(1, 2), (4, 5)]),
        (r"(?i)^A.", "xa\nAb\nab", vec![(3, 5), (6, 8)]),
        (r".\Z", "a\nb\n", vec![(2, 3)]),
        (r".\Z", "ab", vec![(1, 2)]),
        (r"(?m:.)", "a\nb", vec![(0, 1), (1, 2), (2, 3)]), // Ruby's (?m) is dot-all
        (r".", "a\nb", vec![(0, 1), (2, 3)]),
        (r"(?m)a.(?-m:.)", "a\n\na\nxb", vec![(3, 6)]),
    ] {
        let ours = Pattern::new(pattern).unwrap_or_else(|e| panic!("`{pattern}`: {e:?}"));
        assert_eq!(our_matches(&ours, text), want, "`{pattern}` on {text:?}");
    }
    // Oniguruma's Ruby syntax has no (?s) or (?U): tokenizers fails to load such a pattern.
    for pattern in [r"(?s).", r"(?U)a+"] {
        match Pattern::new(pattern) {
            Err(PatternError::Syntax(why)) => assert!(why.contains("not supported"), "`{pattern}`: {why}"),
            other => panic!("`{pattern}` should be refused, got {other:?}"),
        }
    }
}

#[test]
fn patterns_outside_the_subset_are_refused_by_name() {
    for (pattern, names) in [
        (r"\p{Greek}", r"\p{Greek}"),
        (r"[\p{Alphabetic}]", r"\p{Alphabetic}"),
        (r"\p{Script=Latin}+", r"\p{Script=Latin}"),
        (r"\pX", r"\pX"),
    ] {
        match Pattern::new(pattern) {
            Err(PatternError::UnicodeClass(c)) => assert_eq!(c, names, "{pattern}"),
            other => panic!("`{pattern}` should be refused as an unknown Unicode class, got {other:?}"),
        }
    }
    for (pattern, says) in [
        (r"(a)\1", "backreference"),
        (r"a*+", "possessive"),
        (r"[[:alpha:]]", "POSIX"),
        (r"[a-z&&[^aeiou]]", "set operation"),
        (r"(?x) a b", "flag `x`"),
        (r"(?<=a+)b", "fixed width"),
        (r"(?<=a", "not closed"),
        (r"[a-", "ends inside"),
        (r"a{2,1}", "minimum above"),
        (r"(?:a{1000}){1000}", "more than"),
        (r"\y", "escape"),
        (r"*a", "nothing to repeat"),
        (r"a)", "unopened"),
    ] {
        match Pattern::new(pattern) {
            Err(PatternError::Syntax(why)) => assert!(why.contains(says), "`{pattern}`: {why}"),
            other => panic!("`{pattern}` should be refused ({says}), got {other:?}"),
        }
    }
}

#[test]
fn hostile_patterns_run_out_of_steps_instead_of_running_for_ever() {
    let text = "a".repeat(40);
    for pattern in [r"(a+)+(?=b)", r"(x+x+)+y|(a|aa)+$b", r"(a*)*(?!a)c"] {
        let p = Pattern::new(pattern).unwrap();
        let mut steps = 1_000_000;
        let mut pos = 0;
        let mut outcome = Ok(None);
        while pos <= text.len() {
            outcome = p.find_at(&text, pos, &mut steps);
            match outcome {
                Ok(Some((_, e))) => pos = e + 1,
                _ => break,
            }
        }
        if pattern.starts_with("(a+)+") {
            assert!(outcome.is_err(), "`{pattern}` needs 2^40 steps: it must stop at the budget");
        }
        assert!(steps < 1_000_000, "the budget was charged");
    }
    // An empty loop body cannot spin: `(a*)*` on b's ends.
    let (ours, reference) = compile(r"(a*)*b|(?:x?)*y");
    for text in ["bbb", "aab", "xxy", "y", ""] {
        assert_eq!(our_matches(&ours, text), reference_matches(&reference, text), "{text:?}");
    }
}
