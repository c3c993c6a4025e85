//! The boundary of the teaching models of `crate::teach`: a trainer the page advances a few steps
//! at a time ([`WasmTrainer`], for `<glassbox-rnn>`) and the logistic regression of
//! `<glassbox-transfer>` ([`fit_logistic`]). Options come in typed (unknown keys refused by name),
//! curves go out as `Float32Array`s.

use super::{options, to_js, with_arrays, js_error};
use crate::error::Error;
use crate::teach::logreg::{fit_and_test, Dataset, FitOptions};
use crate::teach::rnn::{Cell, Optimizer, TrainOptions, Trainer};
use js_sys::{Float32Array, Uint32Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// Most steps one `step` call may take (the page asks for a few at a time to stay responsive).
const MAX_STEPS_PER_CALL: u32 = 10_000;

/// `WasmTrainer.create` options (the CLI's `glassbox rnn` flags, camelCase).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
struct TrainerOptions {
    cell: String,
    length: usize,
    symbols: usize,
    hidden: usize,
    weight_scale: f64,
    clip: Option<f64>,
    optimizer: String,
    learning_rate: f64,
    batch: usize,
    eval_size: usize,
    seed: u64,
}

impl Default for TrainerOptions {
    fn default() -> Self {
        let d = TrainOptions::default();
        TrainerOptions {
            cell: d.cell.as_str().into(),
            length: d.length,
            symbols: d.symbols,
            hidden: d.hidden,
            weight_scale: d.weight_scale,
            clip: d.clip,
            optimizer: "adam".into(),
            learning_rate: d.learning_rate,
            batch: d.batch,
            eval_size: d.eval_size,
            seed: d.seed,
        }
    }
}

/// A model of `crate::teach::rnn` in training.
#[wasm_bindgen]
pub struct WasmTrainer {
    trainer: Trainer,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrainerInfo {
    cell: &'static str,
    length: usize,
    parameters: usize,
    /// Of the recurrent matrix now (`null` for attention).
    recurrent_singular_value: Option<f64>,
    steps: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepsMeta {
    /// Steps taken in all, after this call.
    step: usize,
    /// How many of this call's steps were clipped, and skipped (gradient not finite).
    clipped: usize,
    skipped: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EvaluationMeta {
    step: usize,
    loss: f64,
    accuracy: f64,
}

#[wasm_bindgen]
impl WasmTrainer {
    /// A fresh model. Options `{ cell = "lstm", length = 10, symbols = 4, hidden = 16, weightScale = 1,
    /// clip?, optimizer = "adam", learningRate = 0.01, batch = 32, evalSize = 256, seed = 1 }`.
    pub fn create(trainer_options: JsValue) -> Result<WasmTrainer, JsError> {
        let o: TrainerOptions = options(trainer_options, "createTrainer")?;
        if o.seed > 1 << 53 {
            return Err(js_error(Error::input(format!("seed {} is not a whole number from 0 to 2^53", o.seed), "Use a seed like 0, 1 or 42")));
        }
        let train = TrainOptions {
            cell: Cell::parse(&o.cell).map_err(js_error)?,
            length: o.length,
            symbols: o.symbols,
            hidden: o.hidden,
            weight_scale: o.weight_scale,
            clip: o.clip,
            optimizer: Optimizer::parse(&o.optimizer).map_err(js_error)?,
            learning_rate: o.learning_rate,
            batch: o.batch,
            eval_size: o.eval_size,
            seed: o.seed,
        };
        Ok(WasmTrainer { trainer: Trainer::new(train).map_err(js_error)? })
    }

    /// `{ cell, length, parameters, recurrentSingularValue, steps }`
    pub fn info(&self) -> Result<JsValue, JsError> {
        let t = &self.trainer;
        to_js(&TrainerInfo {
            cell: t.options.cell.as_str(),
            length: t.options.length,
            parameters: t.model.n_parameters(),
            recurrent_singular_value: t.model.recurrent_singular_value(),
            steps: t.steps(),
        })
    }

    /// `n` more steps: `{ step, clipped, skipped, loss, accuracy, gradNorm }`, the last three
    /// `Float32Array [n]` (each step's batch, before its update; `gradNorm` before clipping).
    pub fn step(&mut self, n: u32) -> Result<JsValue, JsError> {
        if n > MAX_STEPS_PER_CALL {
            return Err(js_error(Error::input(format!("{n} steps in one call is more than {MAX_STEPS_PER_CALL}"), "Ask for a few steps at a time, e.g. 20")));
        }
        let reports = self.trainer.train(n as usize);
        let series = |f: fn(&crate::teach::rnn::StepReport) -> f64| Float32Array::from(&reports.iter().map(|r| f(r) as f32).collect::<Vec<f32>>()[..]).into();
        with_arrays(
            &StepsMeta {
                step: self.trainer.steps(),
                clipped: reports.iter().filter(|r| r.clipped).count(),
                skipped: reports.iter().filter(|r| r.skipped).count(),
            },
            vec![("loss", series(|r| r.loss)), ("accuracy", series(|r| r.accuracy)), ("gradNorm", series(|r| r.grad_norm))],
        )
    }

    /// On the fixed evaluation sequences: `{ step, loss, accuracy, stepNorms: Float32Array [N] }`,
    /// `stepNorms[t]` the mean norm of the gradient reaching the state of step `t + 1`.
    pub fn evaluate(&self) -> Result<JsValue, JsError> {
        let e = self.trainer.evaluate();
        let norms: Vec<f32> = e.step_norms.iter().map(|&v| v as f32).collect();
        with_arrays(&EvaluationMeta { step: self.trainer.steps(), loss: e.loss, accuracy: e.accuracy }, vec![("stepNorms", Float32Array::from(&norms[..]).into())])
    }
}

/// `fitLogistic` options: features `[N][dims]` flat, one label per row, and the same for the held-out set.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LogisticOptions {
    dims: usize,
    classes: usize,
    train_features: Vec<f64>,
    train_labels: Vec<usize>,
    #[serde(default)]
    test_features: Vec<f64>,
    #[serde(default)]
    test_labels: Vec<usize>,
    #[serde(default)]
    l2: Option<f64>,
    #[serde(default)]
    iterations: Option<usize>,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions { dims: 0, classes: 0, train_features: vec![], train_labels: vec![], test_features: vec![], test_labels: vec![], l2: None, iterations: None }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogisticMeta {
    train_accuracy: f64,
    test_accuracy: f64,
}

/// Multinomial logistic regression with L2 (`crate::teach::logreg`, the CLI's `glassbox transfer`):
/// `{ trainAccuracy, testAccuracy, testPredictions: Uint32Array [M], testProbabilities: Float32Array [M][C] }`.
#[wasm_bindgen(js_name = fitLogistic)]
pub fn fit_logistic(logistic_options: JsValue) -> Result<JsValue, JsError> {
    let o: LogisticOptions = options(logistic_options, "fitLogistic")?;
    let d = FitOptions::default();
    let fit = FitOptions { l2: o.l2.unwrap_or(d.l2), iterations: o.iterations.unwrap_or(d.iterations), standardize: true };
    let r = fit_and_test(
        Dataset { features: &o.train_features, dims: o.dims, labels: &o.train_labels },
        Dataset { features: &o.test_features, dims: o.dims, labels: &o.test_labels },
        o.classes,
        &fit,
    )
    .map_err(js_error)?;
    let predictions: Vec<u32> = r.test_predictions.iter().map(|&c| c as u32).collect();
    let probabilities: Vec<f32> = r.test_probabilities.iter().map(|&p| p as f32).collect();
    with_arrays(
        &LogisticMeta { train_accuracy: r.train_accuracy, test_accuracy: r.test_accuracy },
        vec![("testPredictions", Uint32Array::from(&predictions[..]).into()), ("testProbabilities", Float32Array::from(&probabilities[..]).into())],
    )
}
