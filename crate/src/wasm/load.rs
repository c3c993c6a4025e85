//! model.safetensors as the page hands it over: a JavaScript buffer the engine reads one tensor at a
//! time, never copied into wasm memory whole.
//!
//! Wasm memory grows and never shrinks, so a transient copy of a 250 MB file beside the packed weights
//! would stay the tab's cost for as long as the tab lives. Only the header and then each tensor, as a
//! layer asks for it, cross the boundary; the layer converts it into its own storage and the copy is
//! freed before the next tensor is read, so its room is reused.

use crate::loader::tensor_file::ReadAt;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::{JsCast, JsError, JsValue};

/// The bytes of model.safetensors, held by JavaScript.
pub(super) struct JsFile(Uint8Array);

impl JsFile {
    /// A `Uint8Array` (a Node `Buffer` is one) or an `ArrayBuffer`; `null`/`undefined` give `None`.
    pub(super) fn from_js(value: JsValue) -> Result<Option<JsFile>, JsError> {
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        if let Some(view) = value.dyn_ref::<Uint8Array>() {
            return Ok(Some(JsFile(view.clone())));
        }
        if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
            return Ok(Some(JsFile(Uint8Array::new(buffer))));
        }
        Err(JsError::new("model.safetensors: the weights are neither a Uint8Array nor an ArrayBuffer. Pass the file's bytes (or null with randomSeed)"))
    }
}

impl ReadAt for JsFile {
    fn len(&self) -> usize {
        self.0.length() as usize
    }

    fn read_at(&self, offset: usize, dst: &mut [u8]) {
        // Offsets fit in u32: a wasm32 engine cannot be handed a larger buffer than that anyway.
        self.0.subarray(offset as u32, (offset + dst.len()) as u32).copy_to(dst);
    }
}
