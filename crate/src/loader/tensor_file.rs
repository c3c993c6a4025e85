//! A `model.safetensors` file (or the shards of a sharded checkpoint) read one tensor at a time.
//!
//! The file is an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
//! and byte range, then the data. Only the header is parsed up front; a tensor's bytes are read when a
//! layer asks for it. The bytes may be a slice already in memory (the CLI, the tests: tensors are
//! borrowed in place) or held elsewhere and copied in on demand ([`ReadAt`]: the page keeps the file
//! in a JavaScript buffer, so wasm memory never holds the whole file next to the packed weights;
//! wasm memory never shrinks, so a transient copy of the file would stay the tab's cost for good).

use safetensors::tensor::{Metadata, SafeTensorError, TensorInfo};
use serde::Deserialize;
use std::collections::HashMap;

/// The safetensors crate's own limit on the JSON header (100 MB).
const MAX_HEADER_BYTES: usize = 100_000_000;
/// The little-endian u64 before the header.
const LENGTH_BYTES: usize = 8;

/// Bytes held outside the engine's memory, copied in a range at a time.
pub trait ReadAt {
    /// The file's length in bytes.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copy `dst.len()` bytes starting at `offset` into `dst` (the caller keeps the range inside
    /// `len`), or say why they cannot be had: the file changed, moved or was cut short after its
    /// header was read, a disk failed. The load stops at the first such read.
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), ReadError>;
}

/// Why a [`ReadAt`] could not give bytes: what happened (with the byte offset) and what to do. The
/// loader names the file it was reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub problem: String,
    pub fix: &'static str,
}

/// Why a safetensors file was refused: its header breaks the format (the safetensors crate's own
/// error value and words), or its bytes could not be read.
#[derive(Debug)]
pub enum FileError {
    Invalid(SafeTensorError),
    Unreadable(ReadError),
}

impl From<SafeTensorError> for FileError {
    fn from(e: SafeTensorError) -> Self {
        FileError::Invalid(e)
    }
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::Invalid(e) => e.fmt(f),
            FileError::Unreadable(e) => f.write_str(&e.problem),
        }
    }
}

/// Where the file's bytes are.
#[derive(Clone, Copy)]
pub enum FileBytes<'a> {
    /// The whole file in memory: tensors are borrowed, never copied.
    Memory(&'a [u8]),
    /// Elsewhere: each tensor is copied in when asked for.
    External(&'a dyn ReadAt),
}

impl FileBytes<'_> {
    pub fn len(&self) -> usize {
        match self {
            FileBytes::Memory(b) => b.len(),
            FileBytes::External(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file's first `n` bytes (fewer when it is shorter), e.g. to say what a file that is not
    /// safetensors is instead; `None` when they cannot be read.
    pub fn head(&self, n: usize) -> Option<Vec<u8>> {
        let mut out = vec![0; n.min(self.len())];
        self.read_at(0, &mut out).ok()?;
        Some(out)
    }

    /// `dst.len()` bytes from `offset` (inside the file: checked by the header's validation).
    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), ReadError> {
        match self {
            FileBytes::Memory(b) => {
                dst.copy_from_slice(&b[offset..offset + dst.len()]);
                Ok(())
            }
            FileBytes::External(r) => r.read_at(offset, dst),
        }
    }
}

/// The header as written: `__metadata__` (free-form strings) beside one entry per tensor. Named as the
/// safetensors crate names its own, because serde puts the name in its messages and a file must be refused
/// here with the words `SafeTensors::deserialize` would use.
#[derive(Deserialize)]
struct HashMetadata {
    #[serde(rename = "__metadata__")]
    metadata: Option<HashMap<String, String>>,
    #[serde(flatten)]
    tensors: HashMap<String, TensorInfo>,
}

/// One stored tensor: its header entry, and which file of the checkpoint holds it (a sharded
/// checkpoint has several). Reads as its [`TensorInfo`] (dtype, shape, byte range in its file).
#[derive(Clone, Copy)]
pub struct Stored<'t> {
    shard: usize,
    info: &'t TensorInfo,
}

impl std::ops::Deref for Stored<'_> {
    type Target = TensorInfo;
    fn deref(&self) -> &TensorInfo {
        self.info
    }
}

/// One safetensors file: its parsed header and the bytes behind it.
struct Shard<'a> {
    /// Its file name, for messages (`model.safetensors`, or a shard's).
    name: String,
    metadata: Metadata,
    /// The tensors' names in file order (`Metadata::offset_keys` would sort them again on every call).
    names: Vec<String>,
    /// Where the data starts: after the length and the header.
    data_start: usize,
    bytes: FileBytes<'a>,
}

/// The tensors of a checkpoint: one safetensors file, or the shards of a sharded one
/// ([`TensorFile::join`]), read through the same calls.
pub struct TensorFile<'a> {
    shards: Vec<Shard<'a>>,
    /// Which shard holds each tensor, when there are several (empty for one file).
    shard_of: HashMap<String, u32>,
}

/// Two shards of one checkpoint both hold `name` (shards `first` and `second` of those given to
/// [`TensorFile::join`]): which one the model should use is unknowable.
#[derive(Debug)]
pub struct StoredTwice {
    pub name: String,
    pub first: usize,
    pub second: usize,
}

impl<'a> TensorFile<'a> {
    /// Parse and validate the header: every tensor's byte range must follow the previous one, match its
    /// dtype and shape, and the last must end exactly at the end of the file (the checks of
    /// `SafeTensors::deserialize`, with its error values, so a file is refused here as it would be there).
    /// `name`: the file's name, which read errors carry.
    pub fn parse(name: &str, bytes: FileBytes<'a>) -> Result<Self, FileError> {
        Ok(TensorFile { shards: vec![Shard::parse(name, bytes)?], shard_of: HashMap::new() })
    }

    /// The shards of one checkpoint, each parsed alone, as one set of tensors. A name held by two
    /// shards is refused: nothing says which copy is meant.
    pub fn join(files: Vec<TensorFile<'a>>) -> Result<Self, StoredTwice> {
        let shards: Vec<Shard<'a>> = files.into_iter().flat_map(|f| f.shards).collect();
        let mut shard_of = HashMap::new();
        for (i, shard) in shards.iter().enumerate() {
            for name in &shard.names {
                if let Some(first) = shard_of.insert(name.clone(), i as u32) {
                    return Err(StoredTwice { name: name.clone(), first: first as usize, second: i });
                }
            }
        }
        Ok(TensorFile { shards, shard_of })
    }

    /// The stored tensor named `name`.
    pub fn info(&self, name: &str) -> Option<Stored<'_>> {
        let shard = if self.shards.len() == 1 { 0 } else { *self.shard_of.get(name)? as usize };
        self.shards[shard].metadata.info(name).map(|info| Stored { shard, info })
    }

    /// The shard (`0` for a single file) that holds `name`.
    pub fn shard_of(&self, name: &str) -> Option<usize> {
        self.info(name).map(|t| t.shard)
    }

    /// Every stored tensor, in file order (shard after shard).
    pub fn tensors(&self) -> Vec<(String, Stored<'_>)> {
        let mut all = Vec::new();
        for (shard, file) in self.shards.iter().enumerate() {
            all.extend(file.names.iter().filter_map(|name| file.metadata.info(name).map(|info| (name.clone(), Stored { shard, info }))));
        }
        all
    }

    /// The tensor's bytes in place, when its file is in memory.
    pub fn borrowed(&self, t: Stored<'_>) -> Option<&'a [u8]> {
        let shard = &self.shards[t.shard];
        match shard.bytes {
            FileBytes::Memory(b) => Some(&b[shard.data_start + t.data_offsets.0..shard.data_start + t.data_offsets.1]),
            FileBytes::External(_) => None,
        }
    }

    /// Copy `dst.len()` bytes of the tensor, starting `at` bytes into it; a read that fails is an
    /// error naming the file.
    pub fn read(&self, t: Stored<'_>, at: usize, dst: &mut [u8]) -> crate::error::Result<()> {
        debug_assert!(t.data_offsets.0 + at + dst.len() <= t.data_offsets.1);
        let shard = &self.shards[t.shard];
        shard.bytes.read_at(shard.data_start + t.data_offsets.0 + at, dst).map_err(|e| crate::error::Error::file(shard.name.as_str(), e.problem, e.fix))
    }

    /// Visit the tensor's bytes in order, in pieces of at most `chunk` bytes (a multiple of 8, so no
    /// value straddles two pieces): borrowed in place, or copied through one small buffer. Stops at
    /// the first error, the read's or `visit`'s.
    pub fn for_each_chunk(&self, t: Stored<'_>, chunk: usize, mut visit: impl FnMut(&[u8]) -> crate::error::Result<()>) -> crate::error::Result<()> {
        let size = t.data_offsets.1 - t.data_offsets.0;
        if let Some(all) = self.borrowed(t) {
            return all.chunks(chunk.max(8)).try_for_each(visit);
        }
        let mut buffer = vec![0u8; chunk.max(8).min(size)];
        let mut at = 0;
        while at < size {
            let piece = &mut buffer[..chunk.max(8).min(size - at)];
            self.read(t, at, piece)?;
            visit(piece)?;
            at += piece.len();
        }
        Ok(())
    }
}

impl<'a> Shard<'a> {
    fn parse(name: &str, bytes: FileBytes<'a>) -> Result<Self, FileError> {
        let file_len = bytes.len();
        if file_len < LENGTH_BYTES {
            return Err(SafeTensorError::HeaderTooSmall.into());
        }
        let mut length = [0u8; LENGTH_BYTES];
        bytes.read_at(0, &mut length).map_err(FileError::Unreadable)?;
        let n = usize::try_from(u64::from_le_bytes(length)).map_err(|_| SafeTensorError::HeaderTooLarge)?;
        if n > MAX_HEADER_BYTES {
            return Err(SafeTensorError::HeaderTooLarge.into());
        }
        let data_start = n.checked_add(LENGTH_BYTES).filter(|&end| end <= file_len).ok_or(SafeTensorError::InvalidHeaderLength)?;
        // The header is copied (it is small next to the data); a length past the file was refused above,
        // so a crafted length cannot make this allocate more than the file holds.
        let mut header = vec![0u8; n];
        bytes.read_at(LENGTH_BYTES, &mut header).map_err(FileError::Unreadable)?;
        let text = std::str::from_utf8(&header).map_err(SafeTensorError::InvalidHeader)?;
        // Parsed from the (checked) bytes: every other JSON file is read with `from_slice`, and
        // `from_str` would compile a second copy of serde_json's parser into the wasm.
        let parsed: HashMetadata = serde_json::from_slice(text.as_bytes()).map_err(SafeTensorError::InvalidHeaderDeserialization)?;
        let tensors: Vec<(String, TensorInfo)> = parsed.tensors.into_iter().collect();
        let order = stable_order(&tensors.iter().map(|(_, info)| info.data_offsets).collect::<Vec<_>>());
        let mut slots: Vec<Option<(String, TensorInfo)>> = tensors.into_iter().map(Some).collect();
        let sorted: Vec<(String, TensorInfo)> = order.iter().filter_map(|&i| slots[i].take()).collect();
        let names = sorted.iter().map(|(name, _)| name.clone()).collect();
        let metadata = Metadata::new(parsed.metadata, sorted)?;
        if metadata.data_len() != file_len - data_start {
            return Err(SafeTensorError::MetadataIncompleteBuffer.into());
        }
        Ok(Shard { name: name.to_string(), metadata, names, data_start, bytes })
    }
}

/// The order that sorts `keys` stably (equal keys keep their order), the order `sort_by_key` gives:
/// a bottom-up merge sort of indices. The standard library's sort would cost its own copy of about
/// 3.5 KB of wasm for this element type and key; a header holds a few thousand tensors at most.
fn stable_order(keys: &[(usize, usize)]) -> Vec<usize> {
    let n = keys.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut merged = vec![0; n];
    let mut width = 1;
    while width < n {
        for start in (0..n).step_by(2 * width) {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut left, mut right) = (start, mid);
            for slot in &mut merged[start..end] {
                // Ties take the left run first: that is what keeps the sort stable.
                if right >= end || (left < mid && keys[order[left]] <= keys[order[right]]) {
                    *slot = order[left];
                    left += 1;
                } else {
                    *slot = order[right];
                    right += 1;
                }
            }
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    order
}

#[cfg(test)]
mod tests {
    use super::stable_order;

    /// The merge sort gives `sort_by_key`'s order, ties included, on every length up to 40.
    #[test]
    fn stable_order_is_sort_by_key() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for n in 0..=40 {
            for _ in 0..20 {
                let keys: Vec<(usize, usize)> = (0..n)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        ((seed % 5) as usize, (seed / 5 % 3) as usize)
                    })
                    .collect();
                let mut expected: Vec<usize> = (0..n).collect();
                expected.sort_by_key(|&i| keys[i]);
                assert_eq!(stable_order(&keys), expected, "keys {keys:?}");
            }
        }
    }
}
