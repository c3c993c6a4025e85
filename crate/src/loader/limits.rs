//! Sizes in config.json checked before anything is allocated.
//!
//! A config can say anything: `n_layer: 10^12`, `vocab_size: -1`, `d_model: "big"`. The model
//! files check each tensor's shape against the checkpoint, but by then a layer loop may already
//! have reserved room for a trillion layers, or a random-weight twin filled terabytes. So every
//! size field of every family is read here first: it must be a whole number in a sane range, a
//! random twin must stay under [`MAX_RANDOM_PARAMS`], and a checkpoint must be large enough to
//! hold the layers the config promises.

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// Widths (C) by family: GPT-2, BERT, T5 / BART / Marian.
const WIDTHS: &[&str] = &["n_embd", "n_embed", "hidden_size", "d_model"];
/// Rows of embedding tables.
const VOCABS: &[&str] = &["vocab_size", "decoder_vocab_size"];
/// Rows of the token-type table: 0 means none (DeBERTa-v3).
const TYPES: &[&str] = &["type_vocab_size"];
/// Rows of learned position tables.
const POSITIONS: &[&str] = &["n_positions", "n_ctx", "max_position_embeddings"];
/// Layer counts; 0 is allowed (a zero-layer transformer is a known teaching toy).
const LAYERS: &[&str] = &["n_layer", "num_hidden_layers", "num_layers", "num_decoder_layers", "encoder_layers", "decoder_layers"];
const HEADS: &[&str] = &["n_head", "num_attention_heads", "num_heads", "encoder_attention_heads", "decoder_attention_heads"];
const FEED_FORWARD: &[&str] = &["n_inner", "intermediate_size", "d_ff", "encoder_ffn_dim", "decoder_ffn_dim"];
/// T5's head width and relative-position table.
const T5_SIZES: &[&str] = &["d_kv", "relative_attention_num_buckets", "relative_attention_max_distance"];

/// No real checkpoint has a dimension this large (the widest have d_ff ≈ 2^16, vocabularies ≈ 2^18).
pub const MAX_DIM: u64 = 1 << 24;

/// The most parameters a seeded random-weight twin may have: 1 GiB of f32 (GPT-2 small fits; GPT-2 medium, 355M, does not), checked
/// from config.json before a single value is drawn. More would take tens of seconds to draw and
/// gigabytes to hold for a model nobody can tell apart from a smaller random one.
pub const MAX_RANDOM_PARAMS: usize = 1 << 28;

/// Check every size field of `config` (already known to be a JSON object with a model_type).
/// `weights_len`: the byte length of model.safetensors, or `None` for a random-weight twin.
pub fn check_sizes(config: &[u8], weights_len: Option<usize>) -> Result<()> {
    let Ok(Value::Object(cfg)) = serde_json::from_slice::<Value>(config) else {
        // Not an object: the family's own parse reports it with line and column.
        return Ok(());
    };
    let size = |fields: &[&'static str], min: u64| -> Result<Vec<(&'static str, u64)>> {
        fields.iter().filter_map(|&f| read(&cfg, f, min).transpose()).collect()
    };
    let widths = size(WIDTHS, 1)?;
    let mut vocabs = size(VOCABS, 1)?;
    vocabs.extend(size(TYPES, 0)?);
    let positions = size(POSITIONS, 1)?;
    let layers = size(LAYERS, 0)?;
    let heads = size(HEADS, 1)?;
    let feed_forward = size(FEED_FORWARD, 1)?;
    let t5 = size(T5_SIZES, 1)?;

    let max = |v: &[(&'static str, u64)]| v.iter().map(|&(_, n)| n as u128).max().unwrap_or(0);
    let get = |v: &[(&'static str, u64)], name: &str| v.iter().find(|&&(f, _)| f == name).map(|&(_, n)| n as u128);
    let c = max(&widths);
    let v: u128 = vocabs.iter().map(|&(_, n)| n as u128).sum();
    let p = max(&positions);
    // T5 leaves num_decoder_layers out when the decoder is as deep as the encoder.
    let l: u128 = layers.iter().map(|&(_, n)| n as u128).sum::<u128>()
        + if get(&layers, "num_decoder_layers").is_none() { get(&layers, "num_layers").unwrap_or(0) } else { 0 };
    let h = max(&heads);
    let attn = c.max(h * get(&t5, "d_kv").unwrap_or(0));
    let f = if feed_forward.is_empty() { 4 * c } else { max(&feed_forward) };
    let buckets = get(&t5, "relative_attention_num_buckets").unwrap_or(0);

    let (embeddings, position_table, per_layer) = (v * c, p * c, 4 * c * attn + 2 * c * f);
    let params = embeddings + position_table + l * per_layer + buckets * h;
    // The field to blame: the one behind the largest part of the total.
    let culprit = if l * per_layer >= embeddings.max(position_table) {
        biggest(&layers).or_else(|| biggest(&widths))
    } else if embeddings >= position_table {
        biggest(&vocabs)
    } else {
        biggest(&positions)
    }
    .unwrap_or("vocab_size");

    match weights_len {
        None if params > MAX_RANDOM_PARAMS as u128 => Err(Error::config(
            culprit,
            format!(
                "{} make a random-weight model of about {} parameters, more than the {} a random twin may have",
                [&widths, &vocabs, &positions, &layers, &feed_forward, &t5].iter().flat_map(|v| v.iter()).map(|(f, n)| format!("{f}={n}")).collect::<Vec<_>>().join(", "),
                human(params),
                human(MAX_RANDOM_PARAMS as u128)
            ),
            "Lower the sizes in config.json (vocab_size, width, layers) or load the real model.safetensors",
        )),
        // Every layer of every family holds at least one norm of C values, 2 bytes each at least.
        Some(len) if l * c * 2 > len as u128 => Err(Error::config(
            biggest(&layers).unwrap_or("n_layer"),
            // Printed as u64 (they are sums of u64 sizes): formatting a u128 would link its own printer.
            format!("{} layers of width {} need at least {} bytes of weights but model.safetensors has {len}", l as u64, c as u64, human(l * c * 2)),
            "Use the config.json saved with these weights",
        )),
        _ => Ok(()),
    }
}

/// A size field as a whole number in `min..=MAX_DIM`; `None` when absent or null.
fn read(cfg: &Map<String, Value>, field: &'static str, min: u64) -> Result<Option<(&'static str, u64)>> {
    let value = match cfg.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let fix = "Use the config.json saved with the model";
    let Some(n) = value.as_u64() else {
        let shown = shorten(&value.to_string());
        return Err(Error::config(field, format!("is {shown}, but a size must be a whole number"), fix));
    };
    if n < min {
        return Err(Error::config(field, format!("is {n}, but it must be at least {min}"), fix));
    }
    if n > MAX_DIM {
        return Err(Error::config(field, format!("is {n}, larger than any real model's (at most {MAX_DIM})"), fix));
    }
    Ok(Some((field, n)))
}

fn biggest(v: &[(&'static str, u64)]) -> Option<&'static str> {
    v.iter().max_by_key(|&&(_, n)| n).map(|&(f, _)| f)
}

/// `1.2 billion`, `340 million`, `5000`: readable magnitudes for messages.
pub(crate) fn human(n: u128) -> String {
    match n {
        n if n >= 1_000_000_000_000 => format!("{:.1} trillion", n as f64 / 1e12),
        n if n >= 1_000_000_000 => format!("{:.1} billion", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.0} million", n as f64 / 1e6),
        // Under a million: a u64 prints it without linking u128's printer (about 2 KB of wasm).
        n => (n as u64).to_string(),
    }
}

/// A JSON value short enough to quote in a one-line message.
fn shorten(s: &str) -> String {
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match one_line.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

// ---- limits on work sized by a text or a tokenizer.json -------------------------------------------
//
// Each is checked before the work it bounds starts, and its error names it.

/// Tokens in one forward pass, whatever the model's position table says: attention is `[T][T]` per
/// head, so a config with `n_positions: 200000` fed 60k tokens would ask for 14 GB. 8192 is eight
/// times GPT-2's and BART's context (1024); Llama and Qwen2 configs may allow more and are capped here.
pub const MAX_SEQUENCE: usize = 8192;

/// A normaliser may grow a text at most this many times (plus [`NORMALIZED_SLACK`] bytes). Real ones
/// grow it a little (NFKD of U+FDFA: 3 bytes → 33, BERT's spaces around CJK: 3 → 5, ByteLevel: × 2);
/// a `Replace` whose content is long multiplies it without bound.
pub const MAX_NORMALIZED_GROWTH: usize = 32;
pub const NORMALIZED_SLACK: usize = 4096;

/// Added tokens in one tokenizer.json (the largest real ones have a few thousand; byte-fallback
/// vocabularies add 256).
pub const MAX_ADDED_TOKENS: usize = 1 << 17;

/// Steps the backtracking regex engine (tokenizer/pattern) may take for the matches of one text
/// (Split, Replace, Whitespace patterns): this many plus [`REGEX_STEPS_PER_BYTE`] per byte. Past it
/// the search fails with an error instead of running for seconds: a catastrophic pattern such as
/// `(a+)+(?=b)` needs 2^n steps on `n` a's, while the patterns of real tokenizers take a few
/// dozen steps per byte.
pub const REGEX_BACKTRACK_LIMIT: usize = 100_000;
pub const REGEX_STEPS_PER_BYTE: usize = 256;

/// The step budget for matching a pattern over a text of `len` bytes.
pub fn regex_step_budget(len: usize) -> usize {
    REGEX_BACKTRACK_LIMIT.saturating_add(len.saturating_mul(REGEX_STEPS_PER_BYTE))
}

/// The longest text a normaliser step may leave, for a text of `original_len` bytes.
pub fn max_normalized_len(original_len: usize) -> usize {
    original_len.saturating_mul(MAX_NORMALIZED_GROWTH).saturating_add(NORMALIZED_SLACK)
}

/// Refuse a normaliser (or decoder) step that would make `new_len` bytes from `original_len`.
pub fn check_growth(what: &str, original_len: usize, new_len: usize) -> Result<()> {
    if new_len <= max_normalized_len(original_len) {
        return Ok(());
    }
    Err(Error::tokenizer(
        format!(
            "{what} would turn {original_len} bytes of text into {new_len}, more than the limit of {MAX_NORMALIZED_GROWTH} times the text plus {NORMALIZED_SLACK} bytes"
        ),
        "Fix the tokenizer.json: a Replace/Prepend content that long multiplies the text (Hugging Face's would too)",
    ))
}

/// Refuse a sequence longer than [`MAX_SEQUENCE`] tokens.
pub fn check_sequence(what: &str, len: usize) -> Result<()> {
    if len <= MAX_SEQUENCE {
        return Ok(());
    }
    Err(Error::input(
        format!("the {what} are {len} tokens long; Glassbox runs at most {MAX_SEQUENCE} tokens at once (MAX_SEQUENCE: attention grows with the square of the length)"),
        "Shorten the text",
    ))
}

/// Floating-point settings in config.json that must be finite and not negative (a negative
/// epsilon makes a LayerNorm divide by the square root of a negative number: NaN everywhere).
const EPSILONS: &[&str] = &["layer_norm_epsilon", "layer_norm_eps", "rms_norm_eps"];

/// Check the non-size values of `config` that would silently give NaN or wrong numbers.
///
/// `reads_weights`: the model is built from a weight file, so a quantized checkpoint's is refused
/// ([`refuse_quantized`]); a random twin reads none and is built whatever the file held.
pub fn check_values(config: &[u8], reads_weights: bool) -> Result<()> {
    let Ok(Value::Object(cfg)) = serde_json::from_slice::<Value>(config) else { return Ok(()) };
    if reads_weights {
        refuse_quantized(&cfg)?;
    }
    for &field in EPSILONS {
        let Some(value) = cfg.get(field) else { continue };
        if value.is_null() {
            continue;
        }
        let fix = "Use the config.json saved with the model (a small positive number such as 1e-5)";
        match value.as_f64() {
            Some(eps) if eps.is_finite() && eps >= 0.0 => {}
            Some(eps) => return Err(Error::config(field, format!("is {eps}, but an epsilon must be a finite number ≥ 0"), fix)),
            None => return Err(Error::config(field, format!("is {}, but an epsilon must be a number", shorten(&value.to_string())), fix)),
        }
    }
    Ok(())
}

/// A checkpoint saved quantized (`quantization_config`: GPTQ, AWQ, bitsandbytes, FP8, ...) stores its
/// layers as packed integers or 8-bit floats beside scales, which transformers hands to that library's
/// kernels. Glassbox reads f32, f16 and bf16 weights (and quantizes them itself to int8 on request), so
/// such a file is refused by the key's name rather than failing later on a tensor name or dtype, or
/// running on whatever float tensors happen to be there.
fn refuse_quantized(cfg: &serde_json::Map<String, Value>) -> Result<()> {
    let Some(quant) = cfg.get("quantization_config").filter(|v| !v.is_null()) else { return Ok(()) };
    let method = quant.get("quant_method").and_then(Value::as_str).map(shorten).unwrap_or_else(|| "an unnamed method".into());
    let bits = quant.get("bits").and_then(Value::as_u64).map(|b| format!(", {b} bits")).unwrap_or_default();
    Err(Error::config(
        "quantization_config",
        format!("names a checkpoint quantized with {method}{bits}: its layers are stored packed for that library's kernels, which Glassbox does not run"),
        "Use the model's original f32, f16 or bf16 checkpoint; for less memory, load it with int8 weights (--weights int8, or \"Weights in memory\" on the page)",
    ))
}

/// The longest vocabulary entry a WordPiece or Unigram vocabulary may hold. Both try every substring of a
/// word up to the longest entry at each position, so the work per character grows with the square of that
/// length; real vocabularies stay under 64 bytes (SentencePiece caps pieces at 16 characters, BERT's longest
/// WordPiece entry is 18 bytes). Byte-level BPE merges pairs instead and has no such limit.
pub const MAX_PIECE_BYTES: usize = 128;

/// Attempts a tokenizer trace records per word (WordPiece lists each substring it looked up): past it the
/// word is still tokenized, only its trace stops growing.
pub const TRACE_ATTEMPTS_MAX: usize = 4096;

/// Refuse a vocabulary entry longer than [`MAX_PIECE_BYTES`].
pub fn check_piece(model: &str, piece: &str) -> Result<()> {
    if piece.len() <= MAX_PIECE_BYTES {
        return Ok(());
    }
    Err(Error::tokenizer(
        format!("{model} vocab has an entry of {} bytes ({}), longer than the limit of {MAX_PIECE_BYTES} (MAX_PIECE_BYTES)", piece.len(), shorten(piece)),
        "Use the tokenizer.json saved with the model; real vocabularies have short entries",
    ))
}

/// Logits one forward pass may return (`[T][V]` f32): 1 GiB. GPT-2 at its full 1024 positions needs 51 million.
pub const MAX_LOGITS: u128 = 1 << 28;

/// Attention values one forward pass may keep (`[L][H][Tq][Tk]` for every kind, probabilities and scores):
/// 2 GiB of f32. GPT-2 small at 1024 tokens keeps 151 million.
pub const MAX_CAPTURED: u128 = 1 << 29;

