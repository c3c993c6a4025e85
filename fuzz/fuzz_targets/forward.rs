//! A forward pass on arbitrary ids: the first byte picks the family, then little-endian u16 pairs are
//! ids (some past the vocabulary, on purpose). Encoder-decoders split them into source and decoder ids.
#![no_main]
use glassbox::models::{Capture, Inputs};
use glassbox::session::Session;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "fixtures.rs"]
mod fixtures;

fn sessions() -> &'static Vec<Session> {
    static LOADED: OnceLock<Vec<Session>> = OnceLock::new();
    LOADED.get_or_init(|| {
        fixtures::MODELS
            .iter()
            .map(|(name, c, w, t)| Session::load(&fixtures::files(c, w, t), None).unwrap_or_else(|e| panic!("fixture {name}: {e}")))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let all = sessions();
    let session = &all[pick as usize % all.len()];
    let vocab = session.info().vocab_size as u32;
    // Most ids valid, a few just past the end, so both the math and the refusal are exercised.
    let ids: Vec<u32> = rest.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]) as u32 % (vocab + 3)).collect();
    let (source, decoder) = ids.split_at(ids.len() / 2);
    let decoder = (pick & 0x80 != 0 && !decoder.is_empty()).then_some(decoder);
    let capture = if pick & 0x40 != 0 { Capture::ALL } else { Capture::NONE };
    let _ = session.model.forward(&Inputs { ids: source, type_ids: None, decoder_ids: decoder }, capture);
});
