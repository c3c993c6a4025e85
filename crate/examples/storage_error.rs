//! How far each weight storage moves the logits from f32, on the bundled models (and the real
//! all-MiniLM-L6-v2 when present: its last hidden state, since it has no LM head).
//!
//!   cargo run --release --example storage_error
//!
//! For each model: one forward pass over a fixed sentence with the linear layers kept in f32, f16,
//! bf16 and int8; prints the largest absolute difference from f32 and that difference relative to
//! the spread (max - min) of the f32 values, and whether the greedy (argmax) id of every position
//! is unchanged.

use glassbox::kernels::Storage;
use glassbox::loader::ModelFiles;
use glassbox::models::{Capture, Inputs, Model};
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let models = ["models/glassbox-gpt2", "models/glassbox-bert", "models/glassbox-translator", "models/extra/all-minilm-l6-v2"];
    println!("{:<34} {:<6} {:>14} {:>12} {:>16}", "model", "weights", "max |Δ| vs f32", "Δ / spread", "argmax unchanged");
    for dir in models {
        let dir = root.join(dir);
        let (Ok(config), Ok(weights)) = (std::fs::read(dir.join("config.json")), std::fs::read(dir.join("model.safetensors"))) else {
            println!("{:<34} not present", dir.file_name().unwrap_or_default().to_string_lossy());
            continue;
        };
        let files = ModelFiles { config: &config, weights: Some(&weights), ..Default::default() };
        let ids: Vec<u32> = (0..24u32).map(|i| 5 + (i * 37) % 90).collect();
        let run = |storage: Storage| -> (Vec<f32>, usize) {
            let model = Model::load_with(&files, None, Some(storage)).expect("bundled model loads");
            let out = model.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).expect("forward");
            match out.logits {
                Some(l) => (l, model.info().vocab_size),
                None => (out.last_hidden_state, model.info().d_model),
            }
        };
        let (reference, width) = run(Storage::F32);
        let spread = reference.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) - reference.iter().fold(f32::INFINITY, |a, &b| a.min(b));
        let argmax = |v: &[f32]| -> Vec<usize> {
            v.chunks(width).map(|row| row.iter().enumerate().fold((0, f32::NEG_INFINITY), |best, (i, &x)| if x > best.1 { (i, x) } else { best }).0).collect()
        };
        for storage in [Storage::F16, Storage::BF16, Storage::Int8] {
            let (got, _) = run(storage);
            let max = got.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            let same = argmax(&got) == argmax(&reference);
            println!("{:<34} {:<6} {:>14.3e} {:>12.3e} {:>16}", dir.file_name().unwrap_or_default().to_string_lossy(), storage.name(), max, max / spread, same);
        }
    }
}
