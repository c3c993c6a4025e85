//! The regular expressions of tokenizer.json (Split pre-tokenizers, Replace normalisers and
//! decoders), parsed and compiled by our own small engine instead of a general regex crate: the
//! patterns real tokenizers use need only a handful of constructs, and a full engine with its
//! Unicode tables cost the shipped wasm about 400 KB.
//!
//! Supported (the syntax of Oniguruma's Ruby mode, which `tokenizers` compiles these patterns with and
//! whose results ours must equal; tests check it against `fancy-regex`, translating the differences):
//! - literals, escapes `\n \r \t \f \v \a \e`, `\xHH`, `\x{H..}`, `\uHHHH`, `\u{H..}`, `\UHHHHHHHH`,
//!   escaped punctuation (`\.`, `\(`, `\\`, ...);
//! - `.` (any char but `\n`; any char under `(?m)`, Ruby's dot-all flag), classes `[...]` with
//!   ranges, negation and escapes and nested classes (a union) inside, `\s \S \d \D \w \W` (Unicode: White_Space, Nd, regex's word chars),
//!   `\p{..}` / `\P{..}` / `\pL` for the general categories (`L`, `Lu`, `Letter`, `gc=Lu`, ...,
//!   plus `Any`, `ASCII`, `Assigned`);
//! - alternation, groups `(...)`, `(?:...)`, named groups, flags `i m` as `(?i)` or `(?i:...)`
//!   (`(?-i:...)` too); case-insensitive matching uses Unicode's simple one-char case mappings
//!   (so `(?i:'s)` matches `'S` and `'ſ`, `k` matches the Kelvin sign);
//! - quantifiers `? * + {n} {n,} {n,m}`, greedy and lazy (`??`, `*?`, ...);
//! - anchors `^ $` (always at line starts and ends: Ruby has no single-line mode; `^` not after a
//!   final `\n`), `\A \z \Z`, word boundaries `\b \B`, lookahead `(?=...)` `(?!...)`,
//!   fixed-width lookbehind `(?<=...)` `(?<!...)`, atomic groups `(?>...)`.
//!
//! Refused by name when the tokenizer is loaded: Unicode scripts and properties other than the
//! general categories (`\p{Greek}`, `\p{Alphabetic}`), backreferences, possessive quantifiers,
//! class set operations (`&&`, `--`, `~~`), POSIX classes, verbose mode `(?x)`, `(?s)` and `(?U)`
//! (which Oniguruma refuses too), and variable-width lookbehind.
//!
//! Matching is backtracking with leftmost-first alternation (as Perl, Oniguruma and fancy-regex);
//! see [`matcher`] for the step budget that keeps hostile patterns bounded.

pub mod matcher;

use super::unicode::{general_category, Category as G};

/// Why a pattern cannot be compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum PatternError {
    /// A `\p{..}` name that is valid Unicode but not a general category we carry.
    UnicodeClass(String),
    /// Anything else: what is wrong (and where).
    Syntax(String),
}

/// The most instructions a compiled pattern may have (counted repetitions are unrolled).
const MAX_PROGRAM: usize = 100_000;
/// The deepest nesting of groups (the parser and the lookaround runs recurse on it).
const MAX_NESTING: usize = 100;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    prog: Vec<Inst>,
    classes: Vec<Class>,
    registers: usize,
}

impl Pattern {
    /// Compile a regular expression.
    pub fn new(source: &str) -> Result<Pattern, PatternError> {
        let mut p = Parser { chars: source.chars().collect(), at: 0, depth: 0, classes: vec![] };
        let flags = Flags::default();
        let node = p.alternation(flags)?;
        if p.at < p.chars.len() {
            // Only a `)` stops the top-level alternation early.
            return Err(PatternError::Syntax(format!("unopened group: `)` at char {}", p.at)));
        }
        let mut c = Compiler { prog: vec![], registers: 0 };
        c.node(&node)?;
        c.push(Inst::Match)?;
        Ok(Pattern { source: source.to_string(), prog: c.prog, classes: p.classes, registers: c.registers })
    }

    /// A pattern that matches `text` literally (a `{"String": ..}` pattern of tokenizer.json).
    pub fn literal(text: &str) -> Pattern {
        let mut prog: Vec<Inst> = text.chars().map(Inst::Char).collect();
        prog.push(Inst::Match);
        Pattern { source: text.to_string(), prog, classes: vec![], registers: 0 }
    }

    /// The text the pattern was compiled from.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

// ---- syntax tree ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    fold: bool,
    /// Ruby's `(?m)`: `.` matches `\n` too. (Its anchors are always multi-line.)
    dot_all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Look {
    TextStart,
    TextEnd,
    /// `\Z`: the end, or just before a final `\n`.
    TextEndBeforeFinalNewline,
    LineStart,
    LineEnd,
    WordBoundary,
    NotWordBoundary,
}

#[derive(Debug)]
enum Node {
    Empty,
    Char(char, bool),
    Class(usize),
    Any { dot_all: bool },
    Look(Look),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat { node: Box<Node>, min: u32, max: Option<u32>, greedy: bool },
    Around { ahead: bool, negate: bool, node: Box<Node> },
    Atomic(Box<Node>),
}

impl Node {
    /// Can it match without consuming a char? (Loops over such bodies need a progress check.)
    fn nullable(&self) -> bool {
        match self {
            Node::Empty | Node::Look(_) | Node::Around { .. } => true,
            Node::Char(..) | Node::Class(_) | Node::Any { .. } => false,
            Node::Concat(v) => v.iter().all(Node::nullable),
            Node::Alt(v) => v.iter().any(Node::nullable),
            Node::Repeat { node, min, .. } => *min == 0 || node.nullable(),
            Node::Atomic(n) => n.nullable(),
        }
    }

    /// The number of chars it always matches, if fixed (what a lookbehind needs).
    fn width(&self) -> Option<usize> {
        match self {
            Node::Empty | Node::Look(_) | Node::Around { .. } => Some(0),
            Node::Char(..) | Node::Class(_) | Node::Any { .. } => Some(1),
            Node::Concat(v) => v.iter().try_fold(0usize, |a, n| Some(a + n.width()?)),
            Node::Alt(v) => {
                let first = v.first().map_or(Some(0), Node::width)?;
                v.iter().all(|n| n.width() == Some(first)).then_some(first)
            }
            Node::Repeat { node, min, max, .. } => {
                if Some(*min) == *max {
                    node.width().map(|w| w * *min as usize)
                } else {
                    None
                }
            }
            Node::Atomic(n) => n.width(),
        }
    }
}

// ---- character classes ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Perl {
    Digit,
    Space,
    Word,
    /// `\w` inside brackets (`[\w]`, `[^\w\s]`): Oniguruma leaves Latin-1's number signs out
    /// there, though the bare `\w` takes them.
    ClassWord,
}

#[derive(Debug, Clone)]
enum Item {
    Range(char, char),
    /// A set of general categories (bit i = category i of [`category_bit`]), possibly negated.
    Categories(u32, bool),
    Perl(Perl, bool),
    /// A class nested inside a class (`[^(\\s|[.,!?])]` of BLOOM): their union.
    Nested(Box<Class>),
}

#[derive(Debug, Clone)]
pub(crate) struct Class {
    items: Vec<Item>,
    negated: bool,
    fold: bool,
}

impl Class {
    fn single(item: Item, fold: bool) -> Class {
        Class { items: vec![item], negated: false, fold }
    }

    fn contains_exactly(&self, c: char) -> bool {
        self.items.iter().any(|item| match *item {
            Item::Range(a, b) => a <= c && c <= b,
            Item::Categories(bits, neg) => (bits & category_bit(c) != 0) != neg,
            Item::Perl(kind, neg) => is_perl(kind, c) != neg,
            Item::Nested(ref class) => class.contains_exactly(c) != class.negated,
        })
    }

    pub(crate) fn matches(&self, c: char) -> bool {
        let inside = if self.fold {
            case_variants(c).iter().flatten().any(|&v| self.contains_exactly(v))
                || {
                    let key = fold(c);
                    FOLD_UNREACHED.iter().any(|&(d, d_key)| d_key == key && self.contains_exactly(d))
                }
        } else {
            self.contains_exactly(c)
        };
        inside != self.negated
    }
}

/// One bit per general category.
fn category_bit(c: char) -> u32 {
    1 << category_index(general_category(c))
}

fn category_index(g: G) -> u32 {
    match g {
        G::UppercaseLetter => 0,
        G::LowercaseLetter => 1,
        G::TitlecaseLetter => 2,
        G::ModifierLetter => 3,
        G::OtherLetter => 4,
        G::NonspacingMark => 5,
        G::SpacingMark => 6,
        G::EnclosingMark => 7,
        G::DecimalNumber => 8,
        G::LetterNumber => 9,
        G::OtherNumber => 10,
        G::ConnectorPunctuation => 11,
        G::DashPunctuation => 12,
        G::OpenPunctuation => 13,
        G::ClosePunctuation => 14,
        G::InitialPunctuation => 15,
        G::FinalPunctuation => 16,
        G::OtherPunctuation => 17,
        G::MathSymbol => 18,
        G::CurrencySymbol => 19,
        G::ModifierSymbol => 20,
        G::OtherSymbol => 21,
        G::SpaceSeparator => 22,
        G::LineSeparator => 23,
        G::ParagraphSeparator => 24,
        G::Control => 25,
        G::Format => 26,
        G::Surrogate => 27,
        G::PrivateUse => 28,
        // Unassigned, and any category a later version of the crate might add.
        _ => 29,
    }
}

const ALL_CATEGORIES: u32 = (1 << 30) - 1;

/// The category set a `\p{..}` name stands for (loose matching as in regex-syntax: case,
/// spaces, `_` and `-` are ignored).
fn categories_named(name: &str) -> Option<u32> {
    let mut key: String = name.chars().filter(|c| !matches!(c, ' ' | '_' | '-')).flat_map(char::to_lowercase).collect();
    for prefix in ["generalcategory=", "gc=", "generalcategory:", "gc:"] {
        if let Some(rest) = key.strip_prefix(prefix) {
            key = rest.to_string();
            break;
        }
    }
    let bits = |r: std::ops::RangeInclusive<u32>| r.fold(0u32, |a, i| a | 1 << i);
    Some(match key.as_str() {
        "any" => ALL_CATEGORIES,
        "assigned" => ALL_CATEGORIES & !(1 << 29),
        "l" | "letter" => bits(0..=4),
        "lc" | "casedletter" => bits(0..=2),
        "lu" | "uppercaseletter" => 1 << 0,
        "ll" | "lowercaseletter" => 1 << 1,
        "lt" | "titlecaseletter" => 1 << 2,
        "lm" | "modifierletter" => 1 << 3,
        "lo" | "otherletter" => 1 << 4,
        "m" | "mark" | "combiningmark" => bits(5..=7),
        "mn" | "nonspacingmark" => 1 << 5,
        "mc" | "spacingmark" => 1 << 6,
        "me" | "enclosingmark" => 1 << 7,
        "n" | "number" => bits(8..=10),
        "nd" | "decimalnumber" | "digit" => 1 << 8,
        "nl" | "letternumber" => 1 << 9,
        "no" | "othernumber" => 1 << 10,
        "p" | "punctuation" | "punct" => bits(11..=17),
        "pc" | "connectorpunctuation" => 1 << 11,
        "pd" | "dashpunctuation" => 1 << 12,
        "ps" | "openpunctuation" => 1 << 13,
        "pe" | "closepunctuation" => 1 << 14,
        "pi" | "initialpunctuation" => 1 << 15,
        "pf" | "finalpunctuation" => 1 << 16,
        "po" | "otherpunctuation" => 1 << 17,
        "s" | "symbol" => bits(18..=21),
        "sm" | "mathsymbol" => 1 << 18,
        "sc" | "currencysymbol" => 1 << 19,
        "sk" | "modifiersymbol" => 1 << 20,
        "so" | "othersymbol" => 1 << 21,
        "z" | "separator" => bits(22..=24),
        "zs" | "spaceseparator" => 1 << 22,
        "zl" | "lineseparator" => 1 << 23,
        "zp" | "paragraphseparator" => 1 << 24,
        "c" | "other" => bits(25..=29),
        "cc" | "control" | "cntrl" => 1 << 25,
        "cf" | "format" => 1 << 26,
        "cs" | "surrogate" => 1 << 27,
        "co" | "privateuse" => 1 << 28,
        "cn" | "unassigned" => 1 << 29,
        _ => return None,
    })
}

/// `\d`, `\s`, `\w` with Unicode meanings: decimal digits (Nd), White_Space, and word chars
/// as Oniguruma counts them ([`is_word_char`]).
pub(crate) fn is_perl(kind: Perl, c: char) -> bool {
    match kind {
        Perl::Digit => matches!(general_category(c), G::DecimalNumber),
        Perl::Space => matches!(c, '\t'..='\r' | ' ' | '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'),
        Perl::Word => is_word_char(c),
        Perl::ClassWord => is_word_char(c) && !ONIG_WORD_DIFFERENCES[..ONIG_ONLY_WORD_CHARS].contains(&c),
    }
}

/// The chars whose `\w` membership Oniguruma gives differently from Unicode: the first
/// [`ONIG_ONLY_WORD_CHARS`] (Latin-1's number signs) are word chars only in Oniguruma, the rest (the
/// joiners ZWNJ and ZWJ) only in Unicode.
pub const ONIG_WORD_DIFFERENCES: [char; 8] = ['\u{b2}', '\u{b3}', '\u{b9}', '\u{bc}', '\u{bd}', '\u{be}', '\u{200c}', '\u{200d}'];
pub const ONIG_ONLY_WORD_CHARS: usize = 6;

/// `\w` (and `\b`) as Oniguruma, the engine HF's tokenizers compile patterns with, has it:
/// Alphabetic (letters, letter numbers and the Other_Alphabetic marks and circled/squared
/// letters), marks, decimal digits and connector punctuation, plus the Latin-1 number signs
/// `² ³ ¹ ¼ ½ ¾`, but not the two joiners ZWNJ and ZWJ (which Unicode's `\w` takes). A sweep
/// of every code point against `tokenizers` found these 8 to differ from Unicode's definition.
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    if let Some(i) = ONIG_WORD_DIFFERENCES.iter().position(|&d| d == c) {
        return i < ONIG_ONLY_WORD_CHARS;
    }
    match general_category(c) {
        G::UppercaseLetter | G::LowercaseLetter | G::TitlecaseLetter | G::ModifierLetter | G::OtherLetter => true,
        G::NonspacingMark | G::SpacingMark | G::EnclosingMark => true,
        G::DecimalNumber | G::LetterNumber | G::ConnectorPunctuation => true,
        // Other_Alphabetic symbols: circled Latin letters and the squared / negative ones.
        G::OtherSymbol => matches!(c, '\u{24b6}'..='\u{24e9}' | '\u{1f130}'..='\u{1f149}' | '\u{1f150}'..='\u{1f169}' | '\u{1f170}'..='\u{1f189}'),
        _ => false,
    }
}

// ---- case folding --------------------------------------------------------------------------------

fn one_lower(c: char) -> Option<char> {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => Some(l),
        _ => None,
    }
}

fn one_upper(c: char) -> Option<char> {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => Some(u),
        _ => None,
    }
}

/// The representative of `c`'s simple case-folding class: its uppercase's lowercase (so `ſ`, `s`
/// and `S` share `s`, the Kelvin sign and `k` share `k`). The dotless ı is its own class, as in
/// Unicode's CaseFolding (its uppercase I belongs to i).
pub(crate) fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    if c == 'ı' {
        return c;
    }
    let u = one_upper(c).unwrap_or(c);
    one_lower(u).unwrap_or(u)
}

/// Chars that share a simple case-folding class with others but are not their one-char upper- or
/// lowercase (the Kelvin sign K, long s ſ, titlecase ǅ, Greek symbol forms ϑ ϐ, ẞ, ...): a
/// case-insensitive class tests them too. Each with its [`fold`], found by comparing every char's
/// fold class with its [`case_variants`]; tests/rust/pattern.rs checks every char against fancy-regex.
const FOLD_UNREACHED: &[(char, char)] = &[
    ('\u{4b}', '\u{6b}'), ('\u{b5}', '\u{3bc}'), ('\u{c5}', '\u{e5}'), ('\u{17f}', '\u{73}'), ('\u{1c5}', '\u{1c6}'), ('\u{1c8}', '\u{1c9}'),
    ('\u{1cb}', '\u{1cc}'), ('\u{1f2}', '\u{1f3}'), ('\u{345}', '\u{3b9}'), ('\u{398}', '\u{3b8}'), ('\u{3a9}', '\u{3c9}'), ('\u{3c2}', '\u{3c3}'),
    ('\u{3d0}', '\u{3b2}'), ('\u{3d1}', '\u{3b8}'), ('\u{3d5}', '\u{3c6}'), ('\u{3d6}', '\u{3c0}'), ('\u{3f0}', '\u{3ba}'), ('\u{3f1}', '\u{3c1}'),
    ('\u{3f4}', '\u{3b8}'), ('\u{3f5}', '\u{3b5}'), ('\u{1c80}', '\u{432}'), ('\u{1c81}', '\u{434}'), ('\u{1c82}', '\u{43e}'), ('\u{1c83}', '\u{441}'),
    ('\u{1c84}', '\u{442}'), ('\u{1c85}', '\u{442}'), ('\u{1c86}', '\u{44a}'), ('\u{1c87}', '\u{463}'), ('\u{1c88}', '\u{a64b}'), ('\u{1e9b}', '\u{1e61}'),
    ('\u{1e9e}', '\u{df}'), ('\u{1f88}', '\u{1f80}'), ('\u{1f89}', '\u{1f81}'), ('\u{1f8a}', '\u{1f82}'), ('\u{1f8b}', '\u{1f83}'), ('\u{1f8c}', '\u{1f84}'),
    ('\u{1f8d}', '\u{1f85}'), ('\u{1f8e}', '\u{1f86}'), ('\u{1f8f}', '\u{1f87}'), ('\u{1f98}', '\u{1f90}'), ('\u{1f99}', '\u{1f91}'), ('\u{1f9a}', '\u{1f92}'),
    ('\u{1f9b}', '\u{1f93}'), ('\u{1f9c}', '\u{1f94}'), ('\u{1f9d}', '\u{1f95}'), ('\u{1f9e}', '\u{1f96}'), ('\u{1f9f}', '\u{1f97}'), ('\u{1fa8}', '\u{1fa0}'),
    ('\u{1fa9}', '\u{1fa1}'), ('\u{1faa}', '\u{1fa2}'), ('\u{1fab}', '\u{1fa3}'), ('\u{1fac}', '\u{1fa4}'), ('\u{1fad}', '\u{1fa5}'), ('\u{1fae}', '\u{1fa6}'),
    ('\u{1faf}', '\u{1fa7}'), ('\u{1fbc}', '\u{1fb3}'), ('\u{1fbe}', '\u{3b9}'), ('\u{1fcc}', '\u{1fc3}'), ('\u{1ffc}', '\u{1ff3}'), ('\u{2126}', '\u{3c9}'),
    ('\u{212a}', '\u{6b}'), ('\u{212b}', '\u{e5}'),
];

/// The chars a case-insensitive class tests for `c` (itself and its case partners).
fn case_variants(c: char) -> [Option<char>; 4] {
    if c == 'ı' {
        return [Some(c), None, None, None];
    }
    let lower = one_lower(c).filter(|&l| l != 'ı');
    let upper = one_upper(c);
    [Some(c), lower, upper, Some(fold(c))]
}

// ---- parser --------------------------------------------------------------------------------------

struct Parser {
    chars: Vec<char>,
    at: usize,
    depth: usize,
    classes: Vec<Class>,
}

fn syntax<T>(msg: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError::Syntax(msg.into()))
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.chars.len() >= self.at + n && self.chars[self.at..self.at + n].iter().copied().eq(s.chars()) {
            self.at += n;
            true
        } else {
            false
        }
    }

    fn next(&mut self, what: &str) -> Result<char, PatternError> {
        match self.peek() {
            Some(c) => {
                self.at += 1;
                Ok(c)
            }
            None => syntax(format!("the pattern ends inside {what}")),
        }
    }

    fn class(&mut self, class: Class) -> Node {
        self.classes.push(class);
        Node::Class(self.classes.len() - 1)
    }

    /// `a|b|c` up to a `)` or the end. `flags` may be changed by `(?i)` inside; the change lasts
    /// to the end of the enclosing group.
    fn alternation(&mut self, mut flags: Flags) -> Result<Node, PatternError> {
        let mut alts = vec![];
        let mut seq: Vec<Node> = vec![];
        loop {
            match self.peek() {
                None | Some(')') => break,
                Some('|') => {
                    self.at += 1;
                    alts.push(concat(std::mem::take(&mut seq)));
                }
                Some(_) => {
                    let atom = self.atom(&mut flags)?;
                    let Some(atom) = atom else { continue };
                    let atom = self.quantified(atom)?;
                    seq.push(atom);
                }
            }
        }
        alts.push(concat(seq));
        Ok(if alts.len() == 1 { alts.pop().unwrap_or(Node::Empty) } else { Node::Alt(alts) })
    }

    /// Wrap `atom` in any quantifiers that follow it.
    fn quantified(&mut self, mut atom: Node) -> Result<Node, PatternError> {
        let mut repeated = false;
        loop {
            let start = self.at;
            let (min, max) = match self.peek() {
                Some('?') => (0, Some(1)),
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('{') => match self.counted()? {
                    Some(r) => r,
                    None => return Ok(atom),
                },
                _ => return Ok(atom),
            };
            if self.at == start {
                self.at += 1;
            }
            if matches!(atom, Node::Look(_) | Node::Empty) {
                return syntax(format!("a quantifier at char {start} repeats nothing"));
            }
            if repeated {
                // `a**` is refused by regex-syntax too; `a*+` would be possessive.
                return syntax(format!("a quantifier at char {start} follows another quantifier (possessive and doubled quantifiers are not supported; use an atomic group (?>...))"));
            }
            let greedy = !self.eat('?');
            repeated = true;
            atom = Node::Repeat { node: Box::new(atom), min, max, greedy };
        }
    }

    /// `{n}`, `{n,}`, `{n,m}` (consumed), or `None` when the `{` does not start a count.
    fn counted(&mut self) -> Result<Option<(u32, Option<u32>)>, PatternError> {
        let start = self.at;
        self.at += 1;
        let number = |p: &mut Parser| -> Result<Option<u32>, PatternError> {
            let from = p.at;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.at += 1;
            }
            if p.at == from {
                return Ok(None);
            }
            let digits: String = p.chars[from..p.at].iter().collect();
            digits.parse::<u32>().map(Some).map_err(|_| PatternError::Syntax(format!("the repetition count {digits} is too large")))
        };
        let Some(min) = number(self)? else {
            return syntax(format!("`{{` at char {start} does not start a repetition {{n}}, {{n,}} or {{n,m}} (escape it as \\{{ for a literal brace)"));
        };
        let max = if self.eat(',') { number(self)? } else { Some(min) };
        if !self.eat('}') {
            return syntax(format!("the repetition at char {start} is not closed with `}}`"));
        }
        if let Some(max) = max {
            if max < min {
                return syntax(format!("the repetition at char {start} has its minimum above its maximum"));
            }
        }
        Ok(Some((min, max)))
    }

    /// One atom, or `None` for a flag group `(?i)` (which changes `flags`).
    fn atom(&mut self, flags: &mut Flags) -> Result<Option<Node>, PatternError> {
        let at = self.at;
        let c = self.next("an atom")?;
        Ok(Some(match c {
            '(' => return self.group(flags),
            '[' => {
                let class = self.bracket(*flags)?;
                self.class(class)
            }
            '.' => Node::Any { dot_all: flags.dot_all },
            '^' => Node::Look(Look::LineStart),
            '$' => Node::Look(Look::LineEnd),
            '*' | '+' | '?' => return syntax(format!("the quantifier `{c}` at char {at} has nothing to repeat")),
            '{' => return syntax(format!("`{{` at char {at} has nothing to repeat (escape it as \\{{ for a literal brace)")),
            '\\' => match self.escape(false, *flags)? {
                Escaped::Char(c) => Node::Char(c, flags.fold),
                Escaped::Item(item) => {
                    let class = Class::single(item, flags.fold);
                    self.class(class)
                }
                Escaped::Look(l) => Node::Look(l),
            },
            c => Node::Char(c, flags.fold),
        }))
    }

    fn group(&mut self, flags: &mut Flags) -> Result<Option<Node>, PatternError> {
        let open = self.at - 1;
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return syntax(format!("groups are nested more than {MAX_NESTING} deep"));
        }
        let mut inner = *flags;
        enum Kind {
            Plain,
            Around(bool, bool),
            Atomic,
        }
        let mut kind = Kind::Plain;
        if self.eat('?') {
            if self.eat('=') {
                kind = Kind::Around(true, false);
            } else if self.eat('!') {
                kind = Kind::Around(true, true);
            } else if self.eat_str("<=") {
                kind = Kind::Around(false, false);
            } else if self.eat_str("<!") {
                kind = Kind::Around(false, true);
            } else if self.eat('>') {
                kind = Kind::Atomic;
            } else if self.eat_str("P<") || self.eat('<') {
                // A named group: the name does not matter for where the pattern matches.
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '[' || c == ']') {
                    self.at += 1;
                }
                if !self.eat('>') {
                    return syntax(format!("the group name at char {open} is not closed with `>`"));
                }
            } else {
                // Flags: (?i) sets them for the rest of the enclosing group, (?i:...) for the group.
                let mut on = true;
                loop {
                    match self.next("a flag group")? {
                        'i' => inner.fold = on,
                        'm' => inner.dot_all = on,
                        'u' => {}
                        '-' if on => on = false,
                        ':' => break,
                        ')' => {
                            *flags = inner;
                            self.depth -= 1;
                            return Ok(None);
                        }
                        f => {
                            return syntax(format!(
                                "the flag `{f}` at char {} is not supported (only i and m, Oniguruma's dot-all; verbose (?x) and swap-greed (?U) are not, nor (?s), which Oniguruma refuses too)",
                                self.at - 1
                            ))
                        }
                    }
                }
            }
        }
        let body = self.alternation(inner)?;
        if !self.eat(')') {
            return syntax(format!("the group opened at char {open} is not closed"));
        }
        self.depth -= 1;
        Ok(Some(match kind {
            Kind::Plain => body,
            Kind::Atomic => Node::Atomic(Box::new(body)),
            Kind::Around(ahead, negate) => {
                if !ahead && body.width().is_none() {
                    return syntax(format!("the lookbehind at char {open} does not have a fixed width (only fixed-width lookbehind is supported)"));
                }
                Node::Around { ahead, negate, node: Box::new(body) }
            }
        }))
    }

    /// `[...]` after the `[`.
    fn bracket(&mut self, flags: Flags) -> Result<Class, PatternError> {
        let open = self.at - 1;
        let negated = self.eat('^');
        let mut items = vec![];
        let mut first = true;
        loop {
            let c = self.next("a class [...]")?;
            match c {
                ']' if !first => break,
                '[' if self.peek() == Some(':') => {
                    return syntax(format!("the class at char {open} uses a POSIX class [:name:], which is not supported; use \\p{{..}} or a range"))
                }
                '[' => {
                    self.depth += 1;
                    if self.depth > MAX_NESTING {
                        return syntax(format!("classes are nested more than {MAX_NESTING} deep"));
                    }
                    let inner = self.bracket(flags)?;
                    self.depth -= 1;
                    items.push(Item::Nested(Box::new(inner)));
                    first = false;
                    continue;
                }
                '&' | '-' | '~' if self.peek() == Some(c) => {
                    return syntax(format!("the class at char {open} uses the set operation `{c}{c}`, which is not supported"))
                }
                _ => {}
            }
            first = false;
            let low = match c {
                '\\' => match self.escape(true, flags)? {
                    Escaped::Char(c) => c,
                    Escaped::Item(item) => {
                        items.push(item);
                        continue;
                    }
                    Escaped::Look(_) => unreachable!("escape(in_class) never returns an assertion"),
                },
                c => c,
            };
            // A range `a-z`, unless the `-` is last (`[a-]`).
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|n| n != ']') {
                self.at += 1;
                let high = match self.next("a class range")? {
                    '\\' => match self.escape(true, flags)? {
                        Escaped::Char(c) => c,
                        _ => return syntax(format!("the range in the class at char {open} ends in a class, not a char")),
                    },
                    '[' => return syntax(format!("the class at char {open} contains `[` (escape it as \\[)")),
                    c => c,
                };
                if high < low {
                    return syntax(format!("the range {low}-{high} in the class at char {open} is backwards"));
                }
                items.push(Item::Range(low, high));
            } else {
                items.push(Item::Range(low, low));
            }
        }
        Ok(Class { items, negated, fold: flags.fold })
    }

    /// What follows a `\`.
    fn escape(&mut self, in_class: bool, _flags: Flags) -> Result<Escaped, PatternError> {
        let at = self.at - 1;
        let c = self.next("an escape")?;
        Ok(match c {
            'n' => Escaped::Char('\n'),
            'r' => Escaped::Char('\r'),
            't' => Escaped::Char('\t'),
            'f' => Escaped::Char('\u{c}'),
            'v' => Escaped::Char('\u{b}'),
            'a' => Escaped::Char('\u{7}'),
            'e' => Escaped::Char('\u{1b}'),
            'x' => Escaped::Char(self.hex(2, at)?),
            'u' => Escaped::Char(self.hex(4, at)?),
            'U' => Escaped::Char(self.hex(8, at)?),
            'd' | 'D' => Escaped::Item(Item::Perl(Perl::Digit, c == 'D')),
            's' | 'S' => Escaped::Item(Item::Perl(Perl::Space, c == 'S')),
            'w' | 'W' => Escaped::Item(Item::Perl(if in_class { Perl::ClassWord } else { Perl::Word }, c == 'W')),
            'p' | 'P' => {
                let name = match self.braced("the Unicode class", at)? {
                    Some(name) => name,
                    None => self.next("a Unicode class")?.to_string(),
                };
                match categories_named(&name) {
                    Some(bits) => Escaped::Item(Item::Categories(bits, c == 'P')),
                    None if name.eq_ignore_ascii_case("ascii") => Escaped::Item(if c == 'P' { Item::Range('\u{80}', char::MAX) } else { Item::Range('\0', '\u{7f}') }),
                    None => {
                        let written = if self.chars[at + 2] == '{' { format!("\\{c}{{{name}}}") } else { format!("\\{c}{name}") };
                        return Err(PatternError::UnicodeClass(written));
                    }
                }
            }
            'b' | 'B' | 'A' | 'z' | 'Z' if !in_class => {
                if c == 'b' && self.peek() == Some('{') {
                    return syntax(format!("the word-boundary form at char {at} (\\b{{...}}) is not supported; use \\b"));
                }
                Escaped::Look(match c {
                    'b' => Look::WordBoundary,
                    'B' => Look::NotWordBoundary,
                    'A' => Look::TextStart,
                    'Z' => Look::TextEndBeforeFinalNewline,
                    _ => Look::TextEnd,
                })
            }
            '1'..='9' | 'k' | 'g' => return syntax(format!("the backreference `\\{c}` at char {at} is not supported")),
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Escaped::Char(c),
            c => return syntax(format!("the escape `\\{c}` at char {at} is not supported")),
        })
    }

    /// What stands between `{` and `}` when the next char is `{` (`\p{..}`, `\x{..}`), else `None`.
    fn braced(&mut self, what: &str, at: usize) -> Result<Option<String>, PatternError> {
        if !self.eat('{') {
            return Ok(None);
        }
        let from = self.at;
        while self.peek().is_some_and(|c| c != '}') {
            self.at += 1;
        }
        if !self.eat('}') {
            return syntax(format!("{what} at char {at} is not closed with `}}`"));
        }
        Ok(Some(self.chars[from..self.at - 1].iter().collect()))
    }

    /// `\x` `\u` `\U` followed by exactly `digits` hex digits or by `{H..}`.
    fn hex(&mut self, digits: usize, at: usize) -> Result<char, PatternError> {
        let text: String = if let Some(text) = self.braced("the hex escape", at)? {
            text
        } else {
            let end = self.at + digits;
            if end > self.chars.len() {
                return syntax(format!("the hex escape at char {at} needs {digits} hex digits"));
            }
            let t = self.chars[self.at..end].iter().collect();
            self.at = end;
            t
        };
        u32::from_str_radix(&text, 16)
            .ok()
            .filter(|_| !text.is_empty() && text.len() <= 8 && text.chars().all(|c| c.is_ascii_hexdigit()))
            .and_then(char::from_u32)
            .ok_or_else(|| PatternError::Syntax(format!("the hex escape at char {at} is not a Unicode scalar value")))
    }
}

enum Escaped {
    Char(char),
    Item(Item),
    Look(Look),
}

fn concat(mut seq: Vec<Node>) -> Node {
    match seq.len() {
        0 => Node::Empty,
        1 => seq.pop().unwrap_or(Node::Empty),
        _ => Node::Concat(seq),
    }
}

// ---- compiler ------------------------------------------------------------------------------------

/// One instruction of the backtracking machine ([`matcher`]).
#[derive(Debug, Clone)]
pub(crate) enum Inst {
    Char(char),
    /// A char equal to this one under simple case folding (the stored char is already folded).
    CharFold(char),
    Class(usize),
    Any,
    AnyButNewline,
    /// Try `.0` first; on failure come back and try `.1`.
    Split(usize, usize),
    Jump(usize),
    Look(Look),
    /// A lookaround whose body follows (ending in `Match`); continue at `next` if it holds.
    Around { ahead: bool, negate: bool, width: usize, next: usize },
    /// An atomic group whose body follows (ending in `Match`): its first match is taken, never revisited.
    Atomic { next: usize },
    /// Remember the position in a register (undone on backtracking).
    Mark(usize),
    /// Fail unless the position moved since the register's mark (a loop body that matched nothing).
    Progress(usize),
    Match,
}

struct Compiler {
    prog: Vec<Inst>,
    registers: usize,
}

impl Compiler {
    fn push(&mut self, inst: Inst) -> Result<usize, PatternError> {
        if self.prog.len() >= MAX_PROGRAM {
            return syntax(format!("the pattern compiles to more than {MAX_PROGRAM} steps (a repetition count too large?)"));
        }
        self.prog.push(inst);
        Ok(self.prog.len() - 1)
    }

    fn node(&mut self, node: &Node) -> Result<(), PatternError> {
        match node {
            Node::Empty => {}
            Node::Char(c, false) => {
                self.push(Inst::Char(*c))?;
            }
            Node::Char(c, true) => {
                self.push(Inst::CharFold(fold(*c)))?;
            }
            Node::Class(i) => {
                self.push(Inst::Class(*i))?;
            }
            Node::Any { dot_all } => {
                self.push(if *dot_all { Inst::Any } else { Inst::AnyButNewline })?;
            }
            Node::Look(l) => {
                self.push(Inst::Look(*l))?;
            }
            Node::Concat(v) => {
                for n in v {
                    self.node(n)?;
                }
            }
            Node::Alt(v) => {
                // Split(a, next) a Jump(end) Split(b, next) b Jump(end) ... last
                let mut jumps = vec![];
                for (i, n) in v.iter().enumerate() {
                    if i + 1 < v.len() {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.node(n)?;
                        jumps.push(self.push(Inst::Jump(0))?);
                        let next = self.prog.len();
                        self.prog[split] = Inst::Split(split + 1, next);
                    } else {
                        self.node(n)?;
                    }
                }
                let end = self.prog.len();
                for j in jumps {
                    self.prog[j] = Inst::Jump(end);
                }
            }
            Node::Repeat { node, min, max, greedy } => {
                for _ in 0..*min {
                    self.node(node)?;
                }
                match max {
                    None => self.star(node, *greedy)?,
                    Some(max) => {
                        // (x(x(x)?)?)? for the optional copies.
                        let mut splits = vec![];
                        for _ in *min..*max {
                            splits.push(self.push(Inst::Split(0, 0))?);
                            self.node(node)?;
                        }
                        let end = self.prog.len();
                        for s in splits {
                            self.prog[s] = if *greedy { Inst::Split(s + 1, end) } else { Inst::Split(end, s + 1) };
                        }
                    }
                }
            }
            Node::Around { ahead, negate, node } => {
                let at = self.push(Inst::Match)?;
                self.node(node)?;
                self.push(Inst::Match)?;
                let width = node.width().unwrap_or(0);
                self.prog[at] = Inst::Around { ahead: *ahead, negate: *negate, width, next: self.prog.len() };
            }
            Node::Atomic(node) => {
                let at = self.push(Inst::Match)?;
                self.node(node)?;
                self.push(Inst::Match)?;
                self.prog[at] = Inst::Atomic { next: self.prog.len() };
            }
        }
        Ok(())
    }

    /// `x*`: loop: Split(body, end) [Mark] body [Progress] Jump(loop).
    fn star(&mut self, node: &Node, greedy: bool) -> Result<(), PatternError> {
        let split = self.push(Inst::Split(0, 0))?;
        let guard = node.nullable().then(|| {
            self.registers += 1;
            self.registers - 1
        });
        if let Some(r) = guard {
            self.push(Inst::Mark(r))?;
        }
        self.node(node)?;
        if let Some(r) = guard {
            self.push(Inst::Progress(r))?;
        }
        self.push(Inst::Jump(split))?;
        let end = self.prog.len();
        self.prog[split] = if greedy { Inst::Split(split + 1, end) } else { Inst::Split(end, split + 1) };
        Ok(())
    }
}
