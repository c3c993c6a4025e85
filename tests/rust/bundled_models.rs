//! The bundled models (`models/glassbox-*`), measured through Glassbox's own engine on the
//! committed f16 weights: the thresholds of issues 4 and 14, with the figures printed (the model
//! cards quote them).
//!
//!     cargo test --release --test bundled_models -- --nocapture
//!
//! The held-out sets are small files committed beside each model (written by the training
//! scripts in `scripts/training/`); the baselines they are compared with come from the
//! model's `metrics.json`, computed on exactly the same items.

#[path = "support/words.rs"]
mod words;

use glassbox::loader::ModelFiles;
use glassbox::models::generation::{GenerateOptions, Sampling};
use glassbox::models::{Capture, Inputs, Kind};
use glassbox::session::Session;
use ndarray::{Array2, Array4};
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

/// The page's note for the translator (`SUITED` in www/app.js) suggests a sentence and quotes pieces of its
/// translation, to show where adjectives go: the model's greedy translation must hold every quoted piece.
#[test]
fn translator_note_quotes_its_own_translation() {
    let app = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www/app.js")).expect("www/app.js");
    let note = &app[app.find("'glassbox-translator': {").expect("the translator's note")..];
    let note: String = note[..note.find("},").expect("the note's end")].split('\'').skip(1).step_by(2).collect();
    let between = |s: &str, open: char, close: char| -> Vec<String> {
        s.split(open).skip(1).filter_map(|rest| rest.split_once(close).map(|(inside, _)| inside.to_string())).collect()
    };
    let suggested = between(&note, '“', '”');
    let quoted: Vec<String> = between(&note, '(', ')').into_iter().filter(|q| !q.contains(',')).collect();
    assert!(!suggested.is_empty() && !quoted.is_empty(), "the note suggests a sentence and quotes its translation: {note}");
    let session = Folder::read("glassbox-translator").session();
    let translations: Vec<String> = suggested
        .iter()
        .map(|text| {
            let run = session.generate(text, &greedy(64), &mut |_| true).expect("translate");
            session.tokenizer.decode(&run.ids(), true).expect("decode")
        })
        .collect();
    for piece in &quoted {
        assert!(translations.iter().any(|t| t.contains(piece.as_str())), "the note quotes “{piece}”, the translations are {translations:?}");
    }
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

/// Issue 14.3 asks for this top-1 on masked content words; the model card reports how far short the
/// bundled BERT falls (printed here, not asserted, so the figure stays visible until a model meets it).
const BERT_TOP1_TARGET: f64 = 0.35;

#[test]
fn bert_fills_masked_content_words() {
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
    assert!(items.len() >= 300, "heldout.tsv has {} items", items.len());
    let v = session.info().vocab_size;
    let (mut top1, mut top5) = (0, 0);
    for (text, answer) in &items {
        let out = session.inspect(text, None, Capture::NONE).expect("forward");
        let pos = out.encoding.ids.iter().position(|&id| id == mask).expect("one [MASK] per item");
        let logits = out.outputs.logits.as_ref().expect("MLM logits"); // [T][V]
        let best = glassbox::models::generation::top_candidates(&logits[pos * v..(pos + 1) * v], 5);
        let words: Vec<&str> = best.iter().map(|&(id, _)| session.tokenizer.id_to_token(id).unwrap_or("")).collect();
        top1 += (words[0] == answer.as_str()) as usize;
        top5 += words.contains(&answer.as_str()) as usize;
    }
    let n = items.len() as f64;
    let (acc, acc5) = (top1 as f64 / n, top5 as f64 / n);
    let baseline = items.iter().filter(|(_, a)| *a == baseline_word).count() as f64 / n;
    println!(
        "glassbox-bert: held-out masked content words: top-1 {top1}/{} = {:.1}% (target {:.0}%), top-5 {:.1}%; unigram baseline (always \"{baseline_word}\") {:.1}%",
        items.len(),
        100.0 * acc,
        100.0 * BERT_TOP1_TARGET,
        100.0 * acc5,
        100.0 * baseline,
    );
    for text in ["The dog chased the [MASK].", "I went to the [MASK] yesterday.", "The [MASK] is on the table.", "She drank a cup of [MASK]."] {
        let out = session.inspect(text, None, Capture::NONE).expect("forward");
        let pos = out.encoding.ids.iter().position(|&id| id == mask).unwrap();
        let logits = &out.outputs.logits.as_ref().unwrap()[pos * v..(pos + 1) * v];
        let top = glassbox::models::generation::top_candidates(logits, 5);
        let words: Vec<String> = top.iter().map(|&(id, p)| format!("{} {:.2}", session.tokenizer.id_to_token(id).unwrap_or("?"), p)).collect();
        println!("  {text:40} -> {}", words.join(", "));
    }
    // What the card claims and a broken model would lose: twice the unigram guess, and a top-5 that
    // holds many more right answers than the top-1.
    assert!(acc >= 2.0 * baseline, "top-1 {acc:.3} < 2 x unigram {baseline:.3}");
    assert!(acc5 >= 1.5 * acc, "top-5 {acc5:.3} is not well above top-1 {acc:.3}");
}

/// Issue 14.3: a BERT head with a pattern a learner can name, named on the card with its score.
#[test]
fn bert_has_a_head_with_a_recognisable_pattern() {
    let folder = Folder::read("glassbox-bert");
    let session = folder.session();
    let info = session.info().clone();
    let names = ["next token", "previous token", "[SEP]", "[CLS]"];
    let mut sums = [(); 4].map(|_| Array2::<f64>::zeros((info.n_layers, info.n_heads)));
    let mut n = 0;
    // The held-out sentences with their masked word put back.
    for line in folder.text("heldout.tsv").lines().filter(|l| !l.trim().is_empty()).take(200) {
        let (text, answer) = line.split_once('\t').unwrap();
        let sentence = text.replace("[MASK]", answer);
        let out = session.inspect(&sentence, None, Capture::PROBS).expect("forward");
        let maps = out.outputs.encoder_attentions.expect("encoder attention"); // [L][H][T][T]
        let t = maps.shape()[2];
        if t < 5 {
            continue;
        }
        // Rows of real tokens only ([CLS] is row 0, [SEP] row t - 1); the key of each pattern, in `names` order.
        let key = |pattern: usize, r: usize| [r + 1, r - 1, t - 1, 0][pattern];
        for (pattern, sum) in sums.iter_mut().enumerate() {
            let pairs: Vec<(usize, usize)> = (1..t - 1).map(|r| (r, key(pattern, r))).collect();
            *sum += &mean_attention(&maps, &pairs);
        }
        n += 1;
    }
    let tables: Vec<Array2<f64>> = sums.into_iter().map(|s| s / n as f64).collect();
    print_head_table("glassbox-bert", &names, &tables);
    let card = folder.text("README.md");
    let (mut best_name, mut best) = ("", ((0, 0), 0.0));
    for (name, table) in names.iter().zip(&tables).take(3) {
        let b = best_head(table);
        println!("  best {name} head: layer {}, head {} ({:.2})", b.0 .0, b.0 .1, b.1);
        if b.1 > best.1 {
            (best_name, best) = (name, b);
        }
    }
    let ((l, h), score) = best;
    assert!(score >= 0.5, "no head puts half its attention on the next token, the previous one or [SEP] (best: {best_name} {score:.2})");
    assert!(card.contains(&format!("layer {l}, head {h}")), "the model card names the {best_name} head (layer {l}, head {h})");
}

// ---------------------------------------------------------------------------------------------
// glassbox-gpt2 (next-token prediction)
// ---------------------------------------------------------------------------------------------

#[test]
fn gpt2_heldout_cross_entropy_beats_the_previous_model() {
    let folder = Folder::read("glassbox-gpt2");
    let session = folder.session();
    let info = session.info().clone();
    assert_eq!(info.kind, Kind::DecoderOnly);
    let bos = info.bos_token_id.or(info.eos_token_id).expect("bos/eos token");
    let metrics = folder.metrics();
    let bigram = metrics["bigram_baseline_ce"].as_f64().expect("bigram_baseline_ce");
    let v = info.vocab_size;
    let (mut total_nll, mut count, mut chars) = (0f64, 0usize, 0usize);
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
        chars += sentence.chars().count();
    }
    let ce = total_nll / count as f64;
    // Reported, not asserted: with 16,000 pieces most tokens are whole words, and a word bigram with its
    // mixing weight tuned on these very sentences is a strong baseline; the card says how the model compares.
    println!(
        "glassbox-gpt2: held-out cross-entropy {ce:.3} nats/token (perplexity {:.0}) over {count} tokens; smoothed bigram baseline {bigram:.3} (perplexity {:.0})",
        ce.exp(),
        bigram.exp()
    );
    // Per character, the figure that compares models with different vocabularies.
    let per_char = total_nll / chars as f64;
    let previous = metrics["previous_model_nats_per_char"].as_f64();
    println!(
        "glassbox-gpt2: {per_char:.3} nats per character over {chars} characters; the previous bundled model (4,096 pieces, measured by scripts/training/train_gpt2.py on the same sentences): {}",
        previous.map_or("not recorded".to_string(), |p| format!("{p:.3}"))
    );
    let previous = previous.expect("metrics.json records the previous model's previous_model_nats_per_char");
    assert!(per_char < 0.9 * previous, "{per_char:.3} nats/char is not clearly better than the previous model's {previous:.3}");
    // Well below a model that knows only how often each token occurs (the unigram's entropy is far above 6 nats).
    assert!(ce < bigram + 0.25, "cross-entropy {ce:.3} is far above the bigram baseline {bigram:.3}");
}

/// Mean attention weight, per `[layer][head]`, that each row `q` of `pairs` puts on its key `k`.
fn mean_attention(maps: &Array4<f32>, pairs: &[(usize, usize)]) -> Array2<f64> {
    let (layers, heads) = (maps.shape()[0], maps.shape()[1]);
    Array2::from_shape_fn((layers, heads), |(l, h)| {
        pairs.iter().map(|&(q, k)| maps[[l, h, q, k]] as f64).sum::<f64>() / pairs.len() as f64
    })
}

/// The best head of a `[layer][head]` table: ((layer, head) counted from 1, as the page and the cards
/// count them), score).
fn best_head(table: &Array2<f64>) -> ((usize, usize), f64) {
    let mut best = ((1, 1), f64::NEG_INFINITY);
    for ((l, h), &score) in table.indexed_iter() {
        if score > best.1 {
            best = ((l + 1, h + 1), score);
        }
    }
    best
}

fn print_head_table(model: &str, names: &[&str], tables: &[Array2<f64>]) {
    println!("{model}: mean attention per head (layer.head, counted from 1)");
    println!("  {:>6}{}", "head", names.iter().map(|n| format!(" {n:>15}")).collect::<String>());
    for ((l, h), _) in tables[0].indexed_iter() {
        println!("  {:>6}{}", format!("{}.{}", l + 1, h + 1), tables.iter().map(|t| format!(" {:>15.3}", t[[l, h]])).collect::<String>());
    }
}

/// A small deterministic generator (xorshift64*) for the random word sequences.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// Issue 14.2 asks for a previous-token head (mean attention to the token just before, at least 0.5,
/// on held-out sentences) and an induction head (on random word sequences said twice, mean attention
/// from each token of the second copy to the token that followed its first occurrence, at least
/// 0.3). The scores are printed against those targets, and the model card must name the best head of
/// each kind with the score measured here, so the card cannot claim more than the weights do.
///
/// An induction head finds the earlier copy by content, wherever it is: the head named on the card
/// must reach the target on repeats of other shapes too (10 and 30 words, 20 words after a held-out
/// sentence, a held-out sentence said twice), which a head that learned one shape's fixed offset
/// does not.
#[test]
fn gpt2_head_scores_are_the_ones_on_the_card() {
    let folder = Folder::read("glassbox-gpt2");
    let session = folder.session();
    let info = session.info().clone();
    let bos = info.bos_token_id.or(info.eos_token_id).expect("bos/eos token");
    let attention = |ids: &[u32]| -> Array4<f32> {
        let out = session.model.forward(&Inputs { ids, type_ids: None, decoder_ids: None }, Capture::PROBS).expect("forward");
        out.decoder_attentions.expect("decoder attention") // [L][H][T][T]
    };
    let encode = |text: &str| session.tokenizer.encode(text, false).expect("encode").ids;
    let sentences: Vec<String> = folder.text("heldout.txt").lines().filter(|l| !l.trim().is_empty()).map(String::from).collect();
    let mut previous = Array2::<f64>::zeros((info.n_layers, info.n_heads));
    let mut n = 0;
    for sentence in &sentences {
        let ids: Vec<u32> = std::iter::once(bos).chain(encode(sentence)).collect();
        if ids.len() < 4 {
            continue;
        }
        // From row 2 on: row 1's only other key is the first token, where idle heads rest anyway.
        let pairs: Vec<(usize, usize)> = (2..ids.len()).map(|t| (t, t - 1)).collect();
        previous += &mean_attention(&attention(&ids), &pairs);
        n += 1;
    }
    previous /= n as f64;

    // Random whole words (a space, then three or more lower-case letters): no sentence to lean on.
    let words: Vec<u32> = (0..info.vocab_size as u32)
        .filter(|&id| {
            session.tokenizer.id_to_token(id).and_then(|t| t.strip_prefix('Ġ')).is_some_and(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_lowercase()))
        })
        .collect();
    assert!(words.len() > 1000, "only {} whole-word tokens", words.len());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Mean induction score per head over `trials` rows `[bos] before span span`.
    let mut induction_on = |trials: usize, make: &mut dyn FnMut(&mut Rng) -> (Vec<u32>, Vec<u32>)| {
        let mut table = Array2::<f64>::zeros((info.n_layers, info.n_heads));
        for _ in 0..trials {
            let (before, span) = make(&mut rng);
            let ids: Vec<u32> = std::iter::once(bos).chain(before.iter().copied()).chain(span.iter().copied()).chain(span.iter().copied()).collect();
            // Row `second + j` repeats row `first + j`; the token after that earlier occurrence is at `first + j + 1`.
            let (first, len) = (1 + before.len(), span.len());
            let pairs: Vec<(usize, usize)> = (0..len).map(|j| (first + len + j, first + j + 1)).collect();
            table += &mean_attention(&attention(&ids), &pairs);
        }
        table / trials as f64
    };
    let words = &words;
    let random_words = |len: usize| move |rng: &mut Rng| (Vec::new(), (0..len).map(|_| words[rng.below(words.len())]).collect::<Vec<u32>>());
    let induction = induction_on(30, &mut random_words(20));
    let other_shapes: Vec<(&str, Array2<f64>)> = vec![
        ("10 random words", induction_on(20, &mut random_words(10))),
        ("30 random words", induction_on(20, &mut random_words(30))),
        ("20 random words after a sentence", induction_on(20, &mut |rng: &mut Rng| {
            let before = encode(&sentences[rng.below(sentences.len())]);
            let span = (0..20).map(|_| words[rng.below(words.len())]).collect();
            (before, span)
        })),
        ("a held-out sentence", induction_on(20, &mut |rng: &mut Rng| (Vec::new(), encode(&sentences[rng.below(sentences.len())])))),
    ];

    print_head_table("glassbox-gpt2", &["previous token", "induction"], &[previous.clone(), induction.clone()]);
    let ((pl, ph), p) = best_head(&previous);
    let ((il, ih), i) = best_head(&induction);
    println!("glassbox-gpt2: previous-token head: layer {pl}, head {ph} ({p:.2}, target 0.5); induction head: layer {il}, head {ih} ({i:.2}, target 0.3)");
    let card = folder.text("README.md");
    for (what, l, h, score) in [("previous-token", pl, ph, p), ("induction", il, ih, i)] {
        let claim = format!("best {what} head: layer {l}, head {h} ({score:.2})");
        assert!(card.contains(&claim), "the model card says \"{claim}\"");
    }
    assert!(p >= 0.5, "the best previous-token head (layer {pl}, head {ph}) scores {p:.2}, under issue 14's 0.5");
    assert!(i >= 0.3, "the best induction head (layer {il}, head {ih}) scores {i:.2}, under issue 14's 0.3");
    for (shape, table) in &other_shapes {
        let named = table[[il - 1, ih - 1]];
        let ((bl, bh), best) = best_head(table);
        println!("glassbox-gpt2: induction on {shape} said twice: layer {il}, head {ih} {named:.2} (best: layer {bl}, head {bh} {best:.2})");
        // A sentence said twice is partly predictable from the sentence itself, so the head has less
        // to do there; a head that knows no repeat scores under 0.15 on it (0.03-0.12 before phase 2).
        let bar = if shape.contains("random words") { 0.3 } else { 0.15 };
        assert!(named >= bar, "the induction head (layer {il}, head {ih}) scores {named:.2} on {shape} said twice (at least {bar} expected): it follows one shape, not the content");
    }
}

/// Everyday prompts a learner might type.
const PROMPTS: [&str; 20] = [
    "The cat", "The dog chased", "Once upon a time", "I went to the", "She opened the door and", "The old man",
    "In the morning", "The children played", "My mother said", "The king", "A small bird", "The river",
    "We walked to the", "He was very", "The weather today", "There was a", "The house on the hill", "After dinner",
    "The teacher asked", "It was a cold",
];

/// The share of word trigrams of `text` that already occurred earlier in it.
fn repeated_trigrams(text: &str) -> (usize, usize) {
    // Words are runs of letters and digits: "new-and-and-and" is four words, so a loop joined by
    // hyphens is caught too.
    let words: Vec<String> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    let grams: Vec<&[String]> = words.windows(3).collect();
    let repeats = (0..grams.len()).filter(|&i| grams[..i].contains(&grams[i])).count();
    (repeats, grams.len())
}

/// Greedy continuations (up to 40 tokens) of `prompts`, each printed, then a summary line naming
/// `which` prompts: how many loop (a word trigram comes back, the prompt included), and the mean
/// number of new words per continuation.
fn greedy_loops(session: &Session, prompts: &[&str], which: &str) -> (usize, f64) {
    let (mut looping, mut repeats, mut grams, mut new_words) = (0, 0, 0, 0);
    for prompt in prompts {
        let run = session.generate(prompt, &greedy(40), &mut |_| true).expect("generate");
        let continuation = session.tokenizer.decode(&run.ids(), true).expect("decode");
        let (r, g) = repeated_trigrams(&format!("{prompt}{continuation}"));
        looping += (r > 0) as usize;
        repeats += r;
        grams += g;
        new_words += continuation.split_whitespace().count();
        println!("  {}{prompt} ->{continuation}", if r > 0 { "LOOP " } else { "" });
    }
    let mean_words = new_words as f64 / prompts.len() as f64;
    println!(
        "glassbox-gpt2, {which}: greedy continuations (up to 40 tokens) that repeat a word trigram: {looping}/{}; repeated trigrams {repeats}/{grams} = {:.1}%; {mean_words:.1} new words per continuation",
        prompts.len(),
        100.0 * repeats as f64 / grams.max(1) as f64
    );
    (looping, mean_words)
}

/// Issue 14.2: greedy text that does not loop. A continuation loops when a word trigram comes back.
/// The counts are printed and the model card must state them (issue 14 asks for none on ordinary
/// prompts): on the 20 prompts here and on 40 more in `tests/fixtures/prompts/everyday.txt`, written
/// after the model was trained. Ending at once would not loop either, so the continuations must
/// also say something: at least four new words on average.
#[test]
fn gpt2_greedy_loops_are_the_ones_on_the_card() {
    let folder = Folder::read("glassbox-gpt2");
    let session = folder.session();
    let card = folder.text("README.md");
    let (looping, mean_words) = greedy_loops(&session, &PROMPTS, "the test's prompts");
    let claim = format!("{looping} of the {} prompts", PROMPTS.len());
    assert!(card.contains(&claim), "the model card says \"{claim}\" loop");
    assert!(looping < PROMPTS.len(), "every greedy continuation loops");
    assert!(mean_words >= 4.0, "greedy continuations have {mean_words:.1} new words on average: the model ends before it says anything");

    let file = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/prompts/everyday.txt")).expect("prompt list");
    let others: Vec<&str> = file.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert!(others.len() >= 40, "tests/fixtures/prompts/everyday.txt has {} prompts", others.len());
    let (looping, _) = greedy_loops(&session, &others, "tests/fixtures/prompts/everyday.txt");
    let claim = format!("{looping} of the {} other prompts", others.len());
    assert!(card.contains(&claim), "the model card says \"{claim}\" loop");
}

#[test]
fn a_repeated_trigram_is_counted() {
    assert_eq!(repeated_trigrams("is a man who is a man who"), (2, 6));
    assert_eq!(repeated_trigrams("The cat sat on the mat."), (0, 4));
    assert_eq!(repeated_trigrams("a new-and-and-and-and"), (1, 4));
}

// ---------------------------------------------------------------------------------------------
// Vocabularies
// ---------------------------------------------------------------------------------------------

/// Issue 14.1: the bundled GPT-2 and BERT keep everyday English words whole: 95% of the frequent words
/// and 80% of four everyday lists, the fifth and sixth printed (the translator's source side is printed: its
/// vocabulary is the synthetic grammar's).
#[test]
fn bundled_vocabularies_keep_everyday_words_whole() {
    words::coverage_header();
    for name in ["glassbox-gpt2", "glassbox-bert", "glassbox-translator"] {
        let fractions = words::coverage_row(name, &words::tokenizer(&model_dir(name)));
        if name != "glassbox-translator" {
            words::assert_bundled_keeps_words_whole(name, &fractions);
            words::assert_card_quotes(name, &Folder::read(name).text("README.md"), &fractions);
        }
    }
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
        // Same shapes and the same parameters (a masked-LM BERT's twin has no pooler, as its class has none).
        let (ti, wi) = (trained.info(), twin.info());
        assert_eq!(
            (ti.n_layers, ti.n_decoder_layers, ti.n_heads, ti.d_model, ti.d_ff, ti.vocab_size, ti.n_params),
            (wi.n_layers, wi.n_decoder_layers, wi.n_heads, wi.d_model, wi.d_ff, wi.vocab_size, wi.n_params),
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

/// Issue 14.5: the three folders and the real GPT-2 and BERT tokenizers shown beside them stay
/// within 16 MB, with f16 weights.
#[test]
fn bundled_models_fit_the_budget() {
    const BUDGET: u64 = 16_000_000;
    let folder_size = |dir: &std::path::Path| -> u64 {
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).map(|e| e.unwrap().metadata().unwrap().len()).sum()
    };
    let mut total = 0u64;
    for name in ["glassbox-gpt2", "glassbox-bert", "glassbox-translator"] {
        let dir = model_dir(name);
        let size = folder_size(&dir);
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
    // The real tokenizers as scripts/make-real-tokenizers.mjs writes them (run by scripts/setup.sh);
    // before setup, the committed fixtures with the same vocabularies stand in.
    for (name, fixture) in [("gpt2", "gpt2"), ("bert-base-uncased", "bert_uncased")] {
        let made = model_dir("tokenizers").join(name);
        let dir = if made.join("tokenizer.json").exists() { made } else { words::root().join("tests/fixtures/tokenizers").join(fixture) };
        let size = folder_size(&dir);
        println!("real tokenizer {name} ({}): {:.2} MB", dir.display(), size as f64 / 1e6);
        total += size;
    }
    println!("bundle: {:.2} MB (budget {:.0} MB)", total as f64 / 1e6, BUDGET as f64 / 1e6);
    assert!(total <= BUDGET);
}

// ---------------------------------------------------------------------------------------------
// Lessons
// ---------------------------------------------------------------------------------------------

/// The bundled folder a lesson's `model` names: a folder's name, or "@" and a model type (the
/// page's `findModel` also takes a kind; no bundled lesson uses one).
fn lesson_model(spec: &str) -> &'static str {
    const BUNDLED: [&str; 3] = ["glassbox-gpt2", "glassbox-bert", "glassbox-translator"];
    let Some(wanted) = spec.strip_prefix('@') else {
        return BUNDLED.into_iter().find(|name| *name == spec).unwrap_or_else(|| panic!("a lesson names {spec}, not a bundled model"));
    };
    BUNDLED
        .into_iter()
        .find(|name| {
            let config: serde_json::Value = serde_json::from_str(&Folder::read(name).text("config.json")).expect("config.json");
            config["model_type"] == wanted
        })
        .unwrap_or_else(|| panic!("a lesson names {spec}: no bundled model has that model_type (extend lesson_model for kinds)"))
}

/// Every greedy generation step of the bundled lessons (www/lessons/*.json; `temperature` 0), for
/// the model and for its random twin beside it, writes at least one word: a step whose text the
/// model ends at once (a full stop, then <|endoftext|>) shows the learner an empty box. The
/// settings carry from step to step as the page's lesson player carries them.
/// One step of a bundled lesson (www/lessons/*.json, in file order): the file's name, the step's
/// number counted from 1, the step as written, and the state it shows, its settings on top of the
/// lesson's and the earlier steps' as the page's lesson player carries them (all but `caption`,
/// `highlight`, `beside` and `attributes`, which belong to one step).
struct LessonStep {
    file: String,
    number: usize,
    step: serde_json::Value,
    state: serde_json::Map<String, serde_json::Value>,
}

fn lesson_steps() -> Vec<LessonStep> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www/lessons");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).expect("www/lessons").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let mut out = Vec::new();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let lesson: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("lesson")).expect("lesson JSON");
        let mut state = serde_json::Map::new();
        for key in ["model", "text", "element"] {
            if let Some(v) = lesson.get(key) {
                state.insert(key.into(), v.clone());
            }
        }
        for (i, step) in lesson["steps"].as_array().expect("steps").iter().enumerate() {
            for (key, value) in step.as_object().expect("a step is an object") {
                if !["caption", "highlight", "beside", "attributes"].contains(&key.as_str()) {
                    state.insert(key.clone(), value.clone());
                }
            }
            out.push(LessonStep { file: file.clone(), number: i + 1, step: step.clone(), state: state.clone() });
        }
    }
    out
}

#[test]
fn lessons_greedy_steps_write_something() {
    let mut checked = 0;
    for LessonStep { file, number, step, state } in lesson_steps() {
        if state.get("element").and_then(|e| e.as_str()) != Some("generation") || state.get("temperature").and_then(|t| t.as_f64()) != Some(0.0) {
            continue;
        }
        let name = lesson_model(state["model"].as_str().expect("a generation step names its model"));
        let text = state["text"].as_str().expect("a generation step has a text");
        let max_tokens = state.get("maxTokens").and_then(|m| m.as_u64()).unwrap_or(20) as usize;
        let folder = Folder::read(name);
        let mut twins = vec![(String::from("trained"), folder.session())];
        if let Some(seed) = step.get("beside").and_then(|b| b.get("randomSeed")).and_then(|s| s.as_u64()) {
            let random = Session::load(&folder.files(false), Some(seed)).expect("random twin");
            twins.push((format!("random twin, seed {seed}"), random));
        }
        for (which, session) in &twins {
            let run = session.generate(text, &greedy(max_tokens), &mut |_| true).expect("generate");
            let written = session.tokenizer.decode(&run.ids(), true).expect("decode");
            println!("{file} step {number} ({name}, {which}): {text:?} -> {written:?}");
            assert!(
                written.split_whitespace().count() >= 1 || written.trim().len() >= 3,
                "{file} step {number}: {name} ({which}) writes nothing after {text:?}: give the step a text the model can continue"
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "the bundled lessons have greedy generation steps to check (found {checked})");
}

/// A highlighted cell's side as the page's lesson player finds it (`findToken` in
/// www/elements/lesson.js): a place counted from 1, or a token's text without its space marker or
/// `##`, case aside, the first match.
fn lesson_token(want: &serde_json::Value, tokens: &[String]) -> Option<usize> {
    if let Some(place) = want.as_u64() {
        return (place >= 1 && place as usize <= tokens.len()).then(|| place as usize - 1);
    }
    let want = want.as_str()?.trim().to_lowercase();
    let clean = |t: &str| {
        let t = t.trim_start_matches(['·', 'Ġ', '▁', ' ']);
        t.strip_prefix("##").unwrap_or(t).trim().to_lowercase()
    };
    tokens.iter().position(|t| clean(t) == want)
}

/// Every highlighted cell of the bundled lessons' attention maps and head views (www/lessons/*.json)
/// names two tokens of the step's text, and the map shows a weight there: a cell under a decoder's
/// causal mask, or a head that ignores the pair, would have the line under the caption read
/// "(0.00)" beside a caption that talks about the link. Token texts resolve to their first match,
/// so a step about a repeat names the second copy by its place.
#[test]
fn lessons_highlighted_cells_show_a_weight() {
    let mut checked = 0;
    for LessonStep { file, number, step, state } in lesson_steps() {
        let element = state.get("element").and_then(|e| e.as_str()).unwrap_or("");
        let Some(highlight) = step.get("highlight") else { continue };
        if !["attention", "head-view"].contains(&element) {
            continue;
        }
        let name = lesson_model(state["model"].as_str().expect("a highlighted step names its model"));
        if name == "glassbox-translator" {
            continue; // its maps come in three kinds; no lesson highlights one yet
        }
        let text = state["text"].as_str().expect("a highlighted step has a text");
        let layer = state.get("layer").and_then(|l| l.as_u64()).unwrap_or(1) as usize;
        let head = state.get("head").and_then(|h| h.as_u64()).map(|h| h as usize); // None: the mean
        let session = Folder::read(name).session();
        let out = session.inspect(text, None, Capture::PROBS).expect("forward");
        let maps = out.outputs.encoder_attentions.or(out.outputs.decoder_attentions).expect("self-attention"); // [L][H][T][T]
        let tokens = session.tokenizer.encode(text, true).expect("encode").tokens;
        assert_eq!(tokens.len(), maps.shape()[2], "{file} step {number}: a row per token");
        for cell in [highlight.clone()].into_iter().flat_map(|h| if let serde_json::Value::Array(a) = h { a } else { vec![h] }) {
            let side = |which: &str| {
                lesson_token(&cell[which], &tokens)
                    .unwrap_or_else(|| panic!("{file} step {number}: the highlighted {which} {} is not a token of {tokens:?}", cell[which]))
            };
            let (q, k) = (side("query"), side("key"));
            let heads: Vec<usize> = head.map_or((0..maps.shape()[1]).collect(), |h| vec![h - 1]);
            let weight = heads.iter().map(|&h| maps[[layer - 1, h, q, k]]).sum::<f32>() / heads.len() as f32;
            println!("{file} step {number}: layer {layer}, head {head:?}: {:?} -> {:?} = {weight:.2}", tokens[q], tokens[k]);
            assert!(
                weight >= 0.005,
                "{file} step {number}: the highlighted cell {:?} (place {}) -> {:?} (place {}) has weight {weight:.3} in layer {layer}: the page would show (0.00)",
                tokens[q],
                q + 1,
                tokens[k],
                k + 1
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "the bundled lessons have highlighted cells to check (found {checked})");
}
