//! Activations with their shape in the type: every `[T][C]` a block reads or makes (the residual
//! stream, a norm's output, a projection, the feed-forward hidden layer) is an `Array2<f32>`, one
//! row per token, so no model code computes a stride by hand.
//!
//! The arrays are always in standard (row-major, contiguous) layout, and the kernels still read and
//! write them as plain slices ([`flat`], [`flat_mut`]): the shape costs nothing at run time. The
//! helpers here are the few ways the families touch those arrays (a [`Linear`] over rows, a norm in
//! place, token rows gathered), so `crate::models::layers` and the kernels keep their slice APIs.

use super::layers::{LayerNorm, TokenTable};
use crate::kernels::{self, Linear};
use ndarray::{Array2, ArrayView2};

/// `x`'s elements in row-major order, as the kernels take them.
pub fn flat(x: &Array2<f32>) -> &[f32] {
    x.as_slice().expect("activations are kept in standard layout")
}

/// `x`'s elements in row-major order, to be changed in place by a kernel.
pub fn flat_mut(x: &mut Array2<f32>) -> &mut [f32] {
    x.as_slice_mut().expect("activations are kept in standard layout")
}

/// Rows of `width` numbers made from `data` (`[rows][width]` row-major).
pub fn rows(data: Vec<f32>, width: usize) -> Array2<f32> {
    let n = data.len().checked_div(width).unwrap_or(0);
    Array2::from_shape_vec((n, width), data).expect("whole rows")
}

/// A linear layer applied to every row: `x: [T][K]` -> `[T][N]`.
pub fn linear(layer: &Linear, x: ArrayView2<'_, f32>) -> Array2<f32> {
    let x = x.as_standard_layout();
    let t = x.nrows();
    let out = layer.forward(x.as_slice().expect("standard layout"), t);
    Array2::from_shape_vec((t, layer.d_out), out).expect("Linear::forward returns [T][N]")
}

/// `ln(x)` for every row of `x: [T][C]`, as a new array (the residual stream stays as it was).
pub fn layer_norm(ln: &LayerNorm, x: &Array2<f32>) -> Array2<f32> {
    let mut y = x.clone();
    ln.apply(flat_mut(&mut y));
    y
}

/// RMSNorm (`weight: [C]`) of every row of `x: [T][C]`, as a new array.
pub fn rms_norm(x: &Array2<f32>, weight: &[f32], eps: f32) -> Array2<f32> {
    let mut y = x.clone();
    kernels::rms_norm(flat_mut(&mut y), weight, eps);
    y
}

/// The token table's rows for `ids` (each `< V`): `[T][C]`.
pub fn embed(table: &TokenTable<'_>, c: usize, ids: &[u32]) -> Array2<f32> {
    rows_of(table.gather(c, ids), ids.len(), c)
}

/// `data` as `[t][c]` (it holds exactly `t · c` numbers).
pub fn rows_of(data: Vec<f32>, t: usize, c: usize) -> Array2<f32> {
    Array2::from_shape_vec((t, c), data).expect("[T][C] numbers")
}

/// A standard-layout array's numbers, row-major, without copying (the flat vectors of `Outputs`).
pub fn into_flat(x: Array2<f32>) -> Vec<f32> {
    let x = if x.is_standard_layout() { x } else { x.as_standard_layout().into_owned() };
    let (data, offset) = x.into_raw_vec_and_offset();
    debug_assert!(offset.is_none_or(|o| o == 0));
    data
}

/// A flat `[rows][width]` table (a position table as loaded) seen as rows.
pub fn view_rows(data: &[f32], width: usize) -> ArrayView2<'_, f32> {
    let n = data.len().checked_div(width).unwrap_or(0);
    ArrayView2::from_shape((n, width), &data[..n * width]).expect("whole rows")
}
