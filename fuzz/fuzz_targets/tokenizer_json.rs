//! tokenizer.json as a visitor's file: parse it, then encode and decode a text that touches
//! whitespace, accents, CJK, emoji and special-token look-alikes.
#![no_main]
use libfuzzer_sys::fuzz_target;

const TEXT: &str = "Hello  world! Ça va? 日本語 🙂 [CLS] <s> </s> a\u{301}\ttab";

fuzz_target!(|data: &[u8]| {
    if let Ok(tokenizer) = glassbox::tokenizer::Tokenizer::from_bytes(data, None, None) {
        if let Ok(enc) = tokenizer.encode(TEXT, true) {
            let _ = tokenizer.decode(&enc.ids, false);
        }
        let _ = tokenizer.encode_traced("ab ab", false);
    }
});
