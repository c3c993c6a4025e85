//! candle (https://github.com/huggingface/candle) compiled to wasm32 + simd128, as the peer that
//! `bench/compare.mjs` times beside Glassbox. Two things are exposed:
//! - [`CandleLinear`]: candle-nn's `Linear` (y = x Wᵀ + b, W stored [N][K] as in a checkpoint),
//!   the same operation as Glassbox's `KernelBench('linear', m, k, n)`; JS times `run(reps)`.
//! - [`CandleBert`]: candle-transformers' `BertModel` loaded from the same config.json and
//!   model.safetensors bytes Glassbox loads; `forward` returns the last hidden state [T][C] so
//!   the benchmark can print how far it is from Glassbox's.
//! Nothing here is shipped or tested: it exists only for the benchmark.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder};
use candle_transformers::models::bert::{BertModel, Config};
use wasm_bindgen::prelude::*;

fn js_error(context: &str, e: impl std::fmt::Display) -> JsError {
    JsError::new(&format!("candle {context}: {e}"))
}

/// Whether this build uses SIMD128 (build.sh passes `-C target-feature=+simd128`).
#[wasm_bindgen]
pub fn candle_simd128() -> bool {
    cfg!(target_feature = "simd128")
}

/// Same seeded uniform(-1, 1) stream as Glassbox's kernel bench, so both time equal-sized work on
/// the same kind of numbers (the values themselves do not change the timing).
fn seeded(len: usize, state: &mut u64) -> Vec<f32> {
    (0..len)
        .map(|_| {
            *state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[wasm_bindgen]
pub struct CandleLinear {
    x: Tensor,      // [M][K]
    linear: Linear, // W [N][K], b [N]
    m: usize,
    k: usize,
    n: usize,
}

#[wasm_bindgen]
impl CandleLinear {
    #[wasm_bindgen(constructor)]
    pub fn new(m: usize, k: usize, n: usize, seed: u32) -> Result<CandleLinear, JsError> {
        if m == 0 || k == 0 || n == 0 {
            return Err(JsError::new("CandleLinear needs m, k and n of at least 1"));
        }
        let device = Device::Cpu;
        let mut state = seed as u64 ^ 0x9e37_79b9_7f4a_7c15;
        let x = Tensor::from_vec(seeded(m * k, &mut state), (m, k), &device).map_err(|e| js_error("input", e))?;
        let w = Tensor::from_vec(seeded(n * k, &mut state), (n, k), &device).map_err(|e| js_error("weight", e))?;
        let b = Tensor::from_vec(seeded(n, &mut state), n, &device).map_err(|e| js_error("bias", e))?;
        Ok(CandleLinear { x, linear: Linear::new(w, Some(b)), m, k, n })
    }

    /// Runs the layer `reps` times (the result of the last run is dropped like the others).
    pub fn run(&self, reps: u32) -> Result<(), JsError> {
        for _ in 0..reps {
            self.linear.forward(&self.x).map_err(|e| js_error("linear", e))?;
        }
        Ok(())
    }

    /// Multiply-adds counted as two flops, as Glassbox's bench counts them.
    pub fn flops(&self) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64
    }
}

#[wasm_bindgen]
pub struct CandleBert {
    model: BertModel,
    hidden: usize,
}

#[wasm_bindgen]
impl CandleBert {
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &[u8], safetensors: Vec<u8>) -> Result<CandleBert, JsError> {
        let config: Config = serde_json::from_slice(config_json).map_err(|e| js_error("config.json", e))?;
        let vb = VarBuilder::from_buffered_safetensors(safetensors, DType::F32, &Device::Cpu).map_err(|e| js_error("safetensors", e))?;
        let model = BertModel::load(vb, &config).map_err(|e| js_error("BERT load", e))?;
        Ok(CandleBert { model, hidden: config.hidden_size })
    }

    /// Last hidden state of one sequence, flattened [T][C]; token types 0 and no padding.
    pub fn forward(&self, ids: &[u32]) -> Result<Vec<f32>, JsError> {
        if ids.is_empty() {
            return Err(JsError::new("CandleBert.forward needs at least one token id"));
        }
        let device = Device::Cpu;
        let input_ids = Tensor::new(ids, &device).and_then(|t| t.unsqueeze(0)).map_err(|e| js_error("ids", e))?; // [1][T]
        let token_type_ids = input_ids.zeros_like().map_err(|e| js_error("token types", e))?;
        let hidden = self.model.forward(&input_ids, &token_type_ids, None).map_err(|e| js_error("BERT forward", e))?; // [1][T][C]
        let flat = hidden.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(|e| js_error("output", e))?;
        debug_assert_eq!(flat.len(), ids.len() * self.hidden);
        Ok(flat)
    }
}
