//! The tokenizer's Unicode table (written by `crate/build.rs` into runs) against the two crates it
//! was built from, on every code point: a wrong run boundary or flag would change how some
//! character is split, cleaned or matched, and only an exhaustive check finds it.
use glassbox::tokenizer::unicode::{general_category, hf_lists};
use unicode_categories::UnicodeCategories;
use unicode_general_category::get_general_category;

fn every_char() -> impl Iterator<Item = char> {
    (0..=0x10FFFFu32).filter_map(char::from_u32)
}

#[test]
fn general_category_matches_the_crate_on_every_code_point() {
    let mut checked = 0;
    for c in every_char() {
        let ours = format!("{:?}", general_category(c));
        let theirs = format!("{:?}", get_general_category(c));
        // Same variant names as the crate's enum, so their Debug forms must agree.
        assert_eq!(ours, theirs, "U+{:04X}", c as u32);
        checked += 1;
    }
    assert_eq!(checked, 0x110000 - 0x800, "every scalar value, surrogates excepted");
}

#[test]
fn hf_lists_match_unicode_categories_on_every_code_point() {
    let mut seen = [0usize; 6];
    for c in every_char() {
        let pairs = [
            (hf_lists::is_punctuation(c), c.is_punctuation()),
            (hf_lists::is_punctuation_connector(c), c.is_punctuation_connector()),
            (hf_lists::is_mark(c), c.is_mark()),
            (hf_lists::is_mark_nonspacing(c), c.is_mark_nonspacing()),
            (hf_lists::is_other(c), c.is_other()),
            (hf_lists::is_number_decimal_digit(c), c.is_number_decimal_digit()),
        ];
        for (i, (ours, theirs)) in pairs.into_iter().enumerate() {
            assert_eq!(ours, theirs, "U+{:04X}, class {i}", c as u32);
            seen[i] += ours as usize;
        }
    }
    // Each class is non-trivial (a table of all-false flags would pass the loop above only if the
    // crate said false everywhere too; these counts say it does not).
    assert!(seen.iter().all(|&n| n > 5), "{seen:?}");
}

#[test]
fn the_current_unicode_and_the_older_lists_differ_on_new_characters() {
    // The patterns read the current Unicode, the BERT-style classes tokenizers' older lists: a
    // character assigned later (U+09FD BENGALI ABBREVIATION SIGN, Unicode 10) is punctuation to
    // the first and not to the second; old ones are the same to both.
    assert_eq!(format!("{:?}", general_category('\u{09FD}')), "OtherPunctuation");
    assert!(!hf_lists::is_punctuation('\u{09FD}'));
    assert!(hf_lists::is_punctuation('!') && hf_lists::is_punctuation('\u{00BF}') && !hf_lists::is_punctuation('a'));
    assert!(hf_lists::is_mark_nonspacing('\u{0301}') && hf_lists::is_other('\u{200B}') && hf_lists::is_other('\t'));
}
