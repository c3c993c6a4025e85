//! How many words of a list a tokenizer keeps whole: shared by `real_tokenizers.rs` (the real GPT-2 and
//! BERT vocabularies) and `bundled_models.rs` (the bundled models' own).
//!
//! A word is kept whole when, written after "the " as in running text, it is cut into exactly one token.
#![allow(dead_code)]

use glassbox::tokenizer::Tokenizer;
use std::path::{Path, PathBuf};

/// The word lists in `tests/fixtures/words/`: the most frequent English words, and two lists of everyday
/// words beyond them (the second written after the bundled vocabularies' sizes were chosen). Issue 14's bar
/// (80% kept whole) holds on these for the real GPT-2 and BERT vocabularies too.
pub const FREQUENT: &str = "frequent.txt";
pub const EVERYDAY: [&str; 2] = ["everyday.txt", "everyday-more.txt"];
/// Two more everyday lists, which the bundled vocabularies are held to as well (since their vocabularies of
/// 2026-12-06) but the real GPT-2's is not: it keeps 75% of the fourth whole. The third was written after the
/// bundled models were first trained, the fourth before any vocabulary was measured on it; both were then
/// used to design the bundled vocabularies (common.everyday_words and the sizes in scripts/training/).
pub const EVERYDAY_LATER: [&str; 2] = ["everyday-third.txt", "everyday-fourth.txt"];
/// Lists printed and not asserted, each written before any vocabulary was measured on it, so their figures
/// are the honest guess for a list nobody tuned for: the fifth after the bundled vocabularies of 2026-12-06
/// were designed (rarer nouns: 68-71% whole), the sixth after they shipped (story verbs in the past tense,
/// which those vocabularies cut, beside common animals and things: 89%).
pub const EVERYDAY_REPORTED: [&str; 2] = ["everyday-fifth.txt", "everyday-sixth.txt"];

/// Every list a coverage row reports, in its column order: [`FREQUENT`], [`EVERYDAY`], [`EVERYDAY_LATER`],
/// [`EVERYDAY_REPORTED`].
pub fn all_lists() -> impl Iterator<Item = &'static str> {
    std::iter::once(FREQUENT).chain(EVERYDAY).chain(EVERYDAY_LATER).chain(EVERYDAY_REPORTED)
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A tokenizer folder's tokenizer.json and, when present, its configs.
pub fn tokenizer(dir: &Path) -> Tokenizer {
    let read = |name: &str| std::fs::read(dir.join(name)).ok();
    let json = read("tokenizer.json").unwrap_or_else(|| panic!("{}/tokenizer.json cannot be read", dir.display()));
    Tokenizer::from_bytes(&json, read("tokenizer_config.json").as_deref(), read("special_tokens_map.json").as_deref())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// The words of a list: whitespace-separated, `#` lines are comments, each word once.
pub fn words(name: &str) -> Vec<String> {
    let path = root().join("tests/fixtures/words").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: Vec<String> = Vec::new();
    for w in text.lines().filter(|l| !l.starts_with('#')).flat_map(str::split_whitespace) {
        if !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    }
    out
}

/// The tokens `word` is cut into in "the {word}": those whose character span overlaps the word's.
pub fn pieces(tok: &Tokenizer, word: &str) -> Vec<String> {
    const CONTEXT: &str = "the ";
    let text = format!("{CONTEXT}{word}");
    let enc = tok.encode(&text, false).unwrap_or_else(|e| panic!("encoding {text:?}: {e}"));
    let (start, end) = (CONTEXT.chars().count(), text.chars().count());
    enc.tokens.iter().zip(&enc.offsets).zip(&enc.special)
        .filter(|((_, &(s, e)), &special)| !special && s < end && e > start)
        .map(|((t, _), _)| t.clone())
        .collect()
}

/// `(fraction kept whole, the words cut, as "word: piece piece")`.
pub fn kept_whole(tok: &Tokenizer, list: &[String]) -> (f64, Vec<String>) {
    let mut cut = Vec::new();
    for w in list {
        let p = pieces(tok, w);
        if p.len() != 1 {
            cut.push(format!("{w}: {}", p.join(" ")));
        }
    }
    (1.0 - cut.len() as f64 / list.len().max(1) as f64, cut)
}

/// Prints one tokenizer's row (frequent, each everyday list, then the reported one) and returns the
/// fractions in that order.
pub fn coverage_row(name: &str, tok: &Tokenizer) -> Vec<f64> {
    let mut fractions = Vec::new();
    let mut cut_all = Vec::new();
    for list in all_lists() {
        let (f, cut) = kept_whole(tok, &words(list));
        fractions.push(f);
        cut_all.extend(cut);
    }
    let cells: String = fractions.iter().map(|f| format!(" {:>11.1}%", 100.0 * f)).collect();
    println!("{name:<30} {:>7}{cells}", tok.vocab_size());
    println!("    cut: {}", cut_all.iter().take(10).cloned().collect::<Vec<_>>().join(" | "));
    fractions
}

/// The header `coverage_row` lines sit under.
pub fn coverage_header() {
    let lists: String = all_lists().map(|l| format!(" {:>12}", l.trim_end_matches(".txt"))).collect();
    println!("{:<30} {:>7}{lists}", "tokenizer", "vocab");
}

/// Issue 14's bar: 95% of the frequent words and 80% of each everyday list in `lists` (the first
/// `lists.len()` everyday lists of [`all_lists`]) kept whole; `fractions` is in [`all_lists`]' order.
fn assert_bar(name: &str, fractions: &[f64], lists: &[&str]) {
    assert!(fractions[0] >= 0.95, "{name} keeps only {:.1}% of the frequent words whole", 100.0 * fractions[0]);
    for (list, f) in lists.iter().zip(&fractions[1..]) {
        assert!(*f >= 0.80, "{name} keeps only {:.1}% of the words of {list} whole", 100.0 * f);
    }
}

/// The bar on the lists a 30k-50k vocabulary meets ([`EVERYDAY`]): what the real tokenizers are held to.
pub fn assert_keeps_words_whole(name: &str, fractions: &[f64]) {
    assert_bar(name, fractions, &EVERYDAY);
}

/// The bar on [`EVERYDAY`] and [`EVERYDAY_LATER`]: what the bundled vocabularies are held to.
pub fn assert_bundled_keeps_words_whole(name: &str, fractions: &[f64]) {
    let lists: Vec<&str> = EVERYDAY.into_iter().chain(EVERYDAY_LATER).collect();
    assert_bar(name, fractions, &lists);
}

/// A model card's vocabulary table quotes every list's figure as measured: the table row that names the list
/// (`` `everyday.txt` ``) holds the share kept whole to one decimal ("94.7%"; "100%" when none is cut), so a
/// card cannot keep an old figure after its tokenizer changes.
pub fn assert_card_quotes(name: &str, card: &str, fractions: &[f64]) {
    for (list, f) in all_lists().zip(fractions) {
        let tag = format!("`{list}`");
        let row = card.lines().find(|l| l.starts_with('|') && l.contains(&tag)).unwrap_or_else(|| panic!("{name}'s card has no table row for {tag}"));
        let percent = 100.0 * f;
        let figure = if percent >= 99.95 { "100%".to_string() } else { format!("{percent:.1}%") };
        assert!(row.contains(&figure), "{name}'s card gives {tag} another figure than the measured {figure}: {row}");
    }
}
