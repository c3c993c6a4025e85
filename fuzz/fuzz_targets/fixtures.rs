// The small committed fixtures every target starts from: one folder per family, one tokenizer per kind.
#![allow(dead_code)]

use glassbox::loader::ModelFiles;

macro_rules! fixture {
    ($dir:literal, $file:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/", $dir, "/", $file))
    };
}

/// (name, config.json, model.safetensors, tokenizer.json) of a tiny model of each family.
pub const MODELS: &[(&str, &[u8], &[u8], &[u8])] = &[
    ("gpt2", fixture!("models/gpt2", "config.json"), fixture!("models/gpt2", "model.safetensors"), fixture!("models/gpt2", "tokenizer.json")),
    ("bert", fixture!("models/bert", "config.json"), fixture!("models/bert", "model.safetensors"), fixture!("models/bert", "tokenizer.json")),
    ("t5", fixture!("models/t5_tiny", "config.json"), fixture!("models/t5_tiny", "model.safetensors"), fixture!("models/t5_tiny", "tokenizer.json")),
    ("bart", fixture!("models/bart_tiny", "config.json"), fixture!("models/bart_tiny", "model.safetensors"), fixture!("models/bart_tiny", "tokenizer.json")),
    ("marian", fixture!("models/marian_tiny", "config.json"), fixture!("models/marian_tiny", "model.safetensors"), fixture!("models/marian_tiny", "tokenizer.json")),
    ("llama", fixture!("models/llama_gqa", "config.json"), fixture!("models/llama_gqa", "model.safetensors"), fixture!("models/llama_gqa", "tokenizer.json")),
    ("qwen2", fixture!("models/qwen2", "config.json"), fixture!("models/qwen2", "model.safetensors"), fixture!("models/qwen2", "tokenizer.json")),
    ("qwen3", fixture!("models/qwen3", "config.json"), fixture!("models/qwen3", "model.safetensors"), fixture!("models/qwen3", "tokenizer.json")),
    ("mistral", fixture!("models/mistral", "config.json"), fixture!("models/mistral", "model.safetensors"), fixture!("models/mistral", "tokenizer.json")),
    ("roberta", fixture!("models/roberta", "config.json"), fixture!("models/roberta", "model.safetensors"), fixture!("models/roberta", "tokenizer.json")),
    ("distilbert", fixture!("models/distilbert", "config.json"), fixture!("models/distilbert", "model.safetensors"), fixture!("models/distilbert", "tokenizer.json")),
    ("gemma3", fixture!("models/gemma3", "config.json"), fixture!("models/gemma3", "model.safetensors"), fixture!("models/gemma3", "tokenizer.json")),
    ("xlm-roberta", fixture!("models/xlm_roberta", "config.json"), fixture!("models/xlm_roberta", "model.safetensors"), fixture!("models/xlm_roberta", "tokenizer.json")),
    ("gemma2", fixture!("models/gemma2", "config.json"), fixture!("models/gemma2", "model.safetensors"), fixture!("models/gemma2", "tokenizer.json")),
    ("granite", fixture!("models/granite", "config.json"), fixture!("models/granite", "model.safetensors"), fixture!("models/granite", "tokenizer.json")),
    ("olmo2", fixture!("models/olmo2", "config.json"), fixture!("models/olmo2", "model.safetensors"), fixture!("models/olmo2", "tokenizer.json")),
    ("smollm3", fixture!("models/smollm3", "config.json"), fixture!("models/smollm3", "model.safetensors"), fixture!("models/smollm3", "tokenizer.json")),
    ("modernbert", fixture!("models/modernbert", "config.json"), fixture!("models/modernbert", "model.safetensors"), fixture!("models/modernbert", "tokenizer.json")),
    ("gpt_neox", fixture!("models/gpt_neox", "config.json"), fixture!("models/gpt_neox", "model.safetensors"), fixture!("models/gpt_neox", "tokenizer.json")),
    ("camembert", fixture!("models/camembert", "config.json"), fixture!("models/camembert", "model.safetensors"), fixture!("models/camembert", "tokenizer.json")),
    ("albert", fixture!("models/albert", "config.json"), fixture!("models/albert", "model.safetensors"), fixture!("models/albert", "tokenizer.json")),
    ("phi3", fixture!("models/phi3", "config.json"), fixture!("models/phi3", "model.safetensors"), fixture!("models/phi3", "tokenizer.json")),
    ("gemma3_vision", fixture!("models/gemma3_vision", "config.json"), fixture!("models/gemma3_vision", "model.safetensors"), fixture!("models/gemma3_vision", "tokenizer.json")),
    ("mpnet", fixture!("models/mpnet", "config.json"), fixture!("models/mpnet", "model.safetensors"), fixture!("models/mpnet", "tokenizer.json")),
    ("olmo3", fixture!("models/olmo3", "config.json"), fixture!("models/olmo3", "model.safetensors"), fixture!("models/olmo3", "tokenizer.json")),
    ("cohere", fixture!("models/cohere", "config.json"), fixture!("models/cohere", "model.safetensors"), fixture!("models/cohere", "tokenizer.json")),
    ("starcoder2", fixture!("models/starcoder2", "config.json"), fixture!("models/starcoder2", "model.safetensors"), fixture!("models/starcoder2", "tokenizer.json")),
    ("olmo", fixture!("models/olmo", "config.json"), fixture!("models/olmo", "model.safetensors"), fixture!("models/olmo", "tokenizer.json")),
    ("stablelm", fixture!("models/stablelm", "config.json"), fixture!("models/stablelm", "model.safetensors"), fixture!("models/stablelm", "tokenizer.json")),
    ("stablelm_parallel", fixture!("models/stablelm_parallel", "config.json"), fixture!("models/stablelm_parallel", "model.safetensors"), fixture!("models/stablelm_parallel", "tokenizer.json")),
    ("phi", fixture!("models/phi", "config.json"), fixture!("models/phi", "model.safetensors"), fixture!("models/phi", "tokenizer.json")),
    ("phi3_longrope", fixture!("models/phi3_longrope", "config.json"), fixture!("models/phi3_longrope", "model.safetensors"), fixture!("models/phi3_longrope", "tokenizer.json")),
    ("gpt_neo", fixture!("models/gpt_neo", "config.json"), fixture!("models/gpt_neo", "model.safetensors"), fixture!("models/gpt_neo", "tokenizer.json")),
    ("electra", fixture!("models/electra", "config.json"), fixture!("models/electra", "model.safetensors"), fixture!("models/electra", "tokenizer.json")),
    ("bloom", fixture!("models/bloom", "config.json"), fixture!("models/bloom", "model.safetensors"), fixture!("models/bloom", "tokenizer.json")),
    ("opt_350m", fixture!("models/opt_350m", "config.json"), fixture!("models/opt_350m", "model.safetensors"), fixture!("models/opt_350m", "tokenizer.json")),
    ("deberta_v3", fixture!("models/deberta_v3", "config.json"), fixture!("models/deberta_v3", "model.safetensors"), fixture!("models/deberta_v3", "tokenizer.json")),
    ("deberta_v2", fixture!("models/deberta_v2", "config.json"), fixture!("models/deberta_v2", "model.safetensors"), fixture!("models/deberta_v2", "tokenizer.json")),
    // Fine-tuned heads (classifiers, a tagger, question answering): config.json's architectures and labels.
    ("bert_sentiment", fixture!("models/bert_sentiment", "config.json"), fixture!("models/bert_sentiment", "model.safetensors"), fixture!("models/bert_sentiment", "tokenizer.json")),
    ("modernbert_reviews", fixture!("models/modernbert_reviews", "config.json"), fixture!("models/modernbert_reviews", "model.safetensors"), fixture!("models/modernbert_reviews", "tokenizer.json")),
    ("gpt2_sentiment", fixture!("models/gpt2_sentiment", "config.json"), fixture!("models/gpt2_sentiment", "model.safetensors"), fixture!("models/gpt2_sentiment", "tokenizer.json")),
    ("llama_classifier", fixture!("models/llama_classifier", "config.json"), fixture!("models/llama_classifier", "model.safetensors"), fixture!("models/llama_classifier", "tokenizer.json")),
    ("bert_qa", fixture!("models/bert_qa", "config.json"), fixture!("models/bert_qa", "model.safetensors"), fixture!("models/bert_qa", "tokenizer.json")),
    ("xlm_roberta_ner", fixture!("models/xlm_roberta_ner", "config.json"), fixture!("models/xlm_roberta_ner", "model.safetensors"), fixture!("models/xlm_roberta_ner", "tokenizer.json")),
    ("deberta_nli", fixture!("models/deberta_nli", "config.json"), fixture!("models/deberta_nli", "model.safetensors"), fixture!("models/deberta_nli", "tokenizer.json")),
];

/// tokenizer.json of each tokenizer kind the core implements.
pub const TOKENIZERS: &[(&str, &[u8])] = &[
    ("byte-level BPE", fixture!("tokenizers/roberta_bpe", "tokenizer.json")),
    ("BPE with byte fallback", fixture!("tokenizers/llama_bpe_bytes", "tokenizer.json")),
    ("BPE with a Split regex", fixture!("tokenizers/split_regex_bpe", "tokenizer.json")),
    ("BPE with suffixes", fixture!("tokenizers/suffix_bpe", "tokenizer.json")),
    ("WordPiece uncased", fixture!("tokenizers/bert_uncased", "tokenizer.json")),
    ("WordPiece cased", fixture!("tokenizers/wordpiece_cased", "tokenizer.json")),
    ("Unigram (T5)", fixture!("tokenizers/t5_unigram", "tokenizer.json")),
    ("Unigram with byte fallback", fixture!("tokenizers/llama_unigram_bytes", "tokenizer.json")),
    ("Unigram (ALBERT)", fixture!("tokenizers/albert_unigram", "tokenizer.json")),
    ("Metaspace first", fixture!("tokenizers/metaspace_first", "tokenizer.json")),
    ("WordLevel", fixture!("tokenizers/word_level", "tokenizer.json")),
];

pub fn files<'a>(config: &'a [u8], weights: &'a [u8], tokenizer: &'a [u8]) -> ModelFiles<'a> {
    ModelFiles { config, weights: Some(weights), tokenizer, ..Default::default() }
}
