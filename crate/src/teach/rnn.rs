//! Recurrent networks learning a long-range dependency, and attention on the same task.
//!
//! The task ("remember the first symbol"): a sequence of `N` symbols whose first is one of `K` answer
//! symbols and whose other `N - 1` are distractors (drawn from `K` other symbols); after the last one
//! the model must name the **first**. Whatever the model knew about step 1 has to survive `N - 1`
//! updates of its state.
//!
//! Three models, each a handful of named parameter tensors, with forward and backward passes
//! (backpropagation through time) written out by hand:
//! - **RNN** (Elman, tanh): `h_t = tanh(W_in[x_t] + W_rec h_{t-1} + b)`. Going back one step
//!   multiplies the gradient by `W_recᵀ diag(1 - h_t²)`. The tanh slopes are at most 1, so when
//!   `W_rec`'s largest singular value is below 1 the gradient must shrink step after step
//!   (vanishing); above 1 it can grow (exploding) but need not, since the slopes may shrink it
//!   (Pascanu, Mikolov and Bengio, 2013: a sufficient condition for vanishing, a necessary one for exploding).
//! - **LSTM**: gates `i, f, o` and a candidate `g` from `[x_t, h_{t-1}]`; the memory cell is updated
//!   by addition, `c_t = f ⊙ c_{t-1} + i ⊙ g`, and `h_t = o ⊙ tanh(c_t)`. Going back one step along
//!   the cell multiplies the gradient by the forget gate only, so with `f` near 1 it survives.
//! - **Attention** (one layer, one head): embeddings plus learned positions; the last step's query
//!   scores every step's key and reads their values in one weighted sum, so step 1 is one step away
//!   from the output whatever `N` is.
//!
//! Shapes: `K` answer symbols (the output classes), `V = 2K` input symbols, `H` hidden width (`D` for attention), `N` steps.
//! Everything is `f64`: these models are tiny, and it lets the tests check every gradient against
//! finite differences to many digits.

use crate::error::{Error, Result};
use crate::rng::Rng;

/// Upper bounds on what a caller may ask for (work is `steps × batch × N × H²`).
pub const MAX_LENGTH: usize = 200;
pub const MAX_HIDDEN: usize = 128;
pub const MAX_SYMBOLS: usize = 16;
pub const MAX_BATCH: usize = 512;
pub const MAX_EVAL: usize = 4096;
/// Each option may be at its bound, but not all at once: one training step (`batch` sequences) and
/// one evaluation (`eval_size` sequences) are bounded in [`TrainOptions::work_per_sequence`] units,
/// about a second and four seconds of a laptop core (natively; the page's wasm is slower).
pub const MAX_STEP_WORK: u64 = 2_000_000_000;
pub const MAX_EVAL_WORK: u64 = 8_000_000_000;

/// Which network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Rnn,
    Lstm,
    Attention,
}

impl Cell {
    pub fn parse(name: &str) -> Result<Cell> {
        match name {
            "rnn" => Ok(Cell::Rnn),
            "lstm" => Ok(Cell::Lstm),
            "attention" => Ok(Cell::Attention),
            other => Err(Error::input(format!("\"{other}\" is not a cell"), "Use \"rnn\", \"lstm\" or \"attention\"")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Cell::Rnn => "rnn",
            Cell::Lstm => "lstm",
            Cell::Attention => "attention",
        }
    }
}

/// A named parameter tensor, row-major.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Param {
    fn zeros(name: &'static str, shape: &[usize]) -> Param {
        Param { name, shape: shape.to_vec(), data: vec![0.0; shape.iter().product()] }
    }
    fn normal(name: &'static str, shape: &[usize], std: f64, rng: &mut Rng) -> Param {
        let mut p = Param::zeros(name, shape);
        for v in &mut p.data {
            *v = rng.normal() as f64 * std;
        }
        p
    }
}

/// Sequences and the answer of each (its first symbol).
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[B][N]` symbol ids.
    pub inputs: Vec<Vec<usize>>,
    /// `[B]`
    pub targets: Vec<usize>,
}

impl Batch {
    /// `size` random sequences of `length`: an answer symbol from `0..symbols`, then distractors from
    /// `symbols..2·symbols`; the target is the first.
    pub fn sample(rng: &mut Rng, symbols: usize, length: usize, size: usize) -> Batch {
        let k = symbols as u64;
        let inputs: Vec<Vec<usize>> = (0..size)
            .map(|_| (0..length).map(|t| (rng.next_u64() % k + if t == 0 { 0 } else { k }) as usize).collect())
            .collect();
        let targets = inputs.iter().map(|s| s[0]).collect();
        Batch { inputs, targets }
    }
}

/// What one pass over a batch gives.
#[derive(Debug, Clone)]
pub struct Gradients {
    /// Mean cross-entropy (nats).
    pub loss: f64,
    /// Sequences answered correctly.
    pub correct: usize,
    /// One tensor per parameter, in the model's order: d(mean loss)/d(param).
    pub grads: Vec<Vec<f64>>,
    /// `[N]`: the mean over the batch of `‖dL/dh_t‖` (each sequence's own loss), `t = 1..N`: how much
    /// gradient reaches each step's state (the embedding `e_t` for attention).
    pub step_norms: Vec<f64>,
}

/// One of the three networks with its parameters.
#[derive(Debug, Clone)]
pub struct Model {
    pub cell: Cell,
    pub symbols: usize,
    pub hidden: usize,
    /// The longest sequence (attention's position table has this many rows).
    pub length: usize,
    pub params: Vec<Param>,
}

// Parameter order. RNN and LSTM: w_in [V][G], w_rec [G][H], b [G], w_out [K][H], b_out [K] with
// G = H (RNN) or 4H (LSTM: gates i, f, g, o in that order). Attention: embed [V][D], pos [N][D],
// w_q, w_k, w_v [D][D], w_out [K][D], b_out [K].
const W_IN: usize = 0;
const W_REC: usize = 1;
const B: usize = 2;
const W_OUT: usize = 3;
const B_OUT: usize = 4;
/// The LSTM's initial forget-gate bias.
pub const FORGET_BIAS: f64 = 2.0;
const EMBED: usize = 0;
const POS: usize = 1;
const W_Q: usize = 2;
const W_K: usize = 3;
const W_V: usize = 4;
const A_W_OUT: usize = 5;
const A_B_OUT: usize = 6;

impl Model {
    /// Fresh weights. `weight_scale` multiplies an orthogonal recurrent matrix (every singular value
    /// equals it; per gate block for the LSTM); attention has no recurrent matrix and ignores it.
    pub fn new(cell: Cell, symbols: usize, hidden: usize, length: usize, weight_scale: f64, rng: &mut Rng) -> Model {
        let (k, h) = (symbols, hidden);
        let v = 2 * k;
        let input_std = 1.0 / (k as f64).sqrt();
        let out_std = 1.0 / (h as f64).sqrt();
        let params = match cell {
            Cell::Rnn => vec![
                Param::normal("w_in", &[v, h], input_std, rng),
                orthogonal_blocks("w_rec", 1, h, weight_scale, rng),
                Param::zeros("b", &[h]),
                Param::normal("w_out", &[k, h], out_std, rng),
                Param::zeros("b_out", &[k]),
            ],
            Cell::Lstm => {
                let mut b = Param::zeros("b", &[4 * h]);
                // The cell starts out keeping most of what it holds: σ(2) ≈ 0.88 a step (with the
                // common bias of 1, σ(1)^19 ≈ 0.003 of step 1 would be left after 20 steps).
                b.data[h..2 * h].fill(FORGET_BIAS);
                vec![
                    Param::normal("w_in", &[v, 4 * h], input_std, rng),
                    orthogonal_blocks("w_rec", 4, h, weight_scale, rng),
                    b,
                    Param::normal("w_out", &[k, h], out_std, rng),
                    Param::zeros("b_out", &[k]),
                ]
            }
            Cell::Attention => vec![
                Param::normal("embed", &[v, h], 1.0, rng),
                Param::normal("pos", &[length, h], 1.0, rng),
                Param::normal("w_q", &[h, h], out_std, rng),
                Param::normal("w_k", &[h, h], out_std, rng),
                Param::normal("w_v", &[h, h], out_std, rng),
                Param::normal("w_out", &[k, h], out_std, rng),
                Param::zeros("b_out", &[k]),
            ],
        };
        Model { cell, symbols, hidden, length, params }
    }

    /// Number of numbers the model learns.
    pub fn n_parameters(&self) -> usize {
        self.params.iter().map(|p| p.data.len()).sum()
    }

    /// The largest singular value of the recurrent matrix (`None` for attention).
    pub fn recurrent_singular_value(&self) -> Option<f64> {
        match self.cell {
            Cell::Attention => None,
            _ => {
                let w = &self.params[W_REC];
                Some(largest_singular_value(&w.data, w.shape[0], w.shape[1]))
            }
        }
    }

    /// Mean loss, correct answers, gradients and the gradient reaching each step, over `batch`.
    /// Sequences must be `1..=length` long with symbols below `symbols` (the trainer makes them so).
    pub fn gradients(&self, batch: &Batch) -> Gradients {
        let mut grads: Vec<Vec<f64>> = self.params.iter().map(|p| vec![0.0; p.data.len()]).collect();
        let n = batch.inputs.iter().map(Vec::len).max().unwrap_or(0);
        let mut step_norms = vec![0.0; n];
        let (mut loss, mut correct) = (0.0, 0);
        for (xs, &target) in batch.inputs.iter().zip(&batch.targets) {
            let one = match self.cell {
                Cell::Rnn => self.rnn_sequence(xs, target, &mut grads),
                Cell::Lstm => self.lstm_sequence(xs, target, &mut grads),
                Cell::Attention => self.attention_sequence(xs, target, &mut grads),
            };
            loss += one.loss;
            correct += one.correct as usize;
            for (sum, v) in step_norms.iter_mut().zip(one.step_norms) {
                *sum += v;
            }
        }
        let scale = 1.0 / batch.inputs.len().max(1) as f64;
        for g in grads.iter_mut().flatten() {
            *g *= scale;
        }
        for v in &mut step_norms {
            *v *= scale;
        }
        Gradients { loss: loss * scale, correct, grads, step_norms }
    }

    /// Mean loss only (for finite differences).
    pub fn loss(&self, batch: &Batch) -> f64 {
        self.gradients(batch).loss
    }

    // -- RNN ---------------------------------------------------------------------------------------

    fn rnn_sequence(&self, xs: &[usize], target: usize, grads: &mut [Vec<f64>]) -> Sequence {
        let h = self.hidden;
        let [w_in, w_rec, b, w_out, b_out] = [W_IN, W_REC, B, W_OUT, B_OUT].map(|i| &self.params[i].data);
        // states[t] = h_t, t = 0..=N (h_0 = 0)
        let mut states = vec![vec![0.0; h]];
        for &x in xs {
            let prev = states.last().map_or(&[][..], Vec::as_slice);
            let mut a = matvec(w_rec, h, h, prev);
            for j in 0..h {
                a[j] = crate::math::tanh(a[j] + w_in[x * h + j] + b[j]);
            }
            states.push(a);
        }
        let (loss, correct, dlogits) = readout(w_out, b_out, self.symbols, h, &states[xs.len()], target);
        let mut dh = output_backward(&dlogits, &states[xs.len()], h, grads, W_OUT, B_OUT, w_out);
        let mut step_norms = vec![0.0; xs.len()];
        for t in (1..=xs.len()).rev() {
            step_norms[t - 1] = norm(&dh);
            // through tanh: da = dh ⊙ (1 - h_t²)
            let da: Vec<f64> = dh.iter().zip(&states[t]).map(|(g, s)| g * (1.0 - s * s)).collect();
            let x = xs[t - 1];
            for j in 0..h {
                grads[W_IN][x * h + j] += da[j];
                grads[B][j] += da[j];
            }
            outer_add(&mut grads[W_REC], &da, &states[t - 1]);
            dh = matvec_t(w_rec, h, h, &da);
        }
        Sequence { loss, correct, step_norms }
    }

    // -- LSTM --------------------------------------------------------------------------------------

    fn lstm_sequence(&self, xs: &[usize], target: usize, grads: &mut [Vec<f64>]) -> Sequence {
        let h = self.hidden;
        let g4 = 4 * h;
        let [w_in, w_rec, b, w_out, b_out] = [W_IN, W_REC, B, W_OUT, B_OUT].map(|i| &self.params[i].data);
        // Per step: gates [4H] after their nonlinearity (i, f, g, o), cell c_t [H], h_t [H].
        let mut gates: Vec<Vec<f64>> = Vec::with_capacity(xs.len());
        let mut cells = vec![vec![0.0; h]];
        let mut states = vec![vec![0.0; h]];
        for &x in xs {
            let mut z = matvec(w_rec, g4, h, &states[states.len() - 1]);
            for (j, zj) in z.iter_mut().enumerate() {
                *zj += w_in[x * g4 + j] + b[j];
            }
            for j in 0..h {
                z[j] = sigmoid(z[j]);
                z[h + j] = sigmoid(z[h + j]);
                z[2 * h + j] = crate::math::tanh(z[2 * h + j]);
                z[3 * h + j] = sigmoid(z[3 * h + j]);
            }
            let prev_c = &cells[cells.len() - 1];
            let c: Vec<f64> = (0..h).map(|j| z[h + j] * prev_c[j] + z[j] * z[2 * h + j]).collect();
            let s: Vec<f64> = (0..h).map(|j| z[3 * h + j] * crate::math::tanh(c[j])).collect();
            gates.push(z);
            cells.push(c);
            states.push(s);
        }
        let n = xs.len();
        let (loss, correct, dlogits) = readout(w_out, b_out, self.symbols, h, &states[n], target);
        let mut dh = output_backward(&dlogits, &states[n], h, grads, W_OUT, B_OUT, w_out);
        let mut dc = vec![0.0; h];
        let mut step_norms = vec![0.0; n];
        for t in (1..=n).rev() {
            step_norms[t - 1] = norm(&dh);
            let z = &gates[t - 1];
            let (c, prev_c) = (&cells[t], &cells[t - 1]);
            let mut dz = vec![0.0; g4];
            for j in 0..h {
                let (i, f, g, o) = (z[j], z[h + j], z[2 * h + j], z[3 * h + j]);
                let tc = crate::math::tanh(c[j]);
                dc[j] += dh[j] * o * (1.0 - tc * tc);
                dz[j] = dc[j] * g * i * (1.0 - i);
                dz[h + j] = dc[j] * prev_c[j] * f * (1.0 - f);
                dz[2 * h + j] = dc[j] * i * (1.0 - g * g);
                dz[3 * h + j] = dh[j] * tc * o * (1.0 - o);
                // Back along the cell: only the forget gate multiplies.
                dc[j] *= f;
            }
            let x = xs[t - 1];
            for j in 0..g4 {
                grads[W_IN][x * g4 + j] += dz[j];
                grads[B][j] += dz[j];
            }
            outer_add(&mut grads[W_REC], &dz, &states[t - 1]);
            dh = matvec_t(w_rec, g4, h, &dz);
        }
        Sequence { loss, correct, step_norms }
    }

    // -- attention ---------------------------------------------------------------------------------

    fn attention_sequence(&self, xs: &[usize], target: usize, grads: &mut [Vec<f64>]) -> Sequence {
        let d = self.hidden;
        let n = xs.len();
        let p = |i: usize| &self.params[i].data;
        let (embed, pos, w_q, w_k, w_v) = (p(EMBED), p(POS), p(W_Q), p(W_K), p(W_V));
        // e_t = embed[x_t] + pos[t]   [N][D]
        let e: Vec<Vec<f64>> = xs.iter().enumerate().map(|(t, &x)| (0..d).map(|j| embed[x * d + j] + pos[t * d + j]).collect()).collect();
        let q = matvec(w_q, d, d, &e[n - 1]);
        let keys: Vec<Vec<f64>> = e.iter().map(|et| matvec(w_k, d, d, et)).collect();
        let values: Vec<Vec<f64>> = e.iter().map(|et| matvec(w_v, d, d, et)).collect();
        let scale = 1.0 / (d as f64).sqrt();
        let scores: Vec<f64> = keys.iter().map(|k| dot(&q, k) * scale).collect();
        let probs = softmax(&scores);
        let mut ctx = vec![0.0; d];
        for (a, v) in probs.iter().zip(&values) {
            for j in 0..d {
                ctx[j] += a * v[j];
            }
        }
        let (loss, correct, dlogits) = readout(p(A_W_OUT), p(A_B_OUT), self.symbols, d, &ctx, target);
        let dctx = output_backward(&dlogits, &ctx, d, grads, A_W_OUT, A_B_OUT, p(A_W_OUT));
        // Through the weighted sum and the softmax.
        let dprobs: Vec<f64> = values.iter().map(|v| dot(&dctx, v)).collect();
        let mean: f64 = probs.iter().zip(&dprobs).map(|(a, g)| a * g).sum();
        let dscores: Vec<f64> = probs.iter().zip(&dprobs).map(|(a, g)| a * (g - mean)).collect();
        let mut dq = vec![0.0; d];
        let mut de = vec![vec![0.0; d]; n];
        for t in 0..n {
            let dv: Vec<f64> = dctx.iter().map(|g| g * probs[t]).collect();
            let dk: Vec<f64> = q.iter().map(|qj| qj * dscores[t] * scale).collect();
            for j in 0..d {
                dq[j] += keys[t][j] * dscores[t] * scale;
            }
            outer_add(&mut grads[W_V], &dv, &e[t]);
            outer_add(&mut grads[W_K], &dk, &e[t]);
            let from_v = matvec_t(w_v, d, d, &dv);
            let from_k = matvec_t(w_k, d, d, &dk);
            for j in 0..d {
                de[t][j] = from_v[j] + from_k[j];
            }
        }
        outer_add(&mut grads[W_Q], &dq, &e[n - 1]);
        let from_q = matvec_t(w_q, d, d, &dq);
        for j in 0..d {
            de[n - 1][j] += from_q[j];
        }
        let mut step_norms = vec![0.0; n];
        for (t, &x) in xs.iter().enumerate() {
            step_norms[t] = norm(&de[t]);
            for j in 0..d {
                grads[EMBED][x * d + j] += de[t][j];
                grads[POS][t * d + j] += de[t][j];
            }
        }
        Sequence { loss, correct, step_norms }
    }
}

/// One sequence's share of [`Gradients`] (its gradients go straight into the accumulators).
struct Sequence {
    loss: f64,
    correct: bool,
    step_norms: Vec<f64>,
}

/// `logits = w_out · state + b_out` [K]; returns (cross-entropy, argmax == target, dL/dlogits).
fn readout(w_out: &[f64], b_out: &[f64], k: usize, width: usize, state: &[f64], target: usize) -> (f64, bool, Vec<f64>) {
    let mut logits = matvec(w_out, k, width, state);
    for (l, b) in logits.iter_mut().zip(b_out) {
        *l += b;
    }
    let probs = softmax(&logits);
    let best = (0..k).fold(0, |best, i| if logits[i] > logits[best] { i } else { best });
    let loss = -crate::math::ln(probs[target].max(f64::MIN_POSITIVE));
    let mut d = probs;
    d[target] -= 1.0;
    (loss, best == target, d)
}

/// Gradients of the read-out layer; returns dL/dstate.
fn output_backward(dlogits: &[f64], state: &[f64], width: usize, grads: &mut [Vec<f64>], w: usize, b: usize, w_out: &[f64]) -> Vec<f64> {
    outer_add(&mut grads[w], dlogits, state);
    for (g, d) in grads[b].iter_mut().zip(dlogits) {
        *g += d;
    }
    matvec_t(w_out, dlogits.len(), width, dlogits)
}

/// `W x` for `W: [rows][cols]`.
fn matvec(w: &[f64], rows: usize, cols: usize, x: &[f64]) -> Vec<f64> {
    (0..rows).map(|r| dot(&w[r * cols..(r + 1) * cols], x)).collect()
}

/// `Wᵀ y` for `W: [rows][cols]`.
fn matvec_t(w: &[f64], rows: usize, cols: usize, y: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; cols];
    for r in 0..rows {
        let row = &w[r * cols..(r + 1) * cols];
        for (o, wv) in out.iter_mut().zip(row) {
            *o += wv * y[r];
        }
    }
    out
}

/// `g += a bᵀ` for `g: [a.len()][b.len()]`.
fn outer_add(g: &mut [f64], a: &[f64], b: &[f64]) {
    let cols = b.len();
    for (r, &av) in a.iter().enumerate() {
        if av == 0.0 {
            continue;
        }
        for (gv, bv) in g[r * cols..(r + 1) * cols].iter_mut().zip(b) {
            *gv += av * bv;
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(v: &[f64]) -> f64 {
    dot(v, v).sqrt()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + crate::math::exp(-x))
}

fn softmax(x: &[f64]) -> Vec<f64> {
    let max = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| crate::math::exp(v - max)).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// `blocks` stacked `[H][H]` orthogonal matrices times `scale`: `[blocks·H][H]`.
fn orthogonal_blocks(name: &'static str, blocks: usize, h: usize, scale: f64, rng: &mut Rng) -> Param {
    let mut p = Param::zeros(name, &[blocks * h, h]);
    for block in 0..blocks {
        // Gram-Schmidt on the rows of a Gaussian matrix.
        let mut rows: Vec<Vec<f64>> = Vec::with_capacity(h);
        while rows.len() < h {
            let mut v: Vec<f64> = (0..h).map(|_| rng.normal() as f64).collect();
            for _ in 0..2 {
                for r in &rows {
                    let d = dot(&v, r);
                    for (x, y) in v.iter_mut().zip(r) {
                        *x -= d * y;
                    }
                }
            }
            let n = norm(&v);
            if n > 1e-6 {
                rows.push(v.into_iter().map(|x| x / n).collect());
            }
        }
        for (i, r) in rows.iter().enumerate() {
            for (j, x) in r.iter().enumerate() {
                p.data[(block * h + i) * h + j] = x * scale;
            }
        }
    }
    p
}

/// The largest singular value of `W: [rows][cols]` by power iteration on `WᵀW`.
pub fn largest_singular_value(w: &[f64], rows: usize, cols: usize) -> f64 {
    let mut v = vec![1.0 / (cols as f64).sqrt(); cols];
    let mut sigma = 0.0;
    for _ in 0..200 {
        let u = matvec(w, rows, cols, &v);
        let next = matvec_t(w, rows, cols, &u);
        let n = norm(&next);
        if n == 0.0 {
            return 0.0;
        }
        let s = n.sqrt();
        v = next.into_iter().map(|x| x / n).collect();
        if (s - sigma).abs() <= 1e-12 * s {
            return s;
        }
        sigma = s;
    }
    sigma
}

// ---------------------------------------------------------------------------------------------
// Training

/// How parameters follow their gradients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// Plain gradient descent: the step is the gradient times the learning rate, so an exploding
    /// gradient is an exploding step.
    Sgd,
    /// Adam (β1 0.9, β2 0.999, ε 1e-8): each number's step is divided by its running gradient size
    /// (root mean square), so its size stays of the order of the learning rate however large the
    /// gradient grows (Kingma and Ba, 2015).
    Adam,
}

impl Optimizer {
    pub fn parse(name: &str) -> Result<Optimizer> {
        match name {
            "sgd" => Ok(Optimizer::Sgd),
            "adam" => Ok(Optimizer::Adam),
            other => Err(Error::input(format!("\"{other}\" is not an optimizer"), "Use \"adam\" or \"sgd\"")),
        }
    }
}

/// Everything that decides a training run (the same options give the same numbers).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub cell: Cell,
    /// Sequence length N.
    pub length: usize,
    /// Answer symbols K (chance accuracy is 1/K; as many distractor symbols again).
    pub symbols: usize,
    /// Hidden width H (attention: D).
    pub hidden: usize,
    /// Singular values of each recurrent block at the start: the RNN's matrix, each of the LSTM's
    /// four gate blocks (so the stacked LSTM matrix's are twice this).
    pub weight_scale: f64,
    /// Rescale the whole gradient to this norm when it is longer (`None`: never).
    pub clip: Option<f64>,
    pub optimizer: Optimizer,
    pub learning_rate: f64,
    pub batch: usize,
    /// Fixed sequences on which accuracy and the per-step gradient are measured.
    pub eval_size: usize,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            cell: Cell::Lstm,
            length: 10,
            symbols: 4,
            hidden: 16,
            weight_scale: 1.0,
            clip: None,
            optimizer: Optimizer::Adam,
            learning_rate: 0.01,
            batch: 32,
            eval_size: 256,
            seed: 1,
        }
    }
}

impl TrainOptions {
    /// The work of one sequence through the network, forward and back, in multiply-adds give or take
    /// a constant: `N · H · (H + N)` (the recurrence, and attention's `N²` scores) times 4 (an LSTM's gates).
    pub fn work_per_sequence(&self) -> u64 {
        let (n, h) = (self.length as u64, self.hidden as u64);
        4 * n * h * (h + n)
    }

    /// Refuse what would not make sense or would take unbounded work, naming the option in words, which
    /// read the same beside the JS API's option (weightScale) and a widget's attribute (weight-scale).
    pub fn check(&self) -> Result<()> {
        self.check_named(|words, _| words.to_string())
    }

    /// [`TrainOptions::check`] with each option named by `name(words, flag)`: the CLI adds its flag.
    pub fn check_named(&self, name: impl Fn(&str, &str) -> String) -> Result<()> {
        let range = |words: &str, flag: &str, v: usize, lo: usize, hi: usize| {
            if v < lo || v > hi {
                return Err(Error::input(format!("the {} {v} is outside {lo} to {hi}", name(words, flag)), format!("Choose a value from {lo} to {hi}")));
            }
            Ok(())
        };
        range("length", "length", self.length, 1, MAX_LENGTH)?;
        range("number of symbols", "symbols", self.symbols, 2, MAX_SYMBOLS)?;
        range("hidden size", "hidden", self.hidden, 1, MAX_HIDDEN)?;
        range("batch size", "batch", self.batch, 1, MAX_BATCH)?;
        range("evaluation size", "eval-size", self.eval_size, 1, MAX_EVAL)?;
        let positive = |words: &str, flag: &str, v: f64, hi: f64| {
            if !v.is_finite() || v <= 0.0 || v > hi {
                return Err(Error::input(format!("the {} {v} is not a number above 0 and at most {hi}", name(words, flag)), "Choose a value such as 1"));
            }
            Ok(())
        };
        let unit = self.work_per_sequence();
        for (what, words, flag, n, max) in [("one training step", "batch size", "batch", self.batch, MAX_STEP_WORK), ("one evaluation", "evaluation size", "eval-size", self.eval_size, MAX_EVAL_WORK)] {
            if n as u64 * unit > max {
                let name = name(words, flag);
                return Err(Error::input(
                    format!("{what} would take too long: the {name} {n} sequences of length {} through a hidden state of {} is {} units of work, more than {max}", self.length, self.hidden, n as u64 * unit),
                    format!("Lower the {name}, the length or the hidden size (at this length and size, at most {} sequences)", (max / unit).max(1)),
                ));
            }
        }
        positive("weight scale", "weight-scale", self.weight_scale, 100.0)?;
        positive("learning rate", "learning-rate", self.learning_rate, 10.0)?;
        if let Some(c) = self.clip {
            positive("clip", "clip", c, 1e6)?;
        }
        Ok(())
    }
}

/// One optimiser step.
#[derive(Debug, Clone, Copy)]
pub struct StepReport {
    /// 1 for the first step.
    pub step: usize,
    /// Mean loss of this step's batch (before the update).
    pub loss: f64,
    /// Share of this batch answered correctly.
    pub accuracy: f64,
    /// Norm of the whole gradient, before clipping.
    pub grad_norm: f64,
    pub clipped: bool,
    /// The gradient was not finite: the step was skipped.
    pub skipped: bool,
}

/// A measurement on the fixed evaluation sequences, at the current weights.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    /// `[N]`: mean `‖dL/dh_t‖` for `t = 1..N`.
    pub step_norms: Vec<f64>,
}

/// A model, its optimiser and its data stream, advanced a step at a time.
pub struct Trainer {
    pub options: TrainOptions,
    pub model: Model,
    /// Adam's moments, one per parameter tensor.
    moments: Vec<(Vec<f64>, Vec<f64>)>,
    rng: Rng,
    eval: Batch,
    steps: usize,
}

impl Trainer {
    pub fn new(options: TrainOptions) -> Result<Trainer> {
        options.check()?;
        // Separate streams for the weights, the evaluation set and the training batches.
        let mut init = Rng::new(options.seed);
        let model = Model::new(options.cell, options.symbols, options.hidden, options.length, options.weight_scale, &mut init);
        let eval = Batch::sample(&mut Rng::new(options.seed ^ 0x5EED_E7A1), options.symbols, options.length, options.eval_size);
        let moments = model.params.iter().map(|p| (vec![0.0; p.data.len()], vec![0.0; p.data.len()])).collect();
        let rng = Rng::new(options.seed.wrapping_mul(0x9E37_79B9).wrapping_add(17));
        Ok(Trainer { options, model, moments, rng, eval, steps: 0 })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// One step on a fresh batch.
    pub fn step(&mut self) -> StepReport {
        let o = &self.options;
        let batch = Batch::sample(&mut self.rng, o.symbols, o.length, o.batch);
        let Gradients { loss, correct, mut grads, .. } = self.model.gradients(&batch);
        self.steps += 1;
        let grad_norm = grads.iter().flatten().map(|g| g * g).sum::<f64>().sqrt();
        let mut report = StepReport { step: self.steps, loss, accuracy: correct as f64 / o.batch as f64, grad_norm, clipped: false, skipped: false };
        if !grad_norm.is_finite() || !loss.is_finite() {
            report.skipped = true;
            return report;
        }
        if let Some(clip) = o.clip {
            if grad_norm > clip {
                let s = clip / grad_norm;
                grads.iter_mut().flatten().for_each(|g| *g *= s);
                report.clipped = true;
            }
        }
        let lr = o.learning_rate;
        match o.optimizer {
            Optimizer::Sgd => {
                for (p, g) in self.model.params.iter_mut().zip(&grads) {
                    for (w, gv) in p.data.iter_mut().zip(g) {
                        *w -= lr * gv;
                    }
                }
            }
            Optimizer::Adam => {
                let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
                let t = self.steps as i32;
                let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
                for ((p, g), (m, v)) in self.model.params.iter_mut().zip(&grads).zip(&mut self.moments) {
                    for i in 0..g.len() {
                        m[i] = b1 * m[i] + (1.0 - b1) * g[i];
                        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                        p.data[i] -= lr * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
                    }
                }
            }
        }
        report
    }

    /// `n` steps.
    pub fn train(&mut self, n: usize) -> Vec<StepReport> {
        (0..n).map(|_| self.step()).collect()
    }

    /// Loss, accuracy and the gradient reaching each step, on the evaluation sequences.
    pub fn evaluate(&self) -> Evaluation {
        let g = self.model.gradients(&self.eval);
        Evaluation { loss: g.loss, accuracy: g.correct as f64 / self.eval.inputs.len() as f64, step_norms: g.step_norms }
    }
}
