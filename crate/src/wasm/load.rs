//! model.safetensors as the page hands it over: a JavaScript buffer, or a reader of a picked file, that
//! the engine reads one tensor at a time, never copied into wasm memory whole.
//!
//! Wasm memory grows and never shrinks, so a transient copy of a 250 MB file beside the packed weights
//! would stay the tab's cost for as long as the tab lives. Only the header and then each tensor, as a
//! layer asks for it, cross the boundary; the layer converts it into its own storage and the copy is
//! freed before the next tensor is read, so its room is reused.
//!
//! A reader (`{ size, read(offset, length) }`) goes further: the page's worker reads a picked file a
//! range at a time (`FileReaderSync`), so the tab never holds the whole file in JavaScript either, and a
//! 2.5 GB checkpoint costs its packed weights rather than twice that.

use crate::loader::tensor_file::{FileBytes, ReadAt, ReadError};
use crate::loader::WeightSource;
use js_sys::{ArrayBuffer, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsError, JsValue};

/// The bytes of model.safetensors, held by JavaScript.
pub(super) enum JsFile {
    /// The whole file in a buffer.
    Bytes(Uint8Array),
    /// An object that gives `length` bytes from `offset` when asked (`read(offset, length)` returns a
    /// `Uint8Array`), `size` bytes in all.
    Reader { this: JsValue, read: Function, size: usize },
}

impl JsFile {
    /// A `Uint8Array` (a Node `Buffer` is one), an `ArrayBuffer`, or a reader `{ size, read(offset,
    /// length) }`; `null`/`undefined` give `None`.
    pub(super) fn from_js(value: JsValue) -> Result<Option<JsFile>, JsError> {
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        if let Some(view) = value.dyn_ref::<Uint8Array>() {
            return Ok(Some(JsFile::Bytes(view.clone())));
        }
        if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
            return Ok(Some(JsFile::Bytes(Uint8Array::new(buffer))));
        }
        if value.is_object() {
            let read = Reflect::get(&value, &JsValue::from_str("read")).ok().and_then(|f| f.dyn_into::<Function>().ok());
            let size = Reflect::get(&value, &JsValue::from_str("size")).ok().and_then(|s| s.as_f64());
            if let (Some(read), Some(size)) = (read, size) {
                // Offsets must fit in u32 and in f64 exactly: a wasm32 engine cannot hold more anyway.
                if !(size >= 0.0 && size.fract() == 0.0 && size <= u32::MAX as f64) {
                    return Err(JsError::new(&format!(
                        "model.safetensors: the reader's size is {size}, not a whole number of bytes under 4 GiB. Pass the file's size in bytes (File.size)"
                    )));
                }
                return Ok(Some(JsFile::Reader { this: value, read, size: size as usize }));
            }
        }
        Err(JsError::new(
            "model.safetensors: the weights are neither a Uint8Array, an ArrayBuffer nor a reader { size, read(offset, length) }. Pass the file's bytes (or null with randomSeed)",
        ))
    }
}

/// The weights as the page hands them over: model.safetensors, or a sharded checkpoint as
/// `{ index, shards }`, `index` the bytes of model.safetensors.index.json and `shards` an object from
/// each shard's file name to its bytes or reader (as [`JsFile`]).
pub(super) enum JsWeights {
    One(JsFile),
    Shards { index: Vec<u8>, shards: Vec<(String, JsFile)> },
}

impl JsWeights {
    pub(super) fn from_js(value: JsValue) -> Result<Option<JsWeights>, JsError> {
        let field = |name: &str| if value.is_object() { Reflect::get(&value, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined()) } else { None };
        let (Some(index), Some(shards)) = (field("index"), field("shards")) else {
            return Ok(JsFile::from_js(value)?.map(JsWeights::One));
        };
        let bad = |what: &str| JsError::new(&format!("{}: {what}. Pass {{ index: the index's bytes, shards: {{ file name: bytes or reader }} }}", crate::loader::shards::INDEX));
        let index = match (index.dyn_ref::<Uint8Array>(), index.dyn_ref::<ArrayBuffer>()) {
            (Some(bytes), _) => bytes.to_vec(),
            (_, Some(buffer)) => Uint8Array::new(buffer).to_vec(),
            _ => return Err(bad("the index is not a Uint8Array or an ArrayBuffer")),
        };
        let shards = shards.dyn_into::<Object>().map_err(|_| bad("the shards are not an object"))?;
        let mut files = Vec::new();
        for entry in Object::entries(&shards).iter() {
            // `Object.entries` gives [name, value] pairs.
            let pair = |i| Reflect::get_u32(&entry, i).map_err(|_| bad("the shards could not be listed"));
            let (name, file) = (pair(0)?, pair(1)?);
            let name = name.as_string().ok_or_else(|| bad("a shard's name is not a string"))?;
            // An absent shard is left out: the loader names it with the index's words.
            if let Some(file) = JsFile::from_js(file)? {
                files.push((name, file));
            }
        }
        Ok(Some(JsWeights::Shards { index, shards: files }))
    }

    pub(super) fn source(&self) -> WeightSource<'_> {
        match self {
            JsWeights::One(file) => FileBytes::External(file).into(),
            JsWeights::Shards { index, shards } => WeightSource::Shards { index, shards: shards.iter().map(|(n, f)| (n.clone(), FileBytes::External(f))).collect() },
        }
    }

    /// Bytes of the weight files read.
    pub(super) fn len(&self) -> usize {
        self.source().len()
    }
}

impl ReadAt for JsFile {
    fn len(&self) -> usize {
        match self {
            JsFile::Bytes(bytes) => bytes.length() as usize,
            JsFile::Reader { size, .. } => *size,
        }
    }

    fn read_at(&self, offset: usize, dst: &mut [u8]) -> Result<(), ReadError> {
        let (this, read) = match self {
            // Offsets fit in u32: a wasm32 engine cannot be handed a larger buffer than that anyway.
            JsFile::Bytes(bytes) => {
                bytes.subarray(offset as u32, (offset + dst.len()) as u32).copy_to(dst);
                return Ok(());
            }
            JsFile::Reader { this, read, .. } => (this, read),
        };
        let problem = match read.call2(this, &JsValue::from_f64(offset as f64), &JsValue::from_f64(dst.len() as f64)) {
            Ok(got) => match got.dyn_into::<Uint8Array>() {
                Ok(bytes) if bytes.length() as usize == dst.len() => {
                    bytes.copy_to(dst);
                    return Ok(());
                }
                Ok(bytes) => format!("reading {} bytes at byte {offset} gave {}", dst.len(), bytes.length()),
                Err(_) => format!("reading at byte {offset} did not give a Uint8Array"),
            },
            Err(e) => {
                let why = e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_else(|| "an exception".into());
                format!("could not be read at byte {offset} ({why})")
            }
        };
        Err(ReadError { problem, fix: "Pick the file again: it may have changed or moved while it was read" })
    }
}
