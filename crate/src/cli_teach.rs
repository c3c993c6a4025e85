//! The CLI's teaching commands: `glassbox rnn` trains the model of `<glassbox-rnn>` and prints its
//! figures; `glassbox transfer` fits the classifier of `<glassbox-transfer>` on frozen sentence
//! embeddings. The page's numbers can be checked against these (tests/browser/learn.test.mjs).
//! `inspect --views` prints rollout and flow through an encoder-decoder's cross-attention from here
//! ([`cross_views`], checked by tests/rust/rollout.rs and tests/browser/views.test.mjs).

use glassbox::error::{Error, Result};
use glassbox::models::{AttentionMaps, Capture};
use glassbox::session::Session;
use glassbox::teach::logreg::{fit_and_test, Dataset, FitOptions};
use glassbox::teach::rnn::{Cell, Evaluation, Optimizer, TrainOptions, Trainer};
use glassbox::teach::rollout;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

const RNN_USAGE: &str = "\
glassbox rnn: train an RNN, an LSTM or a one-head attention model to recall the first symbol

OPTIONS (defaults in brackets; the same options give the same numbers as the page, whose <glassbox-rnn>
starts from --length 20 --weight-scale 0.5 --steps 200 unless its attributes say otherwise):
  --cell rnn|lstm|attention [lstm]   --length N [10]        --symbols K [4]      --hidden H [16]
  --weight-scale F [1]               --clip F [none]        --optimizer adam|sgd [adam]
  --learning-rate F [0.01]           --batch B [32]         --eval-size E [256]  --seed S [1]
  --steps S [100]                    --eval-every S [0: only at the start and the end]

Prints { options, parameters, recurrentSingularValue, steps: { loss, accuracy, gradNorm, clipped },
evaluations: [{ step, loss, accuracy, stepNorms }] } where stepNorms[t] is the mean norm of the
gradient reaching the state of step t + 1 (attention: that step's embedding).";

/// The most work (`TrainOptions::work_per_sequence` units) one `glassbox rnn` run may do: about a minute.
const RNN_RUN_WORK_MAX: u64 = 30_000_000_000;

/// `glassbox rnn ...`
pub fn rnn(raw: &[String]) -> std::result::Result<(), String> {
    let mut o = TrainOptions::default();
    let (mut steps, mut eval_every) = (100usize, 0usize);
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" || flag == "--help-rnn" {
            return writeln!(std::io::stdout(), "{RNN_USAGE}").map_err(|e| crate::stdout_failed(e).to_string());
        }
        if !flag.starts_with("--") {
            return Err(format!("unexpected argument `{flag}`: rnn takes only options (see glassbox rnn --help)"));
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value (see glassbox rnn --help)"))?;
        let num = |what: &str| value.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| format!("{what}: `{value}` is not a number; give one such as 0.5"));
        let whole = |what: &str| value.parse::<usize>().map_err(|_| format!("{what}: `{value}` is not a whole number of 0 or more; give one such as 20"));
        match flag.as_str() {
            "--cell" => o.cell = Cell::parse(value).map_err(|e| e.to_string())?,
            "--length" => o.length = whole(flag)?,
            "--symbols" => o.symbols = whole(flag)?,
            "--hidden" => o.hidden = whole(flag)?,
            "--weight-scale" => o.weight_scale = num(flag)?,
            "--clip" => o.clip = Some(num(flag)?),
            "--optimizer" => o.optimizer = Optimizer::parse(value).map_err(|e| e.to_string())?,
            "--learning-rate" => o.learning_rate = num(flag)?,
            "--batch" => o.batch = whole(flag)?,
            "--eval-size" => o.eval_size = whole(flag)?,
            "--seed" => o.seed = value.parse().map_err(|_| format!("--seed: `{value}` is not a whole number of 0 or more; give one such as 1"))?,
            "--steps" => steps = whole(flag)?,
            "--eval-every" => eval_every = whole(flag)?,
            other => return Err(format!("unknown option `{other}` (see glassbox rnn --help)")),
        }
    }
    if steps > 1_000_000 {
        return Err(format!("--steps {steps} is more than 1000000; train in fewer steps"));
    }
    // The options named by their flags here (the library names them in words, for the page and the widgets).
    o.check_named(|words, flag| format!("{words} (--{flag})")).map_err(|e| e.to_string())?;
    let mut trainer = Trainer::new(o.clone()).map_err(|e| e.to_string())?;
    // The whole run, steps and evaluations, within about a minute (each step alone is bounded by `check`).
    let evaluations_run = 2 + if eval_every > 0 { steps / eval_every } else { 0 } as u64;
    let work = (steps as u64 * o.batch as u64 + evaluations_run * o.eval_size as u64) * o.work_per_sequence();
    if work > RNN_RUN_WORK_MAX {
        return Err(format!(
            "{steps} steps of {} sequences and {evaluations_run} evaluations of {} would take more than a minute ({work} units of work, over {RNN_RUN_WORK_MAX}); ask for fewer --steps, a larger --eval-every, or a smaller --batch, --length or --hidden",
            o.batch, o.eval_size
        ));
    }
    let mut evaluations = vec![evaluation(0, &trainer.evaluate())];
    let mut reports = Vec::with_capacity(steps);
    for s in 1..=steps {
        reports.push(trainer.step());
        if s == steps || (eval_every > 0 && s % eval_every == 0) {
            evaluations.push(evaluation(s, &trainer.evaluate()));
        }
    }
    let out = json!({
        "options": {
            "cell": o.cell.as_str(), "length": o.length, "symbols": o.symbols, "hidden": o.hidden, "weightScale": o.weight_scale,
            "clip": o.clip, "optimizer": if o.optimizer == Optimizer::Adam { "adam" } else { "sgd" }, "learningRate": o.learning_rate,
            "batch": o.batch, "evalSize": o.eval_size, "seed": o.seed,
        },
        "parameters": trainer.model.n_parameters(),
        "recurrentSingularValue": trainer.model.recurrent_singular_value(),
        "steps": {
            "loss": reports.iter().map(|r| r.loss).collect::<Vec<_>>(),
            "accuracy": reports.iter().map(|r| r.accuracy).collect::<Vec<_>>(),
            "gradNorm": reports.iter().map(|r| r.grad_norm).collect::<Vec<_>>(),
            "clipped": reports.iter().map(|r| r.clipped).collect::<Vec<_>>(),
        },
        "evaluations": evaluations,
    });
    print_json(&out)
}

fn evaluation(step: usize, e: &Evaluation) -> Value {
    json!({ "step": step, "loss": e.loss, "accuracy": e.accuracy, "stepNorms": e.step_norms })
}

fn print_json(v: &Value) -> std::result::Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, v).map_err(std::io::Error::from).and_then(|_| writeln!(stdout)).and_then(|_| stdout.flush()).map_err(|e| crate::stdout_failed(e).to_string())
}

/// `glassbox transfer DIR --data FILE`: `{ classes, trainAccuracy, testAccuracy, testPredictions }`
/// of a logistic regression (default options) on the model's mean-pooled sentence embeddings.
/// FILE: `{ classes: [..], train: [{ text, label }], test: [{ text, label }] }`.
pub fn transfer(session: &Session, data: &Path) -> Result<Value> {
    let fail = |problem: String| Error::file(data.display().to_string(), problem, "Use the layout of www/data/transfer-sentences.json");
    const DATA_FILE: crate::FileFixes = crate::FileFixes {
        not_a_file: "Give --data a JSON file laid out as www/data/transfer-sentences.json",
        too_large: "Give fewer sentences: a few hundred are enough to fit a logistic regression",
    };
    let text = crate::read_file_given(data, Some(crate::MAX_JSON_BYTES), &DATA_FILE)?.ok_or_else(|| fail("cannot be read (no such file)".into()))?;
    let v: Value = serde_json::from_slice(&text).map_err(|e| match glassbox::loader::bad_escape(&e) {
        Some((problem, fix)) => Error::file(data.display().to_string(), format!("holds {problem} ({e})"), fix),
        None => fail(format!("is not JSON ({e})")),
    })?;
    let classes = v["classes"].as_array().ok_or_else(|| fail("has no \"classes\" list (the label names)".into()))?.len();
    let mut sets = Vec::new();
    for key in ["train", "test"] {
        let rows = v[key].as_array().ok_or_else(|| fail(format!("has no \"{key}\" list")))?;
        if rows.is_empty() {
            return Err(fail(format!("has an empty \"{key}\" list: nothing to {}", if key == "train" { "learn from" } else { "measure on" })));
        }
        let (mut features, mut labels) = (Vec::new(), Vec::new());
        for row in rows {
            let (Some(t), Some(label)) = (row["text"].as_str(), row["label"].as_u64()) else {
                return Err(fail(format!("a \"{key}\" entry is not {{ \"text\": \"...\", \"label\": 0 }}")));
            };
            let ins = session.inspect(t, None, Capture::NONE)?;
            let e = session
                .sentence_embedding(&ins)
                .ok_or_else(|| Error::input("this model gives no sentence embedding", "Use an encoder-only model such as models/glassbox-bert"))?;
            features.extend(e.into_iter().map(f64::from));
            labels.push(label as usize);
        }
        sets.push((features, labels));
    }
    let dims = session.info().d_model;
    let r = fit_and_test(
        Dataset { features: &sets[0].0, dims, labels: &sets[0].1 },
        Dataset { features: &sets[1].0, dims, labels: &sets[1].1 },
        classes,
        &FitOptions::default(),
    )?;
    Ok(json!({ "classes": v["classes"], "trainAccuracy": r.train_accuracy, "testAccuracy": r.test_accuracy, "testPredictions": r.test_predictions }))
}

/// Up to this many decoder tokens `inspect --views` gives the flow through cross-attention from every
/// one; beyond, from the last one only (a maximum flow per pair of tokens).
const CROSS_FLOW_EVERY_OUTPUT_MAX: usize = 48;

/// `inspect --views`' `through_cross` entry for an encoder-decoder (the numbers of `<glassbox-rollout
/// kind="cross">`): `encoder_rollout` `[T][S]` and `decoder_rollout` `[T][T]` from
/// `glassbox::teach::rollout::cross_rollout`, and `flow` (a row per token of `flow_outputs`, `S`
/// encoder inputs then `T` decoder inputs) or `flow_error`.
pub fn cross_views(encoder: &AttentionMaps, decoder: &AttentionMaps, cross: &AttentionMaps) -> Result<Value> {
    let flat = |m: &AttentionMaps| {
        let (l, h, q, k) = m.dim();
        (m.as_standard_layout().iter().copied().collect::<Vec<f32>>(), [l, h, q, k])
    };
    let (enc, encoder_shape) = flat(encoder);
    let (dec, decoder_shape) = flat(decoder);
    let (crs, cross_shape) = flat(cross);
    let maps = rollout::EncoderDecoderMaps { encoder: &enc, encoder_shape, decoder: &dec, decoder_shape, cross: &crs, cross_shape };
    let r = rollout::cross_rollout(&maps)?;
    let rows = |data: &[f32], cols: usize| json!(data.chunks(cols.max(1)).map(<[f32]>::to_vec).collect::<Vec<_>>());
    let mut out = json!({
        "encoder_rollout": rows(&r.encoder, r.source_len),
        "decoder_rollout": rows(&r.decoder, r.target_len),
    });
    let t = r.target_len;
    let outputs: Vec<usize> = if t <= CROSS_FLOW_EVERY_OUTPUT_MAX { (0..t).collect() } else { vec![t - 1] };
    match outputs.iter().map(|&o| rollout::cross_flow(&maps, o)).collect::<Result<Vec<_>>>() {
        Ok(flows) => {
            out["flow"] = json!(flows);
            out["flow_outputs"] = json!(outputs);
        }
        Err(e) => out["flow_error"] = json!(e.to_string()),
    }
    Ok(out)
}
