//! The model card: what the CLI's `glassbox info` prints and what JS sees as `model.info`.
//! One definition, serialised by serde_json natively and by serde-wasm-bindgen in the browser,
//! so the two front ends cannot drift (`tests/wasm/api.test.mjs` compares them).

use crate::models::{Model, ModelInfo};
use crate::session::Session;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelCard<'a> {
    #[serde(flatten)]
    pub info: &'a ModelInfo,
    /// Bytes of model.safetensors (the f32 size for a random-weight twin).
    pub size_bytes: usize,
    /// `"BPE"`, `"WordPiece"`, `"Unigram"` or `"WordLevel"`.
    pub tokenizer: &'static str,
    /// How many tokens the tokenizer knows (its vocabulary with the added tokens): what the page's
    /// tokenizer comparison quotes. It can fall short of `vocabSize`, the embedding table's rows,
    /// which some checkpoints pad to a round number (GPT-NeoX, Phi) or leave unused rows in.
    pub tokenizer_vocab_size: usize,
    /// The mask token's text, for masked-LM models (e.g. "[MASK]").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_token: Option<&'a str>,
    /// The defaults a generation starts from when an option is left out (from
    /// generation_config.json, else config.json's generation keys); front ends show them.
    pub generation: GenerationDefaults,
    /// How each block is built, read from the loaded config: what the teaching text quotes.
    pub block: BlockFacts,
    /// The weight storage asked for at load (`"f32"`, `"f16"`, `"bf16"`, `"int8"`); absent when each
    /// matrix keeps its file's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<&'static str>,
    /// A fine-tuned checkpoint's classification head: what it scores (the whole text or each
    /// token), its labels, and how scores become probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier: Option<&'a crate::models::classifier::ClassifierInfo>,
    /// A translation tokenizer's (mBART's, mBART-50's, NLLB's, M2M100's) source-language codes, and the one
    /// its template adds (`srcLang`); absent for other tokenizers.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub language_codes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_lang: Option<&'a str>,
    /// The checkpoint's tensors the model never read ([`Session::unused_tensors`]); absent when every one was.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub unused_tensors: &'a [String],
}

/// The build of a transformer block, per family, from the loaded config (the page's block view
/// and its sentences follow it, so they stay true for every model type).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockFacts {
    /// `"pre"`: x + f(norm(x)) (GPT-2, T5, Llama, Qwen2); `"post"`: norm(x + f(x)) (BERT, BART,
    /// Marian); `"output"`: x + norm(f(x)), no norm on a step's input (OLMo 2).
    pub norm_placement: &'static str,
    /// `"LayerNorm"` (subtract the mean, divide by the spread, scale and shift) or `"RMSNorm"`
    /// (divide by the root mean square, scale; T5, Llama, Qwen2).
    pub norm_kind: &'static str,
    /// A norm on the embeddings before the first block (BERT family, BART).
    pub embedding_norm: bool,
    /// A norm after the last block, before the output head (the pre-norm families).
    pub final_norm: bool,
    /// The feed-forward non-linearity as config.json names it (e.g. "gelu_new", "silu").
    pub activation: String,
    /// Gated feed-forward: act(x·W_gate) × (x·W_up), then down (Llama, Qwen2, T5 v1.1).
    pub gated_ffn: bool,
    /// The width of the feed-forward hidden layer (d_ff).
    pub ffn_width: usize,
    /// Whether the output head reuses the input embedding table (tied embeddings).
    pub tied_embeddings: bool,
    /// The width of one attention head (d_k): d_model / heads, T5's `d_kv`, Llama's `head_dim`.
    pub d_head: usize,
    /// Key/value heads: fewer than the query heads under grouped-query attention (Llama, Qwen2).
    pub n_kv_heads: usize,
    /// The queries and keys go through an RMSNorm before the rotation (Qwen3, Gemma 3, OLMo 2).
    pub qk_norm: bool,
    /// That norm takes each head alone (Qwen3, Gemma 3), not the whole projection at once (OLMo 2).
    pub qk_norm_per_head: bool,
    /// Each head's q/k norm has a scale of its own and no shift (StableLM's `qk_layernorm`), where the
    /// others share one scale among the heads.
    pub qk_norm_own_scales: bool,
    /// What the block norms learn, where the family decides it apart from `norm_kind`: "scale and
    /// shift" (StableLM's, StarCoder2's LayerNorms), "scale" (Cohere's) or "nothing" (OLMo 1's, which
    /// store no weights).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm_learns: Option<&'static str>,
    /// The bound the queries, keys and values are clamped to straight after their projections
    /// (OLMo 1's `clip_qkv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_qkv: Option<f32>,
    /// What the logits are multiplied by (Cohere's `logit_scale`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logit_scale: Option<f32>,
    /// Each rotated pair is two neighbouring dimensions `(2i, 2i+1)` (Cohere), not `(i, i + R/2)`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rotary_interleaved: bool,
    /// Attention's and the feed-forward's outputs are normalised before they join the stream (Gemma
    /// 2 and 3, on top of the usual norm of their inputs: four RMSNorms per layer; OLMo 2, instead of it).
    pub output_norms: bool,
    /// What each step's output is multiplied by before it joins the stream (Granite's
    /// `residual_multiplier`; 1 for the others).
    pub residual_scale: f32,
    /// What the token embeddings are multiplied by before the first layer: 1, `sqrt(d_model)` (Gemma
    /// 1-3; BART's and Marian's `scale_embedding`), or Granite's `embedding_multiplier`.
    pub embedding_scale: f32,
    /// The attention scores' scale when the model does not take it from the head width: Granite's
    /// `attention_multiplier`, or 1 where the scores are not scaled at all (GPT-Neo).
    pub score_scale: Option<f32>,
    /// What the logits are divided by (Granite's `logits_scaling`).
    pub logits_divisor: Option<f32>,
    /// The layers (0-based) whose queries and keys are not rotated in a rotary model: they see no
    /// positions at all, only the causal mask (SmolLM3's "NoPE" layers).
    pub unrotated_layers: Vec<usize>,
    /// Logits squashed into `(-cap, cap)` by `cap · tanh(logit / cap)` (Gemma 2's and 3's `final_logit_softcapping`).
    pub logit_softcap: Option<f32>,
    /// Attention scores squashed the same way after their scale (Gemma 2's `attn_logit_softcapping`).
    pub score_softcap: Option<f32>,
    /// Gemma 2 and 3: the scores are scaled by `query_pre_attn_scalar^-1/2` rather than `d_head^-1/2`.
    pub query_pre_attn_scalar: Option<f32>,
    /// The layers that see only the last `sliding_window` keys (0-based), and that window.
    pub sliding_layers: Vec<usize>,
    pub sliding_window: Option<usize>,
    /// An encoder's layers that see only a band of neighbours (0-based: ModernBERT's local layers),
    /// and how far the band reaches on each side (`local_attention / 2`).
    pub band_layers: Vec<usize>,
    pub band_reach: Option<usize>,
    /// The first layer's attention reads the embedding norm's output with no norm of its own
    /// (ModernBERT).
    pub first_attention_unnormed: bool,
    /// Whether the output head adds a bias per token, where the config says (ModernBERT's
    /// `decoder_bias`); absent where the family decides (BERT's has one, GPT-2's has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_bias: Option<bool>,
    /// The token rows' width when narrower than the model's, widened by one matrix before the first
    /// layer (ALBERT's `embedding_size`, whose position rows are as narrow; opt-350m's
    /// `word_embed_proj_dim`, whose output is also narrowed back for the tied head).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_width: Option<usize>,
    /// Which set of weights each layer runs (0-based, one entry per layer), when layers share
    /// them (ALBERT: every layer runs set 0); empty when each layer has its own.
    pub shared_layers: Vec<usize>,
    /// Attention and the feed-forward network read the same input and their results are added
    /// together, `x + attn(LN_1 x) + mlp(LN_2 x)` (GPT-NeoX's `use_parallel_residual`).
    pub parallel_residual: bool,
    /// With `parallel_residual`: both branches read the stream through one shared norm,
    /// `x + attn(LN x) + mlp(LN x)` (Phi), not a norm each.
    pub parallel_shared_norm: bool,
    /// Besides the position table, every layer adds a learned bias per head and distance bucket to
    /// its scores, one table shared by all layers (MPNet).
    pub relative_bias: bool,
    /// DeBERTa's disentangled attention: `[rows each side S, log buckets (0: none), where the buckets
    /// end, content-to-position (1/0), position-to-content (1/0)]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disentangled: Option<[i64; 5]>,
    /// Each step's residual is the norm's output, not the stream itself: `a = LN(x); x = a + f(a)`
    /// (BLOOM's `apply_residual_connection_post_layernorm`).
    pub residual_from_norm: bool,
    /// ALiBi: what each head subtracts from a score per token of distance (BLOOM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alibi_slopes: Option<Vec<f32>>,
    /// The dimensions of each head that the rotation turns, when fewer than all (GPT-NeoX's and
    /// Phi-3's `partial_rotary_factor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotary_dims: Option<usize>,
}

impl BlockFacts {
    pub fn of(model: &Model) -> Self {
        let (norm_placement, norm_kind, embedding_norm, final_norm) = match model {
            Model::Gpt2(m) if m.is_post_norm() => ("post", "LayerNorm", false, false), // opt-350m
            Model::Gpt2(_) | Model::GptNeoX(_) | Model::Phi(_) => ("pre", "LayerNorm", false, true),
            Model::Bloom(_) => ("pre", "LayerNorm", true, true),
            Model::Bert(_) | Model::Albert(_) | Model::Deberta(_) => ("post", "LayerNorm", true, false),
            Model::Bart(m) => {
                let (pre, embedding_norm) = m.norms(); // pre-LN: mBART, Pegasus, M2M100, each stack ending in a norm
                (if pre { "pre" } else { "post" }, "LayerNorm", embedding_norm, pre)
            }
            Model::Llama(m) if !m.has_input_norms() => ("output", "RMSNorm", false, true),
            Model::Llama(m) if m.is_layer_norm() => ("pre", "LayerNorm", false, true), // StableLM, OLMo 1, StarCoder2
            Model::T5(_) | Model::Llama(_) => ("pre", "RMSNorm", false, true),
            Model::ModernBert(_) => ("pre", "LayerNorm", true, true),
        };
        let (activation, gated_ffn, tied_embeddings) = match model {
            // Tied: the head the model loaded is its embedding table (config.json's tie, unless the
            // file stores a head that differs from the table).
            Model::Gpt2(m) => (m.config.activation_function.clone(), false, m.head_is_embedding_table()),
            Model::Bert(m) => (m.config.hidden_act.clone(), false, m.head_is_embedding_table()),
            Model::Bart(m) => (m.config.activation_function.clone().unwrap_or_default(), false, m.head_is_embedding_table()),
            Model::Llama(m) => (m.activation_name().to_string(), m.gated_ffn(), m.head_is_embedding_table()),
            Model::ModernBert(m) => (m.activation_name().to_string(), true, m.head_is_embedding_table()),
            Model::Albert(m) => (m.config.hidden_act.clone(), false, m.head_is_embedding_table()),
            Model::Deberta(m) => (m.config.hidden_act.clone(), false, m.head_is_embedding_table()),
            Model::GptNeoX(m) => (m.config.hidden_act.clone(), false, m.head_is_embedding_table()),
            Model::Phi(m) => (m.config.hidden_act.clone(), false, m.head_is_embedding_table()),
            // BLOOM's GELU is fixed (no key): the tanh approximation, under the name the page knows.
            Model::Bloom(m) => ("gelu_new".into(), false, m.head_is_embedding_table()),
            Model::T5(m) => {
                // As t5.rs runs it (loading already refused a feed_forward_proj it cannot read).
                let (gated, act) = m.config.ffn_activation().unwrap_or((false, String::new()));
                (act, gated, m.head_is_embedding_table())
            }
        };
        let info = model.info();
        let heads = info.n_heads.max(1);
        let (d_head, n_kv_heads) = match model {
            Model::T5(m) => (m.config.d_kv, heads),
            Model::Llama(m) => (m.d_head, m.n_kv_heads), // as loaded: Qwen2 leaves out 32 key/value heads
            Model::Phi(m) => (m.d_head, m.n_kv_heads),
            _ => (info.d_model / heads, heads),
        };
        let qk_norm = matches!(model, Model::Llama(m) if m.has_qk_norm()) || matches!(model, Model::Phi(m) if m.has_qk_norm());
        let (band_layers, band_reach) = match model {
            Model::ModernBert(m) => m.band_layers(),
            _ => (Vec::new(), None),
        };
        let qk_norm_per_head = matches!(model, Model::Llama(m) if m.has_qk_norm() && m.qk_norm_per_head()) || matches!(model, Model::Phi(m) if m.has_qk_norm());
        let (residual_scale, score_scale, logits_divisor, unrotated_layers) = match model {
            Model::Llama(m) => (m.residual_scale(), m.score_scale().1.then_some(m.score_scale().0), m.logits_divisor(), m.unrotated_layers()),
            // GPT-Neo (and a GPT-2 with scale_attn_weights false): q·k as it is.
            Model::Gpt2(m) if !m.config.scale_attn_weights && !m.config.scale_attn_by_inverse_layer_idx => (1.0, Some(1.0), None, Vec::new()),
            _ => (1.0, None, None, Vec::new()),
        };
        // What only the Llama-style families vary (BART shares the embedding scale).
        let (output_norms, embedding_scale, logit_softcap, score_softcap, query_pre_attn_scalar, (sliding_layers, sliding_window)) = match model {
            Model::Llama(m) => (m.has_output_norms(), m.embed_scale(), m.logit_cap(), m.score_cap(), m.query_pre_attn_scalar(), m.sliding_layers()),
            Model::Bart(m) => (false, m.embed_scale(), None, None, None, (Vec::new(), None)),
            Model::Gpt2(m) => (false, 1.0, None, None, None, m.sliding_layers()),
            _ => (false, 1.0, None, None, None, (Vec::new(), None)),
        };
        BlockFacts { norm_placement, norm_kind, embedding_norm, final_norm, activation, gated_ffn,
            qk_norm_own_scales: matches!(model, Model::Llama(m) if m.qk_norm_own_scales()),
            norm_learns: match model {
                Model::Llama(m) => m.norm_learns(),
                _ => None,
            },
            clip_qkv: match model {
                Model::Llama(m) => m.clip_qkv(),
                _ => None,
            },
            logit_scale: match model {
                Model::Llama(m) => m.logit_scale(),
                _ => None,
            },
            rotary_interleaved: matches!(model, Model::Llama(m) if m.rotary_interleaved()),
            ffn_width: info.d_ff, tied_embeddings, d_head, n_kv_heads, qk_norm, qk_norm_per_head, output_norms, residual_scale, embedding_scale,
            score_scale, logits_divisor, unrotated_layers, logit_softcap, score_softcap, query_pre_attn_scalar, sliding_layers, sliding_window,
            band_layers, band_reach, first_attention_unnormed: matches!(model, Model::ModernBert(_)),
            head_bias: match model {
                Model::ModernBert(m) => Some(m.config.decoder_bias),
                Model::Phi(_) => Some(true), // lm_head.bias
                _ => None,
            },
            embedding_width: match model {
                Model::Albert(m) if m.config.embedding_size != m.config.hidden_size => Some(m.config.embedding_size),
                Model::Gpt2(m) => m.embedding_width(),
                Model::Bert(m) if m.has_embedding_projection() => Some(m.embedding_width()),
                Model::Deberta(m) if m.embedding_width() != m.config.hidden_size => Some(m.embedding_width()),
                _ => None,
            },
            shared_layers: match model {
                Model::Albert(m) => m.shared_layers(),
                _ => Vec::new(),
            },
            parallel_residual: matches!(model, Model::GptNeoX(m) if m.config.use_parallel_residual) || matches!(model, Model::Phi(_))
                || matches!(model, Model::Llama(m) if m.parallel_residual()),
            parallel_shared_norm: matches!(model, Model::Phi(_)) || matches!(model, Model::Llama(m) if m.parallel_residual()),
            relative_bias: matches!(model, Model::Bert(m) if m.has_relative_bias()),
            disentangled: match model {
                Model::Deberta(m) => m.relative_scheme().map(|s| [s.span, s.buckets, s.max_distance, m.position_parts().0 as i64, m.position_parts().1 as i64]),
                _ => None,
            },
            residual_from_norm: matches!(model, Model::Bloom(m) if m.config.apply_residual_connection_post_layernorm),
            alibi_slopes: match model {
                Model::Bloom(m) => Some(m.slopes.clone()),
                _ => None,
            },
            rotary_dims: match model {
                Model::GptNeoX(m) if m.rotary.rotary_dims < m.rotary.d_head => Some(m.rotary.rotary_dims),
                Model::Llama(m) if m.rotary.rotary_dims < m.rotary.d_head => Some(m.rotary.rotary_dims), // Phi-4-mini
                Model::Phi(m) if m.rotary.rotary_dims < m.rotary.d_head => Some(m.rotary.rotary_dims),
                _ => None,
            } }
    }
}

/// The model's own generation defaults. `None`: the file does not say (Glassbox then uses greedy,
/// one beam, 20 new tokens).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationDefaults {
    /// `"generation_config.json"` or `"config.json"`: where the values come from.
    pub source: &'static str,
    /// Whether generation_config.json was present (its values alone count then, as in HF).
    pub from_generation_config: bool,
    pub max_new_tokens: Option<usize>,
    pub max_length: Option<usize>,
    pub do_sample: bool,
    /// f64 of the f32's shortest decimal, so JS and the CLI's JSON show the file's number (0.7, not 0.699999988).
    pub temperature: Option<f64>,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
    pub num_beams: Option<usize>,
    pub length_penalty: Option<f64>,
}

impl<'a> ModelCard<'a> {
    /// `weights_len`: the size of model.safetensors, `None` for a random-weight twin.
    pub fn new(session: &'a Session, weights_len: Option<usize>) -> Self {
        let info = session.info();
        let tokenizer = &session.tokenizer;
        ModelCard {
            info,
            size_bytes: weights_len.unwrap_or(info.n_params * 4),
            tokenizer: tokenizer.model_kind(),
            tokenizer_vocab_size: tokenizer.vocab_size(),
            mask_token: tokenizer.special_tokens().mask.and_then(|id| tokenizer.id_to_token(id)),
            generation: GenerationDefaults::of(&session.generation),
            block: BlockFacts::of(&session.model),
            weights: None,
            classifier: session.model.classifier(),
            language_codes: tokenizer.language_codes(),
            src_lang: tokenizer.src_lang(),
            unused_tensors: &session.unused_tensors,
        }
    }
}

impl GenerationDefaults {
    pub fn of(g: &crate::models::generation_config::GenerationConfig) -> Self {
        GenerationDefaults {
            source: g.source,
            from_generation_config: g.source == "generation_config.json",
            max_new_tokens: g.max_new_tokens,
            max_length: g.max_length,
            do_sample: g.do_sample,
            temperature: g.temperature.map(decimal),
            top_k: g.top_k,
            top_p: g.top_p.map(decimal),
            num_beams: g.num_beams,
            length_penalty: g.length_penalty,
        }
    }
}

/// An f32 as the f64 of its shortest decimal form (0.7f32 -> 0.7, not 0.699999988).
///
/// The fewest decimal places `k` whose rounding reads back as the same f32: `n / 10^k` with both
/// exact in f64 is one correctly rounded division, so it is the f64 that parsing the decimal text
/// would give. Done by arithmetic rather than `to_string().parse()`: f64 parsing is used nowhere
/// else in the wasm, and leaving it out saves about 4 KB there.
fn decimal(x: f32) -> f64 {
    let wide = f64::from(x);
    (0..=15)
        .map(|k| {
            let scale = 10f64.powi(k);
            (wide * scale).round() / scale
        })
        .find(|&y| y.abs() < 9e15 && y as f32 == x)
        .unwrap_or(wide)
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimal_reads_an_f32_as_its_shortest_decimal() {
        for (x, text) in [(0.7f32, "0.7"), (0.95, "0.95"), (1.0, "1"), (1.2, "1.2"), (0.001, "0.001"), (50.0, "50"), (0.123_456_7, "0.1234567"), (-0.3, "-0.3")] {
            assert_eq!(decimal(x), text.parse::<f64>().unwrap(), "{x}");
            assert_eq!(decimal(x), x.to_string().parse::<f64>().unwrap(), "{x} as Rust prints it");
        }
        // Every f32 from 1e-6 to 1e6 whose shortest form has at most 15 places, on a sparse grid of bit patterns.
        let (lo, hi) = (1e-6f32.to_bits(), 1e6f32.to_bits());
        for bits in (lo..hi).step_by(997) {
            let x = f32::from_bits(bits);
            assert_eq!(decimal(x), x.to_string().parse::<f64>().unwrap(), "{x}");
        }
        // Beyond 15 places the f32's own value is kept.
        assert_eq!(decimal(1e-30), f64::from(1e-30f32));
    }
}
