//! Fine-tuned encoders' classification heads against Hugging Face `transformers` 5 on the
//! fixtures of `scripts/fixtures/classifiers.py`: sentiment, emotion, topic (multi-label),
//! similarity (regression) and NLI heads over whole texts, and named-entity taggers over tokens.
//!
//! Per fixture: the model fed HF's ids (text pairs included: attention 1e-4, last hidden state and
//! the head's scores 1e-3), text-to-scores through `Session`, and the card's account of the head
//! (task, labels, how scores become probabilities, which the page applies). Then the config keys
//! that describe a head, refused by name when they cannot be right.

#[path = "support/mod.rs"]
mod support;

use glassbox::models::classifier::{Scoring, Task};
use glassbox::models::{Capture, Inputs, Model, Probe};
use glassbox::session::Session;
use serde_json::{json, Value};
use support::{assert_close, edited, flat, ids, load_error, reference, Folder};

const ATTENTION_TOL: f64 = 1e-4;
const STATE_TOL: f64 = 1e-3;

fn load(folder: &Folder) -> Model {
    Model::load(&folder.files(), None).unwrap_or_else(|e| panic!("loading failed: {e}"))
}

fn cases(name: &str) -> Vec<Value> {
    reference(name)["cases"].as_array().expect("cases").clone()
}

fn model_matches(name: &str) {
    support::regenerate_if_asked("classifiers.py", &[name]);
    let model = load(&Folder::fixture(name));
    let head = model.classifier().unwrap_or_else(|| panic!("{name}: no classification head was read"));
    let labels = head.labels.len();
    for (i, case) in cases(name).iter().enumerate() {
        let what = format!("{name} case {i} ({:?} / {:?})", case["text"], case["pair"]);
        let input_ids = ids(&case["input_ids"]);
        let type_ids = ids(&case["token_type_ids"]);
        let out = model
            .forward_probed(&Inputs { ids: &input_ids, type_ids: Some(&type_ids), decoder_ids: None }, &Probe { capture: Capture::PROBS, ..Default::default() })
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let attention = out.encoder_attentions.as_ref().or(out.decoder_attentions.as_ref()).expect("attention captured");
        assert_close(&format!("{what}: attentions"), attention.as_slice().unwrap(), &flat(&case["attentions"]), ATTENTION_TOL);
        assert_close(&format!("{what}: last_hidden_state"), &out.last_hidden_state, &flat(&case["last_hidden_state"]), STATE_TOL);
        let scores = out.class_logits.as_ref().unwrap_or_else(|| panic!("{what}: no class scores"));
        let rows = match head.task {
            Task::Sequence => 1,
            Task::Token | Task::Span => input_ids.len(),
        };
        assert_eq!(scores.len(), rows * labels, "{what}: {rows} row(s) of {labels} scores");
        assert_close(&format!("{what}: class scores"), scores, &flat(&case["class_logits"]), STATE_TOL);
    }
}

/// Text in, scores out, through the tokenizer and `Session` (text pairs as a second text).
fn session_matches(name: &str) {
    let session = Session::load(&Folder::fixture(name).files(), None).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut checked = 0;
    for case in cases(name) {
        let text = case["text"].as_str().unwrap();
        let pair = case["pair"].as_str().map(str::to_string);
        let opts = glassbox::session::InspectOptions { pair, ..Default::default() };
        let ins = session.inspect_with(text, &opts).unwrap_or_else(|e| panic!("{name} {text:?}: {e}"));
        assert_eq!(ins.encoding.ids, ids(&case["input_ids"]), "{name} {text:?}: ids");
        assert_eq!(ins.encoding.type_ids, ids(&case["token_type_ids"]), "{name} {text:?}: type ids");
        assert_close(&format!("{name} {text:?}: class scores"), ins.outputs.class_logits.as_deref().expect("scores"), &flat(&case["class_logits"]), STATE_TOL);
        checked += 1;
    }
    assert!(checked > 0, "{name}: no single-text case");
}

macro_rules! fixture_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn model_matches_hf_from_hf_ids() {
                super::model_matches(stringify!($name));
            }
            #[test]
            fn session_matches_hf() {
                super::session_matches(stringify!($name));
            }
        }
    )*};
}

fixture_tests!(bert_sentiment, distilbert_emotion, roberta_topics, electra_similarity, mpnet_sequence, albert_nli, modernbert_reviews, modernbert_ner, bert_ner, xlm_roberta_ner, bert_qa, distilbert_qa, modernbert_qa, gpt2_sentiment, llama_classifier, qwen2_tagger, bart_nli, deberta_nli, deberta_ner, deberta_qa);

/// The card: which head, its labels in id order, and the pipeline's rule for probabilities.
#[test]
fn card_describes_each_head() {
    let expect: [(&str, Task, &[&str], Scoring); 16] = [
        ("bart_nli", Task::Sequence, &["contradiction", "neutral", "entailment"], Scoring::Softmax),
        ("gpt2_sentiment", Task::Sequence, &["NEGATIVE", "POSITIVE"], Scoring::Softmax),
        ("llama_classifier", Task::Sequence, &["question", "statement", "command"], Scoring::Softmax),
        ("qwen2_tagger", Task::Token, &["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"], Scoring::Softmax),
        ("modernbert_reviews", Task::Sequence, &["1 star", "2 stars", "3 stars", "4 stars", "5 stars"], Scoring::Softmax),
        ("modernbert_ner", Task::Token, &["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"], Scoring::Softmax),
        ("bert_sentiment", Task::Sequence, &["NEGATIVE", "POSITIVE"], Scoring::Softmax),
        ("distilbert_emotion", Task::Sequence, &["sadness", "joy", "love", "anger", "fear", "surprise"], Scoring::Softmax),
        ("roberta_topics", Task::Sequence, &["sport", "politics", "science", "arts"], Scoring::Sigmoid),
        ("electra_similarity", Task::Sequence, &["LABEL_0"], Scoring::None),
        ("mpnet_sequence", Task::Sequence, &["LABEL_0", "LABEL_1", "LABEL_2"], Scoring::Softmax),
        ("albert_nli", Task::Sequence, &["entailment", "neutral", "contradiction"], Scoring::Softmax),
        ("bert_ner", Task::Token, &["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"], Scoring::Softmax),
        ("xlm_roberta_ner", Task::Token, &["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"], Scoring::Softmax),
        ("deberta_nli", Task::Sequence, &["entailment", "neutral", "contradiction"], Scoring::Softmax),
        ("deberta_ner", Task::Token, &["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"], Scoring::Softmax),
    ];
    for (name, task, labels, scoring) in expect {
        let model = load(&Folder::fixture(name));
        let head = model.classifier().unwrap_or_else(|| panic!("{name}: no head"));
        assert_eq!((head.task, head.labels.as_slice(), head.scoring), (task, labels.iter().map(|s| s.to_string()).collect::<Vec<_>>().as_slice(), scoring), "{name}");
        assert_eq!(head.architecture, reference(name)["meta"]["class"].as_str().unwrap(), "{name}: architecture");
        // The head's weights count in the model's size.
        let bare = load(&edited(name, |c| {
            c.remove("architectures");
        }));
        assert!(bare.classifier().is_none(), "{name}: no architectures, no head");
        assert!(model.info().n_params > bare.info().n_params, "{name}: the head's parameters are counted");
    }
}

/// What each head reads, for the page's explanation.
#[test]
fn card_says_what_the_head_reads() {
    use glassbox::models::classifier::Reads;
    for (name, reads) in [("bert_sentiment", Reads::Pooler), ("albert_nli", Reads::Pooler), ("distilbert_emotion", Reads::First), ("roberta_topics", Reads::First), ("modernbert_reviews", Reads::Mean), ("bert_ner", Reads::EachToken), ("modernbert_ner", Reads::EachToken), ("gpt2_sentiment", Reads::Last), ("llama_classifier", Reads::Last), ("qwen2_tagger", Reads::EachToken), ("bart_nli", Reads::Last), ("deberta_nli", Reads::First), ("deberta_ner", Reads::EachToken)] {
        assert_eq!(load(&Folder::fixture(name)).classifier().unwrap().reads, reads, "{name}");
    }
}

/// The pipeline's probabilities follow from the card's rule: the page applies it to the scores.
#[test]
fn card_rule_reproduces_the_pipeline_scores() {
    for name in ["bert_sentiment", "distilbert_emotion", "roberta_topics", "electra_similarity", "mpnet_sequence", "albert_nli", "modernbert_reviews", "gpt2_sentiment", "llama_classifier", "bart_nli", "deberta_nli"] {
        let model = load(&Folder::fixture(name));
        let head = model.classifier().unwrap().clone();
        let mut checked = 0;
        for case in cases(name).into_iter().filter(|c| c["pair"].is_null()) {
            checked += 1;
            let z: Vec<f64> = flat(&case["class_logits"]);
            let probs: Vec<f64> = match head.scoring {
                Scoring::Softmax => {
                    let m = z.iter().cloned().fold(f64::MIN, f64::max);
                    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
                    let s: f64 = e.iter().sum();
                    e.iter().map(|v| v / s).collect()
                }
                Scoring::Sigmoid => z.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
                Scoring::None => z.clone(),
            };
            for item in case["pipeline"].as_array().unwrap() {
                let at = head.labels.iter().position(|l| l == item["label"].as_str().unwrap()).expect("a label of the card");
                let want = item["score"].as_f64().unwrap();
                assert!((probs[at] - want).abs() < 1e-5, "{name}: {} is {want} in the pipeline, {} by the card's rule", item["label"], probs[at]);
            }
        }
        assert!(checked > 0, "{name}: no pipeline scores recorded");
    }
}

#[test]
fn head_keys_follow_transformers() {
    // One label and no problem_type: a sigmoid (the pipeline's rule for a yes/no head).
    let one = load(&edited("electra_similarity", |c| {
        c.remove("problem_type");
    }));
    assert_eq!(one.classifier().unwrap().scoring, Scoring::Sigmoid);
    // No id2label: num_labels names them LABEL_i; neither: HF's two.
    let counted = load(&edited("bert_sentiment", |c| {
        c.remove("id2label");
        c.remove("label2id");
        c.insert("num_labels".into(), json!(2));
    }));
    assert_eq!(counted.classifier().unwrap().labels, ["LABEL_0", "LABEL_1"]);
    let default = load(&edited("bert_sentiment", |c| {
        c.remove("id2label");
        c.remove("label2id");
    }));
    assert_eq!(default.classifier().unwrap().labels, ["LABEL_0", "LABEL_1"]);
    // A token head takes a softmax per token whatever problem_type says.
    let tagger = load(&edited("bert_ner", |c| {
        c.insert("problem_type".into(), json!("multi_label_classification"));
    }));
    assert_eq!(tagger.classifier().unwrap().scoring, Scoring::Softmax);
    // Labels numbered out of order are put in order.
    let shuffled = load(&edited("bert_sentiment", |c| {
        c.insert("id2label".into(), json!({"1": "POSITIVE", "0": "NEGATIVE"}));
    }));
    assert_eq!(shuffled.classifier().unwrap().labels, ["NEGATIVE", "POSITIVE"]);
}

#[test]
fn impossible_heads_are_refused_by_name() {
    let refusals: Vec<(&str, Folder, &[&str])> = vec![
        ("three labels for a two-row head", edited("bert_sentiment", |c| {
            c.insert("id2label".into(), json!({"0": "a", "1": "b", "2": "c"}));
        }), &["classifier.weight", "2 labels", "3"]),
        ("a gap in the label numbers", edited("bert_sentiment", |c| {
            c.insert("id2label".into(), json!({"0": "a", "2": "b"}));
        }), &["id2label", "0, 1, 2"]),
        ("a label number that is not a number", edited("bert_sentiment", |c| {
            c.insert("id2label".into(), json!({"zero": "a", "1": "b"}));
        }), &["id2label", "zero"]),
        ("num_labels against id2label", edited("bert_sentiment", |c| {
            c.insert("num_labels".into(), json!(5));
        }), &["num_labels", "5", "2 labels"]),
        ("an unknown problem_type", edited("bert_sentiment", |c| {
            c.insert("problem_type".into(), json!("ranking"));
        }), &["problem_type", "ranking"]),
        ("no labels", edited("bert_sentiment", |c| {
            c.insert("id2label".into(), json!({}));
        }), &["id2label", "0 labels"]),
        ("a head the file does not have", edited("bert", |c| {
            c.insert("architectures".into(), json!(["BertForSequenceClassification"]));
        }), &["classifier.weight", "BertForSequenceClassification"]),
    ];
    for (what, folder, words) in refusals {
        let msg = load_error(&folder);
        for w in words {
            assert!(msg.contains(w), "{what}: {w:?} not in {msg:?}");
        }
    }
    // A huge num_labels is refused before anything is made of it.
    let msg = load_error(&edited("bert_sentiment", |c| {
        c.remove("id2label");
        c.insert("num_labels".into(), json!(1u64 << 40));
    }));
    assert!(msg.contains("num_labels") && msg.contains("1099511627776"), "{msg}");
    let msg = load_error(&edited("bert_sentiment", |c| {
        c.remove("id2label");
        c.insert("num_labels".into(), json!(0));
    }));
    assert!(msg.contains("num_labels") && msg.contains("is 0"), "{msg}");
    // BERT's sequence head reads the pooler: without it, a refusal by name.
    let mut folder = Folder::fixture("bert_sentiment");
    let weights = folder.weights.take().unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&weights).unwrap();
    let kept: Vec<(String, safetensors::tensor::TensorView)> = tensors.tensors().into_iter().filter(|(n, _)| !n.contains("pooler")).collect();
    folder.weights = Some(safetensors::serialize(kept, None).unwrap());
    let msg = load_error(&folder);
    assert!(msg.contains("pooler") && msg.contains("BertForSequenceClassification"), "{msg}");
}

/// A random twin of a classifier config gets a random head of the right size.
#[test]
fn random_twin_has_a_head() {
    let mut folder = Folder::fixture("distilbert_emotion");
    folder.weights = None;
    let model = Model::load(&folder.files(), Some(7)).expect("random twin");
    let ids = [2u32, 50, 60, 3];
    let out = model.forward_probed(&Inputs { ids: &ids, type_ids: None, decoder_ids: None }, &Probe::default()).unwrap();
    assert_eq!(out.class_logits.map(|s| s.len()), Some(6));
}

/// Hiding tokens or ablating heads changes the verdict's scores (what the page's "was" compares).
#[test]
fn interventions_move_the_scores() {
    let session = Session::load(&Folder::fixture("bert_sentiment").files(), None).unwrap();
    let text = "I loved this film.";
    let before = session.inspect(text, None, Capture::NONE).unwrap().outputs.class_logits.unwrap();
    let n = session.encode(text).unwrap().ids.len();
    let mut mask = vec![1u8; n];
    mask[1] = 0;
    let opts = glassbox::session::InspectOptions { token_mask: Some(mask), ..Default::default() };
    let after = session.inspect_with(text, &opts).unwrap().outputs.class_logits.unwrap();
    assert!(before.iter().zip(&after).any(|(a, b)| (a - b).abs() > 1e-4), "hiding a word changed nothing: {before:?} {after:?}");
}

/// A second text is for encoders: a decoder or an encoder-decoder refuses it by name.
#[test]
fn pairs_are_for_encoders() {
    for name in ["gpt2", "t5_tiny"] {
        let session = Session::load(&Folder::fixture(name).files(), None).unwrap();
        let opts = glassbox::session::InspectOptions { pair: Some("second".into()), ..Default::default() };
        let msg = session.inspect_with("first", &opts).err().expect("refused").to_string();
        assert!(msg.contains("second text") && msg.contains("encoder-only"), "{name}: {msg}");
    }
}

/// ModernBERT: a classifier's `head` feeds its labels, not a vocabulary (no masked-LM predictions
/// from it); its mean pooling leaves hidden tokens out, as HF's attention mask does; the pooling
/// key is refused by name when unknown.
#[test]
fn modernbert_heads() {
    let model = load(&Folder::fixture("modernbert_reviews"));
    assert!(!model.info().has_lm_head, "the classifier's head is not a masked-LM head");
    let session = Session::load(&Folder::fixture("modernbert_reviews").files(), None).unwrap();
    let text = "I loved this film.";
    let all = session.inspect(text, None, Capture::NONE).unwrap().outputs.class_logits.unwrap();
    let n = session.encode(text).unwrap().ids.len();
    let mut mask = vec![1u8; n];
    mask[2] = 0;
    let opts = glassbox::session::InspectOptions { token_mask: Some(mask), ..Default::default() };
    let hidden = session.inspect_with(text, &opts).unwrap().outputs.class_logits.unwrap();
    assert!(all.iter().zip(&hidden).any(|(a, b)| (a - b).abs() > 1e-4), "hiding a token changes the mean");
    let msg = load_error(&edited("modernbert_reviews", |c| {
        c.insert("classifier_pooling".into(), json!("max"));
    }));
    assert!(msg.contains("classifier_pooling") && msg.contains("max"), "{msg}");
}

/// Question answering: the answer is the span of the passage (the second text) that the pipeline
/// rule picks from the start and end scores; the CLI names its text. Without a passage, no answer.
#[test]
fn question_answering_finds_the_span() {
    for name in ["bert_qa", "distilbert_qa", "modernbert_qa"] {
        let folder = Folder::fixture(name);
        let session = Session::load(&folder.files(), None).unwrap();
        let head = session.model.classifier().unwrap();
        assert_eq!((head.task, head.labels.as_slice()), (Task::Span, &["start".to_string(), "end".to_string()][..]), "{name}");
        for case in cases(name) {
            let (question, passage) = (case["text"].as_str().unwrap(), case["pair"].as_str().unwrap());
            let opts = glassbox::session::InspectOptions { pair: Some(passage.into()), ..Default::default() };
            let ins = session.inspect_with(question, &opts).unwrap();
            let (got, probs) = session.answers(&ins, 3).expect("answers");
            let (s, e) = (probs.starts.iter().sum::<f32>(), probs.ends.iter().sum::<f32>());
            assert!((s - 1.0).abs() < 1e-4 && (e - 1.0).abs() < 1e-4, "{name}: probabilities add up to 1 ({s}, {e})");
            assert!(got[0].score >= got.last().unwrap().score);
            assert!((got[0].score - probs.starts[got[0].start] * probs.ends[got[0].end]).abs() < 1e-6, "{name}: the score is the product");
            let want = case["answers"].as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{name}");
            for (g, w) in got.iter().zip(want) {
                assert_eq!((g.start, g.end), (w["start"].as_u64().unwrap() as usize, w["end"].as_u64().unwrap() as usize), "{name}: {got:?} vs {want:?}");
                assert!((g.score as f64 - w["score"].as_f64().unwrap()).abs() < 1e-5, "{name}: score {} vs {}", g.score, w["score"]);
                assert!(ins.encoding.second[g.start] && ins.encoding.second[g.end], "{name}: the answer lies in the passage");
            }
            let alone = session.inspect(question, None, Capture::NONE).unwrap();
            assert!(session.answers(&alone, 3).is_none(), "{name}: no passage, no answer");
        }
    }
}

#[test]
fn best_spans_follow_the_rule() {
    use glassbox::models::classifier::{best_spans, MAX_ANSWER_TOKENS};
    // Tokens: [CLS] q [SEP] p p p [SEP]; the passage is 3..6.
    let passage = [false, false, false, true, true, true, false];
    let mut logits = vec![0.0f32; 14];
    logits[2 * 4] = 5.0; // start at 4
    logits[2 * 3 + 1] = 6.0; // an end at 3 would come before the start (e^(5+6) as (4, 3), e^6 as (3, 3))
    logits[2 * 5 + 1] = 4.0; // end at 5
    logits[2 * 1] = 20.0; // the question is never an answer
    let spans = best_spans(&logits, &passage, Some(0), 2);
    assert_eq!((spans[0].start, spans[0].end), (4, 5));
    assert!(spans.iter().all(|s| s.start <= s.end && passage[s.start] && passage[s.end]));
    // No span longer than the limit.
    let long = vec![true; 40];
    let mut z = vec![0.0f32; 80];
    z[0] = 10.0;
    z[2 * 39 + 1] = 10.0;
    let spans = best_spans(&z, &long, None, 5);
    assert!(spans.iter().all(|s| s.end - s.start < MAX_ANSWER_TOKENS), "{spans:?}");
}

/// A decoder's sequence head reads the last token that is not padding (HF's rule): padding after
/// the text changes nothing; without a pad id, the last token whatever it is.
#[test]
fn decoder_heads_read_the_last_real_token() {
    let model = load(&Folder::fixture("gpt2_sentiment"));
    let pad = model.info().pad_token_id.expect("the fixture sets a pad id");
    let case = &cases("gpt2_sentiment")[0];
    let ids = ids(&case["input_ids"]);
    let run = |ids: &[u32]| model.forward_probed(&Inputs { ids, type_ids: None, decoder_ids: None }, &Probe::default()).unwrap().class_logits.unwrap();
    let plain = run(&ids);
    let padded: Vec<u32> = ids.iter().copied().chain([pad, pad]).collect();
    let with_pad = run(&padded);
    assert_close("padding after the text", &with_pad, &plain.iter().map(|&v| v as f64).collect::<Vec<_>>(), 1e-5);
    let shorter = run(&ids[..ids.len() - 1]);
    assert!(shorter.iter().zip(&plain).any(|(a, b)| (a - b).abs() > 1e-4), "another last token, another verdict");
    // A decoder question-answering head is refused by name.
    let msg = load_error(&edited("gpt2_sentiment", |c| {
        c.insert("architectures".into(), json!(["GPT2ForQuestionAnswering"]));
    }));
    assert!(msg.contains("architectures") && msg.contains("GPT2ForQuestionAnswering"), "{msg}");
}

/// "Which words decided it?": each token's effect is the verdict's probability less the same with that
/// token hidden (checked against runs with the token mask by hand); special tokens stay visible; only
/// encoder text classifiers offer it.
#[test]
fn token_effects_hide_one_token_at_a_time() {
    let session = Session::load(&Folder::fixture("bert_sentiment").files(), None).unwrap();
    let text = "The service was slow and the food was cold.";
    let e = session.token_effects(text, None).unwrap();
    let softmax = |z: &[f32]| {
        let top = z.iter().copied().fold(f32::MIN, f32::max);
        let sum: f32 = z.iter().map(|v| (v - top).exp()).sum();
        z.iter().map(|v| (v - top).exp() / sum).collect::<Vec<f32>>()
    };
    let base = session.inspect(text, None, Capture::NONE).unwrap();
    let probs = softmax(base.outputs.class_logits.as_deref().unwrap());
    assert_eq!(e.label, if probs[1] > probs[0] { 1 } else { 0 });
    assert!((e.verdict - probs[e.label]).abs() < 1e-6);
    let n = base.encoding.ids.len();
    assert_eq!(e.effects.len(), n);
    for i in 0..n {
        if base.encoding.special[i] {
            assert_eq!(e.effects[i], 0.0, "special token {i}");
            continue;
        }
        let mut mask = vec![1u8; n];
        mask[i] = 0;
        let opts = glassbox::session::InspectOptions { token_mask: Some(mask), ..Default::default() };
        let hidden = softmax(session.inspect_with(text, &opts).unwrap().outputs.class_logits.as_deref().unwrap());
        assert!((e.effects[i] - (probs[e.label] - hidden[e.label])).abs() < 1e-6, "token {i}");
    }
    assert!(e.effects.iter().any(|&d| d.abs() > 1e-4), "some token matters");
    // A pair: the second text's tokens count too.
    let nli = Session::load(&Folder::fixture("albert_nli").files(), None).unwrap();
    let pair = nli.token_effects("A dog runs in the park.", Some("An animal is outside.")).unwrap();
    let enc = nli.tokenizer.encode_pair("A dog runs in the park.", "An animal is outside.", true).unwrap();
    assert_eq!(pair.effects.len(), enc.ids.len());
    assert!(pair.effects.iter().zip(&enc.second).any(|(&d, &s)| s && d.abs() > 1e-5), "second text's tokens have effects");
    // Not for token heads, question answering or decoders.
    for name in ["bert_ner", "bert_qa", "gpt2_sentiment"] {
        let s = Session::load(&Folder::fixture(name).files(), None).unwrap();
        let msg = s.token_effects("Ada worked in London.", None).err().expect("refused").to_string();
        assert!(msg.contains("text classifiers of encoder models"), "{name}: {msg}");
    }
}

/// Zero-shot classification with an NLI head equals transformers' zero-shot pipeline, both rules
/// (the entailment logits' softmax over the labels; each label's entailment against contradiction).
#[test]
fn zero_shot_equals_the_pipeline() {
    for name in ["albert_nli", "bart_nli", "deberta_nli"] {
        let session = Session::load(&Folder::fixture(name).files(), None).unwrap();
        let zs = &reference(name)["meta"]["zero_shot"];
        let labels: Vec<String> = zs["labels"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
        let text = zs["text"].as_str().unwrap();
        for (key, multi) in [("single", false), ("multi", true)] {
            let got = session.zero_shot(text, &labels, zs["template"].as_str().unwrap(), multi).unwrap();
            for (label, score) in labels.iter().zip(&got) {
                let want = zs[key][label].as_f64().unwrap();
                assert!((*score as f64 - want).abs() < 1e-5, "{name} {key} {label}: {score} vs {want}");
            }
        }
    }
    // Refusals by name: no entailment label, no labels, a template without {}.
    let session = Session::load(&Folder::fixture("bert_sentiment").files(), None).unwrap();
    let msg = session.zero_shot("x", &["a".into()], "This is {}.", false).err().unwrap().to_string();
    assert!(msg.contains("id2label") && msg.contains("entailment"), "{msg}");
    let nli = Session::load(&Folder::fixture("albert_nli").files(), None).unwrap();
    assert!(nli.zero_shot("x", &[], "{}", false).err().unwrap().to_string().contains("candidate labels"));
    assert!(nli.zero_shot("x", &["a".into()], "no slot", false).err().unwrap().to_string().contains("{}"));
}

/// A question-answering head scores two things per token whatever its label map says; another count is refused by name.
#[test]
fn question_answering_heads_score_two_things() {
    let relabelled = load(&edited("bert_qa", |c| {
        c.insert("id2label".into(), json!({"0": "a", "1": "b"}));
    }));
    assert_eq!(relabelled.classifier().unwrap().labels, ["start", "end"]);
    let msg = load_error(&edited("bert_qa", |c| {
        c.insert("num_labels".into(), json!(3));
    }));
    assert!(msg.contains("num_labels") && msg.contains("a start and an end"), "{msg}");
}
