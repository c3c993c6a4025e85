//! Bad input never panics, and every error says what is wrong and what to do.
//!
//! A deterministic mutation fuzzer (our own SplitMix64 stream, fixed seeds) breaks every fixture
//! folder in many ways: model.safetensors truncated, bit-flipped and given headers that lie;
//! config.json values made negative, zero, huge, of the wrong type or absent; tokenizer.json
//! given wrong types, dangling references, bad regexes and corrupt charsmaps; and hostile texts
//! fed to every model. Each call runs under `catch_unwind`: a panic is a failure that prints the
//! input that caused it (in wasm a panic is a trap that kills the module, so there must be none).
//! Each error must be one line, name its culprit and end with a fix; the distinct messages are
//! printed (`cargo test --release --test robustness -- --nocapture`).
//!
//! Sizes are chosen to finish in a few seconds in `--release`.

#[path = "support/mod.rs"]
mod support;

use glassbox::error::Error;
use glassbox::loader::limits::MAX_RANDOM_PARAMS;
use glassbox::models::beam::BeamOptions;
use glassbox::models::generation::{choose, generate, top_candidates, GenerateOptions, Rng, Sampling};
use glassbox::models::{Capture, Inputs, Kind, Model};
use glassbox::session::Session;
use glassbox::tokenizer::Tokenizer;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use support::Folder;

// ---------------------------------------------------------------------------------------------
// Running a call and judging what came back.

thread_local! {
    /// Set while a fuzzed call runs: its panic message is kept here instead of printed.
    static CAUGHT: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Route panics of fuzzed calls into `CAUGHT` (with their location); others print as usual.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let caught = CAUGHT.with(|c| {
                let mut c = c.borrow_mut();
                match c.as_mut() {
                    Some(slot) => {
                        *slot = Some(info.to_string().replace('\n', " "));
                        true
                    }
                    None => false,
                }
            });
            if !caught {
                default(info);
            }
        }));
    });
}

/// Everything one test's fuzzing saw.
#[derive(Default)]
struct Log {
    calls: usize,
    oks: usize,
    /// Distinct messages (numbers replaced by `#`), with a count and one full example.
    errors: BTreeMap<String, (usize, String)>,
    panics: Vec<String>,
    malformed: Vec<String>,
}

impl Log {
    /// Run `f`; a panic or a malformed error is recorded against `input()`.
    fn run<T>(&mut self, input: &dyn Fn() -> String, f: impl FnOnce() -> glassbox::Result<T>) -> Option<T> {
        quiet_panics();
        self.calls += 1;
        CAUGHT.with(|c| *c.borrow_mut() = Some(None));
        let outcome = catch_unwind(AssertUnwindSafe(f));
        let message = CAUGHT.with(|c| c.borrow_mut().take()).flatten();
        match outcome {
            Ok(Ok(v)) => {
                self.oks += 1;
                Some(v)
            }
            Ok(Err(e)) => {
                self.error(&e, input);
                None
            }
            Err(_) => {
                self.panics.push(format!("PANIC {} <- {}", message.unwrap_or_default(), input()));
                None
            }
        }
    }

    /// Like `run`, for calls that cannot fail but must not panic.
    fn run_infallible<T>(&mut self, input: &dyn Fn() -> String, f: impl FnOnce() -> T) -> Option<T> {
        self.run(input, || Ok(f()))
    }

    fn error(&mut self, e: &Error, input: &dyn Fn() -> String) {
        let text = e.to_string();
        if let Err(why) = well_formed(e) {
            self.malformed.push(format!("{why}: {text:?} <- {}", input()));
        }
        let key: String = shape_of(&text);
        self.errors.entry(key).or_insert((0, text)).0 += 1;
    }

    /// Print the summary and fail on any panic or malformed message.
    fn finish(self, what: &str) {
        println!("\n== {what}: {} calls, {} ok, {} errors of {} distinct forms", self.calls, self.oks, self.calls - self.oks - self.panics.len(), self.errors.len());
        for (count, example) in self.errors.values() {
            println!("  {count:>5} × {}", clip(example, 220));
        }
        let mut problems = self.panics;
        problems.extend(self.malformed);
        if !problems.is_empty() {
            let shown: Vec<String> = problems.iter().take(25).map(|p| clip(p, 600)).collect();
            panic!("{what}: {} problems (first {}):\n{}", problems.len(), shown.len(), shown.join("\n"));
        }
    }
}

/// One line; the culprit named; a problem and a fix that are real sentences.
fn well_formed(e: &Error) -> Result<(), &'static str> {
    let (culprit, problem, fix) = match e {
        Error::File { file, problem, fix } => (file.as_str(), problem, fix),
        Error::Config { field, problem, fix } => (field.as_str(), problem, fix),
        Error::Tensor { name, problem, fix } => (name.as_str(), problem, fix),
        Error::Tokenizer { problem, fix } => ("tokenizer.json", problem, fix),
        // Input errors name the input in their problem ("the input ids ...", "temperature -1 ...").
        Error::Input { problem, fix } => ("input", problem, fix),
    };
    let text = e.to_string();
    if text.contains('\n') || text.contains('\r') {
        return Err("not one line");
    }
    if culprit.trim().is_empty() {
        return Err("names no culprit");
    }
    if problem.trim().is_empty() {
        return Err("no problem stated");
    }
    if problem.ends_with('.') {
        return Err("problem ends with a period (the message would read `.. `)");
    }
    let fix = fix.trim();
    if fix.len() < 8 || !fix.starts_with(|c: char| c.is_uppercase()) {
        return Err("no suggested fix (a sentence starting with a capital)");
    }
    if text.len() > 1200 {
        return Err("longer than 1200 bytes");
    }
    Ok(())
}

/// A message with its numbers and quoted values blurred, so near-duplicates count as one form.
fn shape_of(text: &str) -> String {
    let mut out = String::new();
    let mut last_digit = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
        } else {
            out.push(c);
            last_digit = false;
        }
    }
    // Tensor and field names vary by family; their quoted parts are blurred too.
    let mut blurred = String::new();
    let mut inside = false;
    for c in out.chars() {
        if c == '`' {
            inside = !inside;
            blurred.push_str(if inside { "`…" } else { "`" });
        } else if !inside {
            blurred.push(c);
        }
    }
    clip(&blurred, 90)
}

fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The harness itself: a panic is caught and reported with its input, a malformed error too.
#[test]
fn the_harness_catches_panics_and_malformed_errors() {
    let mut log = Log::default();
    log.run(&|| "the input".into(), || -> glassbox::Result<()> { panic!("boom") });
    log.run(&|| "no fix".into(), || -> glassbox::Result<()> { Err(Error::input("it broke", "")) });
    log.run(&|| "two lines".into(), || -> glassbox::Result<()> { Err(Error::config("x", "a\nb", "Fix it")) });
    assert_eq!(log.panics.len(), 1);
    assert!(log.panics[0].contains("boom") && log.panics[0].contains("the input"), "{:?}", log.panics);
    assert_eq!(log.malformed.len(), 2, "{:?}", log.malformed);
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn fixtures(area: &str, required: &str) -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(area);
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|d| d.ok().map(|d| d.path()))
        .filter(|p| p.join(required).is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    out
}

/// Every model fixture folder that has weights.
fn model_folders() -> Vec<(String, Folder)> {
    fixtures("models", "model.safetensors").into_iter().map(|(name, dir)| (name, Folder::read(&dir))).collect()
}

/// Every distinct tokenizer.json (model folders and tokenizer fixtures), with its config.
fn tokenizer_files() -> Vec<(String, Vec<u8>, Option<Vec<u8>>)> {
    let mut out: Vec<(String, Vec<u8>, Option<Vec<u8>>)> = Vec::new();
    for area in ["tokenizers", "models"] {
        for (name, dir) in fixtures(area, "tokenizer.json") {
            let json = std::fs::read(dir.join("tokenizer.json")).unwrap();
            if out.iter().any(|(_, j, _)| *j == json) {
                continue;
            }
            out.push((format!("{area}/{name}"), json, std::fs::read(dir.join("tokenizer_config.json")).ok()));
        }
    }
    out
}

fn is_decoder(model: &Model) -> bool {
    model.kind() != Kind::EncoderOnly
}

/// Run a loaded model the ways the page does: a forward pass with every capture, and (for
/// decoders) a few generated tokens. Ids stay inside the model's vocabulary.
fn exercise_model(log: &mut Log, model: &Model, input: &dyn Fn() -> String) {
    let v = model.info().vocab_size as u32;
    let ids: Vec<u32> = [1u32, 2, 3, 5, 8].iter().map(|&i| i % v.max(1)).collect();
    let decoder_ids: Vec<u32> = ids[..2].to_vec();
    let dec = (model.kind() == Kind::EncoderDecoder).then_some(decoder_ids.as_slice());
    let capture = Capture { probs: true, scores: true };
    if let Some(out) = log.run(input, || model.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: dec }, capture)) {
        if let Some(logits) = &out.logits {
            log.run_infallible(input, || top_candidates(logits, 5));
        }
    }
    if is_decoder(model) {
        let source = if model.kind() == Kind::EncoderDecoder { ids.clone() } else { Vec::new() };
        let prefix = if model.kind() == Kind::EncoderDecoder { vec![model.info().decoder_start_token_id.unwrap_or(0) % v.max(1)] } else { ids.clone() };
        if let Some(state) = log.run(input, || model.start_decoding(&source)) {
            let opts = GenerateOptions {
                max_new_tokens: 3,
                sampling: Sampling::Sample { temperature: 0.7, top_k: 5, top_p: 0.9, seed: 1 },
                eos_token_id: None,
                n_candidates: 3,
                capture: Capture::PROBS,
            };
            log.run(input, || generate(model, state, &prefix, &opts, &mut |_| true));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// model.safetensors

/// The header of a safetensors file as JSON, and where its data starts.
fn split_safetensors(bytes: &[u8]) -> (Value, usize) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (serde_json::from_slice(&bytes[8..8 + n]).unwrap(), 8 + n)
}

fn join_safetensors(header: &Value, data: &[u8]) -> Vec<u8> {
    let h = serde_json::to_vec(header).unwrap();
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out
}

/// A header that lies about one tensor, in one of many ways.
fn lie_about(header: &Value, rng: &mut Rng, file_len: usize) -> (String, Value) {
    let mut h = header.clone();
    let names: Vec<String> = h.as_object().unwrap().keys().filter(|k| *k != "__metadata__").cloned().collect();
    let name = names[rng.next_u64() as usize % names.len()].clone();
    let t = h.get_mut(&name).unwrap();
    let shape: Vec<u64> = t["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect();
    let offsets: Vec<u64> = t["data_offsets"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect();
    let (a, b) = (offsets[0], offsets[1]);
    let kind = rng.next_u64() % 22;
    let what = match kind {
        0 => { t["shape"] = json!(shape.iter().chain([&1]).collect::<Vec<_>>()); "shape gains a dim of 1" }
        1 => { t["shape"] = json!(&shape[..shape.len().saturating_sub(1)]); "shape loses a dim" }
        2 => { t["shape"] = json!(shape.iter().map(|d| d * 2).collect::<Vec<_>>()); "shape doubled" }
        3 => { t["shape"] = json!(shape.iter().map(|_| 0).collect::<Vec<_>>()); "shape zeroed" }
        4 => { t["shape"] = json!([1u64 << 40, 1u64 << 40]); "shape of 2^80 values" }
        5 => { t["shape"] = json!([u64::MAX, 2]); "shape overflowing u64" }
        6 => { t["shape"] = json!([-1]); "negative dim" }
        7 => { t["shape"] = json!("big"); "shape is a string" }
        8 => { t["dtype"] = json!(["F32", "F16", "BF16", "F64", "I8", "I64", "BOOL", "U8", "F8_E4M3", "XX"][rng.next_u64() as usize % 10]); "dtype changed" }
        9 => { t["dtype"] = json!(7); "dtype is a number" }
        10 => { t["data_offsets"] = json!([b, a]); "offsets swapped" }
        11 => { t["data_offsets"] = json!([a, a + 1]); "offsets too short" }
        12 => { t["data_offsets"] = json!([a, file_len as u64 * 2]); "offsets past the end" }
        13 => { t["data_offsets"] = json!([u64::MAX - 1, u64::MAX]); "offsets at u64::MAX" }
        14 => { t["data_offsets"] = json!([a]); "one offset" }
        15 => { t["data_offsets"] = json!([0, b - a]); "offsets aliasing the first tensor" }
        16 => { *t = json!(null); "entry is null" }
        17 => { t.as_object_mut().unwrap().remove("dtype"); "dtype missing" }
        18 => {
            let v = t.clone();
            h.as_object_mut().unwrap().remove(&name);
            h[format!("{name}.renamed")] = v;
            "tensor renamed"
        }
        19 => { h.as_object_mut().unwrap().remove(&name); "entry removed (data left as a hole)" }
        20 => { h["__metadata__"] = json!({"format": 5, "x": [1, 2]}); "metadata of wrong types" }
        _ => { t["shape"] = json!(shape.iter().rev().collect::<Vec<_>>()); "shape reversed" }
    };
    (format!("header lie on `{name}`: {what}"), h)
}

#[test]
fn corrupt_safetensors_never_panic() {
    let mut log = Log::default();
    let mut rng = Rng::new(0x5afe);
    for (name, folder) in model_folders() {
        let good = folder.weights.clone().unwrap();
        let (header, data_start) = split_safetensors(&good);
        let data = &good[data_start..];
        let mut mutants: Vec<(String, Vec<u8>)> = Vec::new();

        // Truncations: inside the length prefix, the header, at its edges, inside the data.
        let mut cuts = vec![0, 1, 7, 8, 9, 12, data_start / 2, data_start - 1, data_start, data_start + 1, good.len() / 2, good.len() - 4, good.len() - 1];
        cuts.extend((0..8).map(|_| rng.next_u64() as usize % good.len()));
        mutants.extend(cuts.into_iter().map(|c| (format!("truncated to {c} bytes"), good[..c].to_vec())));

        // The length prefix lies.
        for n in [0u64, 1, 2, (data_start - 9) as u64, (data_start - 7) as u64, good.len() as u64, 1 << 40, u64::MAX] {
            let mut b = good.clone();
            b[..8].copy_from_slice(&n.to_le_bytes());
            mutants.push((format!("header length prefix {n}"), b));
        }

        // Bytes of the header flipped or overwritten with JSON punctuation.
        for _ in 0..24 {
            let mut b = good.clone();
            let at = 8 + rng.next_u64() as usize % (data_start - 8);
            let new = [b'"', b'{', b'}', b',', b'9', b'-', b':', 0, 0xff, b[at] ^ 0x20][rng.next_u64() as usize % 10];
            b[at] = new;
            mutants.push((format!("header byte {at} set to {new:#04x}"), b));
        }

        // Valid JSON that lies about shapes, dtypes, offsets and names.
        for _ in 0..30 {
            let (what, h) = lie_about(&header, &mut rng, good.len());
            mutants.push((what, join_safetensors(&h, data)));
        }

        // Data overwritten: loads fine, weights become garbage (NaN, inf, huge); must still run.
        for i in 0..6 {
            let mut b = good.clone();
            let fill = [0xffu8, 0x7f, 0x00, 0x80][i % 4];
            for _ in 0..64 {
                let at = data_start + rng.next_u64() as usize % data.len();
                b[at] = if i >= 4 { rng.next_u64() as u8 } else { fill };
            }
            mutants.push((format!("64 data bytes overwritten (pattern {i})"), b));
        }

        for (what, bytes) in mutants {
            let input = || format!("{name}: {what}");
            let mut f = folder.clone();
            f.weights = Some(bytes);
            if let Some(model) = log.run(&input, || Model::load(&f.files(), None)) {
                exercise_model(&mut log, &model, &input);
            }
        }
    }
    log.finish("corrupt model.safetensors");
}

// ---------------------------------------------------------------------------------------------
// config.json

/// Values that stand in for a field: wrong signs, sizes, types, and absence (`None`).
fn config_values() -> Vec<(&'static str, Option<Value>)> {
    vec![
        ("-1", Some(json!(-1))),
        ("0", Some(json!(0))),
        ("1", Some(json!(1))),
        ("3", Some(json!(3))),
        ("2^31", Some(json!(1u64 << 31))),
        ("10^12", Some(json!(1_000_000_000_000u64))),
        ("2^64-1", Some(json!(u64::MAX))),
        ("1.5", Some(json!(1.5))),
        ("1e300", Some(json!(1e300))),
        ("\"7\"", Some(json!("7"))),
        ("null", Some(Value::Null)),
        ("true", Some(json!(true))),
        ("[]", Some(json!([]))),
        ("{}", Some(json!({}))),
        ("absent", None),
    ]
}

fn set_field(config: &Value, key: &str, value: &Option<Value>) -> Vec<u8> {
    let mut c = config.clone();
    let obj = c.as_object_mut().unwrap();
    match value {
        Some(v) => {
            obj.insert(key.to_string(), v.clone());
        }
        None => {
            obj.remove(key);
        }
    }
    serde_json::to_vec_pretty(&c).unwrap()
}

#[test]
fn mutated_configs_never_panic() {
    let mut log = Log::default();
    let values = config_values();
    for (name, folder) in model_folders() {
        let config: Value = serde_json::from_slice(&folder.config).unwrap();
        let keys: Vec<String> = config.as_object().unwrap().keys().cloned().collect();
        for (k, key) in keys.iter().enumerate() {
            // Three of the values per field, rotating, so every value meets a fifth of the fields.
            for (shown, value) in (0..3).map(|j| &values[(k * 3 + j) % values.len()]) {
                // The checkpoint, and the random-weight twin (whose sizes come from the config alone).
                for random in [false, true] {
                    let input = || format!("{name}{}: config.json `{key}` = {shown}", if random { " (random twin)" } else { "" });
                    let mut f = folder.clone();
                    f.config = set_field(&config, key, value);
                    if random {
                        f.weights = None;
                    }
                    if let Some(model) = log.run(&input, || Model::load(&f.files(), random.then_some(7))) {
                        exercise_model(&mut log, &model, &input);
                    }
                }
            }
        }
        // Whole-file damage.
        let text = String::from_utf8(folder.config.clone()).unwrap();
        let wrecks = [
            ("truncated", text[..text.len() / 3].to_string()),
            ("empty", String::new()),
            ("a JSON array", "[1, 2]".to_string()),
            ("a JSON string", "\"gpt2\"".to_string()),
            ("not UTF-8", String::from_utf8_lossy(&[0xff, 0xfe, b'{']).into_owned()),
            ("duplicate key", text.replacen('{', "{\"model_type\": \"bert\",", 1)),
        ];
        for (what, bytes) in wrecks {
            let input = || format!("{name}: config.json {what}");
            let mut f = folder.clone();
            f.config = bytes.into_bytes();
            log.run(&input, || Model::load(&f.files(), None));
        }
    }
    log.finish("mutated config.json");
}

/// Configs whose sizes multiply past memory are refused before anything is allocated
/// (this test would abort the process, not fail, if they were not).
#[test]
fn absurd_sizes_are_refused_before_allocating() {
    let mut log = Log::default();
    // (fixture, fields set, what the random twin's message must name)
    type Case<'a> = (&'a str, &'a [(&'a str, Value)], &'a str);
    let cases: &[Case] = &[
        ("gpt2", &[("vocab_size", json!(1_000_000_000u64))], "vocab_size"),
        ("gpt2", &[("n_layer", json!(1_000_000_000_000u64))], "n_layer"),
        ("gpt2", &[("n_layer", json!(16_000_000u64))], "n_layer"),
        ("gpt2", &[("n_embd", json!(16_777_216u64)), ("n_head", json!(1))], "n_embd=16777216"),
        ("gpt2", &[("n_positions", json!(16_000_000u64)), ("n_embd", json!(4096)), ("n_head", json!(16))], "n_positions"),
        ("bert", &[("num_hidden_layers", json!(100_000))], "num_hidden_layers"),
        ("bert", &[("intermediate_size", json!(16_000_000u64)), ("num_hidden_layers", json!(64))], "num_hidden_layers"),
        ("t5_tiny", &[("d_kv", json!(16_000_000u64)), ("num_heads", json!(16_000_000u64))], "d_kv=16000000"),
        ("t5_tiny", &[("relative_attention_num_buckets", json!(16_000_000u64)), ("num_heads", json!(16_000_000u64))], ""),
        ("bart_tiny", &[("encoder_layers", json!(10_000_000u64)), ("decoder_layers", json!(10_000_000u64))], "layers"),
        ("marian_tiny", &[("decoder_vocab_size", json!(16_000_000u64)), ("share_encoder_decoder_embeddings", json!(false)), ("d_model", json!(4096)), ("encoder_attention_heads", json!(8)), ("decoder_attention_heads", json!(8))], "decoder_vocab_size"),
    ];
    for (fixture, fields, culprit) in cases {
        let folder = Folder::fixture(fixture);
        let mut config: Value = serde_json::from_slice(&folder.config).unwrap();
        for (k, v) in fields.iter() {
            config[*k] = v.clone();
        }
        for random in [true, false] {
            let input = || format!("{fixture}{} {fields:?}", if random { " random twin" } else { "" });
            let mut f = folder.clone();
            f.config = serde_json::to_vec(&config).unwrap();
            if random {
                f.weights = None;
            }
            let result = log.run(&input, || Model::load(&f.files(), Some(3)).map(|_| ()));
            assert!(result.is_none(), "{} loaded", input());
            // With weights, the checkpoint's own shapes may be what gives the config away.
            if random {
                let err = Model::load(&f.files(), Some(3)).err().unwrap().to_string();
                assert!(err.contains(culprit), "{}: {err:?} should name `{culprit}`", input());
            }
        }
    }
    // The cap itself: a twin just under it is fine in principle, the message names the cap.
    let mut f = Folder::fixture("gpt2");
    let mut config: Value = serde_json::from_slice(&f.config).unwrap();
    config["vocab_size"] = json!(1 << 24);
    config["n_embd"] = json!(MAX_RANDOM_PARAMS >> 23);
    f.config = serde_json::to_vec(&config).unwrap();
    f.weights = None;
    let err = Model::load(&f.files(), Some(1)).err().expect("over the cap").to_string();
    assert!(err.contains("vocab_size") && err.contains("random"), "{err}");
    log.finish("absurd sizes");
}

/// The config mistakes a user is most likely to make, each with the field named.
#[test]
fn targeted_config_mistakes() {
    let cases: &[(&str, &str, Value, &[&str])] = &[
        ("gpt2", "n_head", json!(5), &["n_head", "divisible"]),
        ("gpt2", "n_positions", json!(0), &["n_positions", "at least 1"]),
        ("gpt2", "n_embd", json!(-64), &["n_embd", "whole number"]),
        ("gpt2", "n_layer", json!("2"), &["n_layer", "whole number"]),
        ("bert", "max_position_embeddings", json!(0), &["max_position_embeddings", "at least 1"]),
        ("bert", "num_attention_heads", json!(0), &["num_attention_heads"]),
        ("bert", "vocab_size", json!(1.5), &["vocab_size", "whole number"]),
        ("t5_tiny", "d_kv", json!(0), &["d_kv"]),
        ("t5_tiny", "relative_attention_num_buckets", json!(2), &["relative_attention_num_buckets"]),
        ("bart_tiny", "max_position_embeddings", json!(0), &["max_position_embeddings"]),
        ("marian_tiny", "decoder_attention_heads", json!(3), &["decoder_attention_heads"]),
    ];
    for (fixture, key, value, needles) in cases {
        for random in [false, true] {
            let mut f = Folder::fixture(fixture);
            let mut config: Value = serde_json::from_slice(&f.config).unwrap();
            config[*key] = value.clone();
            f.config = serde_json::to_vec(&config).unwrap();
            if random {
                f.weights = None;
            }
            let err = Model::load(&f.files(), Some(5)).err().unwrap_or_else(|| panic!("{fixture} {key}={value} loaded")).to_string();
            for n in needles.iter() {
                assert!(err.contains(n), "{fixture} {key}={value}: {err:?} should mention {n:?}");
            }
        }
    }
    // A checkpoint saved quantized: refused by the key's name, whatever its tensors (these are the float ones);
    // the random twin, which reads no weights, still builds.
    for (quant, said) in [
        (json!({"quant_method": "gptq", "bits": 4, "group_size": 128}), "quantized with gptq, 4 bits"),
        (json!({"quant_method": "fp8", "weight_block_size": [128, 128]}), "quantized with fp8:"),
        (json!({"load_in_8bit": true}), "quantized with an unnamed method:"),
    ] {
        let mut f = Folder::fixture("llama_gqa");
        let mut config: Value = serde_json::from_slice(&f.config).unwrap();
        config["quantization_config"] = quant;
        f.config = serde_json::to_vec(&config).unwrap();
        let err = Model::load(&f.files(), None).err().expect("a quantized checkpoint is refused").to_string();
        assert!(err.starts_with("config.json field `quantization_config`: names a checkpoint ") && err.contains(said) && err.contains("--weights int8"), "{err}");
        f.weights = None;
        Model::load(&f.files(), Some(3)).expect("the random twin of a quantized checkpoint's architecture");
    }

    // A vocabulary smaller than the tokenizer's ids: caught when model and tokenizer meet.
    let mut f = Folder::fixture("gpt2");
    let mut config: Value = serde_json::from_slice(&f.config).unwrap();
    config["vocab_size"] = json!(100);
    f.config = serde_json::to_vec(&config).unwrap();
    f.weights = None;
    let err = Session::load(&f.files(), Some(1)).err().expect("tokenizer ids past the vocabulary").to_string();
    assert!(err.contains("vocab_size") && err.contains("tokenizer.json"), "{err}");

    // Another model's tokenizer that fits under vocab_size: GPT-2's shape (50,257 entries, text ends with
    // 50256) beside BERT uncased's real WordPiece (30,522). Its ids all fit, but it has no end-of-text token.
    let real = |name: &str| std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tokenizers").join(name).join("tokenizer.json")).unwrap();
    let mut f = Folder::fixture("gpt2");
    let mut config: Value = serde_json::from_slice(&f.config).unwrap();
    for (key, value) in [("vocab_size", json!(50257)), ("eos_token_id", json!(50256)), ("bos_token_id", json!(50256))] {
        config[key] = value;
    }
    f.config = serde_json::to_vec(&config).unwrap();
    f.weights = None;
    // (A tokenizer_config.json that names no family's class, so tokenizer.json is read as it is; with
    // GPT-2's own class, the WordPiece model inside is refused before this.)
    (f.tokenizer_config, f.special_tokens_map) = (Some(br#"{"tokenizer_class": "PreTrainedTokenizerFast"}"#.to_vec()), None);
    f.tokenizer = real("bert_uncased");
    let err = Session::load(&f.files(), Some(1)).err().expect("BERT's tokenizer beside GPT-2's vocabulary").to_string();
    assert_eq!(
        err,
        "tokenizer.json: it has 30522 tokens (ids 0 to 30521), but this model ends its text with token 50256 (config.json's eos_token_id), so it is another model's tokenizer. Use the tokenizer.json that belongs to this model"
    );
    // The end token set by generation_config.json (as transformers writes it beside config.json) is
    // blamed on that file: config.json's own value may be a different one, or fixed already.
    f.generation_config = Some(br#"{"eos_token_id": [50256, 40000]}"#.to_vec());
    let err = Session::load(&f.files(), Some(1)).err().expect("end tokens from generation_config.json").to_string();
    assert!(err.contains("with token 50256 (generation_config.json's eos_token_id)"), "{err}");
    f.generation_config = None;
    f.tokenizer = real("gpt2");
    Session::load(&f.files(), Some(1)).expect("GPT-2's own tokenizer loads");
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json

/// Paths into a JSON tree (object keys and array indices), long arrays and maps sampled.
fn paths(v: &Value, rng: &mut Rng, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            let keys: Vec<&String> = m.keys().collect();
            let picked: Vec<&String> = if keys.len() > 12 { (0..4).map(|_| keys[rng.next_u64() as usize % keys.len()]).collect() } else { keys };
            for k in picked {
                prefix.push(json!(k));
                paths(&m[k], rng, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let mut idx = vec![0, a.len() - 1];
            if a.len() > 2 {
                idx.push(1 + rng.next_u64() as usize % (a.len() - 2));
            }
            idx.dedup();
            for i in idx {
                prefix.push(json!(i));
                paths(&a[i], rng, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, p| match p {
        Value::String(k) => &mut v[k.as_str()],
        Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
        _ => unreachable!(),
    })
}

fn tokenizer_values() -> Vec<(&'static str, Option<Value>)> {
    vec![
        ("null", Some(Value::Null)),
        ("-1", Some(json!(-1))),
        ("2^32", Some(json!(1u64 << 32))),
        ("4294967295", Some(json!(u32::MAX))),
        ("\"\"", Some(json!(""))),
        ("\"(\"", Some(json!("("))),
        ("\"x y\"", Some(json!("x y"))),
        ("[]", Some(json!([]))),
        ("{}", Some(json!({}))),
        ("true", Some(json!(true))),
        ("[[\"a\", 1.5]]", Some(json!([["a", 1.5]]))),
        ("removed", None),
    ]
}

/// Hostile texts: control characters, sizes, emoji, combining marks, bidi overrides, lookalikes
/// of special tokens, byte-fallback names, private use and the last code point.
fn hostile_texts() -> Vec<(String, String)> {
    let mut t: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("one space".into(), " ".into()),
        ("NUL".into(), "\0".into()),
        ("NULs inside".into(), "a\0b\0\0c".into()),
        ("controls".into(), "\r\n\t\u{b}\u{c}\u{85}\u{2028}\u{2029}\u{7f}\u{1b}[31m".into()),
        ("BOM and replacement".into(), "\u{feff}\u{fffd}\u{fffe}x".into()),
        ("RTL overrides".into(), "\u{202e}abc\u{202d}def\u{2066}ghi\u{2069}\u{200f}".into()),
        ("zero-width".into(), "a\u{200b}b\u{200c}c\u{200d}d\u{2060}e".into()),
        ("special-token lookalikes".into(), "[CLS][SEP]<s></s><pad><unk><|endoftext|>[MASK]<mask>".into()),
        ("broken specials".into(), "<|endoftext| [CL S] </s <s>> [[SEP]] <|endoftext|><|endoftext|>".into()),
        ("byte-fallback names".into(), "<0xFF><0x00><0xZZ><0x".into()),
        ("markers".into(), "▁▁▁ Ġ Ċ ## </w> @@ ▁".into()),
        ("scripts".into(), "日本語 العربية עברית हिन्दी ﷽ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 한국어 ไทย".into()),
        ("private use and max".into(), "\u{e000}\u{f8ff}\u{10ffff}\u{fffff}".into()),
        ("regional flags".into(), "🇺🇳🇪🇺🏳️‍🌈".into()),
        ("whitespace only".into(), " \t \u{3000} \u{a0} ".into()),
        ("digits".into(), "0123456789٠١٢٣٤٥٦٧٨٩ 1e10 -0.5".into()),
    ];
    t.push(("100k chars, one word".into(), "x".repeat(100_000)));
    t.push(("100k chars of words".into(), "the quick brown fox ".repeat(5_000)));
    t.push(("10k emoji".into(), "😀".repeat(10_000)));
    t.push(("1000 family ZWJ sequences".into(), "👨‍👩‍👧‍👦".repeat(1_000)));
    t.push(("10k combining marks on one letter".into(), format!("e{}", "\u{301}".repeat(10_000))));
    t.push(("combining marks alone".into(), "\u{301}\u{302}\u{303} \u{20dd}".into()));
    t.push(("5k special tokens".into(), "</s>".repeat(5_000)));
    t.push(("long word with no spaces".into(), "supercalifragilistic".repeat(500)));
    t
}

/// The hostile texts a broken tokenizer is run on: the short ones, and with `long` one long
/// word (where per-word work that grows as n² shows) and a pile of combining marks.
fn texts_for_tokenizers(long: bool) -> Vec<(String, String)> {
    let mut keep = vec!["NULs inside", "controls", "RTL overrides", "special-token lookalikes", "byte-fallback names", "scripts", "regional flags", "combining marks alone"];
    if long {
        keep.extend(["10k combining marks on one letter", "long word with no spaces"]);
    }
    hostile_texts().into_iter().filter(|(label, _)| keep.contains(&label.as_str())).collect()
}

#[test]
fn mutated_tokenizers_never_panic() {
    let mut log = Log::default();
    let mut rng = Rng::new(0x70c);
    let values = tokenizer_values();
    let texts = texts_for_tokenizers(false);
    for (name, json_bytes, config) in tokenizer_files() {
        let good: Value = serde_json::from_slice(&json_bytes).unwrap();
        let mut all = Vec::new();
        paths(&good, &mut rng, &mut Vec::new(), &mut all);
        all.retain(|p| !p.is_empty());
        // Big files parse slowly: a fixed sample of mutants each, more for small ones.
        let budget = if json_bytes.len() > 100_000 { 12 } else { 70 };
        let mut mutants: Vec<(String, Vec<u8>)> = Vec::new();
        for _ in 0..budget {
            let path = &all[rng.next_u64() as usize % all.len()];
            let (shown, value) = &values[rng.next_u64() as usize % values.len()];
            let mut v = good.clone();
            let (parent, last) = path.split_at(path.len() - 1);
            match value {
                Some(x) => *at_path(&mut v, path) = x.clone(),
                None => match (at_path(&mut v, parent), &last[0]) {
                    (Value::Object(m), Value::String(k)) => {
                        m.remove(k);
                    }
                    (Value::Array(a), Value::Number(i)) => {
                        a.remove(i.as_u64().unwrap() as usize);
                    }
                    _ => {}
                },
            }
            let where_: Vec<String> = path.iter().map(|p| p.to_string().trim_matches('"').to_string()).collect();
            mutants.push((format!("{} = {shown}", where_.join(".")), serde_json::to_vec(&v).unwrap()));
        }
        for cut in [1, json_bytes.len() / 2, json_bytes.len() - 1] {
            mutants.push((format!("truncated to {cut} bytes"), json_bytes[..cut].to_vec()));
        }
        for _ in 0..6 {
            let mut b = json_bytes.clone();
            let at = rng.next_u64() as usize % b.len();
            b[at] = [b'"', b'{', b']', b'\\', 0xc3, 0xff][rng.next_u64() as usize % 6];
            mutants.push((format!("byte {at} overwritten"), b));
        }
        for (what, bytes) in mutants {
            let input = || format!("{name}: {what}");
            if let Some(tok) = log.run(&input, || Tokenizer::from_bytes(&bytes, config.as_deref(), None)) {
                exercise_tokenizer(&mut log, &tok, &texts, &input);
            }
        }
    }
    log.finish("mutated tokenizer.json");
}

fn exercise_tokenizer(log: &mut Log, tok: &Tokenizer, texts: &[(String, String)], input: &dyn Fn() -> String) {
    for (label, text) in texts {
        let with_text = || format!("{} / text {label}", input());
        log.run(&with_text, || tok.encode(text, true));
        if let Some((enc, _trace)) = log.run(&with_text, || tok.encode_traced(text, false)) {
            log.run(&with_text, || tok.decode(&enc.ids, true));
        }
    }
    let n = tok.vocab_size() as u32;
    let ids = [0, 1, n.saturating_sub(1), n, n + 1, u32::MAX];
    log.run(input, || tok.decode(&ids, false));
    log.run(input, || tok.decode(&ids, true));
    log.run_infallible(input, || (tok.special_tokens().clone(), tok.special_ids(), ids.map(|i| tok.id_to_token(i).map(str::to_owned))));
}

/// Hand-made tokenizer.json breakages of the kinds real files have, each with a clear message.
#[test]
fn targeted_tokenizer_breakages() {
    let mut log = Log::default();
    let texts = texts_for_tokenizers(true);
    let read = |p: &str| -> Value { serde_json::from_slice(&std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(p)).unwrap()).unwrap() };
    let gpt2 = read("tokenizers/gpt2/tokenizer.json");
    let bert = read("tokenizers/bert_uncased/tokenizer.json");
    let t5 = read("tokenizers/t5_unigram/tokenizer.json");
    let charsmap = t5["normalizer"]["normalizers"].as_array().and_then(|n| n.iter().find(|x| x["type"] == "Precompiled")).or(Some(&t5["normalizer"])).and_then(|n| n["precompiled_charsmap"].as_str()).map(str::to_owned);

    type Edit = Box<dyn Fn(&mut Value)>;
    let mut cases: Vec<(&str, Value, Edit, Option<&str>)> = vec![
        ("merge names a token missing from the vocab", gpt2.clone(), Box::new(|v| {
            let merges = v["model"]["merges"].as_array_mut().unwrap();
            let entry = if merges[0].is_string() { json!("zzq qqz") } else { json!(["zzq", "qqz"]) };
            merges.insert(0, entry);
        }), Some("zzq")),
        ("merges of mixed forms", gpt2.clone(), Box::new(|v| {
            let merges = v["model"]["merges"].as_array_mut().unwrap();
            let entry = if merges[0].is_string() { json!(["a", "b"]) } else { json!("a b") };
            merges.insert(3, entry);
        }), Some("merge #4")),
        ("merges not a list", gpt2.clone(), Box::new(|v| { v["model"]["merges"] = json!({"a": "b"}); }), Some("not a list")),
        ("vocab entry of a merge removed", gpt2.clone(), Box::new(|v| {
            let first = v["model"]["merges"][0].clone();
            let merged: String = match &first { Value::String(s) => s.replace(' ', ""), Value::Array(a) => a.iter().map(|x| x.as_str().unwrap()).collect(), _ => unreachable!() };
            v["model"]["vocab"].as_object_mut().unwrap().remove(&merged);
        }), Some("not in the vocabulary")),
        ("merge with three parts", gpt2.clone(), Box::new(|v| { v["model"]["merges"][0] = json!("a b c"); }), Some("merge")),
        ("vocab id negative", gpt2.clone(), Box::new(|v| { v["model"]["vocab"]["!"] = json!(-5); }), Some("BPE")),
        ("vocab id 2^32", gpt2.clone(), Box::new(|v| { v["model"]["vocab"]["!"] = json!(1u64 << 32); }), Some("BPE")),
        ("vocab id u32::MAX", gpt2.clone(), Box::new(|v| { v["model"]["vocab"]["!"] = json!(u32::MAX); }), None),
        ("vocab is a list", gpt2.clone(), Box::new(|v| { v["model"]["vocab"] = json!(["a", "b"]); }), Some("vocab")),
        ("model type unknown", gpt2.clone(), Box::new(|v| { v["model"]["type"] = json!("SentencePieceBPE"); }), Some("SentencePieceBPE")),
        ("BPE unk token absent from the vocab", gpt2.clone(), Box::new(|v| { v["model"]["unk_token"] = json!("<nope>"); v["model"]["byte_fallback"] = json!(false); }), None),
        ("Split pre-tokenizer with an invalid regex", gpt2.clone(), Box::new(|v| { v["pre_tokenizer"] = json!({"type": "Split", "pattern": {"Regex": "(?<=a"}, "behavior": "Isolated", "invert": false}); }), Some("Split")),
        ("Split pre-tokenizer with catastrophic backtracking", gpt2.clone(), Box::new(|v| { v["pre_tokenizer"] = json!({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "(x+x+)+y"}, "behavior": "Isolated", "invert": false}, v["pre_tokenizer"].clone()]}); }), None),
        ("Split pattern of the wrong shape", gpt2.clone(), Box::new(|v| { v["pre_tokenizer"] = json!({"type": "Split", "pattern": "\\s+", "behavior": "Isolated"}); }), Some("Split")),
        ("Split behavior unknown", gpt2.clone(), Box::new(|v| { v["pre_tokenizer"] = json!({"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}); }), Some("Sideways")),
        ("Replace normalizer with an invalid regex", gpt2.clone(), Box::new(|v| { v["normalizer"] = json!({"type": "Replace", "pattern": {"Regex": "[a-"}, "content": "x"}); }), Some("Replace")),
        ("added token with a huge id", gpt2.clone(), Box::new(|v| { v["added_tokens"].as_array_mut().unwrap().push(json!({"id": u32::MAX, "content": "<huge>", "special": true})); }), None),
        ("added token with a negative id", gpt2.clone(), Box::new(|v| { v["added_tokens"].as_array_mut().unwrap().push(json!({"id": -1, "content": "<neg>", "special": true})); }), None),
        ("added token of empty content", gpt2.clone(), Box::new(|v| { v["added_tokens"].as_array_mut().unwrap().push(json!({"id": 5, "content": "", "special": true})); }), None),
        ("added token content not a string", gpt2.clone(), Box::new(|v| { v["added_tokens"] = json!([{"id": 1, "content": 7}]); }), Some("tokenizer.json")),
        ("WordPiece unk token absent", bert.clone(), Box::new(|v| { v["model"]["unk_token"] = json!("[NOPE]"); }), None),
        ("WordPiece max chars zero", bert.clone(), Box::new(|v| { v["model"]["max_input_chars_per_word"] = json!(0); }), None),
        ("WordPiece empty vocab", bert.clone(), Box::new(|v| { v["model"]["vocab"] = json!({}); }), None),
        ("template names an unlisted special", bert.clone(), Box::new(|v| { v["post_processor"] = json!({"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[X]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {}}); }), Some("[X]")),
        ("template special with ids past the vocab", bert.clone(), Box::new(|v| { v["post_processor"] = json!({"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[X]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"[X]": {"id": "[X]", "ids": [u32::MAX, 7], "tokens": ["[X]"]}}}); }), None),
        ("Bert processing with huge ids", bert.clone(), Box::new(|v| { v["post_processor"] = json!({"type": "BertProcessing", "sep": ["[SEP]", u32::MAX], "cls": ["[CLS]", u32::MAX - 1]}); }), None),
        ("Strip decoder with huge counts", bert.clone(), Box::new(|v| { v["decoder"] = json!({"type": "Strip", "content": " ", "start": u64::MAX, "stop": u64::MAX}); }), None),
        ("Metaspace replacement of two chars", t5.clone(), Box::new(|v| { v["pre_tokenizer"] = json!({"type": "Metaspace", "replacement": "ab", "prepend_scheme": "always"}); }), Some("replacement")),
        ("Unigram unk_id past the vocab", t5.clone(), Box::new(|v| { v["model"]["unk_id"] = json!(1u64 << 40); }), Some("unk_id")),
        ("Unigram without unk_id", t5.clone(), Box::new(|v| { v["model"]["unk_id"] = Value::Null; }), None),
        ("Unigram empty vocab", t5.clone(), Box::new(|v| { v["model"]["vocab"] = json!([]); v["model"]["unk_id"] = Value::Null; }), None),
        ("Unigram score not a number", t5.clone(), Box::new(|v| { v["model"]["vocab"][3] = json!(["x", "high"]); }), Some("Unigram")),
        ("Unigram huge scores", t5.clone(), Box::new(|v| { v["model"]["vocab"][3] = json!(["▁the", 1e308]); v["model"]["vocab"][4] = json!(["e", -1e308]); }), None),
    ];
    let mut charsmap_cases: Vec<(&str, String)> = vec![
        ("charsmap not base64", "!!!! not base64 ***".into()),
        ("charsmap of one base64 digit", "A".into()),
        ("charsmap header only", "AAAAAA==".into()),
        ("charsmap whose trie length lies", "/////wAAAAA=".into()),
        ("charsmap of random bytes", "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQ".into()),
    ];
    if let Some(real) = &charsmap {
        charsmap_cases.push(("charsmap truncated", real[..real.len() / 2 / 4 * 4].to_string()));
        // Keep the trie, break the rewrites' UTF-8 and the trie's units.
        let mut flipped: Vec<char> = real.chars().collect();
        for i in (40..flipped.len()).step_by(97) {
            flipped[i] = if flipped[i] == 'A' { '/' } else { 'A' };
        }
        charsmap_cases.push(("charsmap with flipped digits", flipped.into_iter().collect()));
    }
    for (what, map) in charsmap_cases {
        cases.push((what, t5.clone(), Box::new(move |v| { v["normalizer"] = json!({"type": "Precompiled", "precompiled_charsmap": map.clone()}); }), None));
    }

    for (what, base, edit, needle) in &cases {
        let mut v = base.clone();
        edit(&mut v);
        let bytes = serde_json::to_vec(&v).unwrap();
        let input = || what.to_string();
        let before: usize = log.errors.values().map(|e| e.0).sum();
        if let Some(tok) = log.run(&input, || Tokenizer::from_bytes(&bytes, None, None)) {
            exercise_tokenizer(&mut log, &tok, &texts, &input);
        }
        if let Some(n) = needle {
            let new: Vec<&String> = log.errors.values().map(|e| &e.1).collect();
            let after: usize = log.errors.values().map(|e| e.0).sum();
            assert!(after > before && new.iter().any(|m| m.contains(n)), "{what}: expected an error mentioning {n:?}");
        }
    }
    log.finish("targeted tokenizer.json breakages");
}

// ---------------------------------------------------------------------------------------------
// Hostile texts and options on every good model.

#[test]
fn hostile_texts_on_every_model() {
    let mut log = Log::default();
    let texts = hostile_texts();
    for (name, folder) in model_folders() {
        let session = Session::load(&folder.files(), None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let decoder = session.info().kind != Kind::EncoderOnly;
        for (label, text) in &texts {
            let input = || format!("{name}: text {label}");
            log.run(&input, || session.tokenizer.encode_traced(text, true));
            log.run(&input, || session.inspect(text, None, Capture { probs: true, scores: true }));
            if decoder {
                let opts = GenerateOptions { max_new_tokens: 2, sampling: Sampling::Greedy, eos_token_id: None, n_candidates: 3, capture: Capture::PROBS };
                if let Some(g) = log.run(&input, || session.generate(text, &opts, &mut |_| true)) {
                    log.run(&input, || session.tokenizer.decode(&g.ids(), true));
                }
            }
        }
    }
    log.finish("hostile texts");
}

#[test]
fn extreme_generation_options() {
    let mut log = Log::default();
    for name in ["gpt2", "t5_tiny", "bart_tiny", "marian_tiny"] {
        let session = Session::load(&Folder::fixture(name).files(), None).unwrap();
        let v = session.info().vocab_size;
        let settings: Vec<(String, glassbox::Result<Sampling>)> = vec![
            ("greedy".into(), Ok(Sampling::Greedy)),
            ("temperature 1e-30".into(), Sampling::new(1e-30, 0, 1.0, 1)),
            ("temperature f32::MIN_POSITIVE".into(), Sampling::new(f32::MIN_POSITIVE, 0, 1.0, 1)),
            ("temperature 1e30".into(), Sampling::new(1e30, 0, 1.0, 2)),
            ("temperature f32::MAX".into(), Sampling::new(f32::MAX, 0, 1.0, 2)),
            ("top_k larger than the vocabulary".into(), Sampling::new(1.0, v * 1000, 1.0, 3)),
            ("top_k usize::MAX".into(), Sampling::new(1.0, usize::MAX, 1.0, 3)),
            ("top_k 1".into(), Sampling::new(1.0, 1, 1.0, 3)),
            ("top_p 1e-30".into(), Sampling::new(1.0, 0, 1e-30, 4)),
            ("top_p f32::MIN_POSITIVE".into(), Sampling::new(1.0, 0, f32::MIN_POSITIVE, 4)),
            ("everything tiny".into(), Sampling::new(1e-30, 1, 1e-30, 5)),
            ("temperature -0".into(), Sampling::new(-0.0, 0, 1.0, 5)),
            ("temperature inf".into(), Sampling::new(f32::INFINITY, 0, 1.0, 5)),
            ("top_p NaN".into(), Sampling::new(1.0, 0, f32::NAN, 5)),
        ];
        for (label, sampling) in settings {
            let input = || format!("{name}: {label}");
            let Some(sampling) = log.run(&input, || sampling.clone()) else { continue };
            for max_new_tokens in [0, 1, usize::MAX] {
                let opts = GenerateOptions { max_new_tokens, sampling, eos_token_id: None, n_candidates: v + 5, capture: Capture::PROBS };
                let mut steps = 0;
                let out = log.run(&input, || session.generate("Hello there", &opts, &mut |_| {
                    steps += 1;
                    steps < 6
                }));
                for t in out.iter().flat_map(|g| g.tokens.iter()) {
                    assert!(t.prob.is_finite() && (0.0..=1.0).contains(&t.prob), "{}: probability {}", input(), t.prob);
                    assert!(t.candidates.iter().all(|&(id, p)| (id as usize) < v && p.is_finite()), "{}: bad candidates", input());
                    assert!(t.candidates.len() <= v);
                }
            }
            // The stepwise generator (what the wasm boundary drives) with the same settings.
            let opts = GenerateOptions { max_new_tokens: usize::MAX, sampling, eos_token_id: Some(u32::MAX), n_candidates: 0, capture: Capture::NONE };
            if let Some((_, _, mut g)) = log.run(&input, || session.generator("", &opts)) {
                for _ in 0..3 {
                    log.run(&input, || g.next_token(&session.model));
                }
            }
        }
        for (label, opts) in [
            ("beams 0", BeamOptions::new(0, 3)),
            ("beams usize::MAX", BeamOptions::new(usize::MAX, 3)),
            ("beams larger than the vocabulary", BeamOptions { num_return_sequences: 2, ..BeamOptions::new(v + 1, 2) }),
            ("beam max_new_tokens usize::MAX", BeamOptions::new(2, usize::MAX)),
            ("return more than beams", BeamOptions { num_return_sequences: 9, ..BeamOptions::new(2, 3) }),
            ("length penalty NaN", BeamOptions { length_penalty: f64::NAN, ..BeamOptions::new(2, 3) }),
            ("length penalty huge", BeamOptions { length_penalty: 1e300, ..BeamOptions::new(2, 3) }),
        ] {
            let input = || format!("{name}: {label}");
            log.run(&input, || session.beam_search("Hello there", &opts));
        }
    }
    // Logits no real model gives, straight into the samplers.
    let mut rng = Rng::new(9);
    let weird: Vec<(&str, Vec<f32>)> = vec![
        ("all NaN", vec![f32::NAN; 50]),
        ("NaN among numbers", (0..50).map(|i| if i % 7 == 0 { f32::NAN } else { i as f32 }).collect()),
        ("all -inf", vec![f32::NEG_INFINITY; 50]),
        ("+inf twice", (0..50).map(|i| if i % 20 == 3 { f32::INFINITY } else { 0.0 }).collect()),
        ("huge spread", (0..50).map(|i| if i % 2 == 0 { f32::MAX } else { f32::MIN }).collect()),
        ("empty", vec![]),
        ("one", vec![1.0]),
    ];
    for (label, logits) in &weird {
        for sampling in [Sampling::Greedy, Sampling::Sample { temperature: 1e-30, top_k: 3, top_p: 0.5, seed: 1 }, Sampling::Sample { temperature: 1.0, top_k: 0, top_p: 1.0, seed: 1 }] {
            let input = || format!("logits {label}, {sampling:?}");
            if !logits.is_empty() {
                let id = log.run_infallible(&input, || choose(logits, sampling, &mut rng));
                assert!(id.is_none_or(|id| (id as usize) < logits.len()), "{}: id out of range", input());
            }
            log.run_infallible(&input, || top_candidates(logits, 5));
        }
    }
    log.finish("extreme generation options");
}
