//! A checkpoint split over several safetensors files, as `save_pretrained` writes one larger than its
//! `max_shard_size` (5 GB by default in transformers 4): `model.safetensors.index.json`, whose
//! `weight_map` names the file that holds each tensor, beside `model-00001-of-00002.safetensors` and
//! the other shards.
//!
//! The shards are read as one file would be ([`TensorFile::join`]), each through its own reader, so
//! a sharded checkpoint costs its packed weights and nothing more. The index decides which files are
//! read, and is checked against what they hold: a shard it names that is not there, a tensor it puts
//! in a shard that does not hold it, or a tensor two shards both hold is refused by name (the files
//! then come from different saves). Shard names are plain file names: the page fetches them next to
//! the index and the CLI opens them in the folder, so a name with a path in it is refused.

use super::tensor_file::{FileBytes, TensorFile};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The index's file name.
pub const INDEX: &str = "model.safetensors.index.json";

/// More shards than any published checkpoint has (the largest split a few hundred ways): a bound on
/// the files a crafted index can make the loader open.
const MAX_SHARDS: usize = 4096;

/// Where a model's weights are: one `model.safetensors`, or the shards an index names.
pub enum WeightSource<'a> {
    File(FileBytes<'a>),
    /// `index`: the bytes of model.safetensors.index.json; `shards`: each shard's file name and bytes
    /// (at least those the index names; others are not read).
    Shards { index: &'a [u8], shards: Vec<(String, FileBytes<'a>)> },
}

impl<'a> From<FileBytes<'a>> for WeightSource<'a> {
    fn from(bytes: FileBytes<'a>) -> Self {
        WeightSource::File(bytes)
    }
}

impl WeightSource<'_> {
    /// Bytes of every file the weights are read from (the index's shards only).
    pub fn len(&self) -> usize {
        match self {
            WeightSource::File(bytes) => bytes.len(),
            WeightSource::Shards { index, shards } => {
                let names = shard_names(index).unwrap_or_default();
                shards.iter().filter(|(name, _)| names.contains(name)).map(|(_, bytes)| bytes.len()).sum()
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The shard files `index` (the bytes of model.safetensors.index.json) names, each once, in order:
/// what a folder must hold beside it. Refused: an index that is not one, an empty map, a name that is
/// not a plain `.safetensors` file name. Linear in the index's size, whatever it holds.
pub fn shard_names(index: &[u8]) -> Result<Vec<String>> {
    names_of(&weight_map(index)?)
}

fn names_of(map: &Map<String, Value>) -> Result<Vec<String>> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    for file in map.values().filter_map(Value::as_str) {
        if !seen.contains_key(file) {
            if seen.len() == MAX_SHARDS {
                return Err(Error::file(INDEX, format!("names more than {MAX_SHARDS} shard files"), "Save the model again with a larger max_shard_size"));
            }
            seen.insert(file.to_string(), 0);
        }
    }
    // Sorted by insertion: at most MAX_SHARDS names, and no sort routine of its own in the wasm.
    let mut names: Vec<String> = Vec::with_capacity(seen.len());
    for file in seen.into_keys() {
        let at = names.iter().position(|n| *n > file).unwrap_or(names.len());
        names.insert(at, file);
    }
    if names.is_empty() {
        return Err(Error::file(INDEX, "its weight_map names no tensors", "Save the model again with save_pretrained(folder), which writes the index with its shards"));
    }
    if let Some(bad) = names.iter().find(|n| !plain_shard_name(n)) {
        return Err(Error::file(
            INDEX,
            format!("names the shard {bad:?}, which is not a plain .safetensors file name"),
            "Shards sit beside the index: each name must be a file name such as model-00001-of-00002.safetensors, without a folder",
        ));
    }
    Ok(names)
}

/// The index's `weight_map` (tensor name -> shard file), every value checked to be a string. Read as
/// a JSON value (its `metadata`, the total size, is informational): the config's parser already in
/// the wasm, not one more of its own.
fn weight_map(index: &[u8]) -> Result<Map<String, Value>> {
    let parsed: Value = super::parse_json(INDEX, index)?;
    let Value::Object(mut top) = parsed else {
        return Err(Error::file(INDEX, "is not a JSON object", "Use the index save_pretrained wrote beside the shards"));
    };
    let Some(Value::Object(map)) = top.remove("weight_map") else {
        return Err(Error::file(INDEX, "has no weight_map object (tensor name -> shard file)", "Use the index save_pretrained wrote beside the shards"));
    };
    if let Some((tensor, file)) = map.iter().find(|(_, file)| !file.is_string()) {
        return Err(Error::file(INDEX, format!("maps {tensor} to {file}, not to a file name"), "Use the index save_pretrained wrote beside the shards"));
    }
    Ok(map)
}

/// A file name of the folder itself: no separator, no `..`, nothing hidden, ending `.safetensors`.
fn plain_shard_name(name: &str) -> bool {
    name.len() > ".safetensors".len()
        && name.len() <= 255
        && name.ends_with(".safetensors")
        && !name.starts_with('.')
        && !name.bytes().any(|b| b == b'/' || b == b'\\' || b == b':' || b < 0x20 || b == 0x7f)
}

/// The shards `index` names, taken from `shards` (file name and bytes) and checked against it, as one
/// set of tensors. `parse` parses one file (its errors are named by the shard's file name here).
pub fn open<'a>(index: &[u8], shards: Vec<(String, FileBytes<'a>)>, parse: impl Fn(&str, FileBytes<'a>) -> Result<TensorFile<'a>>) -> Result<TensorFile<'a>> {
    let map = weight_map(index)?;
    let names = names_of(&map)?;
    // Lookups by name, so a large index or many files given stay linear.
    let given: HashMap<String, u32> = shards.iter().enumerate().map(|(i, (name, _))| (name.clone(), i as u32)).collect();
    let missing: Vec<&String> = names.iter().filter(|n| !given.contains_key(n.as_str())).collect();
    if let Some(first) = missing.first() {
        let more = if missing.len() > 1 { format!(" (and {} more of its {} shards)", missing.len() - 1, names.len()) } else { String::new() };
        return Err(Error::file(INDEX, format!("names {first}, which is not among the model's files{more}"), "Put every shard the index names in the folder beside it (or pick them all)"));
    }
    let mut files = Vec::with_capacity(names.len());
    for name in &names {
        files.push(parse(name, shards[given[name.as_str()] as usize].1)?);
    }
    let joined = TensorFile::join(files).map_err(|twice| {
        Error::file(
            INDEX,
            format!("the tensor {} is stored in both {} and {}", twice.name, names[twice.first], names[twice.second]),
            "The shards come from different saves: download the whole folder again",
        )
    })?;
    let position: HashMap<String, u32> = names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
    for (tensor, file) in &map {
        let file = file.as_str().unwrap_or_default();
        match joined.shard_of(tensor) {
            Some(at) if at as u32 == position[file] => {}
            Some(at) => {
                return Err(Error::file(INDEX, format!("puts the tensor {tensor} in {file}, but {} holds it", names[at]), "The index and the shards come from different saves: download the whole folder again"))
            }
            None => return Err(Error::file(INDEX, format!("puts the tensor {tensor} in {file}, which does not hold it"), "The shard may be from another save or cut short: download it again")),
        }
    }
    Ok(joined)
}
