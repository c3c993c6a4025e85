//! model.safetensors: the 8-byte length, the JSON header, the tensor table and the data, as a visitor's
//! file. Loaded behind the tiny GPT-2 config: every outcome must be Ok or a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "fixtures.rs"]
mod fixtures;

fuzz_target!(|data: &[u8]| {
    if let Ok(weights) = glassbox::loader::Weights::from_safetensors(data) {
        for name in weights.names() {
            let _ = weights.get(&name, &[]);
        }
        let _ = glassbox::loader::weights::check_finite_all(&weights);
    }
    let (_, config, _, tokenizer) = fixtures::MODELS[0];
    if let Ok(session) = glassbox::session::Session::load(&fixtures::files(config, data, tokenizer), None) {
        let _ = session.inspect("Hello world", None, Default::default());
    }
});
