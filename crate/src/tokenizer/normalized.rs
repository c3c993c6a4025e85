//! A string that remembers where each of its bytes came from.
//!
//! Every stage before the model (normalisers, pre-tokenisers, added-token extraction) rewrites
//! text; offsets into the user's original text survive only if each rewritten byte keeps the
//! range of original bytes it stands for. This mirrors `NormalizedString` of Hugging Face
//! `tokenizers` (tokenizers/src/tokenizer/normalizer.rs), including its quirks, because the
//! offsets we report must be the ones Python reports.

use unicode_normalization_alignments::UnicodeNormalization;
use crate::error::{Error, Result};

/// How a split treats the pieces a pattern matched (HF's `SplitDelimiterBehavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitBehavior {
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

impl SplitBehavior {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "Removed" => Self::Removed,
            "Isolated" => Self::Isolated,
            "MergedWithPrevious" => Self::MergedWithPrevious,
            "MergedWithNext" => Self::MergedWithNext,
            "Contiguous" => Self::Contiguous,
            _ => return None,
        })
    }
}

/// Byte ranges covering a whole string, each flagged `true` where a pattern matched.
pub type Matches = Vec<((usize, usize), bool)>;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NormalizedString {
    /// The part of the user's text this piece covers.
    original: String,
    normalized: String,
    /// For each byte of `normalized`, the byte range of `original` it came from.
    align: Vec<(usize, usize)>,
    /// Byte offset of `original` inside the user's whole text.
    shift: usize,
}

impl NormalizedString {
    pub fn new(text: &str) -> Self {
        let mut align = Vec::with_capacity(text.len());
        for (b, c) in text.char_indices() {
            let n = c.len_utf8();
            align.extend(std::iter::repeat_n((b, b + n), n));
        }
        Self { original: text.to_string(), normalized: text.to_string(), align, shift: 0 }
    }

    pub fn get(&self) -> &str {
        &self.normalized
    }

    pub fn is_empty(&self) -> bool {
        self.normalized.is_empty()
    }

    /// Bytes of the original text this string stands for (what normaliser growth is measured against).
    pub fn original_len(&self) -> usize {
        self.original.len()
    }

    pub fn len(&self) -> usize {
        self.normalized.len()
    }

    /// Byte range of this piece in the user's whole text.
    pub fn offsets_original(&self) -> (usize, usize) {
        (self.shift, self.shift + self.original.len())
    }

    /// Normalized byte range -> byte range of the user's whole text.
    pub fn original_range(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let r = self.normalized_to_original(start, end)?;
        Some((self.shift + r.0, self.shift + r.1))
    }

    /// Normalized byte range -> range in `self.original`.
    fn normalized_to_original(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start == end {
            return Some((start, end));
        }
        if start > end {
            return None;
        }
        if self.normalized.is_empty() && (start, end) == (0, 0) {
            return Some((0, self.original.len()));
        }
        let a = self.align.get(start..end)?;
        Some((a.first()?.0, a.last()?.1))
    }

    /// Original byte range (of `self.original`) -> normalized byte range, as HF computes it:
    /// zero-width alignments never start a range.
    fn original_to_normalized(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start == end {
            return Some((start, end));
        }
        if start > end {
            return None;
        }
        if self.original.is_empty() && (start, end) == (0, 0) {
            return Some((0, self.normalized.len()));
        }
        let (mut s, mut e) = (None, None);
        for (i, a) in self.align.iter().enumerate() {
            if end < a.1 {
                break;
            }
            if s.is_none() && start <= a.0 && a.0 != a.1 {
                s = Some(i);
            }
            e = Some(i + 1);
        }
        match (s, e) {
            (Some(s), None) => Some((s, s)),
            (None, Some(e)) => Some((e, e)),
            (Some(s), Some(e)) => Some((s, e)),
            _ => None,
        }
    }

    /// Replace `normalized[range]` by the chars of `dest`. Each char comes with a change:
    /// 0 replaces the next original char, +1 is inserted, -N replaces one and removes N more.
    /// `initial_offset` chars at the start of the range are removed before anything else.
    fn transform_range(&mut self, range: (usize, usize), dest: &[(char, isize)], initial_offset: usize) {
        let (start, end) = range;
        let old: Vec<char> = self.normalized[start..end].chars().collect();
        let mut old_iter = old.into_iter();
        let removed: usize = old_iter.by_ref().take(initial_offset).map(char::len_utf8).sum();
        let mut offset = start + removed;
        let fallback = |i: usize| self.align.get(i).or(self.align.last()).copied().unwrap_or((0, 0));
        let mut new_align = Vec::with_capacity(end - start);
        let mut new_text = String::with_capacity(end - start);
        for &(c, change) in dest {
            let a = if change > 0 {
                if offset == 0 { (0, 0) } else { fallback(offset - 1) }
            } else {
                fallback(offset)
            };
            if change <= 0 {
                offset += old_iter.next().map_or(0, char::len_utf8);
            }
            if change < 0 {
                offset += old_iter.by_ref().take(change.unsigned_abs()).map(char::len_utf8).sum::<usize>();
            }
            new_align.extend(std::iter::repeat_n(a, c.len_utf8()));
            new_text.push(c);
        }
        self.align.splice(start..end, new_align);
        self.normalized.replace_range(start..end, &new_text);
    }

    /// Transform the part of `normalized` that covers the whole original (HF's `transform`).
    pub fn transform(&mut self, dest: &[(char, isize)], initial_offset: usize) {
        if let Some(r) = self.original_to_normalized(0, self.original.len()) {
            if self.normalized.is_char_boundary(r.0) && self.normalized.is_char_boundary(r.1) && r.1 <= self.len() {
                self.transform_range(r, dest, initial_offset);
            }
        }
    }

    pub fn nfd(&mut self) {
        let t: Vec<(char, isize)> = self.normalized.nfd().collect();
        self.transform(&t, 0);
    }
    pub fn nfkd(&mut self) {
        let t: Vec<(char, isize)> = self.normalized.nfkd().collect();
        self.transform(&t, 0);
    }
    pub fn nfc(&mut self) {
        let t: Vec<(char, isize)> = self.normalized.nfc().collect();
        self.transform(&t, 0);
    }
    pub fn nfkc(&mut self) {
        let t: Vec<(char, isize)> = self.normalized.nfkc().collect();
        self.transform(&t, 0);
    }

    /// Keep only the chars for which `keep` holds.
    pub fn filter(&mut self, keep: impl Fn(char) -> bool) {
        let mut removed = 0isize;
        let mut removed_start = 0usize;
        let mut out = Vec::with_capacity(self.normalized.len());
        let mut last: Option<char> = None;
        for c in self.normalized.chars() {
            if keep(c) {
                match last {
                    Some(lc) => out.push((lc, -removed)),
                    None => removed_start = removed as usize,
                }
                last = Some(c);
                removed = 0;
            } else {
                removed += 1;
            }
        }
        if let Some(lc) = last {
            out.push((lc, -removed));
        }
        self.transform(&out, removed_start);
    }

    pub fn map(&mut self, f: impl Fn(char) -> char) {
        let t: Vec<(char, isize)> = self.normalized.chars().map(|c| (f(c), 0)).collect();
        self.transform(&t, 0);
    }

    pub fn lowercase(&mut self) {
        let mut t = Vec::with_capacity(self.normalized.len());
        for c in self.normalized.chars() {
            for (i, l) in c.to_lowercase().enumerate() {
                t.push((l, isize::from(i > 0)));
            }
        }
        self.transform(&t, 0);
    }

    /// Insert `s` before the first char; the new chars take that char's alignment.
    pub fn prepend(&mut self, s: &str) {
        if let Some(first) = self.normalized.chars().next() {
            let mut t: Vec<(char, isize)> = s.chars().enumerate().map(|(i, c)| (c, isize::from(i != 0))).collect();
            t.push((first, 1));
            self.transform_range((0, first.len_utf8()), &t, 0);
        }
    }

    /// Remove leading and/or trailing whitespace.
    pub fn strip(&mut self, left: bool, right: bool) {
        let lead = if left { self.normalized.chars().take_while(|c| c.is_whitespace()).count() } else { 0 };
        let trail = if right { self.normalized.chars().rev().take_while(|c| c.is_whitespace()).count() } else { 0 };
        if lead == 0 && trail == 0 {
            return;
        }
        let count = self.normalized.chars().count();
        // HF compares the char index with a *byte* length here; keep the same arithmetic.
        let last_kept = self.len().wrapping_sub(trail).wrapping_sub(1);
        let t: Vec<(char, isize)> = self
            .normalized
            .chars()
            .enumerate()
            .filter_map(|(i, c)| {
                if i < lead || i + trail >= count {
                    None
                } else if i == last_kept {
                    Some((c, -(trail as isize)))
                } else {
                    Some((c, 0))
                }
            })
            .collect();
        self.transform(&t, lead);
    }

    /// Replace every matched range by `content`; the new chars take the alignment of the char
    /// just before the match (HF's `replace`).
    pub fn replace(&mut self, matches: &Matches, content: &str) {
        let mut text = String::with_capacity(self.normalized.len());
        let mut align = Vec::with_capacity(self.align.len());
        let mut last_end = 0;
        for &((start, end), is_match) in matches {
            if !is_match {
                continue;
            }
            text.push_str(&self.normalized[last_end..start]);
            align.extend_from_slice(&self.align[last_end..start]);
            // Inserted chars copy the alignment of the byte just before the removed ones.
            let a = if end == 0 { (0, 0) } else { self.align.get(end - 1).copied().unwrap_or((0, 0)) };
            for c in content.chars() {
                align.extend(std::iter::repeat_n(a, c.len_utf8()));
                text.push(c);
            }
            last_end = end;
        }
        text.push_str(&self.normalized[last_end..]);
        align.extend_from_slice(&self.align[last_end..]);
        self.normalized = text;
        self.align = align;
    }

    /// The piece covering `normalized[start..end]`, with its own original text and shift.
    pub fn slice(&self, start: usize, end: usize) -> Option<NormalizedString> {
        if !(self.normalized.is_char_boundary(start) && self.normalized.is_char_boundary(end)) || end > self.len() {
            return None;
        }
        let (os, oe) = self.normalized_to_original(start, end)?;
        let original = self.original.get(os..oe).unwrap_or_default().to_string();
        let align = self.align.get(start..end)?.iter().map(|&(a, b)| (a.saturating_sub(os), b.saturating_sub(os))).collect();
        Some(NormalizedString {
            original,
            normalized: self.normalized[start..end].to_string(),
            align,
            shift: self.shift + os,
        })
    }

    /// Cut into pieces at the matched ranges, treating matches as `behavior` says.
    pub fn split(&self, matches: Matches, behavior: SplitBehavior) -> Vec<NormalizedString> {
        let pieces: Vec<((usize, usize), bool)> = match behavior {
            SplitBehavior::Isolated => matches.into_iter().map(|(o, _)| (o, false)).collect(),
            SplitBehavior::Removed => matches,
            SplitBehavior::Contiguous => {
                let mut acc: Vec<((usize, usize), bool)> = vec![];
                let mut previous = false;
                for (o, m) in matches {
                    match acc.last_mut() {
                        Some(last) if m == previous => last.0 .1 = o.1,
                        _ => acc.push((o, false)),
                    }
                    previous = m;
                }
                acc
            }
            SplitBehavior::MergedWithPrevious => {
                let mut acc: Vec<((usize, usize), bool)> = vec![];
                let mut previous = false;
                for (o, m) in matches {
                    match acc.last_mut() {
                        Some(last) if m && !previous => last.0 .1 = o.1,
                        _ => acc.push((o, false)),
                    }
                    previous = m;
                }
                acc
            }
            SplitBehavior::MergedWithNext => {
                let mut acc: Vec<((usize, usize), bool)> = vec![];
                let mut previous = false;
                for (o, m) in matches.into_iter().rev() {
                    match acc.last_mut() {
                        Some(last) if m && !previous => last.0 .0 = o.0,
                        _ => acc.push((o, false)),
                    }
                    previous = m;
                }
                acc.reverse();
                acc
            }
        };
        pieces.into_iter().filter(|(_, remove)| !remove).filter_map(|((s, e), _)| self.slice(s, e)).collect()
    }
}

/// Matches of a char predicate, covering the whole string (HF's `Pattern for Fn(char)`).
pub fn char_matches(text: &str, pred: impl Fn(char) -> bool) -> Matches {
    if text.is_empty() {
        return vec![((0, 0), false)];
    }
    let mut out = vec![];
    let mut last = 0;
    for (b, c) in text.char_indices() {
        if pred(c) {
            if last < b {
                out.push(((last, b), false));
            }
            out.push(((b, b + c.len_utf8()), true));
            last = b + c.len_utf8();
        }
    }
    if last < text.len() {
        out.push(((last, text.len()), false));
    }
    out
}

/// Turn a list of matched byte ranges (sorted, disjoint) into a covering list.
pub fn cover(text: &str, found: impl IntoIterator<Item = (usize, usize)>) -> Matches {
    if text.is_empty() {
        return vec![((0, 0), false)];
    }
    let mut out = vec![];
    let mut prev = 0;
    for (s, e) in found {
        if prev != s {
            out.push(((prev, s), false));
        }
        out.push(((s, e), true));
        prev = e;
    }
    if prev != text.len() {
        out.push(((prev, text.len()), false));
    }
    out
}

/// Matches of a regex (all non-overlapping, leftmost-first), covering the whole string.
pub fn regex_matches(text: &str, re: &super::pattern::Pattern) -> Result<Matches> {
    use crate::loader::limits::{regex_step_budget, REGEX_BACKTRACK_LIMIT, REGEX_STEPS_PER_BYTE};
    let mut found = vec![];
    let mut pos = 0;
    // One budget for the whole text, so the time is linear in its length whatever the pattern.
    let mut steps = regex_step_budget(text.len());
    // A search that runs out of steps is an error, never "no more matches": treating it as the
    // end would silently change the tokenization.
    // Where the last non-empty match ended: an empty match right there is skipped, as HF's (and
    // Rust regex's) iteration skips it (`x*` -> `-` makes "fox" "-f-o-", not "-f-o--").
    let mut last_end = None;
    while pos <= text.len() {
        match re.find_at(text, pos, &mut steps) {
            Ok(Some((start, end))) => {
                if end > start || last_end != Some(start) {
                    found.push((start, end));
                }
                last_end = (end > start).then_some(end);
                pos = if end > start {
                    end
                } else {
                    // An empty match: step over one char so the search moves on.
                    end + text[end..].chars().next().map_or(1, char::len_utf8)
                };
            }
            Ok(None) => break,
            Err(_) => {
                return Err(Error::tokenizer(
                    format!(
                        "the pattern `{}` could not be matched at byte {pos} of a {}-byte piece (it backtracked past REGEX_BACKTRACK_LIMIT, {REGEX_BACKTRACK_LIMIT} steps plus {REGEX_STEPS_PER_BYTE} per byte of text)",
                        shorten(re.as_str()),
                        text.len()
                    ),
                    "Fix the regex in tokenizer.json: nested repetition such as (a+)+ backtracks exponentially",
                ));
            }
        }
    }
    Ok(cover(text, found))
}

/// A pattern short enough to quote in a one-line message.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Flip which parts count as matches (HF's `Invert`).
pub fn invert(m: Matches) -> Matches {
    m.into_iter().map(|(o, f)| (o, !f)).collect()
}
