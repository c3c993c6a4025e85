//! Building blocks shared by the model files: norms, embeddings, activations, and loaders
//! that read them from checkpoint names with a shape check.

use crate::error::{Error, Result};
use crate::kernels::{self, Layout, Linear};
use crate::loader::Weights;

/// `nn.Linear` named `{name}.weight` `[N][K]` (+ `{name}.bias` `[N]`).
/// Weights kept in the file's storage unless the load asked for another ([`Weights::with_storage`]).
pub fn linear(w: &Weights, name: &str, d_in: usize, d_out: usize, bias: bool) -> Result<Linear> {
    let weight = w.get_stored(&format!("{name}.weight"), &[d_out, d_in])?;
    let b = if bias { Some(w.get(&format!("{name}.bias"), &[d_out])?) } else { None };
    Ok(Linear::from_stored(weight, Layout::OutIn, d_in, d_out, b, w.storage()))
}

/// A layer's query, key and value projections: three matrices (Llama, GPT-Neo), or one whose
/// output is the three side by side (GPT-2's `c_attn`, Phi-3's `qkv_proj`).
pub enum QkvProj {
    Separate { q: Linear, k: Linear, v: Linear }, // C -> H·D, C -> KV·D, C -> KV·D
    /// C -> H·D + 2·KV·D: the query columns, then the keys', then the values'.
    Fused(Linear),
}

impl QkvProj {
    /// `a: [T][C]` -> `q [T][H·D]`, `k [T][KV·D]`, `v [T][KV·D]`.
    pub fn apply(&self, a: ndarray::ArrayView2<'_, f32>, q_width: usize, kv_width: usize) -> (ndarray::Array2<f32>, ndarray::Array2<f32>, ndarray::Array2<f32>) {
        use super::activations::linear;
        match self {
            QkvProj::Separate { q, k, v } => (linear(q, a), linear(k, a), linear(v, a)),
            QkvProj::Fused(qkv) => {
                let all = linear(qkv, a); // [T][H·D + 2·KV·D]
                let part = |from: usize, width: usize| all.slice(ndarray::s![.., from..from + width]).to_owned();
                (part(0, q_width), part(q_width, kv_width), part(q_width + kv_width, kv_width))
            }
        }
    }
}

/// `nn.Linear` whose bias may or may not be stored.
pub fn linear_opt_bias(w: &Weights, name: &str, d_in: usize, d_out: usize) -> Result<Linear> {
    let weight = w.get_stored(&format!("{name}.weight"), &[d_out, d_in])?;
    let b = w.get_opt(&format!("{name}.bias"), &[d_out])?;
    Ok(Linear::from_stored(weight, Layout::OutIn, d_in, d_out, b, w.storage()))
}

/// GPT-2 `Conv1D` named `{name}.weight` `[K][N]` + `{name}.bias` `[N]`, in the file's storage
/// unless the load asked for another.
pub fn conv1d(w: &Weights, name: &str, d_in: usize, d_out: usize) -> Result<Linear> {
    let weight = w.get_stored(&format!("{name}.weight"), &[d_in, d_out])?;
    let bias = w.get(&format!("{name}.bias"), &[d_out])?;
    Ok(Linear::from_stored(weight, Layout::InOut, d_in, d_out, Some(bias), w.storage()))
}

/// `nn.Linear` without bias (T5), in the file's storage unless the load asked for another.
pub fn linear_no_bias(w: &Weights, name: &str, d_in: usize, d_out: usize) -> Result<Linear> {
    let weight = w.get_stored(&format!("{name}.weight"), &[d_out, d_in])?;
    Ok(Linear::from_stored(weight, Layout::OutIn, d_in, d_out, None, w.storage()))
}

/// LayerNorm with learned scale and shift, `[C]` each.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    pub gamma: Vec<f32>, // [C]
    pub beta: Vec<f32>,  // [C]
    pub eps: f32,
}

impl LayerNorm {
    /// Reads `{name}.weight` / `{name}.bias`, or the older `{name}.gamma` / `{name}.beta` of a
    /// module named `LayerNorm` (BERT's), the only ones transformers renames when it loads. Under any
    /// other name HF leaves the old tensors unused and starts the norm from 1 and 0, so such a file
    /// is refused naming the tensor rather than run with numbers HF would not give.
    pub fn load(w: &Weights, name: &str, c: usize, eps: f32) -> Result<Self> {
        let read = |new: &str, old: &str| -> Result<Vec<f32>> {
            let (new, old) = (format!("{name}.{new}"), format!("{name}.{old}"));
            if let Some(v) = w.get_opt(&new, &[c])? {
                return Ok(v);
            }
            if !w.contains(&old) {
                return Err(missing(&new));
            }
            if !name.ends_with("LayerNorm") {
                return Err(Error::tensor(
                    &new,
                    format!("is missing; the file stores {old}, which transformers reads only for modules named LayerNorm (it would start this norm from 1 and 0)"),
                    format!("Rename {old} to {new} if it is this norm's, or use the file saved by `save_pretrained`"),
                ));
            }
            w.get(&old, &[c])
        };
        Ok(LayerNorm { gamma: read("weight", "gamma")?, beta: read("bias", "beta")?, eps })
    }
    /// Normalise every row of `x: [T][C]`, in place.
    pub fn apply(&self, x: &mut [f32]) {
        kernels::layer_norm(x, &self.gamma, &self.beta, self.eps)
    }
    pub fn n_params(&self) -> usize {
        self.gamma.len() + self.beta.len()
    }
}

fn missing(name: &str) -> Error {
    Error::tensor(name, "missing from the checkpoint", "Check that config.json belongs to these weights and that the file is complete")
}

/// Whether the file stores `head` ([V][C]) with values other than `table`'s. transformers 5 then
/// leaves a head that config.json ties untied (`PreTrainedModel.tie_weights` compares the two stored
/// tensors and warns), so the stored head makes the logits. False for random weights and when the
/// file has no `head`.
pub fn stored_head_differs(w: &Weights, head: &str, table: &str, v: usize, c: usize) -> Result<bool> {
    if matches!(w, Weights::Random { .. }) || !w.contains(head) {
        return Ok(false);
    }
    let (head, table) = (w.get_stored(head, &[v, c])?, w.get_stored(table, &[v, c])?);
    Ok(head.len() != table.len() || (0..head.len()).any(|i| head.get(i).to_bits() != table.get(i).to_bits()))
}

/// A decoder's output head `[V][C]` when it is not the token table `table`: `Some` when the file
/// stores one whose values differ (tied or not in config.json, as transformers 5 loads it), `None`
/// when the table serves (a stored head equal to it is the table). Untied in config.json with no head
/// stored is refused: Hugging Face would start that head from random numbers.
pub fn head_of_its_own(w: &Weights, head: &str, table: &str, v: usize, c: usize, tied: bool) -> Result<Option<Linear>> {
    if !tied && !matches!(w, Weights::Random { .. }) && !w.contains(head) {
        return Err(Error::tensor(
            head,
            "is missing while config.json says tie_word_embeddings: false (Hugging Face would start this head from random numbers)",
            format!("Add {head} to model.safetensors, or set tie_word_embeddings to true if the head is the token embedding table"),
        ));
    }
    match stored_head_differs(w, head, table, v, c)? {
        true => Ok(Some(token_table(w, head, v, c)?)),
        false => Ok(None),
    }
}

/// The name a tied token table is read from: `table`, or `head` when the file stores only the head
/// (some converters write `lm_head.weight` alone): transformers 5 then fills the table from the
/// head. Untied, a missing table stays missing (HF would start it from random numbers).
pub fn tied_table_name<'a>(w: &Weights, table: &'a str, head: &'a str, tied: bool) -> &'a str {
    if tied && !w.contains(table) && w.contains(head) {
        head
    } else {
        table
    }
}

/// A `[V][C]` token embedding table stored as a bias-free [`Linear`] (`N = V`, `K = C`): the same
/// memory serves the embedding lookup (a row of `W`) and the tied LM head (the packed GEMV/GEMM),
/// in the storage the load chose. `name` is `[V][C]` in the checkpoint.
/// Packed a block of rows at a time where it can be ([`Weights::linear_out_in`]): no second copy.
pub fn token_table(w: &Weights, name: &str, v: usize, c: usize) -> Result<Linear> {
    w.linear_out_in(name, c, v, &|| Ok(None))
}

/// [`token_table`] for families whose tables stay out of int8 (T5, BERT, BART and Marian): a load
/// asking for int8 keeps these tables in the file's own storage (16-bit stays 16-bit), since their
/// rows enter the residual stream as they are and int8 rows moved T5's logits past the int8 test's
/// bound (5% of their spread); f16 and bf16 requests apply as to every matrix. The decoder-only
/// families (GPT-2, GPT-Neo, OPT, the Llama family, GPT-NeoX, BLOOM, phi) take [`token_table`]: their
/// tables are int8 under int8, head and rows.
pub fn token_table_not_int8(w: &Weights, name: &str, v: usize, c: usize) -> Result<Linear> {
    match w.storage() {
        Some(kernels::Storage::Int8) => w.linear_out_in_as(name, c, v, &|| Ok(None), None),
        _ => token_table(w, name, v, c),
    }
}

/// A token embedding table, as a model keeps it.
pub enum TokenTable<'a> {
    Rows(&'a [f32]), // [V][C]
    Packed(&'a Linear),
}

impl TokenTable<'_> {
    /// Rows for `ids` (checked `< V` by the caller): `[T][C]`.
    pub fn gather(&self, c: usize, ids: &[u32]) -> Vec<f32> {
        match self {
            TokenTable::Rows(table) => gather_rows(table, c, ids),
            TokenTable::Packed(table) => {
                let mut x = vec![0.0; ids.len() * c];
                for (row, &id) in x.chunks_exact_mut(c.max(1)).zip(ids) {
                    table.weight_row_into(id as usize, row);
                }
                x
            }
        }
    }
}

/// `tanh(x)`, taken in f64 ([`crate::math`]: the same code natively and in wasm) and rounded once.
/// An f32 `tanh` is the C library's natively and a port of musl's in the wasm, which differ in the
/// last bit now and then, so the page and the CLI would disagree (Gemma 2's score cap, Gemma 3's
/// logit cap, a classifier's pooler). Transformers' own f32 `tanh` is neither; all are within an
/// ulp of it.
pub fn tanh(x: f32) -> f32 {
    crate::math::tanh(x as f64) as f32
}

/// Rows of a `[rows][C]` table gathered by id: `[T][C]`.
pub fn gather_rows(table: &[f32], c: usize, ids: &[u32]) -> Vec<f32> {
    let mut x = Vec::with_capacity(ids.len() * c);
    for &id in ids {
        let id = id as usize;
        x.extend_from_slice(&table[id * c..(id + 1) * c]);
    }
    x
}

/// `x += y`, element-wise (residual connections).
pub fn add_in_place(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// The non-linearity between the two feed-forward matrices, by its config.json name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    GeluErf,  // "gelu"
    GeluTanh, // "gelu_new", "gelu_pytorch_tanh", "gelu_fast"
    Relu,     // "relu"
    Silu,     // "silu", "swish"
}

impl Activation {
    pub fn from_config(field: &str, name: &str) -> Result<Self> {
        match name {
            "gelu" => Ok(Activation::GeluErf),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            "silu" | "swish" => Ok(Activation::Silu),
            other => Err(Error::config(
                field,
                format!("activation \"{other}\" is not supported"),
                "Glassbox runs gelu, gelu_new (gelu_pytorch_tanh, gelu_fast), relu and silu (swish); this checkpoint was trained with another, so it cannot run here (renaming the activation would compute a different network)",
            )),
        }
    }
    pub fn apply(self, x: &mut [f32]) {
        match self {
            Activation::GeluErf => kernels::gelu_erf(x),
            Activation::GeluTanh => kernels::gelu_tanh(x),
            Activation::Relu => kernels::relu(x),
            Activation::Silu => kernels::silu(x),
        }
    }
}

/// Count of parameters a Linear holds (weights + bias).
pub fn linear_params(l: &Linear, bias: bool) -> usize {
    l.d_in * l.d_out + if bias { l.d_out } else { 0 }
}

/// A masked-LM head's decoder and bias as transformers 5 ties them (BERT, ALBERT, DeBERTa-v2's
/// legacy head: the decoder's weight to the token table `table`, its bias `decoder.bias` to the
/// head's own `bias`): tied when config.json says so and the file stores no decoder that differs
/// from the table; the decoder's own bias first whenever the pair is untied, or when the file
/// stores both biases with different values (HF then leaves them apart). 4.x files may store only
/// the head's own bias, which 4.x added: it is read then, where HF 5 would start from zeros.
/// `names`: the decoder's weight, the head's own bias, the decoder's bias. Returns (the decoder
/// `[V][E]` when it is not the table, the bias `[V]`).
pub fn tied_mlm_decoder(w: &Weights, names: [&str; 3], table: &str, v: usize, e: usize, tie_word_embeddings: bool) -> Result<(Option<Linear>, Vec<f32>)> {
    let [decoder, own, decoders] = names;
    let decoder = match tie_word_embeddings && !stored_head_differs(w, decoder, table, v, e)? {
        true => None,
        false => Some(token_table_not_int8(w, decoder, v, e)?),
    };
    let both_differ = tie_word_embeddings && w.contains(own) && w.contains(decoders) && !w.same_values(own, decoders)?;
    let (first, second) = if tie_word_embeddings && !both_differ { (own, decoders) } else { (decoders, own) };
    let bias = match w.get_opt(first, &[v])? {
        Some(b) => b,
        None => w.get(second, &[v])?,
    };
    Ok((decoder, bias))
}

/// A masked-LM head as BERT's descendants build it: `decoder(LN(act(W_dense x))) + bias`, the
/// decoder being the token table unless the checkpoint has one of its own (BERT, RoBERTa,
/// DistilBERT, ALBERT, ModernBERT).
pub struct MlmHead {
    pub dense: Linear, // C -> the table's width
    pub ln: LayerNorm,
    /// The decoder's own weights `[V][E]` when it is not the token table.
    pub decoder: Option<Linear>,
    pub bias: Vec<f32>, // [V]
}

impl MlmHead {
    /// `x: [T][C]` -> logits `[T][V]`; `table` is the token table the decoder is tied to.
    pub fn logits(&self, x: ndarray::ArrayView2<'_, f32>, table: &Linear, act: Activation) -> ndarray::Array2<f32> {
        let mut z = super::activations::linear(&self.dense, x);
        act.apply(super::activations::flat_mut(&mut z));
        self.ln.apply(super::activations::flat_mut(&mut z));
        let mut logits = super::activations::linear(self.decoder.as_ref().unwrap_or(table), z.view());
        for mut row in logits.rows_mut() {
            add_in_place(row.as_slice_mut().expect("standard layout"), &self.bias);
        }
        logits
    }
}

/// `x += type[type_ids]` (`x: [T][E]`, `types: [n_types][E]`; no type ids: every token type 0), for the
/// BERT-like encoders, refusing a type the table has no row for. One copy for BERT, ALBERT and DeBERTa.
pub(crate) fn add_token_types(x: &mut ndarray::Array2<f32>, types: &[f32], n_types: usize, type_ids: Option<&[u32]>) -> crate::error::Result<()> {
    let (t, e) = x.dim();
    let zeros = vec![0u32; t];
    let type_ids = type_ids.unwrap_or(&zeros);
    if let Some(&bad) = type_ids.iter().find(|&&ty| ty as usize >= n_types) {
        let fix = match n_types {
            1 => "This model has one token type: use 0 everywhere".to_string(),
            n => format!("Use token types 0 to {}", n.saturating_sub(1)),
        };
        return Err(crate::error::Error::input(format!("token type {bad} is out of range (type_vocab_size {n_types})"), fix));
    }
    *x += &super::activations::embed(&TokenTable::Rows(types), e, type_ids);
    Ok(())
}

