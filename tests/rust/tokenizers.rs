//! Tokenizer equality with Hugging Face on tricky strings, plus errors, traces and robustness.
//!
//! References come from `scripts/fixtures/tokenizer_refs.py` (run by hand): for every folder under
//! tests/fixtures/tokenizers, `reference.json` holds what transformers gives for each text.

use glassbox::error::Error;
use glassbox::tokenizer::{Steps, Tokenizer};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tokenizers")
}

fn load(name: &str) -> Tokenizer {
    let dir = fixtures().join(name);
    let read = |f: &str| std::fs::read(dir.join(f)).ok();
    let json = read("tokenizer.json").unwrap_or_else(|| panic!("missing {}/tokenizer.json", dir.display()));
    // A fixture with config.json is a model's tokenizer: its model type changes what transformers loads.
    let model_type = read("config.json").map(|c| glassbox::loader::model_type(&c).expect("config.json names a model_type"));
    Tokenizer::for_model(&json, read("tokenizer_config.json").as_deref(), read("special_tokens_map.json").as_deref(), model_type.as_deref())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn reference(name: &str) -> Value {
    let bytes = std::fs::read(fixtures().join(name).join("reference.json")).expect("reference.json");
    serde_json::from_slice(&bytes).expect("reference.json is JSON")
}

/// Compare every case of one fixture; report all differences at once.
fn check_against_reference(name: &str) {
    let tok = load(name);
    let r = reference(name);
    let mut failures = vec![];
    for case in r["cases"].as_array().expect("cases") {
        let text = case["text"].as_str().expect("text");
        let want_ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).expect("ids");
        let want_tokens: Vec<String> = serde_json::from_value(case["tokens"].clone()).expect("tokens");
        let want_offsets: Vec<(usize, usize)> = serde_json::from_value(case["offsets"].clone()).expect("offsets");
        let enc = match tok.encode(text, true) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{text:?}: error {e}"));
                continue;
            }
        };
        if enc.ids != want_ids {
            failures.push(format!("{text:?}: ids\n   got  {:?}\n   want {:?}\n   toks {:?}\n   want {:?}", enc.ids, want_ids, enc.tokens, want_tokens));
            continue;
        }
        if enc.tokens != want_tokens {
            failures.push(format!("{text:?}: tokens\n   got  {:?}\n   want {:?}", enc.tokens, want_tokens));
        }
        if enc.offsets != want_offsets {
            failures.push(format!("{text:?}: offsets\n   got  {:?}\n   want {:?}\n   toks {:?}", enc.offsets, want_offsets, enc.tokens));
        }
        for (skip, key) in [(false, "decode"), (true, "decode_skip_special")] {
            let want = case[key].as_str().expect("decode");
            match tok.decode(&want_ids, skip) {
                Ok(got) if got == want => {}
                Ok(got) => failures.push(format!("{text:?}: {key}\n   got  {got:?}\n   want {want:?}")),
                Err(e) => failures.push(format!("{text:?}: {key} error {e}")),
            }
        }
    }
    let want_size = r["vocab_size"].as_u64().expect("vocab_size") as usize;
    if tok.vocab_size() != want_size {
        failures.push(format!("vocab_size: got {} want {want_size}", tok.vocab_size()));
    }
    assert!(failures.is_empty(), "{name}: {} differences from Hugging Face:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn gpt2_real_vocabulary_matches_hf() {
    check_against_reference("gpt2");
}

#[test]
fn bert_uncased_real_vocabulary_matches_hf() {
    check_against_reference("bert_uncased");
}

#[test]
fn roberta_byte_level_bpe_matches_hf() {
    check_against_reference("roberta_bpe");
}

#[test]
fn cased_wordpiece_keeping_accents_matches_hf() {
    check_against_reference("wordpiece_cased");
}

#[test]
fn cased_wordpiece_stripping_accents_matches_hf() {
    check_against_reference("wordpiece_stripped");
}

#[test]
fn t5_unigram_with_precompiled_normalizer_matches_hf() {
    check_against_reference("t5_unigram");
}

#[test]
fn albert_unigram_matches_hf() {
    check_against_reference("albert_unigram");
}

#[test]
fn llama_unigram_with_byte_fallback_matches_hf() {
    check_against_reference("llama_unigram_bytes");
}

#[test]
fn llama_bpe_with_byte_fallback_matches_hf() {
    check_against_reference("llama_bpe_bytes");
}

#[test]
fn split_regex_then_byte_level_bpe_matches_hf() {
    check_against_reference("split_regex_bpe");
}

#[test]
fn line_anchored_split_and_replace_match_hf() {
    check_against_reference("anchored_split");
}

#[test]
fn suffix_bpe_with_whitespace_digits_punctuation_matches_hf() {
    check_against_reference("suffix_bpe");
}

#[test]
fn word_level_with_added_words_matches_hf() {
    check_against_reference("word_level");
}

#[test]
fn unigram_behind_metaspace_first_matches_hf() {
    check_against_reference("metaspace_first");
}

/// A tokenizer.json saved by transformers 4 for Llama 2 (a `Prepend("▁")` normaliser) under
/// `tokenizer_class: LlamaTokenizer`: transformers 5 rebuilds the pipeline, so ` hi`, double
/// spaces and text right after `</s>` or a chat marker tokenize as it does, not as the file says.
#[test]
fn llama_tokenizer_class_is_rebuilt_as_transformers_5_does() {
    check_against_reference("llama_class");
    check_against_reference("llama_class_legacy");
}

/// A T5 tokenizer.json under `tokenizer_class: T5Tokenizer`: transformers 5 splits on whitespace
/// first (offsets of a word leave out the space before it) and adds the `<extra_id_N>` sentinels
/// up to `extra_ids` that the config does not list (two new ones here).
#[test]
fn t5_tokenizer_class_is_rebuilt_as_transformers_5_does() {
    check_against_reference("t5_class");
}

/// A byte-level BPE of another style in a `qwen2` model's folder, its config naming
/// `GPT2Tokenizer`: transformers 5 loads it as Qwen2Tokenizer (NFC, Qwen's split pattern).
#[test]
fn qwen2_models_tokenize_as_qwen2_tokenizer() {
    check_against_reference("qwen2_class");
}

/// A RoBERTa-style file saved with a leading space and no template, in a `bart` folder without
/// tokenizer_config.json: transformers 5 loads it as RobertaTokenizer, which adds no leading space
/// (`add_prefix_space` defaults to false) and wraps the text in `<s> ... </s>`.
#[test]
fn bart_and_roberta_folders_tokenize_as_roberta_tokenizer() {
    check_against_reference("roberta_class");
}

/// A Llama-2-style BPE file (a `Prepend("▁")` normaliser) in a `gemma3_text` folder: transformers 5
/// loads it as GemmaTokenizer, which rebuilds the pipeline around the vocabulary and merges (no `▁`
/// before the first word, a split after each space, `<unk>` for what bytes cannot spell); the
/// file as it is differs on every case (tokenizer_refs.py warns so).
#[test]
fn gemma3_text_folders_tokenize_as_gemma_tokenizer() {
    check_against_reference("gemma_class");
}

/// A cased WordPiece in a `bert` folder without tokenizer_config.json: transformers 5 loads it as
/// BertTokenizer, whose `do_lower_case` defaults to true, so it lowercases.
#[test]
fn bert_folders_without_a_config_tokenize_as_bert_tokenizer() {
    check_against_reference("bert_class");
}

/// Tokens tokenizer_config.json names are special added tokens, as transformers 5 makes them: one
/// only in the vocabulary is cut out of the text, an ordinary added one named `eos_token` (in
/// special_tokens_map.json, which wins) is skipped by decode, new ones take the next ids; a
/// `normalized` special token whose lowercased form differs is kept by decode.
#[test]
fn tokens_the_config_names_are_special_as_in_transformers() {
    check_against_reference("named_specials");
}

/// `added_tokens_decoder` overrides tokenizer.json's flags (here `special` and `rstrip`), makes
/// transformers ignore special_tokens_map.json, and `split_special_tokens` leaves typed special
/// tokens as text.
#[test]
fn added_tokens_decoder_and_split_special_tokens_follow_transformers() {
    check_against_reference("added_tokens_decoder");
}

#[test]
fn special_tokens_are_named() {
    let gpt2 = load("gpt2");
    assert_eq!(gpt2.special_tokens().eos, Some(50256));
    assert_eq!(gpt2.model_kind(), "BPE");
    let bert = load("bert_uncased");
    let s = bert.special_tokens();
    assert_eq!((s.cls, s.sep, s.pad, s.mask, s.unk), (Some(101), Some(102), Some(0), Some(103), Some(100)));
    assert_eq!(bert.model_kind(), "WordPiece");
    let t5 = load("t5_unigram");
    assert_eq!(t5.special_tokens().eos, t5.token_to_id("</s>"));
    assert_eq!(t5.model_kind(), "Unigram");
    assert_eq!(bert.id_to_token(101), Some("[CLS]"));
    assert_eq!(bert.token_to_id("[SEP]"), Some(102));
}

#[test]
fn bert_padding_and_truncation_in_the_file_are_not_applied() {
    // all-MiniLM-L6-v2's tokenizer.json pads and truncates to 128; we return every token.
    let bert = load("bert_uncased");
    let long = "word ".repeat(300);
    let enc = bert.encode(&long, true).unwrap();
    assert_eq!(enc.ids.len(), 302);
    assert_eq!(bert.encode("hi", true).unwrap().ids.len(), 3);
}

/// Replay the recorded merges on the initial parts: each step must merge the named pair at its
/// leftmost occurrence and give the recorded parts; the last parts must be the word's tokens.
#[test]
fn bpe_trace_replays_to_the_same_tokens() {
    let gpt2 = load("gpt2");
    let text = "Tokenization of unbelievably antidisestablishmentarianism words";
    let (enc, trace) = gpt2.encode_traced(text, false).unwrap();
    assert_eq!(enc, gpt2.encode(text, false).unwrap());
    assert_eq!(trace.words.iter().flat_map(|w| w.ids.clone()).collect::<Vec<_>>(), enc.ids);
    let mut replayed_words = 0;
    for word in &trace.words {
        let Steps::Bpe(bpe) = &word.steps else { panic!("GPT-2 words are BPE") };
        let mut parts = bpe.initial.clone();
        assert_eq!(parts.concat(), word.text);
        for m in &bpe.merges {
            let i = (0..parts.len().saturating_sub(1))
                .find(|&i| parts[i] == m.pair.0 && parts[i + 1] == m.pair.1)
                .unwrap_or_else(|| panic!("pair {:?} not in {:?}", m.pair, parts));
            let merged = format!("{}{}", parts[i], parts[i + 1]);
            parts.splice(i..i + 2, [merged]);
            assert_eq!(parts, m.parts);
        }
        assert_eq!(parts, word.tokens, "replay of {:?}", word.text);
        replayed_words += 1;
    }
    assert_eq!(replayed_words, 5);
    let first = &trace.words[0];
    assert_eq!((first.text.as_str(), first.offsets), ("Tokenization", (0, 12)));
    assert_eq!(trace.words[1].text, "Ġof");
}

#[test]
fn wordpiece_and_unigram_traces_explain_the_result() {
    let bert = load("bert_uncased");
    let (enc, trace) = bert.encode_traced("Unaffable xyzzyq", true).unwrap();
    assert_eq!(trace.normalized, "unaffable xyzzyq");
    let Steps::WordPiece(wp) = &trace.words[0].steps else { panic!("WordPiece steps") };
    assert!(wp.attempts.first().is_some_and(|a| a.candidate == "unaffable" && !a.found));
    assert_eq!(wp.attempts.iter().filter(|a| a.found).count(), trace.words[0].tokens.len());
    assert_eq!(&enc.tokens[1..enc.tokens.len() - 1], trace.words.iter().flat_map(|w| w.tokens.clone()).collect::<Vec<_>>().as_slice());

    let t5 = load("t5_unigram");
    let (enc, trace) = t5.encode_traced("Hello there, Botchan!", true).unwrap();
    let mut total = 0.0;
    for w in &trace.words {
        let Steps::Unigram(u) = &w.steps else { panic!("Unigram steps") };
        assert_eq!(u.path.iter().map(|s| s.piece.as_str()).collect::<String>(), w.text);
        let sum: f64 = u.path.iter().map(|s| s.score).sum();
        assert!((sum - u.total_score).abs() < 1e-6, "path scores add up to the total");
        total += sum;
    }
    assert!(total < 0.0);
    assert_eq!(enc.tokens.last().map(String::as_str), Some("</s>"));
}

fn edit(name: &str, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&std::fs::read(fixtures().join(name).join("tokenizer.json")).unwrap()).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// Older tokenizer.json files write merges as "a b" strings and Metaspace with
/// `add_prefix_space`; both must behave like the current forms.
#[test]
fn legacy_formats_load_the_same() {
    let texts = ["Hello world, I'm here!", "  spaces  and\ttabs", "Café 😀 中文"];
    let same = |name: &str, edited: Vec<u8>| {
        let new = load(name);
        let old = Tokenizer::from_bytes(&edited, None, None).unwrap();
        for t in texts {
            assert_eq!(old.encode(t, true).unwrap().ids, new.encode(t, true).unwrap().ids, "{name}: {t:?}");
        }
    };
    same(
        "roberta_bpe",
        edit("roberta_bpe", |v| {
            let pairs = v["model"]["merges"].as_array().unwrap().clone();
            let lines: Vec<Value> = pairs.iter().map(|p| Value::from(format!("{} {}", p[0].as_str().unwrap(), p[1].as_str().unwrap()))).collect();
            v["model"]["merges"] = Value::from(lines);
        }),
    );
    same(
        "t5_unigram",
        edit("t5_unigram", |v| {
            v["pre_tokenizer"] = serde_json::json!({"type": "Metaspace", "replacement": "\u{2581}", "add_prefix_space": true, "str_rep": "\u{2581}"});
            v["decoder"] = serde_json::json!({"type": "Metaspace", "replacement": "\u{2581}", "add_prefix_space": true});
        }),
    );
}

fn error_of(bytes: &[u8]) -> Error {
    match Tokenizer::from_bytes(bytes, None, None) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn unsupported_components_are_named() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (edit("wordpiece_cased", |v| v["pre_tokenizer"] = serde_json::json!({"type": "UnicodeScripts"})), "UnicodeScripts"),
        (edit("wordpiece_cased", |v| v["normalizer"] = serde_json::json!({"type": "Uppercase"})), "Uppercase"),
        (edit("wordpiece_cased", |v| v["model"]["type"] = serde_json::json!("Morfessor")), "Morfessor"),
        (edit("wordpiece_cased", |v| v["decoder"] = serde_json::json!({"type": "Sequence", "decoders": [{"type": "Rot13"}]})), "Rot13"),
        (edit("wordpiece_cased", |v| v["post_processor"] = serde_json::json!({"type": "Shuffle"})), "Shuffle"),
    ];
    for (bytes, kind) in cases {
        let e = error_of(&bytes);
        let msg = e.to_string();
        assert!(matches!(e, Error::Tokenizer { .. }), "{msg}");
        assert!(msg.contains(kind) && msg.contains("Supported"), "error names `{kind}` and what is supported: {msg}");
    }
}

#[test]
fn malformed_tokenizer_json_gives_a_clear_error() {
    for bytes in [&b""[..], b"   ", b"{", b"not json", b"[]", b"{\"model\": 3}", b"{\"version\": \"1.0\"}"] {
        let e = error_of(bytes);
        let msg = e.to_string();
        assert!(msg.contains("tokenizer.json"), "{msg}");
    }
    let e = error_of(b"");
    assert!(e.to_string().contains("empty"), "{e}");
    let bad_merge = edit("roberta_bpe", |v| v["model"]["merges"] = serde_json::json!(["a b c"]));
    assert!(error_of(&bad_merge).to_string().contains("merge"));
    let bad_config = std::fs::read(fixtures().join("gpt2/tokenizer.json")).unwrap();
    let e = Tokenizer::from_bytes(&bad_config, Some(b"{oops"), None).unwrap_err();
    assert!(e.to_string().contains("tokenizer_config.json"), "{e}");
}

/// Odd strings must never panic, and offsets must stay inside the text.
#[test]
fn odd_strings_never_panic() {
    let mut texts: Vec<String> = vec![
        "\u{0}".into(),
        "\u{fffd}\u{fffd}".into(),
        "\u{10ffff}\u{e000}\u{f8ff}".into(),
        "\u{301}\u{301}\u{301}leading marks".into(),
        " \u{301}".into(),
        "\u{200d}\u{200d}".into(),
        "ﷺ ﷽ ẞ ǰ ΐ".into(),
        "<|endoftext|><|endoftext|>".into(),
        "[CLS][SEP][MASK][PAD][UNK]".into(),
        "</s></s><s>".into(),
        "\t\u{b}\u{c}\r\u{85}\u{2028}\u{2029}".into(),
        "a\u{0}b\u{1}c".into(),
        "🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}".into(),
        "x".repeat(5000),
        "ab ".repeat(2000),
        "▁▁▁ ▁".into(),
        "<0x41><0xZZ>".into(),
    ];
    // A small deterministic generator over awkward code points.
    let pool: Vec<char> = " \t\n\r\u{a0}\u{3000}\u{200b}\u{feff}\u{301}\u{308}aZ9'-_.,!?<>/[]|éß中日本ह्िمאשׁ😀👍🏽\u{200d}\u{fe0f}\u{1f1ef}\u{1f1f5}\u{0}\u{7f}\u{2581}Ġ"
        .chars()
        .collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..150 {
        let len = (state % 40) as usize;
        let mut s = String::new();
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            s.push(pool[(state % pool.len() as u64) as usize]);
        }
        texts.push(s);
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
    }
    for dir in std::fs::read_dir(fixtures()).unwrap() {
        let name = dir.unwrap().file_name().into_string().unwrap();
        let tok = load(&name);
        for t in &texts {
            let n = t.chars().count();
            for special in [true, false] {
                let enc = tok.encode(t, special).unwrap_or_else(|e| panic!("{name} {t:?}: {e}"));
                assert_eq!(enc.ids.len(), enc.offsets.len());
                assert_eq!(enc.ids.len(), enc.tokens.len());
                for &(a, b) in &enc.offsets {
                    assert!(a <= b && b <= n, "{name} {t:?}: offset ({a},{b}) outside {n} chars");
                }
                tok.decode(&enc.ids, false).unwrap();
                tok.decode(&enc.ids, true).unwrap();
            }
            tok.encode_traced(t, true).unwrap();
        }
        // Ids outside the vocabulary are skipped, as HF does.
        assert!(tok.decode(&[u32::MAX, 0], false).is_ok());
    }
}

#[test]
fn real_gpt2_loads_and_tokenizes_fast() {
    let bytes = std::fs::read(fixtures().join("gpt2/tokenizer.json")).unwrap();
    let t0 = std::time::Instant::now();
    let tok = Tokenizer::from_bytes(&bytes, None, None).unwrap();
    let load = t0.elapsed();
    let paragraph = "Glassbox shows how a transformer reads text: first the tokenizer cuts it into pieces, \
        then each layer's attention decides which earlier pieces matter for the next one. ";
    let text = paragraph.repeat(20);
    let words = text.split_whitespace().count();
    let t1 = std::time::Instant::now();
    let enc = tok.encode(&text, true).unwrap();
    let per_word = t1.elapsed() / words as u32;
    eprintln!("gpt2: load {load:?}, {} tokens, {per_word:?} per word", enc.ids.len());
    // Generous bounds: tests run in the (lightly optimised) dev profile on a shared machine.
    assert!(load.as_secs_f64() < 10.0, "loading took {load:?}");
    assert!(per_word.as_secs_f64() < 1e-3, "{per_word:?} per word");
}

/// An added token with `rstrip` takes the whitespace after it, but HF finds every added-token match
/// before stripping: a match that starts inside that whitespace (a token with a leading space, or a
/// second newline) is still one, and the whitespace counts for both (ids and offsets as
/// `tokenizers` 0.23 gives them for this tokenizer.json so edited).
#[test]
fn rstrip_added_tokens_do_not_hide_the_next_match() {
    let with = |added: Value| {
        let json = edit("roberta_bpe", |v| {
            let base = v["added_tokens"].as_array().unwrap().len();
            let mut list = v["added_tokens"].as_array().unwrap().clone();
            for (i, a) in added.as_array().unwrap().iter().enumerate() {
                let mut t = a.clone();
                t["id"] = Value::from(90_000 + base + i);
                list.push(t);
            }
            v["added_tokens"] = Value::from(list);
        });
        Tokenizer::from_bytes(&json, None, None).unwrap()
    };
    let token = |content: &str, rstrip: bool| serde_json::json!({"content": content, "single_word": false, "lstrip": false, "rstrip": rstrip, "normalized": false, "special": true});
    let tok = with(Value::from(vec![token("<|end|>", true), token(" <|user|>", false)]));
    let (end, user) = (tok.token_to_id("<|end|>").unwrap(), tok.token_to_id(" <|user|>").unwrap());
    let enc = tok.encode("<|end|> <|user|>", false).unwrap();
    assert_eq!(enc.ids, vec![end, user]);
    assert_eq!(enc.offsets, vec![(0, 7), (8, 16)], "offsets trimmed by this tokenizer's post-processor, as HF trims them");
    let tok = with(Value::from(vec![token("\n", true)]));
    let nl = tok.token_to_id("\n").unwrap();
    let enc = tok.encode("a\n\nb", false).unwrap();
    assert_eq!(enc.ids.iter().filter(|&&i| i == nl).count(), 2, "{:?}", enc.ids);
    assert_eq!(enc.offsets, vec![(0, 1), (3, 3), (3, 3), (3, 4)], "as HF gives them");
}

/// A regex that can match empty (a Replace normalizer's `x*`) skips the empty match right after a
/// match, as HF's iteration does: "fox" becomes "-f-o-" (not "-f-o--"), "axxb" "-a-b-".
#[test]
fn an_empty_match_right_after_a_match_is_skipped() {
    let vocab: serde_json::Map<String, Value> = ('a'..='z').chain(['-']).map(|c| (c.to_string(), Value::from(c as u32))).collect();
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Replace", "pattern": {"Regex": "x*"}, "content": "-"},
        "pre_tokenizer": null, "post_processor": null, "decoder": null,
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null,
                  "fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": []}
    });
    let tok = Tokenizer::from_bytes(&serde_json::to_vec(&json).unwrap(), None, None).unwrap();
    for (text, want) in [("fox", "-f-o-"), ("axxb", "-a-b-"), ("xx", "-")] {
        let ids = tok.encode(text, false).unwrap().ids;
        let got: String = ids.iter().map(|&i| char::from_u32(i).unwrap()).collect();
        assert_eq!(got, want, "{text:?}");
    }
}

/// HF's Whitespace pre-tokenizer runs on Rust regex's Unicode `\w`, not Oniguruma's (which split
/// patterns use): `²`, `½` are not word chars there and the joiners are (ids as `tokenizers` gives).
#[test]
fn whitespace_pre_tokenizer_keeps_unicode_word_chars() {
    let tok = load("suffix_bpe");
    assert_eq!(tok.encode("x² y½z", true).unwrap().ids, vec![1, 101, 0, 89, 0, 97, 2]);
    assert_eq!(tok.encode("a\u{200d}b\u{200c}c ¼", true).unwrap().ids, vec![1, 43, 0, 44, 0, 93, 0, 2]);
}

/// `AutoTokenizer` keeps a `LlamaTokenizer`-class file as it is for model types it maps to the
/// generic class (Mistral, Phi-3) and for byte-level files (Llama 3 style), and a Unigram file
/// under that class (which transformers would cut into characters) is refused by name.
#[test]
fn llama_tokenizer_class_rebuild_follows_the_model_type() {
    let dir = fixtures().join("llama_class");
    let json = std::fs::read(dir.join("tokenizer.json")).unwrap();
    let config = std::fs::read(dir.join("tokenizer_config.json")).unwrap();
    let ids = |t: &Tokenizer| t.encode(" hi  there</s>after", true).unwrap().ids;
    let rebuilt = Tokenizer::for_model(&json, Some(&config), None, Some("llama")).unwrap();
    assert_eq!(ids(&rebuilt), ids(&load("llama_class")), "a llama model's tokenizer is rebuilt as without config.json");
    let mut as_file: Value = serde_json::from_slice(&config).unwrap();
    as_file["tokenizer_class"] = "TokenizersBackend".into();
    let file = Tokenizer::from_bytes(&json, Some(&serde_json::to_vec(&as_file).unwrap()), None).unwrap();
    assert_ne!(ids(&rebuilt), ids(&file), "the fixture must tell the two pipelines apart");
    for model_type in ["mistral", "phi3"] {
        let t = Tokenizer::for_model(&json, Some(&config), None, Some(model_type)).unwrap();
        assert_eq!(ids(&t), ids(&file), "{model_type}: transformers loads the file as it is");
    }

    let gpt2 = std::fs::read(fixtures().join("gpt2/tokenizer.json")).unwrap();
    let gpt2_ids = |config: Option<&[u8]>| Tokenizer::from_bytes(&gpt2, config, None).unwrap().encode(" hi  there", true).unwrap().ids;
    assert_eq!(gpt2_ids(Some(&config)), gpt2_ids(None), "a byte-level file under LlamaTokenizer is used as it is");

    let unigram = std::fs::read(fixtures().join("llama_unigram_bytes/tokenizer.json")).unwrap();
    let err = Tokenizer::from_bytes(&unigram, Some(&config), None).err().expect("a Unigram file under LlamaTokenizer is refused").to_string();
    assert!(err.contains("LlamaTokenizer") && err.contains("Unigram") && err.contains("TokenizersBackend"), "{err}");
}

/// A T5 folder without tokenizer_config.json: transformers 5's T5Tokenizer adds 100 `<extra_id_N>`
/// sentinels past this tiny model's 300-row table (ids 300..399, as `AutoTokenizer` gives them).
/// The model still loads (tokenizer.json itself fits the table); typing a sentinel is refused by
/// name at run time, where transformers would fail inside the embedding lookup.
#[test]
fn t5_sentinels_only_the_class_adds_do_not_block_a_smaller_model() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models/t5_tiny");
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let (config, weights, tokenizer) = (read("config.json"), read("model.safetensors"), read("tokenizer.json"));
    let files = glassbox::loader::ModelFiles { config: &config, weights: Some(&weights), tokenizer: &tokenizer, ..Default::default() };
    let session = glassbox::session::Session::load(&files, None).expect("tokenizer.json fits the model's table");
    let enc = session.encode("a <extra_id_99> b").unwrap();
    assert!(enc.ids.contains(&399), "the sentinel is one token, id 399 as in transformers: {:?}", enc.ids);
    let err = session.inspect("a <extra_id_99> b", None, Default::default()).err().expect("id 399 is past the table").to_string();
    assert!(err.contains("399") && err.contains("outside the vocabulary"), "{err}");
    assert!(session.inspect("a b", None, Default::default()).is_ok(), "ordinary text runs");
}

/// transformers skips `clean_up_tokenization_spaces` for BPE models unless
/// `clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output` forces it (strings
/// as transformers 5.24 decodes them).
#[test]
fn clean_up_for_bpe_only_when_forced() {
    let json = std::fs::read(fixtures().join("roberta_bpe/tokenizer.json")).unwrap();
    let decode = |force: bool| {
        let config = format!(r#"{{"clean_up_tokenization_spaces": true, "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output": {force}}}"#);
        let tok = Tokenizer::from_bytes(&json, Some(config.as_bytes()), None).unwrap();
        tok.decode(&tok.encode("Hello , world . I do n't", true).unwrap().ids, true).unwrap()
    };
    assert_eq!(decode(false), "Hello , world . I do n't");
    assert_eq!(decode(true), "Hello, world. I don't");
}

/// For the model types transformers knows to carry a wrong class on the Hub, the type's registered
/// class wins over the one the config names: a `RobertaTokenizerFast` named in a `modernbert` folder
/// runs tokenizer.json as it is (transformers 5.24: `TokenizersBackend`, ids [391, 534, 83, 425, 336]
/// for "Hello world"), not RoBERTa's rebuild (`<s> ... </s>`, no leading space). RobertaTokenizer
/// refuses a null `add_prefix_space` or `trim_offsets`, as transformers fails on them.
#[test]
fn types_with_a_wrong_hub_class_keep_their_registered_class() {
    let json = std::fs::read(fixtures().join("roberta_class/tokenizer.json")).unwrap();
    let config = |class: &str| serde_json::to_vec(&serde_json::json!({ "tokenizer_class": class })).unwrap();
    let ids = |config: &[u8], model_type: &str| Tokenizer::for_model(&json, Some(config), None, Some(model_type)).unwrap().encode("Hello world", true).unwrap().ids;
    for (class, model_type) in [("RobertaTokenizerFast", "modernbert"), ("BartTokenizer", "llava"), ("RobertaTokenizer", "phi3")] {
        assert_eq!(ids(&config(class), model_type), [391, 534, 83, 425, 336], "{class} in a {model_type} folder");
    }
    assert_eq!(ids(&config("RobertaTokenizerFast"), "roberta"), [0, 44, 534, 83, 425, 336, 2], "a roberta folder is rebuilt");
    for key in ["add_prefix_space", "trim_offsets"] {
        let null = serde_json::to_vec(&serde_json::json!({ "tokenizer_class": "RobertaTokenizer", key: null })).unwrap();
        let err = Tokenizer::for_model(&json, Some(&null), None, Some("roberta")).err().expect("refused").to_string();
        assert!(err.contains(key) && err.contains("null"), "{err}");
    }
}

/// Two texts as one input (`tokenizer(text, text_pair)`): every fixture case recorded with a pair
/// gives transformers' ids, tokens, type ids and offsets (the second text's offsets index that
/// text), through each kind of pair template (BERT's, RoBERTa's, XLM-R's rebuilt one, ALBERT's,
/// MPNet's and the TemplateProcessing files').
#[test]
fn pairs_encode_as_transformers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models");
    let mut names: Vec<_> = std::fs::read_dir(&root).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.join("reference.json").exists()).collect();
    names.sort();
    let mut checked = 0;
    for dir in names {
        let reference: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
        let pairs: Vec<&serde_json::Value> = reference["cases"].as_array().into_iter().flatten().filter(|c| c["pair"].is_string() && c["token_type_ids"].is_array()).collect();
        if pairs.is_empty() {
            continue;
        }
        let read = |f: &str| std::fs::read(dir.join(f)).ok();
        let tok = Tokenizer::from_bytes(&read("tokenizer.json").unwrap(), read("tokenizer_config.json").as_deref(), read("special_tokens_map.json").as_deref()).unwrap();
        for case in pairs {
            let (a, b) = (case["text"].as_str().unwrap(), case["pair"].as_str().unwrap());
            let what = format!("{}: {a:?} + {b:?}", dir.file_name().unwrap().to_string_lossy());
            let enc = tok.encode_pair(a, b, true).unwrap_or_else(|e| panic!("{what}: {e}"));
            let want_ids: Vec<u32> = case["input_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            let want_types: Vec<u32> = case["token_type_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            let want_tokens: Vec<&str> = case["tokens"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            let want_offsets: Vec<(usize, usize)> = case["offsets"].as_array().unwrap().iter().map(|o| (o[0].as_u64().unwrap() as usize, o[1].as_u64().unwrap() as usize)).collect();
            assert_eq!(enc.ids, want_ids, "{what}: ids");
            assert_eq!(enc.tokens, want_tokens, "{what}: tokens");
            // The template's segments reach the model only where transformers' tokenizer class hands
            // them over (BERT's, ELECTRA's); ALBERT's, RoBERTa's and the generic class give none.
            if tok.gives_type_ids() {
                assert_eq!(enc.type_ids, want_types, "{what}: type ids");
            } else {
                assert!(enc.type_ids.iter().all(|&t| t == 0), "{what}: no type ids handed over, so all 0");
            }
            assert_eq!(enc.offsets, want_offsets, "{what}: offsets");
            // The second text's tokens are the ones after the first text's that are not special.
            let first_second = enc.second.iter().position(|&s| s).expect("some tokens of the second text");
            assert!(enc.second[first_second..].iter().zip(&enc.special[first_second..]).all(|(&s, &sp)| s != sp), "{what}: second marks every non-special token after the first text");
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} pair cases found");
    // Which fixture tokenizers hand over type ids, as transformers 5's classes declare them.
    for (name, gives) in [("electra", true), ("albert", false), ("bert", false), ("roberta", false), ("mpnet", false)] {
        let read = |f: &str| std::fs::read(root.join(name).join(f)).ok();
        let tok = Tokenizer::from_bytes(&read("tokenizer.json").unwrap(), read("tokenizer_config.json").as_deref(), read("special_tokens_map.json").as_deref()).unwrap();
        assert_eq!(tok.gives_type_ids(), gives, "{name}");
    }
    eprintln!("{checked} pair encodings equal transformers'");
}

/// A bad special token in special_tokens_map.json is named in that file and under its own key: both
/// messages said tokenizer_config.json (and `extra_special_tokens` for the map's `additional_special_tokens`).
#[test]
fn a_bad_special_token_is_named_in_the_file_and_key_that_hold_it() {
    let tokenizer = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models/gpt2/tokenizer.json")).unwrap();
    let err = |config: &str, map: &str| Tokenizer::from_bytes(&tokenizer, Some(config.as_bytes()), Some(map.as_bytes())).err().expect("refused").to_string();
    let e = err("{}", r#"{"additional_special_tokens": "x"}"#);
    assert!(e.starts_with(r#"special_tokens_map.json: `additional_special_tokens` is "x", not a list of tokens"#), "{e}");
    let e = err("{}", r#"{"bos_token": 5}"#);
    assert!(e.starts_with("special_tokens_map.json: `bos_token` is 5, not a token string"), "{e}");
    let e = err(r#"{"eos_token": ["a"]}"#, "{}");
    assert!(e.starts_with(r#"tokenizer_config.json: `eos_token` is ["a"], not a token string"#), "{e}");
}
