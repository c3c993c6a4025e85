//! The residual stream's size after every layer, for the page's block view (www/views/block.js):
//! computed from the hidden states a logit-lens inspection already holds, so nothing extra runs.

use super::with_arrays;
use crate::models::{HiddenStates, Kind, Outputs};
use js_sys::Float32Array;
use ndarray::Array2;
use serde::Serialize;
use wasm_bindgen::prelude::*;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResidualMeta {
    n_states: usize,
    seq_len: usize,
    d_model: usize,
}

/// `{ nStates, seqLen, dModel, rms: [L+1][T], change: [L+1][T] }` of the stack the logit lens
/// reads (encoder for encoder-only models, else the decoder): `rms` is each state's root mean
/// square, `change` the root mean square of what layer `l` altered (state l − state l−1; 0 for the
/// embeddings). `None` when the inspection holds no hidden states.
pub(super) fn residual_object(kind: Kind, outputs: &Outputs) -> Option<Result<JsValue, JsError>> {
    let states: &HiddenStates = match kind {
        Kind::EncoderOnly => outputs.encoder_hidden_states.as_ref(),
        _ => outputs.decoder_hidden_states.as_ref(),
    }?;
    let (n, t, c) = states.dim(); // [L+1][T][C]
    if c == 0 {
        return None;
    }
    let rms = |row: &mut dyn Iterator<Item = f32>| (row.map(|x| f64::from(x) * f64::from(x)).sum::<f64>() / c as f64).sqrt() as f32;
    let row = |l: usize, p: usize| states.slice(ndarray::s![l, p, ..]); // [C]
    let sizes = Array2::from_shape_fn((n, t), |(l, p)| rms(&mut row(l, p).iter().copied())); // [L+1][T]
    let changes = Array2::from_shape_fn((n, t), |(l, p)| match l {
        0 => 0.0,
        _ => rms(&mut row(l, p).iter().zip(row(l - 1, p).iter()).map(|(a, b)| a - b)),
    }); // [L+1][T]
    let flat = |a: &Array2<f32>| Float32Array::from(a.as_slice().expect("from_shape_fn is row-major")).into();
    Some(with_arrays(&ResidualMeta { n_states: n, seq_len: t, d_model: c }, vec![("rms", flat(&sizes)), ("change", flat(&changes))]))
}
