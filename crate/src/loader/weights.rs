//! Named tensors from a `model.safetensors` file (or seeded random ones), as f32 or in the file's
//! 16-bit storage.
//!
//! Memory: a tensor is read when a layer asks for it and converted straight into the layer's own
//! storage. A file in memory is borrowed in place (no copy at all); from a file held elsewhere the
//! transient is one layer matrix in the file's dtype, the token table one block of rows at a time
//! ([`Weights::linear_out_in`]), and f32 vectors are converted a chunk at a time.
//!
//! Model files ask for tensors by their Hugging Face name *without* the task prefix
//! (`h.0.attn.c_attn.weight`, `encoder.layer.0.attention.self.query.weight`); the prefixes a
//! family's checkpoints may carry (`transformer.`, `bert.`, `model.`) are tried in order. Every
//! tensor is checked against the shape the config implies before a single value is used.

use crate::error::{Error, Result};
use super::tensor_file::{FileBytes, FileError, Stored, TensorFile};
use crate::kernels::{Layout, Linear, Storage, StoredMatrix};
use safetensors::Dtype;
use std::cell::Cell;

const FILE: &str = "model.safetensors";

/// Where weights come from.
pub enum Weights<'a> {
    /// A parsed safetensors header and the file's bytes (in memory or read on demand).
    /// `storage`: how `Linear` layers keep their weights (`None`: as the file stores them).
    /// `looked_up`: the stored names a model asked for (read, or checked for), for [`Weights::tracker`].
    File { tensors: TensorFile<'a>, prefixes: Vec<String>, storage: Option<Storage>, looked_up: std::rc::Rc<std::cell::RefCell<Vec<String>>> },
    /// Seeded random weights for the "untrained twin" of an architecture: no file needed.
    /// `made` counts the values handed out so far, against [`super::limits::MAX_RANDOM_PARAMS`].
    Random { seed: u64, std: f32, made: Cell<usize>, storage: Option<Storage> },
}

impl<'a> Weights<'a> {
    /// Parse a safetensors buffer. Fails with a message naming the problem if the file is
    /// empty, truncated or its header lies about offsets.
    pub fn from_safetensors(bytes: &'a [u8]) -> Result<Self> {
        Self::from_file(FileBytes::Memory(bytes))
    }

    /// [`Weights::from_safetensors`] for a file in memory or held elsewhere ([`FileBytes::External`]:
    /// only the header and then one tensor at a time are copied in).
    pub fn from_file(bytes: FileBytes<'a>) -> Result<Self> {
        Self::checked(parse_file(FILE, bytes)?)
    }

    /// The weights of a sharded checkpoint: `index` (model.safetensors.index.json) and the shards'
    /// file names and bytes (see [`super::shards`]).
    pub fn from_shards(index: &[u8], shards: Vec<(String, FileBytes<'a>)>) -> Result<Self> {
        Self::checked(super::shards::open(index, shards, parse_file)?)
    }

    /// Every value scanned for NaN and infinities before any is used.
    fn checked(tensors: TensorFile<'a>) -> Result<Self> {
        let weights = Weights::File { tensors, prefixes: vec![String::new()], storage: None, looked_up: Default::default() };
        check_finite_all(&weights)?;
        Ok(weights)
    }

    pub fn random(seed: u64) -> Self {
        Weights::Random { seed, std: 0.02, made: Cell::new(0), storage: None }
    }

    /// Keep `Linear` weights in `storage` (`None`: the file's own dtype; f32 for random weights).
    pub fn with_storage(mut self, choice: Option<Storage>) -> Self {
        match &mut self {
            Weights::File { storage, .. } | Weights::Random { storage, .. } => *storage = choice,
        }
        self
    }

    /// The storage asked for with [`Weights::with_storage`].
    pub fn storage(&self) -> Option<Storage> {
        match self {
            Weights::File { storage, .. } | Weights::Random { storage, .. } => *storage,
        }
    }

    /// A required tensor of exactly `shape` in the dtype the file stores it (f16 and bf16 stay
    /// 16-bit; f64 and random weights come as f32), for layers that keep their file's storage.
    /// A file in memory is borrowed, not copied: packing reads it in place. A file held elsewhere
    /// is copied in, this one tensor only, straight into a vector of its dtype.
    pub fn get_stored(&self, name: &str, shape: &[usize]) -> Result<StoredMatrix<'a>> {
        if let Weights::File { tensors, .. } = self {
            if let Some(info) = self.resolve(name).and_then(|full| tensors.info(&full)) {
                if info.shape == shape {
                    if let Some(bytes) = tensors.borrowed(info) {
                        match info.dtype {
                            Dtype::F16 => return Ok(StoredMatrix::F16Le(bytes)),
                            Dtype::BF16 => return Ok(StoredMatrix::BF16Le(bytes)),
                            Dtype::F32 => return Ok(StoredMatrix::F32Le(bytes)),
                            _ => {}
                        }
                    }
                    match info.dtype {
                        Dtype::F16 => return Ok(StoredMatrix::F16(read_u16(tensors, info, 0, info.data_offsets.1 - info.data_offsets.0)?)),
                        Dtype::BF16 => return Ok(StoredMatrix::BF16(read_u16(tensors, info, 0, info.data_offsets.1 - info.data_offsets.0)?)),
                        _ => {} // f32 (and refused dtypes): through `get`, chunk by chunk
                    }
                }
            }
        }
        // A random twin kept in 16 bits is drawn straight into them (the bits packing would round
        // the f32 draws to), so the largest table never exists in f32 as well.
        match self.storage() {
            Some(Storage::F16) if matches!(self, Weights::Random { .. }) => {
                return self.draw(name, shape, |v| half::f16::from_f32(v).to_bits()).map(StoredMatrix::F16);
            }
            Some(Storage::BF16) if matches!(self, Weights::Random { .. }) => {
                return self.draw(name, shape, |v| half::bf16::from_f32(v).to_bits()).map(StoredMatrix::BF16);
            }
            _ => {}
        }
        self.get(name, shape).map(StoredMatrix::F32)
    }

    /// An `nn.Linear`-layout matrix `[N][K]` (`d_out` rows of `d_in`) packed into a [`Linear`] in the load's
    /// storage, `bias` read after the matrix is found. A file held elsewhere and a random twin are packed a
    /// block of rows at a time ([`Linear::from_row_blocks`]), so a 50k-row token table never exists in its
    /// file's form (or in f32) beside its packed form; a file in memory is packed in place.
    pub fn linear_out_in(&self, name: &str, d_in: usize, d_out: usize, bias: &dyn Fn() -> Result<Option<Vec<f32>>>) -> Result<Linear> {
        self.linear_out_in_as(name, d_in, d_out, bias, self.storage())
    }

    /// [`Weights::linear_out_in`] in `storage` rather than the load's (`None`: the file's own).
    pub fn linear_out_in_as(&self, name: &str, d_in: usize, d_out: usize, bias: &dyn Fn() -> Result<Option<Vec<f32>>>, storage: Option<Storage>) -> Result<Linear> {
        let shape = [d_out, d_in];
        // Rows per block: about a MiB of f32.
        let rows = ((1usize << 20) / (4 * d_in.max(1))).max(1);
        match self {
            Weights::File { tensors, .. } => {
                let found = self.resolve(name).and_then(|full| tensors.info(&full));
                if let Some(info) = found.filter(|info| info.shape == shape && tensors.borrowed(*info).is_none()) {
                    let from = match info.dtype {
                        Dtype::F32 => Some(Storage::F32),
                        Dtype::F16 => Some(Storage::F16),
                        Dtype::BF16 => Some(Storage::BF16),
                        _ => None,
                    };
                    if let Some(from) = from {
                        let to = storage.unwrap_or(from);
                        if to != Storage::F16 || from == Storage::F16 {
                            let b = bias()?;
                            let width = if from == Storage::F32 { 4 } else { 2 };
                            // The packer takes blocks, not errors: a block that cannot be read is
                            // zeros, the rest is not read, and the load fails with the read's error.
                            let mut failed = None;
                            let packed = Linear::from_row_blocks(d_in, d_out, b.clone(), to, rows, &mut |r: std::ops::Range<usize>| {
                                let (at, len) = (r.start * d_in * width, r.len() * d_in * width);
                                let read = match (failed.is_some(), from) {
                                    (true, _) => None,
                                    (_, Storage::F32) => read_f32(tensors, info, at, len).map(StoredMatrix::F32).map_err(|e| failed = Some(e)).ok(),
                                    (_, Storage::F16) => read_u16(tensors, info, at, len).map(StoredMatrix::F16).map_err(|e| failed = Some(e)).ok(),
                                    _ => read_u16(tensors, info, at, len).map(StoredMatrix::BF16).map_err(|e| failed = Some(e)).ok(),
                                };
                                read.unwrap_or_else(|| StoredMatrix::F32(vec![0.0; len / width]))
                            });
                            if let Some(e) = failed {
                                return Err(e);
                            }
                            if let Some(packed) = packed {
                                return Ok(packed);
                            }
                            return Ok(Linear::from_stored(self.get_stored(name, &shape)?, Layout::OutIn, d_in, d_out, b, storage));
                        }
                    }
                }
                let weight = self.get_stored(name, &shape)?;
                Ok(Linear::from_stored(weight, Layout::OutIn, d_in, d_out, bias()?, storage))
            }
            Weights::Random { seed, std, made, .. } => {
                // The same draws as `random_tensor`, one stream read a block at a time.
                count_random(made, name, &shape)?;
                let b = bias()?;
                let to = storage.unwrap_or(Storage::F32);
                let mut rng = crate::rng::Rng::new(stream_seed(name, *seed));
                let std = *std;
                let stored = |draws: &mut dyn Iterator<Item = f32>| match to {
                    Storage::F16 => StoredMatrix::F16(draws.map(|v| half::f16::from_f32(v).to_bits()).collect()),
                    Storage::BF16 => StoredMatrix::BF16(draws.map(|v| half::bf16::from_f32(v).to_bits()).collect()),
                    _ => StoredMatrix::F32(draws.collect()),
                };
                let packed = Linear::from_row_blocks(d_in, d_out, b.clone(), to, rows, &mut |r: std::ops::Range<usize>| stored(&mut (0..r.len() * d_in).map(|_| rng.normal() * std)));
                if let Some(packed) = packed {
                    return Ok(packed);
                }
                // Blocks that cannot be joined (f16 values of 64 or more in some blocks only, or past
                // f16's range): the same draws again, packed whole.
                let mut rng = crate::rng::Rng::new(stream_seed(name, *seed));
                let whole = stored(&mut (0..d_out * d_in).map(|_| rng.normal() * std));
                Ok(Linear::from_stored(whole, Layout::OutIn, d_in, d_out, b, Some(to)))
            }
        }
    }

    /// The random twin's tensor `name`, each value through `store`.
    fn draw<T>(&self, name: &str, shape: &[usize], store: impl Fn(f32) -> T) -> Result<Vec<T>> {
        let Weights::Random { seed, std, made, .. } = self else {
            return Err(Error::tensor(name, "is not a random-weight tensor", "Load the file's tensors with `get`"));
        };
        count_random(made, name, shape)?;
        Ok(random_tensor(name, shape, *seed, *std, store))
    }

    /// Names may also appear with any of these prefixes (tried after the bare name).
    pub fn with_prefixes(mut self, extra: &[&str]) -> Self {
        if let Weights::File { prefixes, .. } = &mut self {
            prefixes.extend(extra.iter().map(|p| p.to_string()));
        }
        self
    }

    /// The stored name under which `name` is found, if any (noted as looked up). Not inlined: it is
    /// called from every loader's many lookups.
    #[inline(never)]
    fn resolve(&self, name: &str) -> Option<String> {
        match self {
            Weights::File { tensors, prefixes, looked_up, .. } => {
                let full = prefixes.iter().map(|p| format!("{p}{name}")).find(|full| tensors.info(full).is_some())?;
                looked_up.borrow_mut().push(full.clone());
                Some(full)
            }
            Weights::Random { .. } => Some(name.to_string()),
        }
    }

    /// A way to ask, once the model is built from these weights, which stored tensors it never asked for
    /// ([`UnusedTensors::list`]).
    pub fn tracker(&self) -> UnusedTensors {
        match self {
            // In the file's order, not sorted: a sort of strings costs the shipped wasm 4 KB; front ends sort.
            Weights::File { tensors, looked_up, .. } => {
                UnusedTensors { stored: tensors.tensors().into_iter().map(|(name, _)| name).collect(), looked_up: Some(looked_up.clone()) }
            }
            Weights::Random { .. } => UnusedTensors { stored: Vec::new(), looked_up: None },
        }
    }

    /// The stored shape of `name`, if the file has it (`None` for random weights).
    pub fn shape_of(&self, name: &str) -> Option<Vec<usize>> {
        let Weights::File { tensors, .. } = self else { return None };
        self.resolve(name).and_then(|full| tensors.info(&full)).map(|info| info.shape.clone())
    }

    pub fn contains(&self, name: &str) -> bool {
        match self {
            Weights::File { .. } => self.resolve(name).is_some(),
            Weights::Random { .. } => false,
        }
    }

    /// Whether stored tensors `a` and `b` hold the same values bit for bit (same dtype and shape), read
    /// a piece at a time: how a tied table stored twice is found without holding a second copy.
    /// `true` for one name given twice; `false` when either is absent (random weights have no stored
    /// tensors). A read that fails is the load's error.
    pub fn same_values(&self, a: &str, b: &str) -> Result<bool> {
        let Weights::File { tensors, .. } = self else { return Ok(false) };
        if a == b {
            return Ok(self.contains(a));
        }
        let find = |name: &str| self.resolve(name).and_then(|full| tensors.info(&full));
        let (Some(ia), Some(ib)) = (find(a), find(b)) else { return Ok(false) };
        let len = ia.data_offsets.1 - ia.data_offsets.0;
        if ia.dtype != ib.dtype || ia.shape != ib.shape || len != ib.data_offsets.1 - ib.data_offsets.0 {
            return Ok(false);
        }
        if let (Some(x), Some(y)) = (tensors.borrowed(ia), tensors.borrowed(ib)) {
            return Ok(x == y);
        }
        let (mut x, mut y) = (vec![0u8; CHUNK_BYTES.min(len)], vec![0u8; CHUNK_BYTES.min(len)]);
        let mut at = 0;
        while at < len {
            let n = CHUNK_BYTES.min(len - at);
            tensors.read(ia, at, &mut x[..n])?;
            tensors.read(ib, at, &mut y[..n])?;
            if x[..n] != y[..n] {
                return Ok(false);
            }
            at += n;
        }
        Ok(true)
    }

    /// All stored tensor names (for error messages and diagnostics).
    pub fn names(&self) -> Vec<String> {
        match self {
            Weights::File { tensors, .. } => {
                let mut v: Vec<String> = tensors.tensors().into_iter().map(|(name, _)| name).collect();
                v.sort();
                v
            }
            Weights::Random { .. } => Vec::new(),
        }
    }

    /// A required tensor of exactly `shape`, converted to f32.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        match self.get_opt(name, shape)? {
            Some(v) => Ok(v),
            None => Err(Error::tensor(
                name,
                "missing from the checkpoint",
                "Check that config.json belongs to these weights (model_type, number of layers) and that the file is complete",
            )),
        }
    }

    /// An optional tensor (`None` when absent; still an error if present with the wrong shape).
    pub fn get_opt(&self, name: &str, shape: &[usize]) -> Result<Option<Vec<f32>>> {
        match self {
            Weights::Random { .. } => self.draw(name, shape, |v| v).map(Some),
            Weights::File { tensors, .. } => {
                let Some((full, info)) = self.resolve(name).and_then(|full| tensors.info(&full).map(|info| (full, info))) else { return Ok(None) };
                if info.shape != shape {
                    return Err(Error::tensor(
                        &full,
                        format!("has shape {:?} but config.json implies {:?}", info.shape, shape),
                        "Use the config.json that was saved with these weights",
                    ));
                }
                let mut out = Vec::with_capacity(shape.iter().product());
                tensors.for_each_chunk(info, CHUNK_BYTES, |bytes| extend_f32(&full, info.dtype, bytes, &mut out))?;
                Ok(Some(out))
            }
        }
    }
}

/// One safetensors file (`file`: its name, for messages) parsed and its header checked.
fn parse_file<'a>(file: &str, bytes: FileBytes<'a>) -> Result<TensorFile<'a>> {
    if bytes.is_empty() {
        return Err(Error::file(file, "the file is empty", "Export the model again with `model.save_pretrained(dir)`"));
    }
    if bytes.len() < 8 {
        return Err(Error::file(file, format!("the file is only {} bytes, too short for a safetensors header", bytes.len()), "The download was probably cut short; fetch the file again"));
    }
    TensorFile::parse(file, bytes).map_err(|e| match e {
        FileError::Invalid(e) => not_safetensors(file, bytes, &e.to_string()),
        FileError::Unreadable(e) => Error::file(file, e.problem, e.fix),
    })
}

/// The message for a file that does not parse as safetensors (`why`: the parser's words), saying what it is
/// instead when its first bytes tell: a Git LFS pointer (the clone skipped the large files), a web page (a
/// link to a page about the file, not the file), or a header whose numbers do not fit the 32-bit browser build.
fn not_safetensors(file: &str, bytes: FileBytes, why: &str) -> Error {
    let head = bytes.head(256).unwrap_or_default();
    let text = String::from_utf8_lossy(&head);
    let start = text.trim_start().to_ascii_lowercase();
    if start.starts_with("version https://git-lfs") {
        return Error::file(
            file,
            format!("is a Git LFS pointer ({} bytes of text), not the weights: the clone or download fetched the pointer only", bytes.len()),
            "Run `git lfs pull` in the model's folder (or `git lfs install` and clone again), or download the file itself",
        );
    }
    // A real file's first 8 bytes are the header's length, and may start with '<' (0x3c): a page is named by its tags.
    if ["<!doctype html", "<html", "<head", "<body", "<!--"].iter().any(|tag| start.starts_with(tag)) {
        return Error::file(
            file,
            "is a web page (HTML), not safetensors weights: the address gave a page about the file, not the file",
            "Download the file itself (on Hugging Face, the \"download\" link, an address with /resolve/ rather than /blob/)",
        );
    }
    if why.contains("expected usize") {
        return Error::file(
            file,
            format!("has a header number too large to be an offset or a size here ({why})"),
            "The header is corrupt, or the file is larger than the 4 GB one file can be in the browser; fetch it again, or save the model in shards (`save_pretrained(dir, max_shard_size=\"2GB\")`)",
        );
    }
    Error::file(file, format!("not a valid safetensors file ({why})"), "The file may be truncated or corrupt; fetch it again, or re-save with `save_pretrained(dir, safe_serialization=True)`")
}

/// Bytes read (or scanned) at a time when a tensor is converted or checked piece by piece: small next to
/// any real tensor, large enough that the per-piece copy from outside costs nothing measurable.
const CHUNK_BYTES: usize = 1 << 20;

/// `len` bytes of a 16-bit tensor from byte `at`, copied from the file into a vector of their own.
fn read_u16(file: &TensorFile, info: Stored, at: usize, len: usize) -> Result<Vec<u16>> {
    let mut values = vec![0u16; len / 2];
    // SAFETY: a `[u16]` is valid as twice as many bytes (u8 has no alignment or invalid values), and the
    // byte view lives only for this copy.
    let bytes = unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), values.len() * 2) };
    file.read(info, at, bytes)?;
    if cfg!(target_endian = "big") {
        values.iter_mut().for_each(|v| *v = u16::from_le(*v));
    }
    Ok(values)
}

/// `len` bytes of an f32 tensor from byte `at`, as values.
fn read_f32(file: &TensorFile, info: Stored, at: usize, len: usize) -> Result<Vec<f32>> {
    let mut values = vec![0f32; len / 4];
    // SAFETY: as in `read_u16`: any four bytes are a valid f32.
    let bytes = unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), values.len() * 4) };
    file.read(info, at, bytes)?;
    if cfg!(target_endian = "big") {
        values.iter_mut().for_each(|v| *v = f32::from_bits(u32::from_le(v.to_bits())));
    }
    Ok(values)
}

/// Count a random tensor of `shape` against the twin's cap: a backstop behind `limits::check_sizes`, so
/// whatever shapes a family asks for the twin never allocates more (and a shape product never overflows).
fn count_random(made: &Cell<usize>, name: &str, shape: &[usize]) -> Result<()> {
    let cap = super::limits::MAX_RANDOM_PARAMS;
    let total = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).and_then(|n| n.checked_add(made.get())).filter(|&t| t <= cap);
    let Some(total) = total else {
        return Err(Error::file(
            "config.json",
            format!("the random-weight twin would need more than {cap} parameters (reached at `{name}` of shape {shape:?})"),
            "Lower vocab_size, the width or the number of layers, or load the real model.safetensors",
        ));
    };
    made.set(total);
    Ok(())
}

/// The seed of tensor `name`'s own random stream.
fn stream_seed(name: &str, seed: u64) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for b in name.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
    }
    h
}

/// Append the values of `data` (whole values of `dtype`, little-endian) to `out` as f32.
fn extend_f32(name: &str, dtype: Dtype, data: &[u8], out: &mut Vec<f32>) -> Result<()> {
    match dtype {
        Dtype::F32 => out.extend(data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        Dtype::F16 => out.extend(data.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())),
        Dtype::BF16 => out.extend(data.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())),
        // f64 is not a documented weight dtype: values past f32's range would silently become inf.
        other => {
            return Err(Error::tensor(
                name,
                format!("has dtype {other:?}; only f32, f16 and bf16 weights can be used"),
                "Convert the checkpoint, e.g. `model.float().save_pretrained(dir)` (f32) or `model.half().save_pretrained(dir)` (f16)",
            ))
        }
    };
    Ok(())
}

/// Every floating-point tensor of the file scanned for NaN and ±inf before any is used: one such value
/// in a norm weight turns every logit into NaN, and the page would show `null` instead of an error.
/// Tensors of other dtypes (an int64 `position_ids` buffer) are left to [`Weights::get`], which refuses
/// them only if a model asks for them.
pub fn check_finite_all(weights: &Weights) -> Result<()> {
    let Weights::File { tensors, .. } = weights else { return Ok(()) };
    for (name, info) in tensors.tensors() {
        // Piece by piece (whole values per piece), the element index counted across pieces.
        let width = info.dtype.bitsize().div_ceil(8).max(1);
        let mut seen = 0;
        tensors.for_each_chunk(info, CHUNK_BYTES, |bytes| {
            check_finite_from(&name, info.dtype, bytes, seen)?;
            seen += bytes.len() / width;
            Ok(())
        })?;
    }
    Ok(())
}

/// The first NaN or infinite value among the raw little-endian bytes of one stored tensor, as an error
/// naming the tensor and the element's index. Works on the stored bits (an all-ones exponent), so it
/// costs one pass of integer compares whatever the in-memory format the model later uses.
pub fn check_finite(name: &str, dtype: Dtype, data: &[u8]) -> Result<()> {
    check_finite_from(name, dtype, data, 0)
}

/// [`check_finite`] for a piece of a tensor whose first value is element `first` of the whole.
fn check_finite_from(name: &str, dtype: Dtype, data: &[u8], first: usize) -> Result<()> {
    let bad = match dtype {
        Dtype::F32 => data.chunks_exact(4).position(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) & 0x7f80_0000 == 0x7f80_0000),
        Dtype::F16 => data.chunks_exact(2).position(|b| u16::from_le_bytes([b[0], b[1]]) & 0x7c00 == 0x7c00),
        Dtype::BF16 => data.chunks_exact(2).position(|b| u16::from_le_bytes([b[0], b[1]]) & 0x7f80 == 0x7f80),
        Dtype::F64 => data.chunks_exact(8).position(|b| {
            u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) & 0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000
        }),
        _ => None,
    };
    match bad {
        None => Ok(()),
        Some(index) => Err(Error::tensor(
            name,
            format!("holds a NaN or infinite value (element {}); the model's outputs would all be NaN", first + index),
            "The checkpoint is damaged or was saved after training diverged; use a finite checkpoint",
        )),
    }
}

/// Deterministic random init that gives an architecture sensible untrained behaviour:
/// norm scales 1, biases 0, everything else N(0, std) from a per-tensor seeded stream.
/// Each value passes through `store` as it is drawn, so a 16-bit twin never holds an f32 copy.
fn random_tensor<T>(name: &str, shape: &[usize], seed: u64, std: f32, store: impl Fn(f32) -> T) -> Vec<T> {
    let n: usize = shape.iter().product();
    let lname = name.to_ascii_lowercase();
    let is_norm = ["ln", "norm", "layer_norm", "layernorm"].iter().any(|k| lname.split('.').any(|part| part.contains(k)));
    if name.ends_with("bias") {
        return (0..n).map(|_| store(0.0)).collect();
    }
    if is_norm && shape.len() == 1 {
        return (0..n).map(|_| store(1.0)).collect();
    }
    let mut rng = crate::rng::Rng::new(stream_seed(name, seed));
    (0..n).map(|_| store(rng.normal() * std)).collect()
}

/// The stored tensor names of a checkpoint and the ones a model asked for while it was built.
pub struct UnusedTensors {
    stored: Vec<String>,
    looked_up: Option<std::rc::Rc<std::cell::RefCell<Vec<String>>>>,
}

impl UnusedTensors {
    /// The stored tensors the model never asked for (in no particular order): weights of layers the config does not
    /// have (`n_layer` smaller than the checkpoint's), of a head this model type does not build, or of a
    /// feature Glassbox does not know, which would otherwise be left out in silence. Buffers that
    /// transformers also leaves unread (the causal masks GPT-2 and GPT-Neo saved as `attn.bias`,
    /// `masked_bias`, `position_ids`, rotary `inv_freq`) are not listed.
    pub fn list(&self) -> Vec<String> {
        let Some(looked_up) = &self.looked_up else { return Vec::new() };
        let looked_up = looked_up.borrow();
        let buffer = |name: &str| {
            name.ends_with(".attn.bias") || name.ends_with(".attention.bias") || name.ends_with("masked_bias") || name.ends_with("position_ids") || name.ends_with("inv_freq")
        };
        self.stored.iter().filter(|n| !buffer(n) && !looked_up.contains(n)).cloned().collect()
    }
}
