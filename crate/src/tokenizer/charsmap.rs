//! SentencePiece's `precompiled_charsmap`, read with every index checked.
//!
//! The map (base64 in tokenizer.json) is `[trie byte length: u32 LE][trie: u32 LE units][rewrites]`:
//! a double-array trie over UTF-8 bytes whose leaves point at NUL-terminated replacement strings.
//! This is the lookup of `spm_precompiled` (which HF `tokenizers` uses) with one difference: a
//! corrupt map makes a lookup miss instead of indexing out of bounds, which in wasm would be a
//! trap that kills the module. Nothing here can panic on any input bytes.

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct CharsMap {
    trie: Vec<u32>,
    /// NUL-separated replacement strings.
    rewrites: String,
}

fn corrupt(problem: impl Into<String>) -> Error {
    Error::tokenizer(
        format!("normalizer `Precompiled` has a corrupt precompiled_charsmap ({})", problem.into()),
        "Re-export the tokenizer from its SentencePiece model, or set the normalizer to null",
    )
}

impl CharsMap {
    pub fn from_base64(text: &str) -> Result<Self> {
        Self::from_bytes(&decode_base64(text).ok_or_else(|| corrupt("not valid base64"))?)
    }

    /// The map as a SentencePiece model file stores it (no base64).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let header: [u8; 4] = bytes.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(|| corrupt("shorter than its 4-byte header"))?;
        let trie_bytes = u32::from_le_bytes(header) as usize;
        let body = &bytes[4..];
        if trie_bytes % 4 != 0 || trie_bytes > body.len() {
            return Err(corrupt(format!("the header promises a {trie_bytes}-byte trie but {} bytes follow", body.len())));
        }
        let trie = body[..trie_bytes].chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let rewrites = String::from_utf8(body[trie_bytes..].to_vec()).map_err(|_| corrupt("its replacement strings are not UTF-8"))?;
        Ok(CharsMap { trie, rewrites })
    }

    /// The replacement of `chunk` (a grapheme or one char), if the map has one. As in
    /// `spm_precompiled`, the shortest prefix of `chunk` with an entry decides.
    pub fn transform(&self, chunk: &str) -> Option<&str> {
        let start = self.first_prefix_value(chunk.as_bytes())?;
        let rest = self.rewrites.get(start..)?;
        Some(rest.split('\0').next().unwrap_or(rest))
    }

    /// The longest rule that `key` starts with: (its length in bytes, its replacement), as the
    /// `sentencepiece` library's normaliser picks it (HF's `Precompiled` takes the first, above).
    pub fn longest_prefix(&self, key: &[u8]) -> Option<(usize, &str)> {
        let unit = |pos: usize| self.trie.get(pos).copied();
        let (offset, has_leaf, label) = Self::unit_fields();
        let mut pos = offset(unit(0)?);
        let mut found = None;
        for (depth, &c) in key.iter().enumerate() {
            pos ^= c as usize;
            let Some(u) = unit(pos) else { break };
            if label(u) != c as u32 {
                break;
            }
            pos ^= offset(u);
            if has_leaf(u) {
                let Some(value) = unit(pos) else { break };
                found = Some((depth + 1, (value & ((1 << 31) - 1)) as usize));
            }
        }
        let (len, start) = found?;
        let rest = self.rewrites.get(start..)?;
        Some((len, rest.split('\0').next().unwrap_or(rest)))
    }

    /// How a double-array unit packs its child offset, its has-leaf bit and its label.
    #[allow(clippy::type_complexity)]
    fn unit_fields() -> (fn(u32) -> usize, fn(u32) -> bool, fn(u32) -> u32) {
        (|u| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize, |u| (u >> 8) & 1 == 1, |u| u & ((1 << 31) | 0xFF))
    }

    /// Double-array walk over `key`; the value of the first node that has a leaf.
    fn first_prefix_value(&self, key: &[u8]) -> Option<usize> {
        let unit = |pos: usize| self.trie.get(pos).copied();
        let (offset, has_leaf, label) = Self::unit_fields();
        let mut pos = offset(unit(0)?);
        for &c in key.iter().take_while(|&&c| c != 0) {
            pos ^= c as usize;
            let u = unit(pos)?;
            if label(u) != c as u32 {
                return None;
            }
            pos ^= offset(u);
            if has_leaf(u) {
                return Some((unit(pos)? & ((1 << 31) - 1)) as usize);
            }
        }
        None
    }
}

/// Standard base64 with `=` padding, as tokenizer.json stores a charsmap.
pub fn encode_base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// Standard base64 (`A-Z a-z 0-9 + /`, `=` padding optional); `None` on anything else.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let digits = text.trim_end_matches('=').as_bytes();
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    if digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() / 4 * 3 + 2);
    for group in digits.chunks(4) {
        let mut n = 0u32;
        for &c in group {
            n = (n << 6) | value(c)?;
        }
        // 4 digits carry 3 bytes, 3 carry 2, 2 carry 1.
        n <<= 6 * (4 - group.len() as u32);
        out.extend_from_slice(&n.to_be_bytes()[1..group.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("aGk=").unwrap(), b"hi");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("a").is_none());
        assert!(decode_base64("!!!!").is_none());
        for bytes in [&b""[..], b"h", b"hi", b"hello", &[0, 255, 128, 7]] {
            assert_eq!(decode_base64(&encode_base64(bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn corrupt_maps_never_panic() {
        // Header only, trie pointing anywhere, trie too long for the body.
        for bytes in [vec![0u8, 0, 0, 0], vec![4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, b'a'], vec![8, 0, 0, 0, 0, 0, 0, 0]] {
            let text: String = encode_base64(&bytes);
            if let Ok(map) = CharsMap::from_base64(&text) {
                for s in ["a", "é", "\u{1F600}", "\0", ""] {
                    let _ = map.transform(s);
                    let _ = map.longest_prefix(s.as_bytes());
                }
            }
        }
    }
}
