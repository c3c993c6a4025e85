//! The `glassbox` binary, run as a user would: JSON on stdout with the fields issue 2 lists,
//! values equal to the Hugging Face reference, and one-line errors with exit code 1.

#[path = "support/mod.rs"]
mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{assert_close, fixture_dir, flat, ids, pick_rows, reference};

fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox")).args(args).output().expect("run glassbox")
}

/// Run, expect success, parse stdout as JSON.
fn json(args: &[&str]) -> Value {
    let out = glassbox(args);
    assert!(out.status.success(), "glassbox {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("glassbox {args:?}: stdout is not JSON ({e})"))
}

/// Run, expect failure: exit code 1 and exactly one line on stderr, which is returned.
fn failure(args: &[&str]) -> String {
    let out = glassbox(args);
    assert_eq!(out.status.code(), Some(1), "glassbox {args:?} should exit with 1; stdout: {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "glassbox {args:?}: stderr should be one line: {err:?}");
    err
}

fn dir(name: &str) -> String {
    fixture_dir(name).display().to_string()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

/// Single-text reference cases short enough for the CLI tests.
fn short_cases(name: &str) -> Vec<Value> {
    reference(name)["cases"].as_array().unwrap().iter().filter(|c| c["pair"].is_null()).take(3).cloned().collect()
}

#[test]
fn tokenize_prints_ids_tokens_and_offsets() {
    for name in ["gpt2", "bert"] {
        let cases = short_cases(name);
        let mut args = vec!["tokenize".to_string(), dir(name)];
        for c in &cases {
            args.extend(["--text".to_string(), c["text"].as_str().unwrap().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = json(&args);
        assert_eq!(keys(&out), sorted(&["cases"]));
        let got = out["cases"].as_array().unwrap();
        assert_eq!(got.len(), cases.len());
        for (g, want) in got.iter().zip(&cases) {
            assert_eq!(keys(g), sorted(&["text", "ids", "tokens", "offsets"]), "{name}");
            assert_eq!(g["text"], want["text"]);
            assert_eq!(g["ids"], want["input_ids"], "{name} {:?}", want["text"]);
            assert_eq!(g["tokens"], want["tokens"], "{name} {:?}", want["text"]);
            assert_eq!(g["offsets"], want["offsets"], "{name} {:?}", want["text"]);
        }
    }
}

const INSPECT_FIELDS: [&str; 10] = [
    "text",
    "ids",
    "tokens",
    "decoder_ids",
    "attentions",
    "last_hidden_state",
    "encoder_last_hidden_state",
    "logits",
    "generated_ids",
    "generated_text",
];

#[test]
fn inspect_gpt2_matches_the_reference() {
    let case = &short_cases("gpt2")[0];
    let want_gen = ids(&case["generated_ids"]);
    let n = want_gen.len().to_string();
    let out = json(&["inspect", &dir("gpt2"), "--text", case["text"].as_str().unwrap(), "--generate", &n]);
    assert_eq!(keys(&out), sorted(&["model", "kind", "cases"]));
    assert_eq!(out["model"], "gpt2");
    assert_eq!(out["kind"], "decoder-only");
    let got = &out["cases"][0];
    assert_eq!(keys(got), sorted(&INSPECT_FIELDS));
    assert_eq!(got["ids"], case["input_ids"]);
    assert_eq!(got["tokens"], case["tokens"]);
    assert!(got["decoder_ids"].is_null() && got["encoder_last_hidden_state"].is_null());
    assert_eq!(keys(&got["attentions"]), sorted(&["encoder", "decoder", "cross"]));
    assert!(got["attentions"]["encoder"].is_null() && got["attentions"]["cross"].is_null());
    assert_close("attentions.decoder", &to_f32(&got["attentions"]["decoder"]), &flat(&case["attentions"]), 1e-4);
    assert_close("last_hidden_state", &to_f32(&got["last_hidden_state"]), &flat(&case["last_hidden_state"]), 1e-3);
    let v = got["logits"][0].as_array().unwrap().len();
    let rows = ids(&case["logit_rows"]);
    assert_close("logits", &pick_rows(&to_f32(&got["logits"]), v, &rows), &flat(&case["logits"]), 1e-3);
    assert_eq!(ids(&got["generated_ids"]), want_gen);
    assert_eq!(got["generated_text"], case["generated_text"]);
}

#[test]
fn inspect_bert_family_matches_the_reference() {
    for name in ["bert", "minilm_style"] {
        let case = &short_cases(name)[1];
        let out = json(&["inspect", &dir(name), "--text", case["text"].as_str().unwrap()]);
        assert_eq!(out["model"], "bert");
        assert_eq!(out["kind"], "encoder-only");
        let got = &out["cases"][0];
        let mut fields = INSPECT_FIELDS.to_vec();
        fields.push("sentence_embedding");
        assert_eq!(keys(got), sorted(&fields), "{name}");
        assert_eq!(got["ids"], case["input_ids"], "{name}");
        assert!(got["attentions"]["decoder"].is_null() && got["attentions"]["cross"].is_null());
        assert_close(&format!("{name} attentions.encoder"), &to_f32(&got["attentions"]["encoder"]), &flat(&case["attentions"]), 1e-4);
        assert_close(&format!("{name} last_hidden_state"), &to_f32(&got["last_hidden_state"]), &flat(&case["last_hidden_state"]), 1e-3);
        assert_close(&format!("{name} sentence_embedding"), &to_f32(&got["sentence_embedding"]), &flat(&case["sentence_embedding"]), 1e-3);
        assert!(got["generated_ids"].is_null() && got["generated_text"].is_null());
        if case["logits"].is_null() {
            assert!(got["logits"].is_null(), "{name}: no LM head, logits must be null");
        } else {
            let v = got["logits"][0].as_array().unwrap().len();
            let rows = ids(&case["logit_rows"]);
            assert_close(&format!("{name} logits"), &pick_rows(&to_f32(&got["logits"]), v, &rows), &flat(&case["logits"]), 1e-3);
        }
    }
}

fn to_f32(v: &Value) -> Vec<f32> {
    flat(v).into_iter().map(|x| x as f32).collect()
}

#[test]
fn generate_prints_the_prompt_and_its_greedy_continuation() {
    let case = &short_cases("gpt2")[0];
    let text = case["text"].as_str().unwrap();
    let n = ids(&case["generated_ids"]).len().to_string();
    let out = glassbox(&["generate", &dir("gpt2"), "--text", text, "--max-new-tokens", &n]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed, format!("{text}{}\n", case["generated_text"].as_str().unwrap()));
    // Sampling with a seed prints the same text twice.
    let sample = |seed: &str| glassbox(&["generate", &dir("gpt2"), "--text", text, "--max-new-tokens", "8", "--temperature", "1.0", "--top-k", "20", "--seed", seed]).stdout;
    assert_eq!(sample("4"), sample("4"));
}

/// A copy of a fixture folder in a fresh temporary directory, with `edit` applied to config.json.
fn broken_copy(name: &str, tag: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let to = std::env::temp_dir().join(format!("glassbox-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(fixture_dir(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
    let config = std::fs::read_to_string(to.join("config.json")).unwrap();
    std::fs::write(to.join("config.json"), edit(config)).unwrap();
    to
}

#[test]
fn errors_exit_1_with_one_line_naming_the_problem() {
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("no-such-model").display().to_string();
    let err = failure(&["inspect", &missing, "--text", "hi"]);
    assert!(err.contains("config.json") && err.contains("no-such-model"), "{err}");

    let err = failure(&["explode", &dir("gpt2")]);
    assert!(err.contains("explode"), "{err}");
    let err = failure(&["inspect", &dir("gpt2")]);
    assert!(err.contains("--text"), "{err}");
    let err = failure(&["generate", &dir("gpt2"), "--text", "hi", "--top-p", "lots"]);
    assert!(err.contains("--top-p"), "{err}");

    let falcon = broken_copy("gpt2", "falcon", |c| c.replace("\"model_type\": \"gpt2\"", "\"model_type\": \"falcon\""));
    let err = failure(&["inspect", falcon.to_str().unwrap(), "--text", "hi"]);
    assert!(err.contains("model_type") && err.contains("falcon"), "{err}");
    let _ = std::fs::remove_dir_all(falcon);

    let wide = broken_copy("gpt2", "wide", |c| c.replace("\"n_embd\": 64", "\"n_embd\": 128"));
    let err = failure(&["inspect", wide.to_str().unwrap(), "--text", "hi"]);
    assert!(err.contains("model.safetensors") && err.contains("[128"), "{err}");
    let _ = std::fs::remove_dir_all(wide);
}

/// A mistyped path, a file given for the folder, a folder without config.json, a config.json that is not
/// JSON: each is named for what it is, not reported as some other file being missing.
#[test]
fn folder_mistakes_are_named_for_what_they_are() {
    let root = std::env::temp_dir().join(format!("glassbox-cli-folders-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("empty")).unwrap();
    let missing = root.join("typo").display().to_string();
    let err = failure(&["info", &missing]);
    assert!(err.contains("typo: no such folder") && err.contains("Check the path"), "{err}");
    assert!(!err.contains("tokenizer.json: cannot be read"), "a missing folder is not a missing tokenizer: {err}");

    let config = fixture_dir("gpt2").join("config.json").display().to_string();
    let err = failure(&["inspect", &config, "--text", "hi"]);
    assert!(err.contains("is a file, not a folder") && err.contains("model folder"), "{err}");

    // An empty folder: config.json is named first (it was tokenizer.json, which made the folder look nearly right).
    let empty = root.join("empty").display().to_string();
    let err = failure(&["info", &empty]);
    assert!(err.contains("config.json: cannot be read (no such file)"), "{err}");

    let bad = broken_copy("gpt2", "notjson", |_| "{not json".into());
    let err = failure(&["info", bad.to_str().unwrap()]);
    assert!(err.starts_with("error: config.json: not valid JSON"), "{err}");
    let _ = std::fs::remove_dir_all(bad);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn input_errors_exit_1_with_one_line() {
    let long = "the quick brown fox jumps over the lazy dog ".repeat(20);
    let err = failure(&["inspect", &dir("gpt2"), "--text", &long]);
    assert!(err.contains("positions"), "{err}");
    let err = failure(&["inspect", &dir("gpt2"), "--text", "hi", "--decoder-ids", "1,x"]);
    assert!(err.contains("--decoder-ids"), "{err}");
    // Empty entries were skipped: "," ran from the start token, "0,,5" as 0,5.
    for ids in ["", ",", "0,,5", "0,5,"] {
        let err = failure(&["inspect", &dir("t5_tiny"), "--text", "hi", "--decoder-ids", ids]);
        assert!(err.contains("--decoder-ids") && err.contains("empty"), "{ids:?}: {err}");
    }
    let err = failure(&["generate", &dir("gpt2"), "--text", "hi", "--temperature", "-2"]);
    assert!(err.contains("temperature"), "{err}");
    let err = failure(&["generate", &dir("bert"), "--text", "hi"]);
    assert!(err.contains("encoder-only"), "{err}");
    // Decoder ids given to a decoder-only model: the article agrees with the kind, and the JS option is named too.
    let err = failure(&["inspect", &dir("gpt2"), "--text", "hi", "--decoder-ids", "1"]);
    assert!(err.contains("this is a decoder-only model") && err.contains("decoderIds"), "{err}");
}

/// `plot` draws the attention `inspect` prints, with the page's colours: one block per cell, the
/// causal future hatched, and a one-line error for a kind or head the model lacks.
#[test]
fn plot_writes_the_inspected_map_as_png() {
    use glassbox::plot::{heat_color, Palette};
    let gpt2 = dir("gpt2");
    let text = "The cat sat on the mat";
    let out = std::env::temp_dir().join(format!("glassbox-plot-{}.png", std::process::id()));
    let out_s = out.display().to_string();
    let printed = json(&["plot", &gpt2, "--text", text, "--kind", "decoder", "--layer", "1", "--head", "2", "--cell", "4", "--out", &out_s]);
    let case = &json(&["inspect", &gpt2, "--text", text])["cases"][0];
    let map = &case["attentions"]["decoder"][0][1]; // layer 1, head 2 as the page counts them
    let t = map.as_array().unwrap().len();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgba = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut rgba).unwrap();
    std::fs::remove_file(&out).ok();
    assert_eq!((frame.width as usize, frame.height as usize), (4 * t, 4 * t), "one 4 px block per cell, no grid lines below 12 px");
    assert_eq!(printed["width"], 4 * t);
    let pixel = |x: usize, y: usize| {
        let at = (y * frame.width as usize + x) * 4;
        [rgba[at], rgba[at + 1], rgba[at + 2]]
    };
    for (q, row) in map.as_array().unwrap().iter().enumerate() {
        for (k, p) in row.as_array().unwrap().iter().enumerate() {
            let (x, y) = (4 * k + 1, 4 * q + 2);
            if k > q {
                let c = pixel(x, y);
                assert!(c == Palette::LIGHT.masked || c == Palette::LIGHT.hatch, "query {q} key {k}: the future is hatched");
            } else {
                assert_eq!(pixel(x, y), heat_color(&Palette::LIGHT.stops, p.as_f64().unwrap() as f32), "query {q} key {k}");
            }
        }
    }
    assert!(failure(&["plot", &gpt2, "--text", text, "--kind", "cross", "--out", &out_s]).contains("no cross attention"));
    assert!(failure(&["plot", &gpt2, "--text", text, "--head", "99", "--out", &out_s]).contains("head 99"));
    // Ranges as a reader says them, counted from 1 as on the page: "1 to 4" with the fix naming both ends.
    let err = failure(&["plot", &gpt2, "--text", text, "--layer", "99", "--out", &out_s]);
    assert!(err.contains("layer 99 does not exist: this map has layers 1 to ") && err.contains("Pick a layer from 1 to "), "{err}");
    let err = failure(&["plot", &gpt2, "--text", text, "--head", "99", "--out", &out_s]);
    assert!(err.contains("this layer has heads 1 to ") && !err.contains(".."), "{err}");
    // Layer 0 and head 0 are not the first ones (the CLI used to count from 0, unlike the page).
    for (flag, word) in [("--layer", "layer 0 does not exist"), ("--head", "head 0 does not exist")] {
        let err = failure(&["plot", &gpt2, "--text", text, flag, "0", "--out", &out_s]);
        assert!(err.contains(word) && err.contains("counted from 1"), "{err}");
    }
    assert!(failure(&["plot", &gpt2, "--text", text]).contains("--out"));
}

/// Asking for more tokens than the position table holds: `generate` and `inspect --generate` (greedy
/// or beams) both write what fits and say on stderr why they stop short; `inspect` used to return
/// fewer ids in silence.
#[test]
fn generation_past_the_position_table_says_why_it_stops_short() {
    let gpt2 = dir("gpt2"); // 64 positions
    let note = |out: &Output| String::from_utf8_lossy(&out.stderr).to_string();
    for extra in [&[][..], &["--num-beams", "2"][..]] {
        let mut args = vec!["inspect", &gpt2, "--text", "hi there", "--generate", "100"];
        args.extend_from_slice(extra);
        let out = glassbox(&args);
        assert!(out.status.success(), "{}", note(&out));
        let case: Value = serde_json::from_slice::<Value>(&out.stdout).unwrap()["cases"][0].clone();
        let n = case["generated_ids"].as_array().unwrap().len();
        let prompt = case["ids"].as_array().unwrap().len();
        assert!(n < 100 && prompt + n <= 64, "{extra:?}: {n} tokens after {prompt}");
        assert!(note(&out).contains("100 new tokens were asked for, but this model has positions for 64 tokens"), "{extra:?}: {}", note(&out));
        let mut args = vec!["generate", &gpt2, "--text", "hi there", "--max-new-tokens", "100"];
        args.extend_from_slice(extra);
        let out = glassbox(&args);
        assert!(out.status.success() && note(&out).contains("generation stops when they are used up"), "{extra:?}: {}", note(&out));
    }
    // Within the table: no note.
    let out = glassbox(&["inspect", &gpt2, "--text", "hi there", "--generate", "5"]);
    assert!(out.status.success() && note(&out).is_empty(), "{}", note(&out));
}

/// `generate` prints the text the page shows, also when byte-fallback tokens make a run of bytes that
/// a later byte turns into replacement characters (HF's ByteFallback decodes a run as one): the CLI
/// once printed up to the rewritten characters and dropped the rest.
#[test]
fn generate_prints_the_whole_text_through_byte_fallback_runs() {
    use glassbox::session::{DecodingPlan, GenerationRequest, Session};
    let gemma2 = dir("gemma2");
    let (prompt, seed) = ("the quick brown", 2u64);
    let out = glassbox(&["generate", &gemma2, "--text", prompt, "--temperature", "0.8", "--seed", "2", "--max-new-tokens", "30"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    let session = Session::load(&support::Folder::fixture("gemma2").files(), None).unwrap();
    let request = GenerationRequest { max_new_tokens: Some(30), temperature: Some(0.8), seed, ..Default::default() };
    let DecodingPlan::Stepwise(opts) = session.plan(prompt, &request).unwrap() else { panic!("one beam") };
    let mut ids = Vec::new();
    session.generate(prompt, &opts, &mut |tok| {
        ids.push(tok.id);
        true
    })
    .unwrap();
    let text = session.tokenizer.decode(&ids, true).unwrap();
    assert!(text.contains('\u{FFFD}'), "this seed makes byte runs that decode as replacement characters: {text:?}");
    assert_eq!(printed, format!("{prompt}{text}\n"));
}

/// `info` prints the model card in the JS API's camelCase (one struct serves both front ends).
#[test]
fn info_is_the_js_model_card() {
    let info = json(&["info", &dir("bert")]);
    for key in ["modelType", "kind", "positions", "nLayers", "nDecoderLayers", "nHeads", "dModel", "dFF", "vocabSize", "maxPositions", "nParams", "sizeBytes", "tokenizer", "hasLmHead", "bosTokenId", "eosTokenId", "padTokenId", "decoderStartTokenId"] {
        assert!(info.get(key).is_some(), "info has no `{key}`: {info}");
    }
    assert_eq!(info["kind"], "encoder-only");
    assert_eq!(info["tokenizer"], "WordPiece");
    assert_eq!((info["vocabSize"].as_u64(), info["tokenizerVocabSize"].as_u64()), (Some(600), Some(600)));
    // A checkpoint whose embedding table has rows no token reaches (438 rows, 421 tokens): the card
    // gives both, and the tokenizer comparison quotes the tokenizer's own count.
    let padded = json(&["info", &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/checkpoints/sampled_t5_1002").display().to_string()]);
    assert_eq!((padded["vocabSize"].as_u64(), padded["tokenizerVocabSize"].as_u64()), (Some(438), Some(421)));
}

/// A Llama-style fixture (grouped-query attention, rotary positions) through the CLI: `info`
/// names the position scheme, `inspect` equals HF, `inspect --generate` continues as HF's greedy.
#[test]
fn llama_family_runs_in_the_cli() {
    let name = "llama_gqa";
    let info = json(&["info", &dir(name)]);
    assert_eq!((info["modelType"].as_str(), info["kind"].as_str(), info["positions"].as_str()), (Some("llama"), Some("decoder-only"), Some("rotary")));
    let eos = 2; // </s> of the fixture's tokenizer; HF's reference ran without stopping at it
    let case = short_cases(name).into_iter().find(|c| !ids(&c["generated_ids"]).contains(&eos)).expect("a case whose continuation has no </s>");
    let want_gen = ids(&case["generated_ids"]);
    let out = json(&["inspect", &dir(name), "--text", case["text"].as_str().unwrap(), "--generate", &want_gen.len().to_string()]);
    assert_eq!(out["model"], "llama");
    let got = &out["cases"][0];
    assert_eq!(got["ids"], case["input_ids"]);
    assert_close("attentions.decoder", &to_f32(&got["attentions"]["decoder"]), &flat(&case["attentions"]), 1e-4);
    assert_close("last_hidden_state", &to_f32(&got["last_hidden_state"]), &flat(&case["last_hidden_state"]), 1e-3);
    let v = got["logits"][0].as_array().unwrap().len();
    assert_close("logits", &pick_rows(&to_f32(&got["logits"]), v, &ids(&case["logit_rows"])), &flat(&case["logits"]), 1e-3);
    assert_eq!(ids(&got["generated_ids"]), want_gen);
    for family in ["qwen2", "roberta", "distilbert"] {
        let tokens = json(&["tokenize", &dir(family), "--text", "Hello world"]);
        assert!(tokens.to_string().contains("Hello") || tokens.to_string().contains("hello"), "{family}: {tokens}");
        assert_eq!(json(&["info", &dir(family)])["modelType"], family);
    }
    let err = failure(&["generate", &dir("roberta"), "--text", "Hello"]);
    assert!(err.contains("encoder-only"), "{err}");
}

/// An option another command reads is refused by name where it would change nothing, so
/// `tokenize --weights int8` or `inspect --temperature 0.8` cannot look as if it had been applied.
#[test]
fn options_that_do_not_apply_are_refused() {
    let gpt2 = dir("gpt2");
    for (args, flag, command) in [
        (vec!["tokenize", &gpt2, "--text", "hi", "--weights", "int8"], "--weights", "tokenize"),
        (vec!["inspect", &gpt2, "--text", "hi", "--temperature", "0.8"], "--temperature", "inspect"),
        (vec!["generate", &gpt2, "--text", "hi", "--scores"], "--scores", "generate"),
        (vec!["info", &gpt2, "--text", "hi"], "--text", "info"),
        (vec!["plot", &gpt2, "--text", "hi", "--out", "/tmp/x.png", "--seed", "3"], "--seed", "plot"),
    ] {
        let err = failure(&args);
        assert!(err.contains(&format!("`{flag}` does not apply to `{command}`")), "{err}");
    }
    // The options each command does read still work.
    let out = json(&["inspect", &gpt2, "--text", "hi", "--generate", "2", "--num-beams", "2", "--weights", "bf16"]);
    assert_eq!(out["cases"][0]["generated_ids"].as_array().map(Vec::len), Some(2));
    // inspect's generation options without --generate did nothing and said nothing.
    let err = failure(&["inspect", &gpt2, "--text", "hi", "--num-beams", "3", "--length-penalty", "2"]);
    assert!(err.contains("--num-beams and --length-penalty apply to inspect only with --generate N") && err.contains("Add --generate N"), "{err}");
    // The usage lines name the options each command reads.
    let help = String::from_utf8(glassbox(&["--help"]).stdout).unwrap();
    assert!(help.contains("[--generate N [--num-beams B] [--length-penalty F] [--tgt-lang CODE]]"), "{help}");
}

/// An argument that is not UTF-8 (a lone surrogate's bytes, a Latin-1 byte from a shell escape) is
/// named in a one-line error, not a panic from the standard library's argument reader.
#[cfg(unix)]
#[test]
fn an_argument_that_is_not_utf8_is_named() {
    use std::os::unix::ffi::OsStrExt;
    for bad in [&b"\xed\xa0\x80"[..], &b"\xff\xfe abc"[..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["tokenize", &dir("gpt2"), "--text"])
            .arg(std::ffi::OsStr::from_bytes(bad))
            .output()
            .expect("run glassbox");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("argument 4") && err.contains("not valid UTF-8") && !err.contains("panicked"), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
}

/// A model folder whose files are not regular files: a pipe (reading it would block forever) and a
/// link to /dev/zero (it would be read until memory runs out). Both are named at once, exit 1.
#[cfg(unix)]
#[test]
fn files_that_are_pipes_or_devices_are_refused_at_once() {
    let tmp = std::env::temp_dir().join(format!("glassbox-cli-special-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    for name in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(fixture_dir("gpt2").join(name), tmp.join(name)).unwrap();
    }
    let folder = tmp.display().to_string();
    // A pipe where config.json should be.
    std::fs::remove_file(tmp.join("config.json")).unwrap();
    assert!(Command::new("mkfifo").arg(tmp.join("config.json")).status().unwrap().success());
    let err = failure(&["info", &folder]);
    assert!(err.contains("config.json") && err.contains("not a regular file"), "{err}");
    std::fs::remove_file(tmp.join("config.json")).unwrap();
    std::fs::copy(fixture_dir("gpt2").join("config.json"), tmp.join("config.json")).unwrap();
    // An optional file linked to a device: refused, not silently left out.
    std::os::unix::fs::symlink("/dev/zero", tmp.join("tokenizer_config.json")).unwrap();
    let err = failure(&["tokenize", &folder, "--text", "hi"]);
    assert!(err.contains("tokenizer_config.json") && err.contains("not a regular file"), "{err}");
    std::fs::remove_file(tmp.join("tokenizer_config.json")).unwrap();
    // A config.json far larger than any real one is refused by its size, before it is read.
    let big = std::fs::File::create(tmp.join("generation_config.json")).unwrap();
    big.set_len(1 << 27).unwrap(); // sparse: 128 MB of nothing
    let err = failure(&["info", &folder]);
    assert!(err.contains("generation_config.json") && err.contains("134217728 bytes"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// stdout that cannot be written (a reader that has gone, a full disk): exit 1 with the reason on
/// stderr, from every command, generation included (it used to exit 0 having written nothing).
#[cfg(unix)]
#[test]
fn an_unwritable_stdout_is_an_error_not_a_panic() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        return; // not every unix has one; Linux, where CI runs, does
    }
    for args in [vec!["--help".to_string()], vec!["rnn".into(), "--help".into()], vec!["generate".into(), dir("gpt2"), "--text".into(), "hi".into()], vec!["generate".into(), dir("gpt2"), "--text".into(), "hi".into(), "--num-beams".into(), "2".into()], vec!["info".into(), dir("gpt2")]] {
        let out = Command::new(env!("CARGO_BIN_EXE_glassbox")).args(&args).stdout(std::fs::File::create(full).unwrap()).output().expect("run glassbox");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("cannot be written") && !err.contains("panicked"), "{args:?}: {err}");
    }
}

/// `inspect` bounds how many numbers it turns into JSON over all its texts (each is a JSON value of
/// about 65 bytes before it is written): two long texts with --scores on the bloom fixture would
/// have needed about 5 GB; they are refused by name instead.
#[test]
fn inspect_refuses_json_output_past_its_bound() {
    let long = "a b ".repeat(500);
    let err = failure(&["inspect", &dir("bloom"), "--scores", "--text", &long, "--text", &long]);
    assert!(err.contains("JSON output would hold more than") && err.contains("glassbox plot"), "{err}");
}

/// `glassbox rnn` bounds a whole run (steps and evaluations), not only each option: a million steps
/// at the default sizes would take minutes, and is refused with what to lower.
#[test]
fn rnn_runs_that_would_take_minutes_are_refused() {
    let err = failure(&["rnn", "--steps", "1000000"]);
    assert!(err.contains("would take more than a minute") && err.contains("--steps"), "{err}");
    let err = failure(&["rnn", "--cell", "lstm", "--length", "200", "--hidden", "128", "--batch", "512", "--steps", "1"]);
    assert!(err.contains("one training step would take too long") && err.contains("at most 59 sequences"), "{err}");
    // A malformed number says what to give ("-1 is not a whole number" alone read as wrong: -1 is one).
    let err = failure(&["rnn", "--steps", "-1"]);
    assert!(err.contains("--steps: `-1` is not a whole number of 0 or more; give one such as 20"), "{err}");
    let err = failure(&["rnn", "--clip", "lots"]);
    assert!(err.contains("--clip: `lots` is not a number; give one such as 0.5"), "{err}");
    // Ranges read as words, not Rust's 1..=200.
    let err = failure(&["rnn", "--length", "500"]);
    assert!(err.contains("is outside 1 to 200") && !err.contains("..="), "{err}");
}

/// `inspect --generate` on an encoder-only model says it cannot write (it used to leave the
/// option out in silence), and a malformed number says what kind of value to give.
#[test]
fn inspect_generate_on_an_encoder_and_bad_numbers_say_why() {
    let err = failure(&["inspect", &dir("bert"), "--text", "hi", "--generate", "5"]);
    assert!(err.contains("encoder-only") && err.contains("does not write"), "{err}");
    let err = failure(&["generate", &dir("gpt2"), "--text", "hi", "--top-k", "-1"]);
    assert!(err.contains("--top-k") && err.contains("a whole number of 0 or more"), "{err}");
    let err = failure(&["generate", &dir("gpt2"), "--text", "hi", "--temperature", "warm"]);
    assert!(err.contains("--temperature") && err.contains("a number such as"), "{err}");
}

/// Asked for more new tokens than the position table holds, `generate` says it will stop when the
/// table is full (stderr, exit 0) instead of stopping short in silence; within it, no note.
#[test]
fn generate_notes_when_the_position_table_will_cut_it_short() {
    let out = glassbox(&["generate", &dir("gpt2"), "--text", "hi", "--max-new-tokens", "100000"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("100000 new tokens were asked for") && err.contains("positions for 64 tokens"), "{err}");
    let out = glassbox(&["generate", &dir("gpt2"), "--text", "hi", "--max-new-tokens", "3"]);
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Options that would be dropped or overridden in silence are refused by name: one given twice, a second
/// text for a one-text command, and options that change nothing without another; `plot` checks its
/// options and its output's name before it loads the model. Help after a command is an answer (stdout,
/// exit 0), and `--version` prints the version.
#[test]
fn options_that_would_change_nothing_are_refused() {
    let gpt2 = dir("gpt2");
    let bert = dir("bert");
    let png = std::env::temp_dir().join(format!("glassbox-twice-{}.png", std::process::id())).display().to_string();
    let svg = png.replace(".png", ".svg");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["plot", &gpt2, "--text", "hi", "--out", &png, "--out", &png], "`--out` is given twice"),
        (vec!["plot", &gpt2, "--text", "hi", "--layer", "1", "--layer", "2", "--out", &png], "`--layer` is given twice"),
        (vec!["generate", &gpt2, "--text", "hi", "--seed", "1", "--seed", "2"], "`--seed` is given twice"),
        (vec!["generate", &gpt2, "--text", "the cat", "--text", "the dog"], "reads one text"),
        (vec!["plot", &gpt2, "--text", "a", "--text", "b", "--out", &png], "reads one text"),
        (vec!["plot", &gpt2, "--text", "hi", "--head", "all", "--layer", "2", "--out", &png], "--layer would change nothing"),
        (vec!["plot", &gpt2, "--text", "hi", "--out", &svg], "plot writes PNG images"),
        (vec!["plot", &gpt2, "--text", "hi", "--theme", "blue", "--out", &png], "--theme blue is not a theme"),
        (vec!["inspect", &bert, "--text", "x", "--template", "T {}"], "--template applies only with --zero-shot"),
        (vec!["inspect", &bert, "--text", "x", "--multi-label"], "--multi-label applies only with --zero-shot"),
        (vec!["generate", &gpt2, "--text", "hi", "--length-penalty", "2"], "--length-penalty applies to beam search only"),
    ];
    for (args, want) in cases {
        let err = failure(&args);
        assert!(err.contains(want), "glassbox {args:?}: {err}");
    }
    // Refused before the model is read: a folder that does not exist is not what the message names.
    let err = failure(&["plot", "/nonexistent-glassbox-folder", "--text", "hi", "--out", &svg]);
    assert!(err.contains("plot writes PNG images"), "{err}");
    assert!(!Path::new(&svg).exists() && !Path::new(&png).exists(), "nothing written");
    // An encoder-decoder's --generate starts from the decoder start token: --decoder-ids beside it is refused.
    let err = failure(&["inspect", &dir("bart_tiny"), "--text", "hi", "--decoder-ids", "2,5", "--generate", "3"]);
    assert!(err.contains("--decoder-ids would not change what it generates"), "{err}");
    // A kind the model lacks: the fix names the kinds it has, not the one refused.
    let err = failure(&["plot", &gpt2, "--text", "hi", "--kind", "cross", "--out", &png]);
    assert!(err.contains("no cross attention") && err.contains("--kind decoder") && !err.contains("--kind cross"), "{err}");

    for args in [vec!["tokenize", "--help"], vec!["inspect", &gpt2, "--text", "a", "--help"], vec!["info", "-h"], vec!["--help"]] {
        let out = glassbox(&args);
        assert!(out.status.success(), "glassbox {args:?} exits 0");
        assert!(String::from_utf8_lossy(&out.stdout).contains("USAGE:") && out.stderr.is_empty(), "glassbox {args:?}: usage on stdout");
    }
    let out = glassbox(&["--version"]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).starts_with("glassbox "), "{out:?}");
    // A text that is the word "--help" is still a text.
    let v = json(&["tokenize", &gpt2, "--text", "--help"]);
    assert!(!v["cases"][0]["ids"].as_array().unwrap().is_empty());
}

/// `--text-file` reads a text from a file or standard input, the same as `--text` with that text; a file
/// that is not UTF-8 is named with the byte where it stops being text.
#[test]
fn text_file_reads_a_file_or_standard_input() {
    use std::io::Write as _;
    let gpt2 = dir("gpt2");
    let text = "The cat sat on the mat.\nIt was warm.";
    let file = std::env::temp_dir().join(format!("glassbox-text-{}.txt", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let from_file = json(&["tokenize", &gpt2, "--text-file", &file.display().to_string(), "--text", "hi"]);
    let direct = json(&["tokenize", &gpt2, "--text", text, "--text", "hi"]);
    assert_eq!(from_file, direct, "the file's text, as if given with --text (and beside other texts)");
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["tokenize", &gpt2, "--text-file", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let from_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_stdin["cases"][0], direct["cases"][0], "standard input reads the same");
    std::fs::write(&file, b"caf\xe9 au lait").unwrap();
    let err = failure(&["tokenize", &gpt2, "--text-file", &file.display().to_string()]);
    assert!(err.contains("byte 3 is not valid UTF-8"), "{err}");
    std::fs::remove_file(&file).ok();
    let err = failure(&["tokenize", &gpt2, "--text-file", "/nonexistent-glassbox-text.txt"]);
    assert!(err.contains("no such file"), "{err}");
}

/// A prompt that leaves no room to generate fails before anything is printed (stdout redirected to a
/// file stays empty), without a note that generation "stops when the positions are used up"; a huge
/// --max-new-tokens still gets that note (it used to wrap around and print none).
#[test]
fn generate_prints_nothing_when_it_cannot_start() {
    let gpt2 = dir("gpt2"); // 64 positions
    let long = vec!["cat"; 200].join(" ");
    let out = glassbox(&["generate", &gpt2, "--text", &long, "--max-new-tokens", "5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "stdout: {:?}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("note:") && err.starts_with("error:"), "{err}");
    let out = glassbox(&["generate", &gpt2, "--text", "hi there", "--max-new-tokens", "18446744073709551615"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("note:"), "the position limit is noted");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("hi there"), "the prompt is printed with the text");
}

/// A pipe where model.safetensors (or a shard) should be is refused by name, not opened: opening a pipe
/// waits for a writer, and the CLI used to hang there for ever.
#[cfg(unix)]
#[test]
fn a_pipe_for_the_weights_is_refused_not_waited_on() {
    let folder = std::env::temp_dir().join(format!("glassbox-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    for name in ["config.json", "tokenizer.json"] {
        std::fs::copy(fixture_dir("gpt2").join(name), folder.join(name)).unwrap();
    }
    let weights = folder.join("model.safetensors");
    std::fs::remove_file(&weights).ok();
    assert!(Command::new("mkfifo").arg(&weights).status().unwrap().success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["info", &folder.display().to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > std::time::Duration::from_secs(30) {
            child.kill().ok();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    std::fs::remove_dir_all(&folder).ok();
    assert_eq!(status.and_then(|s| s.code()), Some(1), "refused, not waited on");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("model.safetensors") && err.contains("is not a regular file"), "{err}");
}

/// Checkpoint tensors the model never reads are named (stderr note, `info`'s `unusedTensors`, which the
/// page lists): a config.json with fewer layers than its weights used to run the shorter network in
/// silence. Every fixture folder (the families' and the checkpoint layouts') reads all its tensors but two, whose leftovers transformers leaves
/// unread too (a vision tower; RoBERTa's untied head keeps its decoder's own bias).
#[test]
fn checkpoint_tensors_the_model_never_reads_are_named() {
    let folder = std::env::temp_dir().join(format!("glassbox-unused-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(fixture_dir("gpt2")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), folder.join(entry.file_name())).unwrap();
    }
    let mut config: Value = serde_json::from_slice(&std::fs::read(folder.join("config.json")).unwrap()).unwrap();
    let layers = config["n_layer"].as_u64().unwrap();
    config["n_layer"] = (layers - 1).into();
    std::fs::write(folder.join("config.json"), serde_json::to_vec(&config).unwrap()).unwrap();
    let out = glassbox(&["info", &folder.display().to_string()]);
    std::fs::remove_dir_all(&folder).ok();
    assert!(out.status.success(), "{out:?}");
    let card: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unused: Vec<&str> = card["unusedTensors"].as_array().expect("unusedTensors").iter().map(|v| v.as_str().unwrap()).collect();
    let last = format!("h.{}.", layers - 1);
    assert!(!unused.is_empty() && unused.iter().all(|n| n.contains(&last)), "the last layer's tensors: {unused:?}");
    assert!(unused.iter().any(|n| n.ends_with("mlp.c_fc.weight")), "{unused:?}");
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.starts_with("note: ") && note.contains(&format!("{} tensors of the checkpoint", unused.len())) && note.contains("num_hidden_layers"), "{note}");

    let mut checked = 0;
    let models = fixture_dir("gpt2").parent().unwrap().to_path_buf();
    let checkpoints = models.parent().unwrap().join("checkpoints"); // the layouts of issue 10: v4 files, shards, own tables
    let folders = std::fs::read_dir(&models).unwrap().chain(std::fs::read_dir(&checkpoints).unwrap());
    for entry in folders {
        let path = entry.unwrap().path();
        if !path.join("config.json").exists() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let card = json(&["info", &path.display().to_string()]);
        let unused = card["unusedTensors"].as_array().map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect::<Vec<_>>()).unwrap_or_default();
        match name.as_str() {
            "gemma3_vision" => assert!(!unused.is_empty() && unused.iter().all(|n| n.starts_with("vision_tower.") || n.starts_with("multi_modal_projector.")), "{name}: {unused:?}"),
            "roberta_untied" => assert_eq!(unused, ["lm_head.bias"], "{name}"),
            _ => assert!(unused.is_empty(), "{name} reads every tensor it holds, but these were left: {unused:?}"),
        }
        checked += 1;
    }
    assert!(checked > 100, "{checked} fixture folders");
}

/// Fixes that name what to do: the largest cell size that fits (and it does fit), decoder ids that are
/// too many (not "shorten the text"), and a stray word given to `rnn`.
#[test]
fn fixes_name_the_value_that_works() {
    let gpt2 = dir("gpt2");
    let out = std::env::temp_dir().join(format!("glassbox-cell-{}.png", std::process::id()));
    let out_s = out.display().to_string();
    let text = "the cat sat on the mat and the dog sat on the log";
    let err = failure(&["plot", &gpt2, "--text", text, "--cell", "100000", "--out", &out_s]);
    let most: usize = err.split("Use a cell size of at most ").nth(1).and_then(|r| r.split(" px").next()).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{err}"));
    let printed = json(&["plot", &gpt2, "--text", text, "--cell", &most.to_string(), "--out", &out_s]);
    assert!(printed["width"].as_u64().unwrap() > 0);
    failure(&["plot", &gpt2, "--text", text, "--cell", &(most + 1).to_string(), "--out", &out_s]);
    std::fs::remove_file(&out).ok();

    let ids = vec!["5"; 200].join(",");
    let err = failure(&["inspect", &dir("bart_tiny"), "--text", "hi", "--decoder-ids", &ids]);
    assert!(err.contains("Give at most") && err.contains("decoder ids") && !err.contains("Shorten the text"), "{err}");

    let err = failure(&["rnn", "extra"]);
    assert!(err.contains("unexpected argument `extra`"), "{err}");

    // A file given for the tokenizer is named as given, not as "tokenizer.json".
    let config = fixture_dir("gpt2").join("config.json").display().to_string();
    let err = failure(&["tokenize", &config, "--text", "hi"]);
    assert!(err.starts_with(&format!("error: {config}: is not a valid tokenizer file")), "{err}");

    // A folder where --data or --text-file wants a file: the fix names the option, not "the model folder".
    let folder = std::env::temp_dir().display().to_string();
    let err = failure(&["transfer", &dir("bert"), "--data", &folder]);
    assert!(err.contains("is not a regular file") && err.contains("Give --data a JSON file") && !err.contains("model folder"), "{err}");
    let err = failure(&["tokenize", &gpt2, "--text-file", &folder]);
    assert!(err.contains("is not a regular file") && err.contains("Give --text-file a text file") && !err.contains("model folder"), "{err}");

    // Half a surrogate pair in --data: named with how to write it (serde says only "unexpected end of hex escape").
    let data = std::env::temp_dir().join(format!("glassbox-surrogate-{}.json", std::process::id()));
    std::fs::write(&data, r#"{"classes": ["a", "b"], "train": [{"text": "cut \ud83d", "label": 0}], "test": []}"#).unwrap();
    let err = failure(&["transfer", &dir("bert"), "--data", &data.display().to_string()]);
    std::fs::remove_file(&data).ok();
    assert!(err.contains("escape that is not a character") && err.contains("must be followed by"), "{err}");
    // A single backslash before a letter (a pasted Windows path): an escape JSON does not have.
    std::fs::write(&data, r#"{"classes": ["a", "b"], "train": [{"text": "C:\models", "label": 0}], "test": []}"#).unwrap();
    let err = failure(&["transfer", &dir("bert"), "--data", &data.display().to_string()]);
    std::fs::remove_file(&data).ok();
    assert!(err.contains("backslash escape JSON does not have") && err.contains("Double every backslash"), "{err}");
}
