//! Sharded checkpoints: `model.safetensors.index.json` beside the shards it names, as
//! `save_pretrained` writes a model larger than its `max_shard_size`. The fixture
//! (tests/fixtures/checkpoints/llama_sharded, written by transformers 5 through
//! scripts/fixtures/checkpoints.py) is also checked against transformers' own outputs by
//! tests/rust/checkpoints.rs; here:
//!
//! - the shards give exactly the model that one file of the same tensors gives, in every storage,
//!   whether the bytes are in memory or read a range at a time from elsewhere (the page, the CLI);
//! - the CLI reads a sharded folder as it reads one file;
//! - every way an index and its shards can disagree is refused by name: a missing shard, a name
//!   with a path in it, a tensor in the wrong shard or in two, a broken index or shard.

#[path = "support/mod.rs"]
mod support;

use glassbox::kernels::Storage;
use glassbox::loader::tensor_file::FileBytes;
use glassbox::loader::WeightSource;
use glassbox::session::Session;
use safetensors::tensor::{serialize, TensorView};
use safetensors::SafeTensors;
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{Folder, Outside};

fn sharded_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/checkpoints/llama_sharded")
}

/// The fixture, with its index and shards.
fn sharded() -> Folder {
    let folder = Folder::read(&sharded_dir());
    let (_, shards) = folder.shards.as_ref().expect("the fixture is sharded (no model.safetensors)");
    assert!(folder.weights.is_none() && shards.len() >= 3, "expected several shards, found {}", shards.len());
    folder
}

/// Every tensor of the shards in one safetensors file.
fn merged(shards: &[(String, Vec<u8>)]) -> Vec<u8> {
    let parsed: Vec<SafeTensors> = shards.iter().map(|(_, b)| SafeTensors::deserialize(b).expect("a valid shard")).collect();
    let mut all = Vec::new();
    for st in &parsed {
        for (name, view) in st.tensors() {
            all.push((name, TensorView::new(view.dtype(), view.shape().to_vec(), view.data()).expect("a valid view")));
        }
    }
    serialize(all, None).expect("serialised")
}

/// The last hidden state and the logits on a fixed text, as bits.
fn outputs(session: &Session) -> (Vec<u32>, Vec<u32>) {
    let ins = session.inspect("Hello world, glass box.", None, Default::default()).expect("the model runs");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    (bits(&ins.outputs.last_hidden_state), bits(ins.outputs.logits.as_deref().expect("logits")))
}

#[test]
fn the_shards_are_the_same_model_as_one_file_in_every_storage() {
    let folder = sharded();
    let (index, shards) = folder.shards.clone().unwrap();
    let one_file = merged(&shards);
    let held: Vec<(String, Outside)> = shards.iter().map(|(n, b)| (n.clone(), Outside::new(b))).collect();
    for storage in [None, Some(Storage::F32), Some(Storage::F16), Some(Storage::BF16), Some(Storage::Int8)] {
        let single = Session::load_from(&folder.files(), Some(FileBytes::Memory(&one_file).into()), None, storage).expect("one file loads");
        let in_memory = Session::load_from(&folder.files(), folder.weight_source(), None, storage).expect("the shards load");
        let outside = WeightSource::Shards { index: &index, shards: held.iter().map(|(n, r)| (n.clone(), FileBytes::External(r))).collect() };
        let read_outside = Session::load_from(&folder.files(), Some(outside), None, storage).expect("the shards load from outside");
        let want = outputs(&single);
        assert_eq!(outputs(&in_memory), want, "{storage:?}: shards in memory against one file");
        assert_eq!(outputs(&read_outside), want, "{storage:?}: shards read from outside against one file");
    }
    // Files beside the index that it does not name are not read (nor counted).
    let mut extra = shards.clone();
    extra.push(("model-stray.safetensors".into(), b"not a safetensors file".to_vec()));
    let source = WeightSource::Shards { index: &index, shards: extra.iter().map(|(n, b)| (n.clone(), FileBytes::Memory(b))).collect() };
    assert_eq!(source.len(), shards.iter().map(|(_, b)| b.len()).sum::<usize>());
    let session = Session::load_from(&folder.files(), Some(source), None, None).expect("a stray file is ignored");
    assert_eq!(outputs(&session), outputs(&folder.session().unwrap()));
}

#[test]
fn a_shard_that_cannot_be_read_is_named() {
    let folder = sharded();
    let (index, shards) = folder.shards.clone().unwrap();
    for (broken, fail_at) in [(0, 1), (1, 3), (shards.len() - 1, 4)] {
        let held: Vec<(String, Outside)> = shards.iter().enumerate().map(|(i, (n, b))| (n.clone(), Outside::failing_at(b, if i == broken { fail_at } else { usize::MAX }))).collect();
        let source = WeightSource::Shards { index: &index, shards: held.iter().map(|(n, r)| (n.clone(), FileBytes::External(r))).collect() };
        let err = Session::load_from(&folder.files(), Some(source), None, None).err().expect("a shard failed").to_string();
        let at = held[broken].1.first_failure.get().expect("the broken shard's read failed");
        assert_eq!(err, format!("{}: could not be read at byte {at} (the disk went away). Read it again", shards[broken].0), "shard {broken}, read {fail_at}");
    }
}

/// The fixture with its index and shards changed by `edit`, loaded: the error's text.
fn refusal(edit: impl Fn(&mut Value, &mut Vec<(String, Vec<u8>)>)) -> String {
    let folder = sharded();
    let (index, mut shards) = folder.shards.clone().unwrap();
    let mut index: Value = serde_json::from_slice(&index).unwrap();
    edit(&mut index, &mut shards);
    let index = serde_json::to_vec(&index).unwrap();
    load_error(&folder, &index, &shards)
}

fn load_error(folder: &Folder, index: &[u8], shards: &[(String, Vec<u8>)]) -> String {
    let source = WeightSource::Shards { index, shards: shards.iter().map(|(n, b)| (n.clone(), FileBytes::Memory(b))).collect() };
    match Session::load_from(&folder.files(), Some(source), None, None) {
        Ok(_) => panic!("loaded, but the checkpoint was broken"),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(what: &str, message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(message.contains(needle), "{what}: the message should mention {needle:?}: {message}");
    }
}

/// Re-serialise shard `i` with `edit` applied to its tensors (name -> (dtype, shape, bytes)).
fn rewrite_shard(shards: &mut [(String, Vec<u8>)], i: usize, edit: impl Fn(&mut Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>)) {
    let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = {
        let st = SafeTensors::deserialize(&shards[i].1).unwrap();
        st.tensors().into_iter().map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect()
    };
    edit(&mut tensors);
    let views: Vec<(String, TensorView)> = tensors.iter().map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap())).collect();
    shards[i].1 = serialize(views, None).unwrap();
}

fn shard_of<'a>(index: &'a Value, tensor: &str) -> &'a str {
    index["weight_map"][tensor].as_str().unwrap()
}

#[test]
fn an_index_and_shards_that_disagree_are_refused_by_name() {
    const INDEX: &str = "model.safetensors.index.json";
    let missing = refusal(|_, shards| {
        shards.remove(2);
    });
    assert_mentions("a missing shard", &missing, &[INDEX, "model-00003-of-00005.safetensors", "not among the model's files", "Put every shard"]);

    for bad in ["../model-00001-of-00005.safetensors", "/etc/model.safetensors", "sub\\model.safetensors", "C:model.safetensors", ".hidden.safetensors", "model.bin"] {
        let message = refusal(|index, _| index["weight_map"]["lm_head.weight"] = Value::from(bad));
        assert_mentions(&format!("shard named {bad:?}"), &message, &[INDEX, "not a plain .safetensors file name", "without a folder"]);
    }

    // A tensor of a shard that holds others too (so that shard is still read), put in another.
    let moved_tensor = "model.layers.0.input_layernorm.weight";
    let moved = refusal(|index, _| {
        let elsewhere = if shard_of(index, moved_tensor) == "model-00001-of-00005.safetensors" { "model-00005-of-00005.safetensors" } else { "model-00001-of-00005.safetensors" };
        index["weight_map"][moved_tensor] = Value::from(elsewhere);
    });
    assert_mentions("a tensor the index puts in the wrong shard", &moved, &[INDEX, &format!("puts the tensor {moved_tensor} in"), "but model-", "holds it", "different saves"]);

    let phantom = refusal(|index, _| index["weight_map"]["model.layers.9.mlp.up_proj.weight"] = Value::from("model-00001-of-00005.safetensors"));
    assert_mentions("a tensor no shard holds", &phantom, &["model.layers.9.mlp.up_proj.weight", "does not hold it"]);

    let twice = refusal(|index, shards| {
        let holder = shard_of(index, "model.norm.weight").to_string();
        let other = shards.iter().position(|(n, _)| *n != holder).unwrap();
        let held = shards.iter().position(|(n, _)| *n == holder).unwrap();
        let copy = SafeTensors::deserialize(&shards[held].1).unwrap().tensor("model.norm.weight").map(|v| (v.dtype(), v.shape().to_vec(), v.data().to_vec())).unwrap();
        rewrite_shard(shards, other, |tensors| tensors.push(("model.norm.weight".into(), copy.0, copy.1.clone(), copy.2.clone())));
    });
    assert_mentions("a tensor in two shards", &twice, &["the tensor model.norm.weight is stored in both", "different saves"]);

    let empty = refusal(|index, _| index["weight_map"] = serde_json::json!({}));
    assert_mentions("an empty weight map", &empty, &[INDEX, "names no tensors"]);

    let value_not_a_name = refusal(|index, _| index["weight_map"]["lm_head.weight"] = serde_json::json!(["model-00001-of-00005.safetensors"]));
    assert_mentions("a shard that is not a name", &value_not_a_name, &[INDEX, "maps lm_head.weight to", "not to a file name"]);

    let folder = sharded();
    let (_, shards) = folder.shards.clone().unwrap();
    // A crafted index naming 100,000 shards: refused at the 4,097th, in time linear in its size.
    let crafted: serde_json::Map<String, Value> = (0..100_000).map(|i| (format!("t{i}"), Value::from(format!("model-{i:06}.safetensors")))).collect();
    let many = load_error(&folder, &serde_json::to_vec(&serde_json::json!({ "weight_map": crafted })).unwrap(), &shards);
    assert_mentions("an index naming 100,000 shards", &many, &[INDEX, "more than 4096 shard files"]);
    let not_json = load_error(&folder, b"{\"weight_map\": [", &shards);
    assert_mentions("an index that is not JSON", &not_json, &[INDEX]);
    let no_map = load_error(&folder, b"{\"metadata\": {}}", &shards);
    assert_mentions("an index without weight_map", &no_map, &[INDEX, "weight_map"]);

    let cut = refusal(|_, shards| {
        let len = shards[1].1.len();
        shards[1].1.truncate(len - 100);
    });
    assert_mentions("a shard cut short", &cut, &["model-00002-of-00005.safetensors", "not a valid safetensors file"]);

    let nan = refusal(|index, shards| {
        let holder = shard_of(index, "model.norm.weight").to_string();
        let at = shards.iter().position(|(n, _)| *n == holder).unwrap();
        rewrite_shard(shards, at, |tensors| {
            let norm = tensors.iter_mut().find(|t| t.0 == "model.norm.weight").unwrap();
            norm.3[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
        });
    });
    assert_mentions("a NaN in a shard", &nan, &["model.norm.weight", "NaN", "element 1"]);
}

/// A copy of the fixture folder in a temporary directory, `edit`ed (file name -> bytes).
struct TempCopy(PathBuf);

impl TempCopy {
    fn new(tag: &str, edit: impl Fn(&mut Vec<(String, Vec<u8>)>)) -> Self {
        let dir = std::env::temp_dir().join(format!("glassbox-sharded-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(sharded_dir())
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
            .filter(|(n, _)| n != "reference.json")
            .collect();
        edit(&mut files);
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        TempCopy(dir)
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn glassbox(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_glassbox")).args(args).output().expect("run glassbox")
}

#[test]
fn the_cli_reads_a_sharded_folder_as_one_file() {
    let is_shard = |n: &str| n.starts_with("model-") || n == "model.safetensors.index.json";
    let one_file = TempCopy::new("one", |files| {
        let shards: Vec<(String, Vec<u8>)> = files.iter().filter(|(n, _)| n.starts_with("model-")).cloned().collect();
        files.retain(|(n, _)| !is_shard(n));
        files.push(("model.safetensors".into(), merged(&shards)));
    });
    let sharded_dir = sharded_dir();
    let sharded = sharded_dir.to_str().unwrap();
    let single = one_file.0.to_str().unwrap();
    for args in [&["inspect", "--text", "Hello world"][..], &["generate", "--text", "Hello", "--max-new-tokens", "6"], &["info"]] {
        let run = |dir: &str| {
            let out = glassbox(&[&[args[0], dir][..], &args[1..]].concat());
            assert!(out.status.success(), "{args:?} on {dir}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let (a, b) = (run(sharded), run(single));
        if args[0] != "info" {
            assert_eq!(a, b, "{args:?}: the sharded folder and one file give the same output");
            continue;
        }
        // The card's size is the weights' files: the shards', not the merged file's.
        let (mut a, mut b): (Value, Value) = (serde_json::from_str(&a).unwrap(), serde_json::from_str(&b).unwrap());
        let shard_bytes: u64 = std::fs::read_dir(&sharded_dir).unwrap().map(|e| e.unwrap()).filter(|e| e.file_name().to_string_lossy().starts_with("model-")).map(|e| e.metadata().unwrap().len()).sum();
        assert_eq!(a["sizeBytes"].as_u64(), Some(shard_bytes), "info: the size of the shards");
        a.as_object_mut().unwrap().remove("sizeBytes");
        b.as_object_mut().unwrap().remove("sizeBytes");
        assert_eq!(a, b, "info: the same card but for the size");
    }

    let refused = |tag: &str, edit: &dyn Fn(&mut Vec<(String, Vec<u8>)>), needles: &[&str]| {
        let copy = TempCopy::new(tag, edit);
        let out = glassbox(&["inspect", copy.0.to_str().unwrap(), "--text", "Hello"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{tag}: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.trim().lines().count() == 1, "{tag}: {stderr:?}");
        assert_mentions(tag, &stderr, needles);
    };
    refused("no-index", &|files| files.retain(|(n, _)| n != "model.safetensors.index.json"), &["5 shard files", "not model.safetensors.index.json", "Copy model.safetensors.index.json"]);
    refused("missing-shard", &|files| files.retain(|(n, _)| n != "model-00004-of-00005.safetensors"), &["model.safetensors.index.json", "model-00004-of-00005.safetensors", "not among"]);
    refused(
        "escaping-name",
        &|files| {
            let (_, index) = files.iter_mut().find(|(n, _)| n == "model.safetensors.index.json").unwrap();
            let mut parsed: Value = serde_json::from_slice(index).unwrap();
            parsed["weight_map"]["lm_head.weight"] = Value::from("../../model.safetensors");
            *index = serde_json::to_vec(&parsed).unwrap();
        },
        &["not a plain .safetensors file name"],
    );
}
