//! What the model view, the rollout view and their CLI twins cost: pattern scores of every head,
//! the model view's thumbnails (every head rasterised into one bitmap, one pixel a cell),
//! attention rollout, and attention flow from one output token, on random softmax maps of
//! 12 layers x 12 heads (BERT-base's size) at several lengths.
//!
//! `cargo run --release --example views_cost` prints one JSON line per length.

use glassbox::plot::{self, MapStyle, Mask, Palette};
use glassbox::teach::patterns::{score_heads, MapKind};
use glassbox::teach::rollout::{flow, rollout, FlowProblem, MAX_FLOW_WORK};
use std::time::Instant;

fn main() {
    let (layers, heads) = (12usize, 12usize);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 + 0.01
    };
    for t in [16usize, 32, 64, 96, 128] {
        let mut maps = Vec::with_capacity(layers * heads * t * t);
        for _ in 0..layers * heads * t {
            let row: Vec<f32> = (0..t).map(|_| next()).collect();
            let sum: f32 = row.iter().sum();
            maps.extend(row.iter().map(|x| x / sum));
        }
        let ids: Vec<u32> = (0..t as u32).map(|i| i % 7).collect();
        let shape = [layers, heads, t, t];
        let clock = Instant::now();
        let scores = score_heads(&maps, shape, MapKind::SelfAttention { causal: false }, &ids, &ids).map(|s| s.best_head().is_some());
        let patterns_ms = clock.elapsed().as_secs_f64() * 1e3;
        let clock = Instant::now();
        let style = MapStyle { cell_px: 1, grid_lines: false, hatch_px: 10 };
        let thumbs = plot::grid(&maps, layers * heads, heads, t, t, Mask::None, style, 0, &Palette::LIGHT).map(|img| img.rgba.len());
        let thumbs_ms = clock.elapsed().as_secs_f64() * 1e3;
        let clock = Instant::now();
        let r = rollout(&maps, shape).map(|r| r.len());
        let rollout_ms = clock.elapsed().as_secs_f64() * 1e3;
        let work = t * layers * t * t;
        let (flow_ms, flow_note) = if work <= MAX_FLOW_WORK {
            let clock = Instant::now();
            let f = flow(&maps, shape, t - 1).map(|f| f.len());
            (Some(clock.elapsed().as_secs_f64() * 1e3), format!("{f:?}"))
        } else {
            (None, "over MAX_FLOW_WORK".to_owned())
        };
        // The same flow in bounded parts (what <glassbox-rollout> asks the worker for): the longest part.
        let (mut parts, mut longest_part_ms) = (0usize, 0.0f64);
        if work <= MAX_FLOW_WORK {
            if let Ok(mut problem) = FlowProblem::self_attention(&maps, shape, t - 1) {
                let mut start = Some(0);
                while let Some(at) = start {
                    let clock = Instant::now();
                    start = problem.flow_part(at).1;
                    longest_part_ms = longest_part_ms.max(clock.elapsed().as_secs_f64() * 1e3);
                    parts += 1;
                }
            }
        }
        let flow_ms = flow_ms.map_or("null".into(), |m| format!("{m:.1}"));
        let ok = format!("{:?} {:?} {:?} {}", scores.is_ok(), thumbs.is_ok(), r.is_ok(), flow_note);
        println!(
            r#"{{"layers":{layers},"heads":{heads},"tokens":{t},"patterns_ms":{patterns_ms:.2},"thumbnails_ms":{thumbs_ms:.2},"rollout_ms":{rollout_ms:.2},"flow_one_output_ms":{flow_ms},"flow_parts":{parts},"flow_longest_part_ms":{longest_part_ms:.1},"ok":"{ok}"}}"#
        );
    }
}
