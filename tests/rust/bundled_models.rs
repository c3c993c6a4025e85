//! The bundled models (`models/glassbox-*`), measured through Glassbox's own engine on the
//! committed f16 weights: the thresholds of issue 4, with the figures printed.
//!
//!     cargo test --release --test bundled_models -- --nocapture
//!
//! The held-out sets are small files committed beside each model (written by the training
//! scripts in `scripts/training/`); the baselines they are compared with come from the
//! model's `metrics.json`, computed on exactly the same items.

use glassbox::loader::ModelFiles;
use glassbox::models::generation::{GenerateOptions, Sampling};
use glassbox::models::{Capture, Inputs, Kind};
use glassbox::session::Session;
use std::path::PathBuf;

/// The decoder layer whose head-averaged cross-attention is the word alignment (named in
/// models/glassbox-translator/README.md).
const TRANSLATOR_ALIGN_LAYER: usize = 2;

fn model_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models").join(name)
}

/// The bytes of one model folder, kept alive while a `ModelFiles` borrows them.
struct Folder {
    dir: PathBuf,
    config: Vec<u8>,
    weights: Vec<u8>,
    tokenizer: Vec<u8>,
    tokenizer_config: Vec<u8>,
    special_tokens_map: Vec<u8>,
}

impl Folder {
    fn read(name: &str) -> Folder {
        let dir = model_dir(name);
        let read = |file: &str| std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()));
        Folder {
            config: read("config.json"),
            weights: read("model.safetensors"),
            tokenizer: read("tokenizer.json"),
            tokenizer_config: read("tokenizer_config.json"),
            special_tokens_map: read("special_tokens_map.json"),
            dir,
        }
    }

    fn files(&self, with_weights: bool) -> ModelFiles<'_> {
        ModelFiles {
            config: &self.config,
            weights: with_weights.then_some(self.weights.as_slice()),
            tokenizer: &self.tokenizer,
            tokenizer_config: Some(&self.tokenizer_config),
            special_tokens_map: Some(&self.special_tokens_map),
            generation_config: None,
        }
    }

    fn session(&self) -> Session {
        Session::load(&self.files(true), None).unwrap_or_else(|e| panic!("loading {}: {e}", self.dir.display()))
    }

    fn text(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.join(file)).unwrap_or_else(|e| panic!("{}/{file}: {e}", self.dir.display()))
    }

    fn metrics(&self) -> serde_json::Value {
        serde_json::from_str(&self.text("metrics.json")).expect("metrics.json is JSON")
    }
}

fn greedy(max_new_tokens: usize) -> GenerateOptions {
    GenerateOptions { max_new_tokens, sampling: Sampling::Greedy, eos_token_id: None, n_candidates: 0, capture: Capture::NONE }
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// `-log softmax(row)[target]`, computed in f64.
fn nll(row: &[f32], target: usize) -> f64 {
    let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
    -((row[target] as f64 - max) - sum.ln())
}

/// The word (by spaces) each token belongs to, from its character offsets; `None` for special
/// tokens. A token belongs to the word holding its last character.
fn word_of_tokens(text: &str, offsets: &[(usize, usize)], special: &[bool]) -> Vec<Option<usize>> {
    let mut starts = Vec::new();
    let mut pos = 0;
    for w in text.split(' ') {
        starts.push(pos);
        pos += w.chars().count() + 1;
    }
    offsets
        .iter()
        .zip(special)
        .map(|(&(a, b), &sp)| if sp || b <= a { None } else { starts.iter().rposition(|&s| s <= b - 1) })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// glassbox-translator (Marian)
// ---------------------------------------------------------------------------------------------

struct Pair {
    src: String,
    tgt: String,
    links: Vec<(usize, usize)>, // (source word, target word)
    content: Vec<usize>,        // target words that are nouns, adjectives or verbs
}

fn translator_heldout(folder: &Folder) -> Vec<Pair> {
    folder
        .text("heldout.tsv")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 4, "heldout.tsv: source, target, alignment, content: {line}");
            let links = cols[2]
                .split_whitespace()
                .map(|a| {
                    let (s, t) = a.split_once('-').expect("alignment s-t");
                    (s.parse().unwrap(), t.parse().unwrap())
                })
                .collect();
            let content = cols[3].split(',').filter(|c| !c.is_empty()).map(|c| c.parse().unwrap()).collect();
            Pair { src: cols[0].to_string(), tgt: cols[1].to_string(), links, content }
        })
        .collect()
}

#[test]
fn translator_translates_heldout_sentences() {
    let folder = Folder::read("glassbox-translator");
    let session = folder.session();
    assert_eq!(session.info().kind, Kind::EncoderDecoder);
    let pairs = translator_heldout(&folder);
    assert_eq!(pairs.len(), 500);
    let mut exact = 0;
    let mut misses = Vec::new();
    for p in &pairs {
        let run = session.generate(&p.src, &greedy(64), &mut |_| true).expect("translate");
        let out = session.tokenizer.decode(&run.ids(), true).expect("decode");
        if out.trim() == p.tgt {
            exact += 1;
        } else if misses.len() < 5 {
            misses.push(format!("  {}\n    got      {}\n    expected {}", p.src, out.trim(), p.tgt));
        }
    }
    let rate = exact as f64 / pairs.len() as f64;
    println!("glassbox-translator: greedy exact match {exact}/{} = {:.1}% (threshold 95%)", pairs.len(), 100.0 * rate);
    for m in &misses {
        println!("{m}");
    }
    assert!(rate >= 0.95, "exact match {rate:.3} < 0.95");
}

#[test]
fn translator_cross_attention_aligns_words() {
    let folder = Folder::read("glassbox-translator");
    let session = folder.session();
    let info = session.info().clone();
    let start = info.decoder_start_token_id.expect("decoder_start_token_id");
    let pairs = translator_heldout(&folder);
    let n_layers = info.n_decoder_layers;
    let mut hits = vec![0usize; n_layers];
    let mut total = 0usize;
    for p in &pairs {
        let src = session.tokenizer.encode(&p.src, true).expect("encode source");
        let tgt = session.tokenizer.encode(&p.tgt, false).expect("encode target");
        let src_word = word_of_tokens(&p.src, &src.offsets, &src.special);
        let tgt_word = word_of_tokens(&p.tgt, &tgt.offsets, &tgt.special);
        // Teacher forcing: decoder input = start + target, so row r is the query that predicts
        // target token r (the same row a generation step reports for the token it chose).
        let mut decoder_ids = vec![start];
        decoder_ids.extend(&tgt.ids);
        let out = session.inspect(&p.src, Some(&decoder_ids), Capture::PROBS).expect("forward");
        let cross = out.outputs.cross_attentions.expect("cross-attention captured"); // [L][H][T][S]
        let (h_count, s_len) = (cross.dim().1, cross.dim().3);
        for &t in &p.content {
            let aligned: Vec<usize> = p.links.iter().filter(|l| l.1 == t).map(|l| l.0).collect();
            let Some(row) = tgt_word.iter().position(|w| *w == Some(t)) else { continue };
            if aligned.is_empty() {
                continue;
            }
            total += 1;
            for (l, hit) in hits.iter_mut().enumerate() {
                let mut mean = vec![0f32; s_len]; // head-averaged row [S]
                for h in 0..h_count {
                    for (j, m) in mean.iter_mut().enumerate() {
                        *m += cross[[l, h, row, j]] / h_count as f32;
                    }
                }
                if src_word[argmax(&mean)].is_some_and(|w| aligned.contains(&w)) {
                    *hit += 1;
                }
            }
        }
    }
    for (l, &h) in hits.iter().enumerate() {
        let mark = if l == TRANSLATOR_ALIGN_LAYER { "  <- named layer (threshold 70%)" } else { "" };
        println!("glassbox-translator: decoder layer {l}: head-averaged cross-attention peaks on the aligned word for {h}/{total} = {:.1}% of content words{mark}", 100.0 * h as f64 / total as f64);
    }
    let rate = hits[TRANSLATOR_ALIGN_LAYER] as f64 / total as f64;
    assert!(total > 1000, "too few content words ({total})");
    assert!(rate >= 0.70, "layer {TRANSLATOR_ALIGN_LAYER} aligns {rate:.3} < 0.70");
}

// ---------------------------------------------------------------------------------------------
// glassbox-bert (fill-mask)
// ---------------------------------------------------------------------------------------------

#[test]
fn bert_fills_masks_well_above_unigram_baseline() {
    let folder = Folder::read("glassbox-bert");
    let session = folder.session();
    assert_eq!(session.info().kind, Kind::EncoderOnly);
    let mask = session.tokenizer.token_to_id("[MASK]").expect("[MASK] in the vocabulary");
    let baseline_word = folder.metrics()["unigram_baseline_word"].as_str().expect("unigram_baseline_word").to_string();
    let items: Vec<(String, String)> = folder
        .text("heldout.tsv")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (text, answer) = l.split_once('\t').expect("text<TAB>answer");
            (text.to_string(), answer.to_string())
        })
        .collect();
    let v = session.info().vocab_size;
    let mut hits = 0;
    for (text, answer) in &items {
        let out = session.inspect(text, None, Capture::NONE).expect("forward");
        let pos = out.encoding.ids.iter().position(|&id| id == mask).expect("one [MASK] per item");
        let logits = out.outputs.logits.as_ref().expect("MLM logits"); // [T][V]
        let best = argmax(&logits[pos * v..(pos + 1) * v]) as u32;
        if session.tokenizer.id_to_token(best) == Some(answer.as_str()) {
            hits += 1;
        }
    }
    let acc = hits as f64 / items.len() as f64;
    let baseline = items.iter().filter(|(_, a)| *a == baseline_word).count() as f64 / items.len() as f64;
    println!(
        "glassbox-bert: held-out top-1 masked-word accuracy {hits}/{} = {:.1}%; unigram baseline (always \"{baseline_word}\") {:.1}% (threshold 2x = {:.1}%)",
        items.len(),
        100.0 * acc,
        100.0 * baseline,
        200.0 * baseline
    );
    for text in ["The dog chased the [MASK].", "I went to the [MASK] yesterday.", "The [MASK] is on the table."] {
        let out = session.inspect(text, None, Capture::NONE).expect("forward");
        let pos = out.encoding.ids.iter().position(|&id| id == mask).unwrap();
        let logits = &out.outputs.logits.as_ref().unwrap()[pos * v..(pos + 1) * v];
        let top = glassbox::models::generation::top_candidates(logits, 5);
        let words: Vec<String> = top.iter().map(|&(id, p)| format!("{} {:.2}", session.tokenizer.id_to_token(id).unwrap_or("?"), p)).collect();
        println!("  {text:40} -> {}", words.join(", "));
    }
    assert!(acc >= 2.0 * baseline, "top-1 {acc:.3} < 2 x unigram {baseline:.3}");
}

// ---------------------------------------------------------------------------------------------
// glassbox-gpt2 (next-token prediction)
// ---------------------------------------------------------------------------------------------

#[test]
fn gpt2_heldout_cross_entropy_beats_bigram() {
    let folder = Folder::read("glassbox-gpt2");
    let session = folder.session();
    let info = session.info().clone();
    assert_eq!(info.kind, Kind::DecoderOnly);
    let bos = info.bos_token_id.or(info.eos_token_id).expect("bos/eos token");
    let bigram = folder.metrics()["bigram_baseline_ce"].as_f64().expect("bigram_baseline_ce");
    let v = info.vocab_size;
    let (mut total_nll, mut count) = (0f64, 0usize);
    let text = folder.text("heldout.txt");
    for sentence in text.lines().filter(|l| !l.trim().is_empty()) {
        // Each sentence follows <|endoftext|>, as in training.
        let mut ids = vec![bos];
        ids.extend(session.tokenizer.encode(sentence, false).expect("encode").ids);
        let out = session.model.forward(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, Capture::NONE).expect("forward");
        let logits = out.logits.expect("LM logits"); // [T][V]
        for t in 0..ids.len() - 1 {
            total_nll += nll(&logits[t * v..(t + 1) * v], ids[t + 1] as usize);
            count += 1;
        }
    }
    let ce = total_nll / count as f64;
    // "Clearly below": a perplexity at least 15% lower than the bigram's.
    let limit = bigram + 0.85f64.ln();
    println!(
        "glassbox-gpt2: held-out cross-entropy {ce:.3} nats/token (perplexity {:.0}) over {count} tokens; smoothed bigram baseline {bigram:.3} (perplexity {:.0}); threshold {limit:.3}",
        ce.exp(),
        bigram.exp()
    );
    for prompt in ["The computer", "Once upon a time", "I went to the"] {
        let run = session.generate(prompt, &greedy(16), &mut |_| true).expect("generate");
        println!("  {prompt} ->{}", session.tokenizer.decode(&run.ids(), true).expect("decode"));
    }
    assert!(ce <= limit, "cross-entropy {ce:.3} is not clearly below the bigram baseline {bigram:.3}");
}

// ---------------------------------------------------------------------------------------------
// All three
// ---------------------------------------------------------------------------------------------

/// Every bundled model's architecture also runs with seeded random weights and no weight file:
/// the "untrained twin" a page shows beside the trained model.
#[test]
fn random_weight_twins_load_and_run() {
    for (name, text) in [
        ("glassbox-gpt2", "The cat sat on the"),
        ("glassbox-bert", "The dog chased the [MASK]."),
        ("glassbox-translator", "the small red car sleeps."),
    ] {
        let folder = Folder::read(name);
        let trained = folder.session();
        let twin = Session::load(&folder.files(false), Some(7)).unwrap_or_else(|e| panic!("{name}: random twin: {e}"));
        // Same shapes (n_params may differ: a random BERT twin also gets the optional pooler).
        let (ti, wi) = (trained.info(), twin.info());
        assert_eq!(
            (ti.n_layers, ti.n_decoder_layers, ti.n_heads, ti.d_model, ti.d_ff, ti.vocab_size),
            (wi.n_layers, wi.n_decoder_layers, wi.n_heads, wi.d_model, wi.d_ff, wi.vocab_size),
            "{name}: the twin has the same architecture"
        );
        let a = trained.inspect(text, None, Capture::PROBS).expect("trained forward");
        let b = twin.inspect(text, None, Capture::PROBS).expect("twin forward");
        let (la, lb) = (a.outputs.logits.expect("logits"), b.outputs.logits.expect("logits"));
        assert_eq!(la.len(), lb.len());
        assert!(lb.iter().all(|x| x.is_finite()), "{name}: twin logits are finite");
        assert!(la.iter().zip(&lb).any(|(x, y)| (x - y).abs() > 1e-3), "{name}: twin differs from the trained model");
        let again = Session::load(&folder.files(false), Some(7)).unwrap().inspect(text, None, Capture::NONE).unwrap();
        assert_eq!(again.outputs.logits.unwrap(), lb, "{name}: the same seed gives the same twin");
        if twin.info().kind != Kind::EncoderOnly {
            let run = twin.generate(text, &greedy(3), &mut |_| true).expect("twin generates");
            assert!(!run.tokens.is_empty());
        }
        println!("{name}: random twin (seed 7) loads and runs: {} parameters", twin.info().n_params);
    }
}

/// The three folders together stay within the 12 MB budget, with f16 weights.
#[test]
fn bundled_models_fit_the_budget() {
    let mut total = 0u64;
    for name in ["glassbox-gpt2", "glassbox-bert", "glassbox-translator"] {
        let dir = model_dir(name);
        let mut size = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            size += entry.unwrap().metadata().unwrap().len();
        }
        let weights = std::fs::read(dir.join("model.safetensors")).unwrap();
        let header_len = u64::from_le_bytes(weights[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&weights[8..8 + header_len]).unwrap();
        for (tensor, meta) in header.as_object().unwrap() {
            if tensor != "__metadata__" {
                assert_eq!(meta["dtype"], "F16", "{name}: {tensor} is stored as f16");
            }
        }
        println!("{name}: {:.2} MB", size as f64 / 1e6);
        total += size;
    }
    println!("all bundled models: {:.2} MB (budget 12 MB)", total as f64 / 1e6);
    assert!(total <= 12_000_000);
}
