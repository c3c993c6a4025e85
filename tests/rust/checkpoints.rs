//! Checkpoints as people save them (issue 10): every folder under tests/fixtures/checkpoints/,
//! written by scripts/fixtures/checkpoints.py (the curated layouts and generation settings) and
//! scripts/dev/config_sampler.py --save (randomly drawn configurations), against what Hugging Face
//! `transformers` computes from the same folder:
//!
//! - token ids exactly; every attention map within 1e-4; last hidden states and logits within 1e-3
//!   (logits rows as long as the LM head's vocabulary);
//! - when the folder says how to generate (generation_config.json or config.json's generation keys),
//!   `Session::plan` + generate / beam search with nothing else given produce HF's `model.generate`
//!   ids exactly.
//!
//! Plus the refusals and limits that go with them: keys that change the output and are not
//! implemented, a head that HF would start from random numbers, prompts that leave no room.

#[path = "support/mod.rs"]
mod support;

use glassbox::models::{AttentionMaps, Capture, Inputs, Kind};
use glassbox::session::{DecodingPlan, GenerationRequest, Session};
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{assert_close, flat, ids, Folder};

const ATTENTION_TOL: f64 = 1e-4;
const STATE_TOL: f64 = 1e-3;

fn checkpoints_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/checkpoints")
}

fn fixtures() -> Vec<PathBuf> {
    support::regenerate_if_asked("checkpoints.py", &[]);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(checkpoints_dir()).expect("tests/fixtures/checkpoints").map(|e| e.unwrap().path()).filter(|p| p.join("reference.json").exists()).collect();
    dirs.sort();
    assert!(dirs.len() >= 8, "expected the curated checkpoint fixtures, found {}", dirs.len());
    dirs
}

fn compare_maps(what: &str, got: &Option<AttentionMaps>, want: &Value) {
    if want.is_null() {
        return;
    }
    let got = got.as_ref().unwrap_or_else(|| panic!("{what}: no attention captured"));
    let want = flat(want);
    assert_eq!(got.len(), want.len(), "{what}: attention shape differs");
    assert_close(what, got.as_slice().unwrap(), &want, ATTENTION_TOL);
}

/// Forward pass, generation and ids of one fixture folder against its reference.json.
fn check(dir: &Path) {
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let folder = Folder::read(dir);
    let reference: Value = serde_json::from_slice(&std::fs::read(dir.join("reference.json")).unwrap()).unwrap();
    // Through the weights the folder holds: model.safetensors, or its shards (llama_sharded).
    let session = folder.session().unwrap_or_else(|e| panic!("[{name}] loading failed: {e}"));
    let info = session.info().clone();
    for (i, case) in reference["cases"].as_array().unwrap().iter().enumerate() {
        let text = case["text"].as_str().unwrap();
        let at = format!("[{name}] case {i}");
        let want_ids = ids(&case["ids"]);
        assert_eq!(session.encode(text).unwrap().ids, want_ids, "{at}: token ids");
        let decoder_ids = case.get("decoder_ids").filter(|v| !v.is_null()).map(ids);
        let type_ids = vec![0u32; want_ids.len()];
        let inputs = Inputs {
            ids: &want_ids,
            type_ids: (info.kind == Kind::EncoderOnly).then_some(type_ids.as_slice()),
            decoder_ids: decoder_ids.as_deref(),
        };
        let out = session.model.forward(&inputs, Capture { probs: true, scores: false }).unwrap_or_else(|e| panic!("{at}: forward failed: {e}"));
        let att = &case["attentions"];
        compare_maps(&format!("{at}: encoder attention"), &out.encoder_attentions, att.get("encoder").unwrap_or(&Value::Null));
        compare_maps(&format!("{at}: decoder attention"), &out.decoder_attentions, att.get("decoder").unwrap_or(&Value::Null));
        compare_maps(&format!("{at}: cross attention"), &out.cross_attentions, att.get("cross").unwrap_or(&Value::Null));
        if let Some(enc) = case.get("encoder_last_hidden_state").filter(|v| !v.is_null()) {
            assert_close(&format!("{at}: encoder last hidden state"), out.encoder_last_hidden_state.as_ref().unwrap(), &flat(enc), STATE_TOL);
        }
        assert_close(&format!("{at}: last hidden state"), &out.last_hidden_state, &flat(&case["last_hidden_state"]), STATE_TOL);
        if let Some(want) = case.get("logits").filter(|v| !v.is_null()) {
            let rows = want.as_array().unwrap();
            let width = rows[0].as_array().unwrap().len();
            assert_eq!(session.model.decoder_vocab_size(), width, "{at}: logits row length (the LM head's vocabulary)");
            assert_close(&format!("{at}: logits"), out.logits.as_ref().unwrap(), &flat(want), STATE_TOL);
        }
        if let Some(gen) = case.get("generate") {
            let request = GenerationRequest { max_new_tokens: gen["max_new_tokens"].as_u64().map(|n| n as usize), ..Default::default() };
            let got = match session.plan(text, &request).unwrap_or_else(|e| panic!("{at}: plan failed: {e}")) {
                DecodingPlan::Stepwise(opts) => session.generate(text, &opts, &mut |_| true).unwrap().ids(),
                DecodingPlan::Beam(opts) => session.beam_search(text, &opts).unwrap().hypotheses.remove(0).ids,
            };
            assert_eq!(got, ids(&gen["ids"]), "{at}: generated ids differ from HF's model.generate with the folder's settings");
        }
    }
}

#[test]
fn every_checkpoint_fixture_matches_transformers() {
    for dir in fixtures() {
        check(&dir);
    }
}

fn fixture(name: &str) -> Folder {
    support::regenerate_if_asked("checkpoints.py", &[]);
    Folder::read(&checkpoints_dir().join(name))
}

fn load_error(folder: &Folder) -> String {
    match Session::load(&folder.files(), None) {
        Ok(_) => panic!("expected the folder to be refused"),
        Err(e) => e.to_string(),
    }
}

/// A generation setting Glassbox does not implement is refused by name when a run would use it,
/// and only then: the model loads and every single pass works, and a key HF reads only when sampling
/// (or only between beam groups) leaves greedy (or one-beam) decoding alone, as in transformers 5.
#[test]
fn unsupported_generation_keys_are_refused_by_name_when_a_run_uses_them() {
    let greedy = GenerationRequest { max_new_tokens: Some(3), ..Default::default() };
    let sampled = GenerationRequest { temperature: Some(0.8), ..greedy };
    let beams = GenerationRequest { num_beams: Some(2), ..greedy };
    // (key, value, a run that uses it, a run that does not)
    for (key, value, uses, leaves) in [
        ("typical_p", "0.9", &sampled, Some(&greedy)),
        ("min_p", "0.05", &sampled, Some(&beams)),
        ("diversity_penalty", "0.5", &beams, Some(&sampled)),
        ("suppress_tokens", "[5]", &greedy, None),
        ("forced_decoder_ids", "[[1, 5]]", &beams, None),
    ] {
        let mut folder = fixture("gpt2_generation_config");
        let mut gen: Value = serde_json::from_slice(folder.generation_config.as_ref().unwrap()).unwrap();
        gen[key] = serde_json::from_str(value).unwrap();
        folder.generation_config = Some(serde_json::to_vec(&gen).unwrap());
        let session = Session::load(&folder.files(), None).unwrap_or_else(|e| panic!("{key}: the model loads ({e})"));
        session.inspect("Hello there", None, Capture::NONE).unwrap_or_else(|e| panic!("{key}: a single pass works ({e})"));
        let err = session.plan("Hello there", uses).err().unwrap_or_else(|| panic!("{key}: refused for {uses:?}")).to_string();
        assert!(err.contains("generation_config.json") && err.contains(key), "{key}: {err}");
        if let Some(leaves) = leaves {
            session.plan("Hello there", leaves).unwrap_or_else(|e| panic!("{key}: {leaves:?} does not read it ({e})"));
        }
    }
    // The same key in config.json counts only without generation_config.json (HF's legacy path).
    let mut folder = fixture("bart_untied_v4");
    let mut cfg: Value = serde_json::from_slice(&folder.config).unwrap();
    cfg["encoder_no_repeat_ngram_size"] = 3.into();
    folder.config = serde_json::to_vec(&cfg).unwrap();
    let session = Session::load(&folder.files(), None).unwrap();
    let err = session.plan("Hello there", &greedy).err().expect("refused").to_string();
    assert!(err.contains("config.json") && err.contains("encoder_no_repeat_ngram_size"), "{err}");
}

#[test]
fn untied_bart_without_lm_head_is_refused() {
    let mut folder = fixture("bart_untied_v4");
    let tensors = glassbox::loader::weights::Weights::from_safetensors(folder.weights.as_ref().unwrap()).unwrap();
    assert!(tensors.contains("lm_head.weight"));
    // Drop lm_head by renaming it in the header (same length, so the offsets stay valid).
    let bytes = folder.weights.as_mut().unwrap();
    let at = bytes.windows(14).position(|w| w == b"lm_head.weight").unwrap();
    bytes[at..at + 14].copy_from_slice(b"xx_head.weight");
    let err = load_error(&folder);
    assert!(err.contains("lm_head.weight") && err.contains("tie_word_embeddings"), "{err}");
}

#[test]
fn a_prompt_that_leaves_no_room_is_an_error_naming_the_limit() {
    let session = Session::load(&fixture("gpt2_generation_config").files(), None).unwrap();
    let limit = session.info().max_positions.unwrap();
    let long = "the cat sat on the mat and ".repeat(limit);
    let plan = session.plan(&long, &GenerationRequest { max_new_tokens: Some(5), ..Default::default() });
    let err = match plan {
        Ok(DecodingPlan::Stepwise(opts)) => session.generate(&long, &opts, &mut |_| true).err().expect("must fail"),
        Ok(DecodingPlan::Beam(opts)) => session.beam_search(&long, &opts).err().expect("must fail"),
        Err(e) => e,
    }
    .to_string();
    assert!(err.contains(&limit.to_string()) && err.contains("positions"), "{err}");
    // Exactly full: still no room for one new token.
    let ids = session.encode(&long).unwrap().ids;
    let text = session.tokenizer.decode(&ids[..limit], false).unwrap();
    let n = session.encode(&text).unwrap().ids.len();
    assert!(n >= limit, "the cut text re-tokenizes to {n} ids");
    let opts = match session.plan(&text, &GenerationRequest { max_new_tokens: Some(3), num_beams: Some(1), ..Default::default() }).unwrap() {
        DecodingPlan::Stepwise(opts) => opts,
        DecodingPlan::Beam(_) => unreachable!("one beam asked"),
    };
    let err = session.generate(&text, &opts, &mut |_| true).err().expect("no room").to_string();
    assert!(err.contains("no room") && err.contains(&limit.to_string()), "{err}");
}

#[test]
fn explicit_options_override_the_generation_config() {
    let session = Session::load(&fixture("gpt2_beam_untied").files(), None).unwrap();
    let text = "Hello world";
    assert!(matches!(session.plan(text, &GenerationRequest::default()).unwrap(), DecodingPlan::Beam(o) if o.num_beams == 3 && o.length_penalty == 1.2));
    match session.plan(text, &GenerationRequest { num_beams: Some(1), max_new_tokens: Some(4), ..Default::default() }).unwrap() {
        DecodingPlan::Stepwise(o) => assert_eq!(o.max_new_tokens, 4),
        DecodingPlan::Beam(_) => panic!("--num-beams 1 must win over num_beams 3"),
    }
    let err = session.plan(text, &GenerationRequest { temperature: Some(0.8), ..Default::default() }).unwrap_err().to_string();
    assert!(err.contains("beam sampling"), "{err}");
}

/// A generation_config.json asking for beam sampling (do_sample with several beams) loads, so the
/// model can be inspected; a run refuses it by name unless one beam or temperature 0 is asked for,
/// which then decide (sampling with one beam, or beam search).
#[test]
fn beam_sampling_in_the_file_is_refused_per_run_and_overridable() {
    let mut folder = fixture("gpt2_beam_untied");
    folder.generation_config = Some(br#"{"do_sample": true, "num_beams": 4}"#.to_vec());
    let session = Session::load(&folder.files(), None).expect("a file asking for beam sampling loads");
    let text = "Hello world";
    let err = session.plan(text, &GenerationRequest::default()).unwrap_err().to_string();
    assert!(err.contains("beam sampling") && err.contains("do_sample") && err.contains("--temperature 0"), "{err}");
    assert!(matches!(session.plan(text, &GenerationRequest { temperature: Some(0.0), ..Default::default() }).unwrap(), DecodingPlan::Beam(o) if o.num_beams == 4));
    match session.plan(text, &GenerationRequest { num_beams: Some(1), ..Default::default() }).unwrap() {
        DecodingPlan::Stepwise(o) => assert!(o.sampling != glassbox::models::generation::Sampling::Greedy, "the file's do_sample samples"),
        DecodingPlan::Beam(_) => panic!("one beam was asked"),
    }
}

/// The CLI's `inspect` cuts logits rows at the LM head's vocabulary (Marian's decoder_vocab_size),
/// and `generate` with a prompt that leaves no room fails with the limit instead of exiting 0.
#[test]
fn cli_rows_and_limits() {
    let run = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_glassbox")).args(args).output().expect("run glassbox");
    let dir = checkpoints_dir().join("marian_decoder_vocab");
    let out = run(&["inspect", dir.to_str().unwrap(), "--text", "Hello world"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cfg: Value = serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    let v_dec = cfg["decoder_vocab_size"].as_u64().unwrap() as usize;
    assert_ne!(v_dec, cfg["vocab_size"].as_u64().unwrap() as usize);
    let logits = json["cases"][0]["logits"].as_array().unwrap();
    assert_eq!((logits.len(), logits[0].as_array().unwrap().len()), (1, v_dec), "one row of decoder_vocab_size logits");

    let gpt2 = checkpoints_dir().join("gpt2_generation_config");
    let long = "the cat sat on the mat and ".repeat(60);
    let out = run(&["generate", gpt2.to_str().unwrap(), "--text", &long, "--max-new-tokens", "4"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("positions for only 48"), "exit {:?}: {stderr}", out.status.code());
}

#[test]
fn t5_max_distance_inside_the_exact_buckets_is_refused() {
    let mut folder = fixture("t5_v11_v5");
    let mut cfg: Value = serde_json::from_slice(&folder.config).unwrap();
    cfg["relative_attention_max_distance"] = 3.into(); // 8 buckets: causal exact ones reach 4
    folder.config = serde_json::to_vec(&cfg).unwrap();
    let err = load_error(&folder);
    assert!(err.contains("relative_attention_max_distance"), "{err}");
}

#[test]
fn the_model_card_shows_the_generation_defaults_and_zero_beams_is_refused() {
    let session = Session::load(&fixture("gpt2_beam_untied").files(), None).unwrap();
    let card = serde_json::to_value(glassbox::card::ModelCard::new(&session, None)).unwrap();
    let g = &card["generation"];
    assert_eq!((g["source"].as_str(), g["fromGenerationConfig"].as_bool()), (Some("generation_config.json"), Some(true)));
    assert_eq!((g["numBeams"].as_u64(), g["lengthPenalty"].as_f64(), g["maxLength"].as_u64()), (Some(3), Some(1.2), Some(34)));
    assert!(g["maxNewTokens"].is_null() && g["temperature"].is_null(), "{g}");
    let err = session.plan("Hello", &GenerationRequest { num_beams: Some(0), ..Default::default() }).err().expect("0 beams must fail").to_string();
    assert!(err.contains("beams is 0"), "{err}");
}

#[test]
fn sampling_settings_come_from_the_generation_config_unless_given() {
    use glassbox::models::generation::Sampling;
    let mut folder = fixture("gpt2_generation_config");
    let mut gen: Value = serde_json::from_slice(folder.generation_config.as_ref().unwrap()).unwrap();
    gen["do_sample"] = true.into();
    gen["temperature"] = 0.7.into();
    gen["top_p"] = 0.9.into();
    folder.generation_config = Some(serde_json::to_vec(&gen).unwrap());
    let session = Session::load(&folder.files(), None).unwrap();
    let text = "Hello world";
    let sampling = |request: GenerationRequest| match session.plan(text, &request).unwrap() {
        DecodingPlan::Stepwise(o) => (o.sampling, o.max_new_tokens),
        DecodingPlan::Beam(_) => panic!("no beams asked"),
    };
    // HF's defaults fill what the file leaves out: top_k 50.
    assert_eq!(sampling(GenerationRequest { seed: 9, ..Default::default() }), (Sampling::Sample { temperature: 0.7, top_k: 50, top_p: 0.9, seed: 9 }, 12));
    assert_eq!(sampling(GenerationRequest { top_k: Some(5), max_new_tokens: Some(3), ..Default::default() }).0, Sampling::Sample { temperature: 0.7, top_k: 5, top_p: 0.9, seed: 0 });
    assert_eq!(sampling(GenerationRequest { temperature: Some(0.0), ..Default::default() }).0, Sampling::Greedy);
    // The same seed gives the same text; the file's rules still apply while sampling.
    let run = |seed| match session.plan(text, &GenerationRequest { seed, ..Default::default() }).unwrap() {
        DecodingPlan::Stepwise(o) => session.generate(text, &o, &mut |_| true).unwrap().ids(),
        DecodingPlan::Beam(_) => unreachable!(),
    };
    let a = run(4);
    assert_eq!(a, run(4));
    assert!(a.windows(2).all(|w| !(w[0] == 6 && w[1] == 7)) && !a.contains(&5), "bad_words_ids hold while sampling: {a:?}");
}

/// The model card says what the loaded model does: a tied config whose file stores a differing
/// head is untied (as transformers 5 loads it), and mT5's feed-forward default is gated-gelu.
#[test]
fn the_card_reports_the_head_and_activation_as_loaded() {
    use glassbox::card::BlockFacts;
    for name in ["llama_tied_stored_head_differs", "bert_tied_stored_head_differs"] {
        let session = Session::load(&fixture(name).files(), None).unwrap();
        assert!(!BlockFacts::of(&session.model).tied_embeddings, "{name}: the stored head is not the table");
    }
    let mt5 = Session::load(&fixture("mt5_v5").files(), None).unwrap();
    let facts = BlockFacts::of(&mt5.model);
    assert_eq!((facts.gated_ffn, facts.activation.as_str(), facts.tied_embeddings), (true, "gelu_new", true), "mt5_v5");
    assert_eq!(mt5.info().model_type, "mt5");
}

/// Asked-for help is printed on stdout with exit code 0, and the RNN trainer's errors name the
/// CLI flag beside the option's name in words (the JS API and the widgets get the words alone).
#[test]
fn cli_help_and_rnn_option_errors() {
    let run = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_glassbox")).args(args).output().expect("run glassbox");
    for args in [&["--help"][..], &["rnn", "--help"]] {
        let out = run(args);
        assert!(out.status.success(), "{args:?} exits 0");
        assert!(String::from_utf8_lossy(&out.stdout).contains("glassbox"), "{args:?} prints its usage on stdout");
    }
    let out = run(&["rnn", "--eval-size", "0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the evaluation size (--eval-size) 0 is outside 1 to 4096"), "{err}");
}

/// transformers 5 reads the generation settings from generation_config.json alone when there is
/// one: without an eos id there, a run does not stop at config.json's (checked at development time
/// with a GPT-2 whose config.json names a token greedy decoding writes: HF wrote it and went on).
/// Without generation_config.json, config.json's keys are the settings, its eos id included.
#[test]
fn eos_comes_from_the_generation_settings_alone() {
    let mut folder = fixture("gpt2_generation_config");
    let cfg: Value = serde_json::from_slice(&folder.config).unwrap();
    assert_eq!(cfg["eos_token_id"], 0, "config.json names an eos id");
    folder.generation_config = Some(br#"{"max_new_tokens": 6}"#.to_vec());
    let session = Session::load(&folder.files(), None).unwrap();
    assert!(session.generation_rules(None).eos_token_ids.is_empty(), "no eos id in generation_config.json: no stop");
    folder.generation_config = None;
    let legacy = Session::load(&folder.files(), None).unwrap();
    assert_eq!(legacy.generation_rules(None).eos_token_ids, vec![0], "config.json's keys are the settings");
}

/// Sampling asked for with a temperature alone gets HF's default top-k of 50 (GenerationConfig's
/// default, whoever asks for sampling); --top-k 0 switches it off.
#[test]
fn a_temperature_alone_samples_with_hf_top_k() {
    let session = Session::load(&fixture("gpt2_generation_config").files(), None).unwrap();
    let plan = |top_k| match session.plan("Hello", &GenerationRequest { temperature: Some(0.8), top_k, num_beams: Some(1), ..Default::default() }).unwrap() {
        DecodingPlan::Stepwise(o) => o.sampling,
        DecodingPlan::Beam(_) => panic!("one beam"),
    };
    assert!(matches!(plan(None), glassbox::models::generation::Sampling::Sample { top_k: 50, .. }), "{:?}", plan(None));
    assert!(matches!(plan(Some(0)), glassbox::models::generation::Sampling::Sample { top_k: 0, .. }));
}

/// A file that samples at temperature 0 is refused per run, as HF refuses it; a temperature given
/// for the run decides instead.
#[test]
fn a_file_sampling_at_temperature_zero_is_refused_unless_the_run_decides() {
    let mut folder = fixture("gpt2_generation_config");
    folder.generation_config = Some(br#"{"do_sample": true, "temperature": 0.0}"#.to_vec());
    let session = Session::load(&folder.files(), None).unwrap();
    let err = session.plan("Hello", &GenerationRequest::default()).unwrap_err().to_string();
    assert!(err.contains("temperature 0") && err.contains("do_sample"), "{err}");
    assert!(session.plan("Hello", &GenerationRequest { temperature: Some(0.0), ..Default::default() }).is_ok());
}

/// A settings file that ends every sequence at `max_length` (and names no max_new_tokens) with a
/// prompt that already fills it: HF's generate raises rather than make nothing, and so does
/// Glassbox, naming the key; a run that asks for new tokens decides instead.
#[test]
fn a_prompt_that_fills_max_length_is_refused_unless_the_run_asks_for_tokens() {
    let mut folder = fixture("gpt2_generation_config");
    folder.generation_config = Some(br#"{"max_length": 3, "bos_token_id": 0}"#.to_vec());
    let session = Session::load(&folder.files(), None).unwrap();
    let prompt = "Hello there, how are you today?";
    assert!(session.encode(prompt).unwrap().ids.len() >= 3);
    let err = session.plan(prompt, &GenerationRequest::default()).err().expect("refused").to_string();
    assert!(err.contains("max_length 3"), "{err}");
    assert!(session.plan(prompt, &GenerationRequest { max_new_tokens: Some(4), ..Default::default() }).is_ok());
}

/// An empty prompt starts from the generation settings' bos id, as HF's generate does; settings
/// without one are refused by name (config.json's bos does not count once generation_config.json
/// is there, as HF reads only that file).
#[test]
fn an_empty_prompt_starts_from_the_settings_bos_or_is_refused() {
    let mut folder = fixture("gpt2_generation_config");
    folder.generation_config = Some(br#"{"max_new_tokens": 2}"#.to_vec());
    let session = Session::load(&folder.files(), None).unwrap();
    let err = session.generate("", &greedy(2), &mut |_| true).err().expect("refused").to_string();
    assert!(err.contains("bos_token_id"), "{err}");
    folder.generation_config = Some(br#"{"max_new_tokens": 2, "bos_token_id": 0}"#.to_vec());
    let session = Session::load(&folder.files(), None).unwrap();
    assert!(session.generate("", &greedy(2), &mut |_| true).is_ok());
}

fn greedy(max_new_tokens: usize) -> glassbox::models::generation::GenerateOptions {
    glassbox::models::generation::GenerateOptions { max_new_tokens, sampling: glassbox::models::generation::Sampling::Greedy, eos_token_id: None, n_candidates: 0, capture: glassbox::models::Capture::NONE }
}
