//! What kind of character a `char` is, as the tokenizers ask: its general category (current
//! Unicode, for patterns such as `\p{L}`) and the older lists Hugging Face `tokenizers` uses for
//! punctuation, marks and control characters (`hf_lists`).
//!
//! Both come from one table of runs that `build.rs` writes from the `unicode-general-category` and
//! `unicode_categories` crates: each run starts at a code point and says what holds until the next.
//! A lookup is a binary search over about four thousand 32-bit runs (ASCII reads a table of its own).

include!(concat!(env!("OUT_DIR"), "/unicode_tables.rs"));

/// The run that holds `c`: its category in the low 5 bits, the older lists' flags above them.
#[inline]
fn run_of(c: char) -> u32 {
    let cp = c as u32;
    if cp < 128 {
        return ASCII[cp as usize] as u32;
    }
    // RUNS[0] starts at U+0000, so at least one run starts at or before any code point.
    let at = RUNS.partition_point(|&run| run >> PAYLOAD_BITS <= cp);
    RUNS[at - 1]
}

/// `c`'s general category in the current Unicode (16; surrogates never reach here).
pub fn general_category(c: char) -> Category {
    CATEGORIES[(run_of(c) & 31) as usize]
}

/// The classes of the `unicode_categories` crate, which Hugging Face `tokenizers` uses (BERT's
/// normaliser and pre-tokenizer, punctuation splitting, added-token word boundaries). Its lists
/// come from an older Unicode: a character assigned since (U+09FD, Adlam) is in none of them.
pub mod hf_lists {
    use super::*;

    fn has(c: char, flag: u32) -> bool {
        run_of(c) & flag != 0
    }

    /// Any punctuation: `Pc Pd Ps Pe Pi Pf Po`.
    pub fn is_punctuation(c: char) -> bool {
        has(c, PUNCTUATION)
    }
    /// `Pc` (the underscore and its kin).
    pub fn is_punctuation_connector(c: char) -> bool {
        has(c, PUNCTUATION_CONNECTOR)
    }
    /// Any mark: `Mn Mc Me`.
    pub fn is_mark(c: char) -> bool {
        has(c, MARK)
    }
    /// `Mn`: the accents that NFD splits off.
    pub fn is_mark_nonspacing(c: char) -> bool {
        has(c, MARK_NONSPACING)
    }
    /// `Cc Cf Co`: controls, format characters, private use.
    pub fn is_other(c: char) -> bool {
        has(c, OTHER)
    }
    /// `Nd`.
    pub fn is_number_decimal_digit(c: char) -> bool {
        has(c, NUMBER_DECIMAL_DIGIT)
    }
}
