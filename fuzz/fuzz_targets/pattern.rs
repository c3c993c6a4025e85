//! Tokenizer patterns (crate/src/tokenizer/pattern.rs) against fancy-regex, the engine they replaced.
//! Byte 0 picks one of the patterns of real tokenizer.json files; the rest, read as UTF-8 (lossy), is
//! the text: our matches must be fancy-regex's, at the same offsets. The same bytes are then compiled
//! as a pattern of their own and run on a fixed text: refused or matched within the step budget,
//! never a panic or a hang.
#![no_main]
use fancy_regex::Regex;
use glassbox::tokenizer::pattern::{Pattern, ONIG_WORD_DIFFERENCES};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const PATTERNS: &[&str] = &[
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    r" ?[^(\s|[.,!?…。，、।۔،])]+",
    r"\w+|[^\w\s]+",
    r" {2,}|\s+$|^\s+",
    r"\d{1,3}(?=(?:\d{3})*\b)",
    r"(?i)[a-zß-ÿ]+|\b.\B",
];

fn matches(mut find: impl FnMut(usize) -> Option<(usize, usize)>, text: &str) -> Vec<(usize, usize)> {
    let mut out = vec![];
    let mut pos = 0;
    while pos <= text.len() {
        let Some((s, e)) = find(pos) else { break };
        out.push((s, e));
        pos = if e > s { e } else { e + text[e..].chars().next().map_or(1, char::len_utf8) };
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    // fancy-regex's `\w` is Unicode's; ours is Oniguruma's (HF's engine), which differs on exactly
    // these 8 chars (tests/rust/pattern.rs pins them): they are left out of the comparison.
    let text: String = String::from_utf8_lossy(rest).chars().filter(|c| !ONIG_WORD_DIFFERENCES.contains(c)).collect();
    // Compiled once: building fancy-regex's Unicode automata dominates a run otherwise.
    static COMPILED: OnceLock<Vec<(Pattern, Regex)>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(|| {
        // Ours follow Oniguruma's Ruby syntax (`^`/`$` always at lines), fancy-regex Perl's: `(?m)` makes them
        // agree for these patterns (tests/rust/pattern.rs, `perl_syntax`).
        PATTERNS.iter().map(|p| (Pattern::new(p).expect("a real tokenizer pattern compiles"), Regex::new(&format!("(?m){p}")).expect("fancy-regex compiles it"))).collect()
    });
    let which = pick as usize % PATTERNS.len();
    let (pattern, (ours, reference)) = (PATTERNS[which], &compiled[which]);
    let mut steps = usize::MAX;
    let got = matches(|pos| ours.find_at(&text, pos, &mut steps).expect("an unbounded budget"), &text);
    let want = matches(|pos| reference.find_from_pos(&text, pos).expect("within fancy-regex's limit").map(|m| (m.start(), m.end())), &text);
    assert_eq!(got, want, "pattern {pattern:?} on {text:?}");

    // The bytes as a pattern: any outcome but a panic or a runaway.
    if let Ok(p) = Pattern::new(&text) {
        let sample = "Hello  world's 42 ünïcode 日本語 🙂\r\n\taaaaaaaaaaaaaaaaaaaaaaaab";
        let mut steps = glassbox::loader::limits::regex_step_budget(sample.len());
        let mut pos = 0;
        while pos <= sample.len() {
            match p.find_at(sample, pos, &mut steps) {
                Ok(Some((s, e))) => {
                    assert!(s >= pos && e >= s && sample.is_char_boundary(s) && sample.is_char_boundary(e));
                    pos = if e > s { e } else { e + sample[e..].chars().next().map_or(1, char::len_utf8) };
                }
                _ => break,
            }
        }
    }
});
