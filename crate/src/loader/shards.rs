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
use serde_json::Value;

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
/// not a plain `.safetensors` file name.
pub fn shard_names(index: &[u8]) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    for (_, file) in weight_map(index)? {
        // Sorted and each once, by insertion: a few shards, and no sort routine of its own in the wasm.
        let at = names.iter().position(|n| *n >= file).unwrap_or(names.len());
        if names.get(at).is_none_or(|n| *n != file) {
            names.insert(at, file);
        }
    }
    if names.is_empty() {
        return Err(Error::file(INDEX, "its weight_map names no tensors", "Save the model again with save_pretrained(folder), which writes the index with its shards"));
    }
    if names.len() > MAX_SHARDS {
        return Err(Error::file(INDEX, format!("names {} shard files, more than the {MAX_SHARDS} Glassbox opens", names.len()), "Save the model again with a larger max_shard_size"));
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

/// The index's `weight_map` as (tensor, shard file) pairs. Read as a JSON value (its `metadata`, the
/// total size, is informational): the config's parser already in the wasm, not one more of its own.
fn weight_map(index: &[u8]) -> Result<Vec<(String, String)>> {
    let parsed: Value = super::parse_json(INDEX, index)?;
    let Some(map) = parsed.get("weight_map").and_then(Value::as_object) else {
        return Err(Error::file(INDEX, "has no weight_map object (tensor name -> shard file)", "Use the index save_pretrained wrote beside the shards"));
    };
    map.iter()
        .map(|(tensor, file)| match file.as_str() {
            Some(file) => Ok((tensor.clone(), file.to_string())),
            None => Err(Error::file(INDEX, format!("maps {tensor} to {file}, not to a file name"), "Use the index save_pretrained wrote beside the shards")),
        })
        .collect()
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
    let names = shard_names(index)?;
    let missing: Vec<&String> = names.iter().filter(|n| !shards.iter().any(|(have, _)| have == *n)).collect();
    if let Some(first) = missing.first() {
        let more = if missing.len() > 1 { format!(" (and {} more of its {} shards)", missing.len() - 1, names.len()) } else { String::new() };
        return Err(Error::file(INDEX, format!("names {first}, which is not among the model's files{more}"), "Put every shard the index names in the folder beside it (or pick them all)"));
    }
    let mut files = Vec::with_capacity(names.len());
    for name in &names {
        let bytes = shards.iter().find(|(have, _)| have == name).map(|(_, b)| *b).expect("checked above");
        files.push(parse(name, bytes)?);
    }
    let joined = TensorFile::join(files).map_err(|twice| {
        Error::file(
            INDEX,
            format!("the tensor {} is stored in both {} and {}", twice.name, names[twice.first], names[twice.second]),
            "The shards come from different saves: download the whole folder again",
        )
    })?;
    for (tensor, file) in weight_map(index)? {
        let wanted = names.iter().position(|n| *n == file).expect("every file of the map is among the names");
        match joined.shard_of(&tensor) {
            Some(at) if at == wanted => {}
            Some(at) => {
                return Err(Error::file(INDEX, format!("puts the tensor {tensor} in {file}, but {} holds it", names[at]), "The index and the shards come from different saves: download the whole folder again"))
            }
            None => return Err(Error::file(INDEX, format!("puts the tensor {tensor} in {file}, which does not hold it"), "The shard may be from another save or cut short: download it again")),
        }
    }
    Ok(joined)
}
