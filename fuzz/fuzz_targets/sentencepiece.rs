//! A SentencePiece model file as a visitor's Marian folder holds it (source.spm): converted with the
//! fixture's vocab.json and target.spm into Glassbox's tokenizer.json, loaded, then a text with
//! spaces, accents, CJK, emoji, a language code and special tokens encoded, traced and decoded.
#![no_main]
use glassbox::tokenizer::marian::{tokenizer_json, MarianFiles};
use libfuzzer_sys::fuzz_target;

const TEXT: &str = ">>fra<< Hello  world! Ça va? 日本語 🙂 </s> <unk> a\u{301}\ttab ﬁ ＡＢ";
const VOCAB: &[u8] = include_bytes!("../../tests/fixtures/marian_files/shared/vocab.json");
const TARGET: &[u8] = include_bytes!("../../tests/fixtures/marian_files/shared/target.spm");

fuzz_target!(|data: &[u8]| {
    let files = MarianFiles { source_spm: data, target_spm: Some(TARGET), vocab: VOCAB, target_vocab: None, tokenizer_config: None };
    let Ok(json) = tokenizer_json(&files) else { return };
    let tokenizer = glassbox::tokenizer::Tokenizer::for_model(&json, None, None, Some("marian")).expect("a converted Marian tokenizer loads");
    if let Ok(enc) = tokenizer.encode(TEXT, true) {
        assert!(enc.offsets.iter().all(|&(s, e)| s <= e && e <= TEXT.chars().count()), "offsets inside the text");
        let _ = tokenizer.decode(&enc.ids, false);
    }
    let _ = tokenizer.encode_traced("ab  ab", false);
});
