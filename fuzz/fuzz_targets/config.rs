//! config.json of every family: the first byte picks the family (GPT-2, BERT, T5, BART, Marian, Llama, Qwen2, Qwen3, Mistral, RoBERTa, DistilBERT, Gemma 3, XLM-RoBERTa, Gemma 2) whose real tiny weights and tokenizer
//! the fuzzed config is loaded with; a load that succeeds runs one short text.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "fixtures.rs"]
mod fixtures;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, config)) = data.split_first() else { return };
    let (_, _, weights, tokenizer) = fixtures::MODELS[pick as usize % fixtures::MODELS.len()];
    if let Ok(session) = glassbox::session::Session::load(&fixtures::files(config, weights, tokenizer), None) {
        let _ = session.inspect("the cat sat", None, Default::default());
    }
});
