//! Shared by the integration tests: reading fixture folders and comparing numbers with a
//! message that says where they differ.
#![allow(dead_code)]

use glassbox::loader::ModelFiles;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `tests/fixtures/models/<name>` (written by `scripts/fixtures/models.py`).
pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models").join(name)
}

/// The bytes of a Hugging Face model folder.
#[derive(Clone)]
pub struct Folder {
    pub config: Vec<u8>,
    pub weights: Option<Vec<u8>>,
    pub tokenizer: Vec<u8>,
    pub tokenizer_config: Option<Vec<u8>>,
    pub special_tokens_map: Option<Vec<u8>>,
    pub generation_config: Option<Vec<u8>>,
    /// A sharded checkpoint's model.safetensors.index.json and shards (name, bytes), read when the
    /// folder has no model.safetensors.
    pub shards: Option<Shards>,
}

/// A sharded checkpoint's index (bytes) and its shards (file name, bytes).
pub type Shards = (Vec<u8>, Vec<(String, Vec<u8>)>);

impl Folder {
    pub fn read(dir: &Path) -> Folder {
        let required = |f: &str| std::fs::read(dir.join(f)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()));
        let optional = |f: &str| std::fs::read(dir.join(f)).ok();
        Folder {
            config: required("config.json"),
            weights: optional("model.safetensors"),
            tokenizer: required("tokenizer.json"),
            tokenizer_config: optional("tokenizer_config.json"),
            special_tokens_map: optional("special_tokens_map.json"),
            generation_config: optional("generation_config.json"),
            shards: optional("model.safetensors").is_none().then(|| optional("model.safetensors.index.json")).flatten().map(|index| {
                let names = glassbox::loader::shard_names(&index).expect("a valid index");
                let files = names.into_iter().filter_map(|n| optional(&n).map(|b| (n, b))).collect();
                (index, files)
            }),
        }
    }
    pub fn fixture(name: &str) -> Folder {
        Folder::read(&fixture_dir(name))
    }
    /// The weights as the loader takes them apart from [`Folder::files`]: the shards when the
    /// folder is sharded, else model.safetensors (if any).
    pub fn weight_source(&self) -> Option<glassbox::loader::WeightSource<'_>> {
        use glassbox::loader::{tensor_file::FileBytes, WeightSource};
        match &self.shards {
            Some((index, files)) => Some(WeightSource::Shards { index, shards: files.iter().map(|(n, b)| (n.clone(), FileBytes::Memory(b))).collect() }),
            None => self.weights.as_deref().map(|b| FileBytes::Memory(b).into()),
        }
    }

    /// The folder loaded as the CLI loads it (its weights in their file's storage).
    pub fn session(&self) -> glassbox::Result<glassbox::session::Session> {
        glassbox::session::Session::load_from(&self.files(), self.weight_source(), None, None)
    }

    pub fn files(&self) -> ModelFiles<'_> {
        ModelFiles {
            config: &self.config,
            weights: self.weights.as_deref(),
            tokenizer: &self.tokenizer,
            tokenizer_config: self.tokenizer_config.as_deref(),
            special_tokens_map: self.special_tokens_map.as_deref(),
            generation_config: self.generation_config.as_deref(),
        }
    }
}

/// Fixture `name` with its config.json changed by `edit` (for refusals and key-by-key checks).
pub fn edited(name: &str, edit: impl Fn(&mut serde_json::Map<String, Value>)) -> Folder {
    let mut folder = Folder::fixture(name);
    let mut cfg: Value = serde_json::from_slice(&folder.config).unwrap();
    edit(cfg.as_object_mut().unwrap());
    folder.config = serde_json::to_vec(&cfg).unwrap();
    folder
}

/// The message of a model that must not load.
pub fn load_error(folder: &Folder) -> String {
    match glassbox::models::Model::load(&folder.files(), None) {
        Ok(_) => panic!("expected a refusal"),
        Err(e) => e.to_string(),
    }
}

/// `reference.json` of a fixture: `{"meta": .., "cases": [..]}`.
pub fn reference(name: &str) -> Value {
    let path = fixture_dir(name).join("reference.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every number of a nested JSON array, row-major.
pub fn flat(v: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Number(n) => out.push(n.as_f64().expect("number")),
            other => panic!("expected numbers, found {other}"),
        }
    }
    walk(v, &mut out);
    out
}

pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array().expect("an array of ids").iter().map(|x| x.as_u64().expect("an id") as u32).collect()
}

/// Largest absolute difference and where it is; panics with `what` if above `tol` or lengths differ.
pub fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: {} values computed, {} in the reference", got.len(), want.len());
    let mut worst = (0.0f64, 0usize);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g as f64 - w).abs();
        if !(d <= worst.0) {
            worst = (d, i);
        }
    }
    let (d, i) = worst;
    assert!(d <= tol, "{what}: max |diff| {d:.3e} > {tol:e} at flat index {i} (got {}, want {})", got[i], want[i]);
}

/// Rows `rows` of a `[T][cols]` buffer, concatenated.
pub fn pick_rows(data: &[f32], cols: usize, rows: &[u32]) -> Vec<f32> {
    rows.iter().flat_map(|&r| data[r as usize * cols..(r as usize + 1) * cols].iter().copied()).collect()
}

/// `REPLACE=1 cargo test ...` rewrites the reference files first, by running the development-time
/// generator `scripts/fixtures/<script>` with `args` (it needs torch and transformers), then tests
/// against what it wrote. Without `REPLACE=1` nothing runs: CI only reads committed references, and
/// no reference is ever edited by hand. Runs once per test binary, whichever test asks first.
pub fn regenerate_if_asked(script: &str, args: &[&str]) {
    static DONE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    if std::env::var("REPLACE").as_deref() != Ok("1") {
        return;
    }
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done.iter().any(|s| s == script) {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new("python3")
        .arg(root.join("scripts/fixtures").join(script))
        .args(args)
        .current_dir(&root)
        .status()
        .unwrap_or_else(|e| panic!("REPLACE=1: cannot run python3 scripts/fixtures/{script}: {e}"));
    assert!(status.success(), "REPLACE=1: scripts/fixtures/{script} failed ({status})");
    done.push(script.to_string());
}

/// Bytes held "elsewhere" and read a range at a time through `ReadAt`, as the page's worker and the
/// CLI's file on disk hand them over: every read is a copy. It remembers the largest read, counts the
/// reads, and from read number `fail_at` on (counted from 1) fails every read, remembering the offset
/// of the first that failed and counting those after it.
pub struct Outside {
    pub bytes: Vec<u8>,
    pub fail_at: usize,
    pub largest_read: std::cell::Cell<usize>,
    pub reads: std::cell::Cell<usize>,
    pub first_failure: std::cell::Cell<Option<usize>>,
    pub after_failure: std::cell::Cell<usize>,
}

impl Outside {
    /// A copy of `bytes` that never fails.
    pub fn new(bytes: &[u8]) -> Self {
        Outside::failing_at(bytes, usize::MAX)
    }

    pub fn failing_at(bytes: &[u8], fail_at: usize) -> Self {
        let zero = || std::cell::Cell::new(0);
        Outside { bytes: bytes.to_vec(), fail_at, largest_read: zero(), reads: zero(), first_failure: Default::default(), after_failure: zero() }
    }
}

impl glassbox::loader::tensor_file::ReadAt for Outside {
    fn len(&self) -> usize {
        self.bytes.len()
    }
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), glassbox::loader::tensor_file::ReadError> {
        self.reads.set(self.reads.get() + 1);
        self.largest_read.set(self.largest_read.get().max(dst.len()));
        if self.reads.get() < self.fail_at {
            dst.copy_from_slice(&self.bytes[offset..offset + dst.len()]);
            return Ok(());
        }
        match self.first_failure.get() {
            None => self.first_failure.set(Some(offset)),
            Some(_) => self.after_failure.set(self.after_failure.get() + 1),
        }
        Err(glassbox::loader::tensor_file::ReadError { problem: format!("could not be read at byte {offset} (the disk went away)"), fix: "Read it again" })
    }
}
