//! Properties every forward pass and every decoder must have, checked on the reference fixtures:
//! attention rows are distributions, causal masks are exact, the KV cache changes nothing,
//! sampling is reproducible per seed, and random-weight twins are deterministic.

#[path = "support/mod.rs"]
mod support;

use glassbox::models::generation::{generate, GenerateOptions, Sampling};
use glassbox::models::{AttentionMaps, Capture, Inputs, Kind, Model};
use glassbox::session::Session;
use support::{assert_close, ids, reference, Folder};

const ALL: [&str; 6] = ["gpt2", "gpt2_odd", "gpt2_bare_bf16", "bert", "bert_pooler", "minilm_style"];
const DECODERS: [&str; 3] = ["gpt2", "gpt2_odd", "gpt2_bare_bf16"];

fn load(name: &str) -> Model {
    Model::load(&Folder::fixture(name).files(), None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Input ids of every reference case of a fixture.
fn reference_ids(name: &str) -> Vec<Vec<u32>> {
    reference(name)["cases"].as_array().unwrap().iter().map(|c| ids(&c["input_ids"])).collect()
}

/// The longest reference text's ids (near the position limit).
fn long_ids(name: &str) -> Vec<u32> {
    reference_ids(name).into_iter().max_by_key(|v| v.len()).unwrap()
}

fn attentions(model: &Model, ids: &[u32], capture: Capture) -> glassbox::models::Outputs {
    model.forward(&Inputs { ids, type_ids: None, decoder_ids: None }, capture).expect("forward")
}

fn self_attention(model: &Model, out: &glassbox::models::Outputs) -> AttentionMaps {
    match model.kind() {
        Kind::EncoderOnly => out.encoder_attentions.clone(),
        _ => out.decoder_attentions.clone(),
    }
    .expect("attention captured")
}

#[test]
fn attention_rows_sum_to_one() {
    for name in ALL {
        let model = load(name);
        for ids in reference_ids(name) {
            let maps = self_attention(&model, &attentions(&model, &ids, Capture::PROBS));
            for (r, row) in maps.rows().into_iter().enumerate() {
                let sum: f32 = row.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "{name}: attention row {r} sums to {sum}");
                assert!(row.iter().all(|p| (0.0..=1.0).contains(p)), "{name}: attention row {r} has a value outside [0, 1]: {row:?}");
            }
        }
    }
}

#[test]
fn causal_entries_above_the_diagonal_are_exactly_zero() {
    for name in DECODERS {
        let model = load(name);
        let ids = long_ids(name);
        let out = attentions(&model, &ids, Capture::ALL);
        let (probs, scores) = (out.decoder_attentions.unwrap(), out.decoder_scores.unwrap());
        let (l_n, h_n, t, _) = probs.dim();
        for l in 0..l_n {
            for h in 0..h_n {
                for i in 0..t {
                    for j in 0..t {
                        if j > i {
                            assert_eq!(probs[[l, h, i, j]], 0.0, "{name}: probs[{l}][{h}][{i}][{j}]");
                            assert_eq!(scores[[l, h, i, j]], f32::NEG_INFINITY, "{name}: scores[{l}][{h}][{i}][{j}]");
                        } else {
                            assert!(scores[[l, h, i, j]].is_finite(), "{name}: visible score [{l}][{h}][{i}][{j}] not finite");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn capture_does_not_change_the_computation() {
    for name in ALL {
        let model = load(name);
        let ids = long_ids(name);
        let plain = attentions(&model, &ids, Capture::NONE);
        let captured = attentions(&model, &ids, Capture::ALL);
        assert!(plain.encoder_attentions.is_none() && plain.decoder_attentions.is_none(), "{name}: capture off still captured");
        assert_eq!(plain.last_hidden_state, captured.last_hidden_state, "{name}");
        assert_eq!(plain.logits, captured.logits, "{name}");
    }
}

/// Feed `ids` as `first` tokens at once and then one at a time; every step's logits and attention
/// row must equal the matching row of one full forward pass.
fn cached_equals_full(name: &str, first: usize) {
    let model = load(name);
    let ids = long_ids(name);
    let full = attentions(&model, &ids, Capture::PROBS);
    let full_maps = full.decoder_attentions.unwrap();
    let full_logits = full.logits.unwrap();
    let (v, t) = (model.info().vocab_size, ids.len());
    let mut state = model.start_decoding(&[]).unwrap();
    let mut at = 0;
    while at < t {
        let n = if at == 0 { first } else { 1 };
        let step = model.feed(&mut state, &ids[at..at + n], Capture::PROBS).unwrap();
        let last = at + n - 1; // the position whose logits the step returns
        assert_close(&format!("{name}: cached logits at {last}"), &step.logits, &full_logits[last * v..(last + 1) * v].iter().map(|&x| x as f64).collect::<Vec<_>>(), 1e-4);
        let maps = step.self_attentions.unwrap();
        assert_eq!(maps.shape(), [full_maps.dim().0, full_maps.dim().1, n, at + n], "{name}: step attention shape");
        for l in 0..maps.dim().0 {
            for h in 0..maps.dim().1 {
                for i in 0..n {
                    let got: Vec<f32> = (0..at + n).map(|j| maps[[l, h, i, j]]).collect();
                    let want: Vec<f64> = (0..at + n).map(|j| full_maps[[l, h, at + i, j]] as f64).collect();
                    assert_close(&format!("{name}: cached attention [{l}][{h}] row {}", at + i), &got, &want, 1e-5);
                }
            }
        }
        at += n;
    }
    assert_eq!(state.fed, t);
}

#[test]
fn kv_cached_decoding_token_by_token_equals_full_forward() {
    for name in DECODERS {
        cached_equals_full(name, 1);
    }
}

#[test]
fn kv_cached_decoding_after_a_prompt_chunk_equals_full_forward() {
    for name in DECODERS {
        cached_equals_full(name, 7);
    }
}

#[test]
fn feeding_past_the_position_table_is_an_error_not_a_panic() {
    let model = load("gpt2");
    let max = model.info().max_positions.unwrap();
    let mut state = model.start_decoding(&[]).unwrap();
    model.feed(&mut state, &vec![5; max], Capture::NONE).unwrap();
    let err = model.feed(&mut state, &[5], Capture::NONE).unwrap_err().to_string();
    assert!(err.contains(&max.to_string()) && err.contains("positions"), "{err}");
}

fn run(model: &Model, prompt: &[u32], sampling: Sampling, n: usize) -> Vec<u32> {
    let opts = GenerateOptions { max_new_tokens: n, sampling, eos_token_id: None, n_candidates: 3, capture: Capture::NONE };
    let state = model.start_decoding(&[]).unwrap();
    generate(model, state, prompt, &opts, &mut |_| true).unwrap().iter().map(|t| t.id).collect()
}

#[test]
fn sampling_is_reproducible_per_seed_and_varies_across_seeds() {
    let model = load("gpt2");
    let prompt = &reference_ids("gpt2")[0];
    let sample = |seed| Sampling::new(1.0, 0, 1.0, seed).unwrap();
    let a = run(&model, prompt, sample(7), 12);
    assert_eq!(a.len(), 12);
    assert_eq!(a, run(&model, prompt, sample(7), 12), "same seed, different tokens");
    let differing = (8..13).filter(|&s| run(&model, prompt, sample(s), 12) != a).count();
    assert!(differing >= 3, "only {differing} of 5 other seeds gave a different continuation");
    let nucleus = Sampling::new(0.8, 20, 0.9, 7).unwrap();
    assert_eq!(run(&model, prompt, nucleus, 12), run(&model, prompt, nucleus, 12));
}

#[test]
fn top_k_one_equals_greedy() {
    for name in ["gpt2", "gpt2_odd"] {
        let model = load(name);
        for prompt in reference_ids(name).iter().filter(|p| p.len() < 40) {
            let greedy = run(&model, prompt, Sampling::Greedy, 10);
            for seed in [1, 2] {
                let k1 = Sampling::new(1.3, 1, 1.0, seed).unwrap();
                assert_eq!(run(&model, prompt, k1, 10), greedy, "{name}: top-k 1 (seed {seed}) differs from greedy");
            }
            // A tiny top-p keeps only the most likely token, too.
            assert_eq!(run(&model, prompt, Sampling::new(1.0, 0, 1e-6, 3).unwrap(), 10), greedy, "{name}: top-p 1e-6");
        }
    }
}

#[test]
fn temperature_zero_is_greedy() {
    assert_eq!(Sampling::new(0.0, 50, 0.9, 1).unwrap(), Sampling::Greedy);
}

#[test]
fn generation_stops_at_the_token_limit_and_at_eos() {
    let model = load("gpt2");
    let prompt = &reference_ids("gpt2")[0];
    let free = run(&model, prompt, Sampling::Greedy, 6);
    assert_eq!(free.len(), 6);
    // Declare the third greedy token to be eos: generation must stop right after producing it.
    let opts = GenerateOptions { max_new_tokens: 6, sampling: Sampling::Greedy, eos_token_id: Some(free[2]), n_candidates: 0, capture: Capture::NONE };
    let state = model.start_decoding(&[]).unwrap();
    let stopped: Vec<u32> = generate(&model, state, prompt, &opts, &mut |_| true).unwrap().iter().map(|t| t.id).collect();
    let first_eos = free.iter().position(|&id| id == free[2]).unwrap();
    assert_eq!(stopped, free[..=first_eos].to_vec());
}

/// Model only (no tokenizer): weights drawn from a seed instead of the file.
fn random_twin(name: &str, seed: u64) -> Model {
    let mut folder = Folder::fixture(name);
    folder.weights = None;
    Model::load(&folder.files(), Some(seed)).unwrap_or_else(|e| panic!("{name} random twin (seed {seed}): {e}"))
}

#[test]
fn random_weight_twins_load_and_are_deterministic_per_seed() {
    for name in ALL {
        let ids = &reference_ids(name)[1];
        let run = |seed| attentions(&random_twin(name, seed), ids, Capture::PROBS);
        let (a, b, c) = (run(1), run(1), run(2));
        assert_eq!(a.last_hidden_state, b.last_hidden_state, "{name}: same seed, different weights");
        assert_ne!(a.last_hidden_state, c.last_hidden_state, "{name}: seeds 1 and 2 gave the same weights");
        assert!(a.last_hidden_state.iter().all(|x| x.is_finite()), "{name}: random twin produced non-finite states");
        let trained = attentions(&load(name), ids, Capture::NONE);
        assert_eq!(trained.last_hidden_state.len(), a.last_hidden_state.len(), "{name}: twin has another shape");
    }
}

#[test]
fn random_weight_twin_sessions_load_without_weights() {
    for name in ["gpt2", "bert"] {
        let mut folder = Folder::fixture(name);
        folder.weights = None;
        let a = Session::load(&folder.files(), Some(5)).unwrap_or_else(|e| panic!("[tokenizer/session] {name}: {e}"));
        let b = Session::load(&folder.files(), Some(5)).unwrap();
        let text = "Hello world";
        let (x, y) = (a.inspect(text, None, Capture::NONE).unwrap(), b.inspect(text, None, Capture::NONE).unwrap());
        assert_eq!(x.outputs.last_hidden_state, y.outputs.last_hidden_state, "{name}");
        // No weights and no seed: a clear error, not a panic.
        let err = Session::load(&folder.files(), None).err().expect("must fail").to_string();
        assert!(err.contains("model.safetensors"), "{err}");
    }
}

/// The distribution a step reports as sampled is the one drawn from: it holds the chosen token, its
/// kept probabilities add up to 1, top-k bounds its support, greedy is one-hot, and the model's own
/// candidates (temperature 1) do not depend on the sampling settings.
#[test]
fn the_reported_sampled_distribution_is_the_one_drawn_from() {
    let model = load("gpt2");
    let prompt = &reference_ids("gpt2")[0];
    let steps = |sampling| {
        let opts = GenerateOptions { max_new_tokens: 6, sampling, eos_token_id: None, n_candidates: 10, capture: Capture::NONE };
        let state = model.start_decoding(&[]).unwrap();
        generate(&model, state, prompt, &opts, &mut |_| true).unwrap()
    };
    let greedy = steps(Sampling::Greedy);
    for t in &greedy {
        assert_eq!(t.sampled, vec![(t.id, 1.0)], "greedy: one-hot on the chosen token");
        assert_eq!(t.sampled_support, 1);
    }
    for (temperature, top_k, top_p) in [(1.5, 5, 1.0), (0.7, 0, 0.9), (1.0, 0, 1.0)] {
        let run = steps(Sampling::new(temperature, top_k, top_p, 11).unwrap());
        assert_eq!(run[0].candidates, greedy[0].candidates, "step 0's model softmax is independent of the settings");
        for t in &run {
            assert!(t.sampled.iter().any(|&(id, p)| id == t.id && p > 0.0), "T {temperature}: chosen {} missing from {:?}", t.id, t.sampled);
            if top_k > 0 {
                assert!(t.sampled_support <= top_k, "top-k {top_k}: support {}", t.sampled_support);
            }
            let shown: f32 = t.sampled.iter().map(|&(_, p)| p).sum();
            assert!(shown <= 1.0 + 1e-5, "probabilities over 1: {shown}");
            if t.sampled_support <= t.sampled.len() {
                assert!((shown - 1.0).abs() < 1e-4, "a fully listed distribution adds up to 1: {shown}");
            }
            assert!(t.sampled.windows(2).all(|w| w[0].1 >= w[1].1 || w[1].0 == t.id), "likeliest first: {:?}", t.sampled);
        }
    }
    // Hotter is flatter: the top probability of step 0 falls as the temperature rises.
    let top = |temperature| steps(Sampling::new(temperature, 0, 1.0, 3).unwrap())[0].sampled[0].1;
    assert!(top(0.5) > top(1.0) && top(1.0) > top(2.0), "{} {} {}", top(0.5), top(1.0), top(2.0));
    // At T = 1 with no cut, the distribution drawn from is the model's softmax.
    let plain = steps(Sampling::new(1.0, 0, 1.0, 3).unwrap());
    for (a, b) in plain[0].sampled.iter().zip(&plain[0].candidates) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < 1e-5, "{a:?} vs {b:?}");
    }
}

/// The model card's block facts are each family's real wiring, read from its config: what the
/// page's sentences quote (pre- or post-norm, the norm, the activation, a gated FFN, tied heads).
#[test]
fn block_facts_follow_each_family_and_config() {
    use glassbox::card::BlockFacts;
    let facts = |name: &str| BlockFacts::of(&load(name));
    // (fixture, placement, norm, activation, gated, tied, embedding norm, final norm)
    let want = [
        ("gpt2", "pre", "LayerNorm", "gelu_new", false, true, false, true),
        ("bert", "post", "LayerNorm", "gelu", false, true, true, false),
        ("roberta_untied", "post", "LayerNorm", "gelu", false, false, true, false),
        ("distilbert_sin", "post", "LayerNorm", "gelu", false, true, true, false),
        ("t5_tiny", "pre", "RMSNorm", "relu", false, true, false, true),
        ("flan_t5_tiny", "pre", "RMSNorm", "gelu_new", true, false, false, true),
        ("bart_tiny", "post", "LayerNorm", "gelu", false, true, true, false),
        ("marian_tiny", "post", "LayerNorm", "swish", false, true, false, false),
        ("llama_gqa", "pre", "RMSNorm", "silu", true, false, false, true),
        ("qwen2", "pre", "RMSNorm", "silu", true, true, false, true),
    ];
    for (name, placement, norm, act, gated, tied, emb_norm, final_norm) in want {
        let f = facts(name);
        let model = load(name);
        let got = (f.norm_placement, f.norm_kind, f.activation.as_str(), f.gated_ffn, f.tied_embeddings, f.embedding_norm, f.final_norm);
        assert_eq!(got, (placement, norm, act, gated, tied, emb_norm, final_norm), "{name}");
        assert_eq!(f.ffn_width, model.info().d_ff, "{name}: FFN width is d_ff");
        let (l, h) = model.attention_dims(if model.info().kind == glassbox::models::Kind::EncoderOnly { glassbox::models::AttentionKind::Encoder } else { glassbox::models::AttentionKind::Decoder }).unwrap();
        assert!(l > 0 && h > 0);
        assert!(f.n_kv_heads >= 1 && model.info().n_heads % f.n_kv_heads == 0, "{name}: kv heads {}", f.n_kv_heads);
        assert!(f.d_head > 0, "{name}");
        if name == "llama_gqa" {
            assert!(f.n_kv_heads < model.info().n_heads, "grouped-query attention shares key/value heads");
        }
    }
}
