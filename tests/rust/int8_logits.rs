//! How far int8 weight storage (one scale per 64 weights of an output column, activations quantised
//! to int16 per group inside the product) moves a model's logits from the f32 model's, on the fixture
//! models that have an LM head: the error is printed for the report (`--nocapture`) and bounded.
//!
//! The bound, per model: max |Δlogit| <= 5% of the f32 logits' spread (max - min over the whole
//! `[T][V]` block). Int8 rounds each weight by at most half a step of its group's max / 127, i.e.
//! <= 0.4% of the largest weight in its group; the errors of a dot product have random signs and
//! partly cancel, and LayerNorm / RMSNorm re-scale each layer's output, so a layer adds well under 1%
//! of its output's range; the fixtures have 2 to 5 layers. 5% leaves room for that and would still
//! catch a wrong scale, a misplaced group or a dropped tail (those move logits by their whole range).
//! Greedy choices: the argmax of each position must agree wherever the f32 model's top two logits are
//! further apart than twice the measured error (where they are closer, a tie may flip legitimately),
//! and greedy generation of 8 tokens is compared the same way, token by token, until the first
//! legitimate near-tie.

#[path = "support/mod.rs"]
mod support;

use glassbox::kernels::Storage;
use glassbox::models::generation::{GenerateOptions, Sampling};
use glassbox::models::Capture;
use glassbox::session::Session;
use support::Folder;

const MODELS: &[&str] = &["gpt2", "gpt2_odd", "gpt2_bare_bf16", "llama3_tied", "llama_gqa", "qwen2", "t5_tiny", "flan_t5_tiny", "bart_tiny", "marian_tiny"];
const TEXT: &str = "The glass box shows every weight, and the quick brown fox jumps over it.";

fn logits(session: &Session) -> (Vec<f32>, usize) {
    let ins = session.inspect(TEXT, None, Default::default()).expect("the model runs");
    let logits = ins.outputs.logits.expect("an LM head keeps its logits");
    let rows = logits.len() / session.info().vocab_size;
    (logits, rows)
}

fn argmax(row: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    let mut second = f32::NEG_INFINITY;
    for (i, &v) in row.iter().enumerate() {
        if v > best.1 {
            second = best.1;
            best = (i, v);
        } else if v > second {
            second = v;
        }
    }
    (best.0, best.1 - second)
}

#[test]
fn int8_logits_stay_close_to_f32_on_the_fixtures() {
    println!("model            positions  max|Δlogit|  f32 spread  error/spread  greedy ids equal  generated ids equal");
    let mut worst: f32 = 0.0;
    for name in MODELS {
        let folder = Folder::fixture(name);
        let f32_model = Session::load_with(&folder.files(), None, Some(Storage::F32)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let int8_model = Session::load_with(&folder.files(), None, Some(Storage::Int8)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let v = f32_model.info().vocab_size;
        let (want, rows) = logits(&f32_model);
        let (got, _) = logits(&int8_model);
        assert_eq!(got.len(), want.len(), "{name}: logits shape");
        let max_err = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        let spread = want.iter().fold(f32::NEG_INFINITY, |m, &a| m.max(a)) - want.iter().fold(f32::INFINITY, |m, &a| m.min(a));
        assert!(max_err.is_finite() && spread > 0.0, "{name}: error {max_err}, spread {spread}");
        let ratio = max_err / spread;
        worst = worst.max(ratio);
        // Greedy ids per position.
        let (mut same, mut decided) = (0, 0);
        for r in 0..rows {
            let (a, margin) = argmax(&want[r * v..(r + 1) * v]);
            let (b, _) = argmax(&got[r * v..(r + 1) * v]);
            same += usize::from(a == b);
            if margin > 2.0 * max_err {
                decided += 1;
                assert_eq!(a, b, "{name}: position {r}: greedy id {b} with int8, {a} with f32 (f32 margin {margin}, int8 error {max_err})");
            }
        }
        // Greedy generation, token by token.
        let opts = GenerateOptions { max_new_tokens: 8, sampling: Sampling::Greedy, eos_token_id: None, n_candidates: 2, capture: Capture::NONE };
        let gen = |s: &Session| s.generate(TEXT, &opts, &mut |_| true).unwrap_or_else(|e| panic!("{name}: {e}")).tokens;
        let (a, b) = (gen(&f32_model), gen(&int8_model));
        let mut agree = 0;
        for (ta, tb) in a.iter().zip(&b) {
            if ta.id != tb.id {
                // Allowed only where f32's two likeliest were a near-tie (probabilities within 2%).
                let close = ta.candidates.len() == 2 && (ta.candidates[0].1 - ta.candidates[1].1).abs() < 0.02;
                assert!(close, "{name}: generated {} with int8, {} with f32, after {agree} equal tokens; f32 candidates {:?}", tb.id, ta.id, ta.candidates);
                break;
            }
            agree += 1;
        }
        println!("{name:<16} {rows:>9}  {max_err:>11.5}  {spread:>10.3}  {:>11.2}%  {same:>7}/{rows:<8} {agree:>10}/{}  ({decided} positions decided by more than 2x the error)", 100.0 * ratio, a.len());
        assert!(ratio <= 0.05, "{name}: int8 moved a logit by {max_err}, {:.2}% of the f32 logits' spread {spread} (bound 5%)", 100.0 * ratio);
    }
    println!("worst error / spread: {:.2}%", 100.0 * worst);
}
