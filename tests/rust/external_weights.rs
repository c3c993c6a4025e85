//! model.safetensors read one tensor (or one block of rows) at a time from bytes held outside the engine,
//! as the page's worker hands it over (`crate/src/wasm/load.rs`), must give exactly the model the whole
//! file in memory gives, in every weight storage, and refuse every bad file with the same message.
//!
//! Native stand-in for the JavaScript buffer: `support::Outside`, which also counts the bytes asked for in one
//! read, so the test can tell that the token table was packed a block at a time, never copied whole.

#[path = "support/mod.rs"]
mod support;

use glassbox::kernels::Storage;
use glassbox::loader::tensor_file::FileBytes;
use glassbox::session::Session;
use support::{Folder, Outside};

fn outside(bytes: &[u8]) -> Outside {
    Outside::new(bytes)
}

/// The model's outputs on a fixed text: last hidden state and logits, bit for bit.
fn outputs(session: &Session) -> (Vec<u32>, Vec<u32>) {
    let ins = session.inspect("Hello world, glass box.", None, Default::default()).expect("the model runs");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    (bits(&ins.outputs.last_hidden_state), bits(ins.outputs.logits.as_deref().unwrap_or(&[])))
}

const FAMILIES: &[&str] = &["gpt2", "gpt2_bare_bf16", "bert", "t5_tiny", "bart_tiny", "llama_gqa", "qwen2", "roberta_untied"];

#[test]
fn a_file_held_outside_loads_the_same_model_in_every_storage() {
    for name in FAMILIES {
        let folder = Folder::fixture(name);
        let file = outside(folder.weights.as_deref().expect("fixture weights"));
        for storage in [None, Some(Storage::F32), Some(Storage::F16), Some(Storage::BF16), Some(Storage::Int8)] {
            let in_memory = Session::load_with(&folder.files(), None, storage).unwrap_or_else(|e| panic!("{name}: {e}"));
            let read_outside = Session::load_from(&folder.files(), Some(FileBytes::External(&file).into()), None, storage).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(outputs(&in_memory), outputs(&read_outside), "{name} {storage:?}: the same numbers whichever way the file is read");
        }
    }
}

#[test]
fn the_token_table_is_packed_a_block_at_a_time() {
    // GPT-2's table widened to 2048 rows of f32 (8 MiB): larger than a block, so a whole-table copy would show.
    let folder = Folder::fixture("gpt2");
    let mut config: serde_json::Value = serde_json::from_slice(&folder.config).unwrap();
    let c = config["n_embd"].as_u64().unwrap() as usize;
    let v = (8 << 20) / (4 * c); // 8 MiB of f32 rows
    config["vocab_size"] = v.into();
    // Varied values (so a misplaced block would change the numbers), within f16's range.
    let table: Vec<f32> = (0..v * c).map(|i| ((i.wrapping_mul(2_654_435_761) % 1000) as f32 / 1000.0 - 0.5) * 0.1).collect();
    let weights = glassbox_test_file(&folder, "wte.weight", &table, v, c);
    let config = serde_json::to_vec(&config).unwrap();
    let files = glassbox::loader::ModelFiles { config: &config, weights: None, tokenizer: &folder.tokenizer, ..Default::default() };
    let table_bytes = v * c * 4;
    for storage in [None, Some(Storage::F16), Some(Storage::BF16), Some(Storage::Int8)] {
        let file = outside(&weights);
        let read_outside = Session::load_from(&files, Some(FileBytes::External(&file).into()), None, storage).expect("loads");
        assert!(file.largest_read.get() <= (1 << 20) + 4 * c * 8, "{storage:?}: largest single read {} bytes; the table is {table_bytes}", file.largest_read.get());
        let in_memory = Session::load_from(&files, Some(FileBytes::Memory(&weights).into()), None, storage).expect("loads");
        assert_eq!(outputs(&in_memory), outputs(&read_outside), "{storage:?}: blocks pack as the whole table does");
    }
}

/// The fixture's weights with `name` replaced by `[rows][cols]` f32 values (other tensors as they are).
fn glassbox_test_file(folder: &Folder, name: &str, values: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    use safetensors::tensor::TensorView;
    let original = folder.weights.as_deref().unwrap();
    let st = safetensors::SafeTensors::deserialize(original).unwrap();
    let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut views: Vec<(String, TensorView)> = st.tensors().into_iter().filter(|(n, _)| !n.ends_with(name)).collect();
    let full = st.names().into_iter().find(|n| n.ends_with(name)).unwrap().to_string();
    views.push((full, TensorView::new(safetensors::Dtype::F32, vec![rows, cols], &bytes).unwrap()));
    safetensors::serialize(views, None).unwrap()
}

#[test]
fn bad_files_are_refused_with_the_same_message_either_way() {
    let folder = Folder::fixture("gpt2");
    let good = folder.weights.clone().unwrap();
    let raw = |header: &str, data: &[u8]| {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    };
    let mut nan = good.clone();
    let last = nan.len() - 4;
    nan[last..].copy_from_slice(&f32::NAN.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("five bytes", vec![1, 2, 3, 4, 5]),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("one byte short", good[..good.len() - 1].to_vec()),
        ("one byte long", [good.as_slice(), &[0]].concat()),
        ("offsets lie", raw(r#"{"wte.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, &[0; 8])),
        ("offsets out of order", raw(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, &[0; 4])),
        ("header length past the file", [(1u64 << 40).to_le_bytes().as_slice(), b"{}"].concat()),
        ("header not JSON", raw("{\"wte.weight\": nope", &[])),
        ("header not UTF-8", { let mut b = raw("{\"x\"}", &[]); b[9] = 0xff; b }),
        ("a NaN", nan),
    ];
    for (what, bytes) in cases {
        let mut files = folder.files();
        files.weights = Some(&bytes);
        let in_memory = Session::load(&files, None).err().map(|e| e.to_string());
        let file = outside(&bytes);
        let read_outside = Session::load_from(&files, Some(FileBytes::External(&file).into()), None, None).err().map(|e| e.to_string());
        assert!(in_memory.is_some(), "{what}: refused");
        assert_eq!(in_memory, read_outside, "{what}: the same message");
        assert!(in_memory.unwrap().contains("model.safetensors") || what == "a NaN", "{what}: names the file");
    }
}

#[test]
fn a_read_that_fails_stops_the_load_there_and_names_the_file() {
    // Every read of a load fails in turn: the header's, the finiteness pass's, the comparisons that find a
    // table stored twice (BART, T5, BERT), the layers' (a bf16 file, so matrices are read in blocks, and in
    // f32 and int8 storage too). The load stops at once with the reader's message and the file's name: not
    // a model built of zeros, and no read after the failure.
    // From tests/fixtures/models, and from tests/fixtures/checkpoints the transformers 4 layouts that store
    // one table under two names (found by comparing their bytes).
    let checkpoint = |name: &str| Folder::read(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/checkpoints").join(name));
    let cases = [
        (Folder::fixture("gpt2_bare_bf16"), "gpt2_bare_bf16", None),
        (Folder::fixture("gpt2_bare_bf16"), "gpt2_bare_bf16", Some(Storage::F32)),
        (Folder::fixture("gpt2_bare_bf16"), "gpt2_bare_bf16", Some(Storage::Int8)),
        (checkpoint("bart_untied_v4"), "bart_untied_v4", None),
        (checkpoint("mbart_v4"), "mbart_v4", None),
        (checkpoint("t5_v10_own_tables"), "t5_v10_own_tables", None),
        (checkpoint("bert_tied_stored_head_differs"), "bert_tied_stored_head_differs", None),
    ];
    for (folder, name, storage) in cases {
        let bytes = folder.weights.clone().unwrap();
        let counting = Outside::new(&bytes);
        Session::load_from(&folder.files(), Some(FileBytes::External(&counting).into()), None, storage).expect("loads when every read succeeds");
        let total = counting.reads.get();
        assert!(total > 10, "{name} {storage:?}: {total} reads");
        // About forty failure points spread over the load, and its last read.
        for fail_at in (1..=total).step_by((total / 40).max(1)).chain([total]) {
            let file = Outside::failing_at(&bytes, fail_at);
            let err = match Session::load_from(&folder.files(), Some(FileBytes::External(&file).into()), None, storage) {
                Ok(_) => panic!("{name} {storage:?}: read {fail_at} of {total} failed, but the model loaded"),
                Err(e) => e.to_string(),
            };
            assert!(err.starts_with("model.safetensors: could not be read at byte") && err.contains("the disk went away") && err.ends_with("Read it again"), "{name} {storage:?}, read {fail_at}: {err}");
            assert_eq!(file.after_failure.get(), 0, "{name} {storage:?}: read {fail_at} failed, yet the loader read on");
        }
    }
}

#[test]
fn the_header_is_accepted_exactly_when_the_safetensors_crate_accepts_it() {
    // Seeded byte edits in the length and the JSON header of a real file: the per-tensor reader must agree
    // with `SafeTensors::deserialize` on every one (same acceptance, and the same tensors when accepted).
    let good = Folder::fixture("gpt2").weights.unwrap();
    let header_end = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut rng = glassbox::rng::Rng::new(11);
    for case in 0..400 {
        let mut bytes = good.clone();
        for _ in 0..1 + case % 3 {
            let at = (rng.next_u64() as usize) % header_end;
            bytes[at] = match rng.next_u64() % 4 {
                0 => bytes[at] ^ (1 << (rng.next_u64() % 8)),
                1 => b"0123456789"[(rng.next_u64() % 10) as usize],
                2 => b"{}[],:\" "[(rng.next_u64() % 8) as usize],
                _ => rng.next_u64() as u8,
            };
        }
        if case % 5 == 0 {
            bytes.truncate(bytes.len() - 1 - (rng.next_u64() as usize) % 64);
        }
        let crate_view = safetensors::SafeTensors::deserialize(&bytes).map(|st| {
            let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
            names.sort();
            names
        });
        let file = outside(&bytes);
        let ours = glassbox::loader::tensor_file::TensorFile::parse("model.safetensors", FileBytes::External(&file)).map(|f| {
            let mut names: Vec<String> = f.tensors().into_iter().map(|(n, _)| n).collect();
            names.sort();
            names
        });
        match (&crate_view, &ours) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "case {case}: the same tensors"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "case {case}: the same refusal"),
            _ => panic!("case {case}: the crate says {:?}, the reader says {:?}", crate_view.as_ref().err().map(|e| e.to_string()), ours.as_ref().err().map(|e| e.to_string())),
        }
    }
}

#[test]
fn a_table_stored_twice_is_found_by_its_bytes_in_memory_and_outside() {
    use glassbox::loader::Weights;
    use safetensors::tensor::{serialize, TensorView};
    use safetensors::Dtype;
    // Tensors past one comparison piece (1 MiB), so the outside path compares several pieces.
    let n = 300_000;
    // Every byte under 0x40: finite read as f32 and as f16 (the loader refuses NaN and infinities).
    let a: Vec<u8> = (0..4 * n).map(|i| (i * 7 % 64) as u8).collect();
    let mut late = a.clone(); // differs in its last value only
    let last = late.len() - 1;
    late[last] ^= 1;
    let tensors = vec![
        ("a", TensorView::new(Dtype::F32, vec![n], &a)),
        ("b", TensorView::new(Dtype::F32, vec![n], &a)),
        ("late", TensorView::new(Dtype::F32, vec![n], &late)),
        ("as_f16", TensorView::new(Dtype::F16, vec![2 * n], &a)), // the same bytes, another dtype
    ];
    let tensors: Vec<_> = tensors.into_iter().map(|(name, view)| (name, view.expect("a valid view"))).collect();
    let file = serialize(tensors, None).expect("serialised");
    let held = outside(&file);
    for bytes in [FileBytes::Memory(&file), FileBytes::External(&held)] {
        let w = Weights::from_file(bytes).expect("a valid file");
        assert!(w.same_values("a", "b").unwrap(), "equal bytes are one table");
        assert!(w.same_values("a", "a").unwrap(), "one name is one table");
        assert!(!w.same_values("a", "late").unwrap(), "a difference in the last piece is found");
        assert!(!w.same_values("a", "as_f16").unwrap(), "another dtype is another table");
        assert!(!w.same_values("a", "missing").unwrap(), "an absent tensor is not the same");
    }
    assert!(held.largest_read.get() <= 1 << 20, "compared a piece at a time, not whole");
}

/// A generating model whose token table is larger than the caches (64 MiB of f32 here, 8.5 MiB of int8:
/// random weights, the fixture's shape with a long vocabulary) times decoding wide (six streams of weights side by side)
/// and narrow (two) when it loads, and keeps the faster for this machine; a small one, and an encoder
/// however large, leave the choice alone. The numbers are the same either way
/// (tests/wasm/kernels.test.mjs, "decoding narrow ... or wide").
#[test]
fn a_large_decoder_chooses_how_decoding_reads_its_weights() {
    let with_vocab = |name: &str, c_key: &str| {
        let folder = Folder::fixture(name);
        let mut config: serde_json::Value = serde_json::from_slice(&folder.config).unwrap();
        let c = config[c_key].as_u64().unwrap() as usize;
        config["vocab_size"] = ((64 << 20) / (4 * c)).into();
        (folder, serde_json::to_vec(&config).unwrap())
    };
    let (folder, config) = with_vocab("gpt2", "n_embd");
    let files = glassbox::loader::ModelFiles { config: &config, weights: None, tokenizer: &folder.tokenizer, ..Default::default() };
    let large = glassbox::models::Model::load(&files, Some(3)).expect("a random model loads");
    let (wide_ms, narrow_ms) = large.calibrate_decoding().expect("a 64 MiB token table is timed");
    assert!(wide_ms.is_finite() && narrow_ms.is_finite() && wide_ms > 0.0 && narrow_ms > 0.0, "{wide_ms} {narrow_ms}");
    let wide_wins = |wide_ms: f64, narrow_ms: f64| wide_ms < glassbox::models::Model::WIDE_IF_UNDER * narrow_ms;
    assert_eq!(glassbox::kernels::decode_wide(), wide_wins(wide_ms, narrow_ms), "wide is kept only if clearly faster: wide {wide_ms} ms, narrow {narrow_ms} ms");

    // In int8 too (one tile at a time or six side by side), from a smaller table: 8.5 MiB of int8
    // weights and their scales.
    let mut config: serde_json::Value = serde_json::from_slice(&config).unwrap();
    config["vocab_size"] = (config["vocab_size"].as_u64().unwrap() / 2).into();
    let config = serde_json::to_vec(&config).unwrap();
    let files = glassbox::loader::ModelFiles { config: &config, weights: None, tokenizer: &folder.tokenizer, ..Default::default() };
    let int8 = glassbox::models::Model::load_reporting(&files, None, Some(3), Some(glassbox::kernels::Storage::Int8), &mut Vec::new()).expect("a random int8 model loads");
    let (wide_ms, narrow_ms) = int8.calibrate_decoding().expect("an 8.5 MiB int8 token table is timed");
    assert_eq!(glassbox::kernels::decode_wide(), wide_wins(wide_ms, narrow_ms), "int8: wide {wide_ms} ms, narrow {narrow_ms} ms");

    let small = glassbox::models::Model::load(&folder.files(), None).expect("the fixture loads");
    assert_eq!(small.calibrate_decoding(), None, "a table that fits in the caches is not timed");
    let small = glassbox::models::Model::load_reporting(&folder.files(), None, Some(3), Some(glassbox::kernels::Storage::Int8), &mut Vec::new()).expect("the fixture loads as int8");
    assert_eq!(small.calibrate_decoding(), None, "nor a small int8 table");
    let (bert, config) = with_vocab("bert", "hidden_size");
    let files = glassbox::loader::ModelFiles { config: &config, weights: None, tokenizer: &bert.tokenizer, ..Default::default() };
    let encoder = glassbox::models::Model::load(&files, Some(3)).expect("a random encoder loads");
    assert_eq!(encoder.calibrate_decoding(), None, "an encoder does not decode");
}
