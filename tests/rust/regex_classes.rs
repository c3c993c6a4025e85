//! Tokenizer patterns run on our own matcher (crate/src/tokenizer/pattern.rs), which carries only
//! the Unicode classes tokenizer patterns use (general categories, Perl classes, case folding):
//! no script, age, boolean-property or segmentation tables in the shipped wasm. These tests pin
//! both halves: the classes real tokenizers use still match what they should (Unicode letters
//! and digits beyond ASCII, Unicode whitespace, case folding past ASCII), and a class that was
//! left out is refused at load with a message that names the pattern, never silently matched as
//! something else. tests/rust/pattern.rs compares the matcher with fancy-regex char by char.

mod support;

use glassbox::tokenizer::Tokenizer;
use serde_json::{json, Value};
use support::Folder;

/// The GPT-2 fixture with `pattern` as its only pre-tokenizer (a Split, pieces kept).
fn gpt2_split(pattern: &str) -> Vec<u8> {
    let f = Folder::fixture("gpt2");
    let mut t: Value = serde_json::from_slice(&f.tokenizer).unwrap();
    t["pre_tokenizer"] = json!({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false},
        {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]});
    serde_json::to_vec(&t).unwrap()
}

/// The pieces the pre-tokenizer cuts `text` into, as slices of the original text.
fn pieces(pattern: &str, text: &str) -> Vec<String> {
    let tok = Tokenizer::from_bytes(&gpt2_split(pattern), None, None).unwrap_or_else(|e| panic!("`{pattern}` should compile: {e}"));
    let (_, trace) = tok.encode_traced(text, false).unwrap();
    let chars: Vec<char> = text.chars().collect();
    trace.words.iter().map(|w| chars[w.offsets.0..w.offsets.1].iter().collect()).collect()
}

#[test]
fn general_categories_perl_classes_and_case_folding_still_match_beyond_ascii() {
    // \p{L}: Greek, Cyrillic and CJK letters are letters; \p{N}: Arabic-Indic digits are numbers.
    assert_eq!(pieces(r"\p{L}+|\p{N}+|\s+|[^\s\p{L}\p{N}]+", "αβγ дом 漢字 ١٢٣!"), ["αβγ", " ", "дом", " ", "漢字", " ", "١٢٣", "!"]);
    // \s covers Unicode whitespace (NO-BREAK SPACE, IDEOGRAPHIC SPACE); \w and \d are Unicode too.
    assert_eq!(pieces(r"\s+|\w+|[^\w\s]+", "a\u{a0}b\u{3000}é9"), ["a", "\u{a0}", "b", "\u{3000}", "é9"]);
    assert_eq!(pieces(r"\d+|\D+", "x٣y"), ["x", "٣", "y"]);
    // Case folding past ASCII, as in the Llama-3 / Qwen2 patterns' `(?i:'s|...)`: ſ (long s)
    // folds to s, K (Kelvin sign) to k.
    assert_eq!(pieces(r"(?i:'s|k)|[^'k]+", "'ſ\u{212a}a"), ["'ſ", "\u{212a}", "a"]);
    // \b (Unicode word boundaries) still works.
    assert_eq!(pieces(r"\bé\w*|\W+|\w+", "été été"), ["été", " ", "été"]);
}

#[test]
fn classes_left_out_of_the_build_are_refused_by_name() {
    for pattern in [r"\p{Greek}+", r"\p{Alphabetic}", r"\p{Script=Latin}", r"\p{Age=3.0}", r"\p{Grapheme_Cluster_Break=Extend}"] {
        let err = match Tokenizer::from_bytes(&gpt2_split(pattern), None, None) {
            Ok(_) => panic!("`{pattern}` compiled, but its Unicode table is not in the build"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(pattern), "the error names the pattern `{pattern}`: {err}");
        assert!(err.contains("Unicode class") && err.contains("does not carry"), "the error says a Unicode class is missing: {err}");
        println!("{err}");
    }
}
