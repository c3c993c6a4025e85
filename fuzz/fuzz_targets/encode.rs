//! Arbitrary text through each tokenizer kind: the first byte picks the tokenizer, the rest (lossily
//! UTF-8) is the text. Ids must decode, offsets must lie on the text's character boundaries; a tab cuts
//! the text into a pair, whose arrays must agree and whose offsets must lie in their own text.
#![no_main]
use glassbox::tokenizer::Tokenizer;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "fixtures.rs"]
mod fixtures;

fn tokenizers() -> &'static Vec<Tokenizer> {
    static LOADED: OnceLock<Vec<Tokenizer>> = OnceLock::new();
    LOADED.get_or_init(|| {
        fixtures::TOKENIZERS
            .iter()
            .map(|(name, json)| Tokenizer::from_bytes(json, None, None).unwrap_or_else(|e| panic!("fixture {name}: {e}")))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, text)) = data.split_first() else { return };
    let all = tokenizers();
    let tokenizer = &all[pick as usize % all.len()];
    let text = String::from_utf8_lossy(text);
    let Ok(enc) = tokenizer.encode(&text, pick & 0x80 != 0) else { return };
    assert_eq!(enc.ids.len(), enc.offsets.len());
    let chars = text.chars().count();
    for &(start, end) in &enc.offsets {
        assert!(start <= end && end <= chars, "offset ({start}, {end}) outside a text of {chars} characters");
    }
    let _ = tokenizer.decode(&enc.ids, pick & 0x40 != 0);
    let _ = tokenizer.encode_traced(&text, false);
    // The text cut at a tab into a pair: every array one entry per token, the second text's offsets
    // inside it.
    if let Some((a, b)) = text.split_once('\t') {
        if let Ok(pair) = tokenizer.encode_pair(a, b, pick & 0x80 != 0) {
            let n = pair.ids.len();
            assert!(pair.tokens.len() == n && pair.offsets.len() == n && pair.type_ids.len() == n && pair.special.len() == n && pair.second.len() == n);
            let (len_a, len_b) = (a.chars().count(), b.chars().count());
            for (&(start, end), &second) in pair.offsets.iter().zip(&pair.second) {
                assert!(start <= end && end <= if second { len_b } else { len_a }, "pair offset ({start}, {end}) outside its text");
            }
        }
    }
});
