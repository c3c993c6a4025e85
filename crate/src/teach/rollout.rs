//! Where information flows through the layers: attention rollout and attention flow
//! (Abnar and Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020).
//!
//! One layer's attention maps say which positions a token read *in that layer*; after a few
//! layers each position already mixes many tokens, so the last layer's map says little about the
//! input words. Both methods follow the mixing down to the input:
//!
//! 1. Each layer becomes one matrix: its heads averaged, then the residual connection counted as
//!    the paper does, `0.5·A + 0.5·I` (half of what a position carries on is itself), each row
//!    divided by its sum (a head-mean row falls short of 1 when a head is ablated; a hidden key only
//!    moves weight to the visible ones).
//! 2. **Rollout** multiplies the layers' matrices, `R = Ã_L · … · Ã_1`: row `i` of `R` is the
//!    share of each input token in output position `i` if the shares mixed linearly. Rows sum to 1.
//! 3. **Flow** treats the layers as a graph: a node per (level, position), level 0 the input
//!    tokens and level `L` the outputs; an edge from position `i` of level `l + 1` to position `j`
//!    of level `l` whose capacity is `Ã_{l+1}[i][j]`. The flow from output `o` to input `j` is the
//!    maximum flow from node (L, o) to node (0, j): a path carries at most its narrowest edge
//!    (rollout multiplies its edges instead), and the paths together at most the narrowest cut, so
//!    it spreads more evenly than rollout. Each value is at most 1 (the
//!    capacities leaving a node sum to 1); the values of one output are computed separately and do
//!    not sum to 1 (the paper normalises them for display; [`flow`] leaves them raw).
//!
//! Both need the keys to be the queries (self-attention: an encoder's, or a decoder's with its
//! causal mask, which keeps every path, hence every flow, on earlier tokens); [`rollout`] and
//! [`flow`] refuse cross-attention maps alone. An encoder-decoder's output token is followed back
//! to the encoder's input tokens by [`cross_rollout`] and [`cross_flow`]: each decoder layer's
//! self-attention, then its cross-attention into the encoder's own rollout, the residual counted
//! the same way for both sublayers.
//!
//! Cost: rollout is `L·T³` multiply-adds. Flow runs a maximum flow (Dinic's algorithm) per input
//! token over a graph of `L·T²` edges, and dense maps need many augmenting paths: for one output
//! token of 12 layers on random dense maps, about 20 ms at 32 tokens, 140 ms at 64 and 1.7 s at 128
//! natively (`cargo run --release --example views_cost`, a loaded 2-core machine; wasm is slower).
//! [`flow`] refuses graphs above [`MAX_FLOW_WORK`] (`T · L·T²`, 12 layers at 128 tokens), and
//! [`FlowProblem::flow_part`] splits one output's flow into calls of bounded work, so the page's
//! worker answers other requests in between.

use crate::error::{Error, Result};
use crate::teach::patterns::check_shape;
use std::collections::VecDeque;

/// The largest `T · (L·T²)` [`flow`] accepts: 12 layers x 128 tokens.
pub const MAX_FLOW_WORK: usize = 128 * 12 * 128 * 128;

/// Capacities below this are no edge (a masked key, an ablated head).
const EPS: f64 = 1e-9;

/// Each layer's heads averaged with the residual counted: `[L][T][T]`, rows summing to 1.
pub fn residual_layers(maps: &[f32], shape: [usize; 4]) -> Result<Vec<f32>> {
    let [n_layers, n_heads, q_len, k_len] = shape;
    check_shape(maps.len(), shape)?;
    if q_len != k_len {
        return Err(Error::input(
            format!("rollout and flow follow self-attention, whose maps are square; these are {q_len} x {k_len} (cross-attention?)"),
            "Use the encoder's or the decoder's self-attention",
        ));
    }
    if n_heads == 0 {
        return Err(Error::input("the attention maps have no heads", "Pass maps of shape [layers, heads, tokens, tokens] with at least one head"));
    }
    let t = q_len;
    let mut out = vec![0.0f32; n_layers * t * t];
    for (layer, mixed) in out.chunks_exact_mut((t * t).max(1)).enumerate().take(n_layers) {
        let heads = &maps[layer * n_heads * t * t..(layer + 1) * n_heads * t * t];
        for i in 0..t {
            // [T] row i: 0.5 · mean of heads + 0.5 · identity, renormalised.
            let mut row = vec![0.0f64; t];
            for h in 0..n_heads {
                for (j, r) in row.iter_mut().enumerate() {
                    *r += heads[(h * t + i) * t + j] as f64;
                }
            }
            for r in &mut row {
                *r *= 0.5 / n_heads as f64;
            }
            row[i] += 0.5;
            let sum: f64 = row.iter().sum();
            for (j, r) in row.iter().enumerate() {
                mixed[i * t + j] = (r / sum) as f32;
            }
        }
    }
    Ok(out)
}

/// Attention rollout `[T][T]`: `Ã_L · … · Ã_1`, row `i` the input tokens' shares in output `i`.
pub fn rollout(maps: &[f32], shape: [usize; 4]) -> Result<Vec<f32>> {
    let layers = residual_layers(maps, shape)?;
    Ok(joint(&layers, shape[2], shape[0]).into_iter().map(|x| x as f32).collect())
}

/// Attention flow `[T]` from output position `output` to every input token (raw maximum-flow
/// values, each in [0, 1]).
pub fn flow(maps: &[f32], shape: [usize; 4], output: usize) -> Result<Vec<f32>> {
    let mut problem = FlowProblem::self_attention(maps, shape, output)?;
    Ok((0..problem.n_sinks()).map(|k| problem.flow_to(k)).collect())
}

/// One output token's attention flow as a graph, ready to answer one input token at a time, so a
/// caller can spread the maximum flows over several calls ([`FlowProblem::flow_part`]) and never
/// hold a thread for the whole of a large one.
pub struct FlowProblem {
    graph: Graph,
    source: usize,
    /// The input nodes, in the order of the values returned (self-attention: the tokens; through
    /// cross-attention: the encoder's input tokens, then the decoder's).
    sinks: Vec<usize>,
    /// Edges of the graph as the shapes count them (dense): what one maximum flow costs, roughly.
    work_per_sink: usize,
}

impl FlowProblem {
    /// The graph of one stack's self-attention (see the module's notes), from output `output`.
    pub fn self_attention(maps: &[f32], shape: [usize; 4], output: usize) -> Result<Self> {
        let [n_layers, _, t, _] = shape;
        let layers = residual_layers(maps, shape)?;
        check_output(output, t)?;
        let work_per_sink = n_layers.saturating_mul(t).saturating_mul(t);
        check_work(t, work_per_sink, &format!("{n_layers} layers of {t} tokens"))?;
        let mut graph = Graph::new((n_layers + 1) * t);
        let node = |level: usize, pos: usize| level * t + pos;
        for (l, layer) in layers.chunks_exact(t * t).enumerate() {
            add_block(&mut graph, layer, t, t, |i| node(l + 1, i), |j| node(l, j));
        }
        Ok(FlowProblem { graph, source: node(n_layers, output), sinks: (0..t).map(|j| node(0, j)).collect(), work_per_sink })
    }

    /// The graph through cross-attention (see [`cross_rollout`]), from decoder output `output`;
    /// sinks: the `S` encoder input tokens, then the `T` decoder input tokens.
    pub fn encoder_decoder(m: &EncoderDecoderMaps, output: usize) -> Result<Self> {
        let p = m.prepare()?;
        let (s, t, le, ld) = (p.s, p.t, p.n_encoder_layers, p.n_decoder_layers);
        check_output(output, t)?;
        let work_per_sink = le.saturating_mul(s).saturating_mul(s)
            .saturating_add(ld.saturating_mul(t.saturating_mul(t).saturating_add(t.saturating_mul(s)).saturating_add(t)));
        check_work(s + t, work_per_sink, &format!("{le} encoder layers of {s} tokens and {ld} decoder layers of {t} tokens"))?;
        // Nodes: encoder levels 0..=Le (S each), then the decoder's input level and, per decoder layer,
        // "after self-attention" and "after cross-attention" (T each).
        let enc = |level: usize, pos: usize| level * s + pos;
        let dec_base = (le + 1) * s;
        let dec_in = |pos: usize| dec_base + pos;
        let after_self = |l: usize, pos: usize| dec_base + (1 + 2 * l) * t + pos;
        let after_cross = |l: usize, pos: usize| dec_base + (2 + 2 * l) * t + pos;
        let mut graph = Graph::new(dec_base + (1 + 2 * ld) * t);
        for (l, layer) in p.encoder.chunks_exact((s * s).max(1)).take(le).enumerate() {
            add_block(&mut graph, layer, s, s, |i| enc(l + 1, i), |j| enc(l, j));
        }
        for l in 0..ld {
            let below = |k: usize| if l == 0 { dec_in(k) } else { after_cross(l - 1, k) };
            add_block(&mut graph, &p.decoder[l * t * t..(l + 1) * t * t], t, t, |i| after_self(l, i), below);
            // Cross-attention: `keep[i]` of the position stays with itself, the rest reads the encoder's last level.
            let (keep, read) = (&p.cross_keep[l * t..(l + 1) * t], &p.cross[l * t * s..(l + 1) * t * s]);
            for i in 0..t {
                if keep[i] as f64 > EPS {
                    graph.add_edge(after_cross(l, i), after_self(l, i), keep[i] as f64);
                }
            }
            add_block(&mut graph, read, t, s, |i| after_cross(l, i), |j| enc(le, j));
        }
        let top = if ld == 0 { dec_in(output) } else { after_cross(ld - 1, output) };
        let sinks = (0..s).map(|j| enc(0, j)).chain((0..t).map(dec_in)).collect();
        Ok(FlowProblem { graph, source: top, sinks, work_per_sink })
    }

    /// How many input tokens (values) the flow has.
    pub fn n_sinks(&self) -> usize {
        self.sinks.len()
    }

    /// The maximum flow from the output to input `k` (of [`FlowProblem::n_sinks`]).
    pub fn flow_to(&mut self, k: usize) -> f32 {
        if self.source == self.sinks[k] {
            // No layer between them: the output is this input.
            return 1.0;
        }
        self.graph.max_flow(self.source, self.sinks[k]) as f32
    }

    /// The flows to inputs `start..` for at most [`FLOW_PART_WORK`] of work (at least one input):
    /// the values and where the next part starts (`None`: done).
    pub fn flow_part(&mut self, start: usize) -> (Vec<f32>, Option<usize>) {
        let per_part = (FLOW_PART_WORK / self.work_per_sink.max(1)).max(1);
        let end = start.saturating_add(per_part).min(self.n_sinks());
        let values = (start.min(end)..end).map(|k| self.flow_to(k)).collect();
        (values, (end < self.n_sinks()).then_some(end))
    }
}

/// The work one call of [`FlowProblem::flow_part`] may do (input tokens x dense edges): about 30 ms
/// natively for 12 layers of 128 tokens (2 input tokens), so a page's worker answers other
/// requests between parts.
pub const FLOW_PART_WORK: usize = 1 << 19;

fn check_output(output: usize, t: usize) -> Result<()> {
    if output >= t {
        return Err(Error::input(format!("output token {output} is past the last of {t} tokens"), format!("Pick an output token from 0 to {}", t.saturating_sub(1))));
    }
    Ok(())
}

fn check_work(n_sinks: usize, work_per_sink: usize, what: &str) -> Result<()> {
    let work = n_sinks.saturating_mul(work_per_sink);
    if work > MAX_FLOW_WORK {
        return Err(Error::input(
            format!("attention flow over {what} is too large to compute here (input tokens x edges = {work}, the limit MAX_FLOW_WORK is {MAX_FLOW_WORK})"),
            "Use a shorter text, or attention rollout, which is cheap at any size",
        ));
    }
    Ok(())
}

/// Edges from `from(i)` to `to(j)` of capacity `block[i][j]` (`[rows][cols]`), the negligible left out.
fn add_block(graph: &mut Graph, block: &[f32], rows: usize, cols: usize, from: impl Fn(usize) -> usize, to: impl Fn(usize) -> usize) {
    for i in 0..rows {
        for j in 0..cols {
            let c = block[i * cols + j] as f64;
            if c > EPS {
                graph.add_edge(from(i), to(j), c);
            }
        }
    }
}

// ---- through cross-attention: an encoder-decoder's output token back to the encoder's input ----

/// The three kinds of maps of one encoder-decoder run, each flat `[L][H][Tq][Tk]` with its shape:
/// encoder self-attention `[Le][H][S][S]`, decoder self-attention `[Ld][H][T][T]` (causal) and
/// cross-attention `[Ld][H][T][S]` (decoder queries, encoder keys).
pub struct EncoderDecoderMaps<'a> {
    pub encoder: &'a [f32],
    pub encoder_shape: [usize; 4],
    pub decoder: &'a [f32],
    pub decoder_shape: [usize; 4],
    pub cross: &'a [f32],
    pub cross_shape: [usize; 4],
}

/// Each sublayer as one matrix, rows summing to 1 (the residual counted as for [`residual_layers`]).
struct Prepared {
    s: usize,
    t: usize,
    n_encoder_layers: usize,
    n_decoder_layers: usize,
    /// `[Le][S][S]`
    encoder: Vec<f32>,
    /// `[Ld][T][T]`
    decoder: Vec<f32>,
    /// `[Ld][T]`: the share of a position that the cross-attention sublayer keeps for itself.
    cross_keep: Vec<f32>,
    /// `[Ld][T][S]`: the shares it reads from the encoder's output positions.
    cross: Vec<f32>,
}

impl EncoderDecoderMaps<'_> {
    fn prepare(&self) -> Result<Prepared> {
        let encoder = residual_layers(self.encoder, self.encoder_shape)
            .map_err(|e| Error::input(format!("encoder self-attention: {e}"), "Pass the run's encoder maps"))?;
        let decoder = residual_layers(self.decoder, self.decoder_shape)
            .map_err(|e| Error::input(format!("decoder self-attention: {e}"), "Pass the run's decoder maps"))?;
        check_shape(self.cross.len(), self.cross_shape)?;
        let [le, _, s, _] = self.encoder_shape;
        let [ld, _, t, _] = self.decoder_shape;
        let [lc, hc, tq, tk] = self.cross_shape;
        if lc != ld || tq != t || tk != s {
            return Err(Error::input(
                format!("the cross-attention maps are {lc} layers of {tq} x {tk}, but the decoder has {ld} layers of {t} tokens and the encoder {s} tokens"),
                "Pass the encoder, decoder and cross maps of the same run",
            ));
        }
        if hc == 0 {
            return Err(Error::input("the cross-attention maps have no heads", "Pass maps of shape [layers, heads, tokens, tokens] with at least one head"));
        }
        // Cross-attention: 0.5 · mean of the heads over the encoder + 0.5 kept, renormalised (an ablated
        // head's rows sum to less than 1, so what it does not read stays with the position).
        let mut cross = vec![0.0f32; ld * t * s];
        let mut cross_keep = vec![0.0f32; ld * t];
        for l in 0..ld {
            for i in 0..t {
                let mut row = vec![0.0f64; s];
                for h in 0..hc {
                    let base = ((l * hc + h) * t + i) * s;
                    for (r, &a) in row.iter_mut().zip(&self.cross[base..base + s]) {
                        *r += a as f64;
                    }
                }
                row.iter_mut().for_each(|r| *r *= 0.5 / hc as f64);
                let sum = 0.5 + row.iter().sum::<f64>();
                cross_keep[l * t + i] = (0.5 / sum) as f32;
                for (j, r) in row.iter().enumerate() {
                    cross[(l * t + i) * s + j] = (r / sum) as f32;
                }
            }
        }
        Ok(Prepared { s, t, n_encoder_layers: le, n_decoder_layers: ld, encoder, decoder, cross_keep, cross })
    }
}

/// Rollout from each decoder output token back to both inputs: `encoder` `[T][S]`, the encoder's
/// input tokens' shares, and `decoder` `[T][T]`, the decoder's input tokens' shares; row `i` of the
/// two together sums to 1.
#[derive(Debug)]
pub struct CrossRollout {
    pub source_len: usize,
    pub target_len: usize,
    pub encoder: Vec<f32>,
    pub decoder: Vec<f32>,
}

/// Attention rollout through an encoder-decoder. The encoder's own rollout `R_enc = Ã_enc_Le · … ·
/// Ã_enc_1` (`[S][S]`) says what each encoder output position is made of. Each decoder position
/// carries shares of both inputs, `D = [D_dec | D_enc]` (`[T][T + S]`), starting from the identity
/// on the decoder's tokens. Each decoder layer applies its two attention sublayers in order:
/// self-attention `D ← Ã_self · D` (as in [`rollout`]), then cross-attention
/// `D ← k·D + C·[0 | R_enc]`, where for row `i`, `C[i] = 0.5·mean_heads(A_cross)[i]` and `k[i] = 0.5`,
/// both divided by their sum: half of the position is kept (the residual), half is read from the
/// encoder's output positions, whose content is `R_enc`.
///
/// With full rows, each cross-attention sublayer halves the decoder side, so after `Ld` layers the
/// decoder's own tokens hold exactly `0.5^Ld` of every row: that split is the method's convention;
/// how each side's share is spread over its tokens is what the maps say.
pub fn cross_rollout(m: &EncoderDecoderMaps) -> Result<CrossRollout> {
    let p = m.prepare()?;
    let (s, t) = (p.s, p.t);
    let r_enc = joint(&p.encoder, s, p.n_encoder_layers);
    // [T][T + S]: decoder inputs first, then encoder inputs.
    let w = t + s;
    let mut d: Vec<f64> = vec![0.0; t * w];
    for i in 0..t {
        d[i * w + i] = 1.0;
    }
    for l in 0..p.n_decoder_layers {
        let a = &p.decoder[l * t * t..(l + 1) * t * t];
        let mut next = vec![0.0f64; t * w];
        for i in 0..t {
            for m in 0..t {
                let x = a[i * t + m] as f64;
                if x != 0.0 {
                    for c in 0..w {
                        next[i * w + c] += x * d[m * w + c];
                    }
                }
            }
        }
        for i in 0..t {
            let keep = p.cross_keep[l * t + i] as f64;
            for c in 0..w {
                next[i * w + c] *= keep;
            }
            for k in 0..s {
                let x = p.cross[(l * t + i) * s + k] as f64;
                if x != 0.0 {
                    for j in 0..s {
                        next[i * w + t + j] += x * r_enc[k * s + j];
                    }
                }
            }
        }
        d = next;
    }
    let mut decoder = vec![0.0f32; t * t];
    let mut encoder = vec![0.0f32; t * s];
    for i in 0..t {
        for c in 0..t {
            decoder[i * t + c] = d[i * w + c] as f32;
        }
        for j in 0..s {
            encoder[i * s + j] = d[i * w + t + j] as f32;
        }
    }
    Ok(CrossRollout { source_len: s, target_len: t, encoder, decoder })
}

/// Attention flow from decoder output `output` through cross-attention: the maximum flow to each of
/// the `S` encoder input tokens, then to each of the `T` decoder input tokens, in the graph of
/// [`cross_rollout`]'s matrices (a node per position after each sublayer; each matrix entry an
/// edge of that capacity, to the encoder's last level for cross-attention).
pub fn cross_flow(m: &EncoderDecoderMaps, output: usize) -> Result<Vec<f32>> {
    let mut problem = FlowProblem::encoder_decoder(m, output)?;
    Ok((0..problem.n_sinks()).map(|k| problem.flow_to(k)).collect())
}

/// The product `Ã_L · … · Ã_1` of `n` matrices `[T][T]` (the identity when `n` is 0).
fn joint(layers: &[f32], t: usize, n: usize) -> Vec<f64> {
    let mut joint: Vec<f64> = (0..t * t).map(|k| if k / t.max(1) == k % t.max(1) { 1.0 } else { 0.0 }).collect();
    for layer in layers.chunks_exact((t * t).max(1)).take(n) {
        let mut next = vec![0.0f64; t * t];
        for i in 0..t {
            for m in 0..t {
                let a = layer[i * t + m] as f64;
                if a == 0.0 {
                    continue;
                }
                for j in 0..t {
                    next[i * t + j] += a * joint[m * t + j];
                }
            }
        }
        joint = next;
    }
    joint
}

/// A directed graph with capacities, for Dinic's maximum flow. Each edge is stored with its
/// reverse (residual) edge at the index next to it (`e ^ 1`).
struct Graph {
    /// Per node, the indices of its edges (forward and reverse).
    adjacent: Vec<Vec<usize>>,
    to: Vec<usize>,
    capacity: Vec<f64>,
    /// Flow of the current run (`capacity - flow` is what remains).
    flow: Vec<f64>,
}

impl Graph {
    fn new(n: usize) -> Self {
        Graph { adjacent: vec![Vec::new(); n], to: Vec::new(), capacity: Vec::new(), flow: Vec::new() }
    }

    fn add_edge(&mut self, from: usize, to: usize, capacity: f64) {
        self.adjacent[from].push(self.to.len());
        self.to.push(to);
        self.capacity.push(capacity);
        self.adjacent[to].push(self.to.len());
        self.to.push(from);
        self.capacity.push(0.0);
        self.flow.resize(self.to.len(), 0.0);
    }

    fn residual(&self, e: usize) -> f64 {
        self.capacity[e] - self.flow[e]
    }

    /// The maximum flow from `source` to `sink` (the previous run's flow is cleared first).
    fn max_flow(&mut self, source: usize, sink: usize) -> f64 {
        self.flow.iter_mut().for_each(|f| *f = 0.0);
        if source == sink {
            return f64::INFINITY;
        }
        let n = self.adjacent.len();
        let mut total = 0.0;
        let mut level = vec![usize::MAX; n];
        let mut next_edge = vec![0usize; n];
        loop {
            // Breadth-first: the distance of each node from the source over edges with room left.
            level.iter_mut().for_each(|l| *l = usize::MAX);
            level[source] = 0;
            let mut queue = VecDeque::from([source]);
            while let Some(u) = queue.pop_front() {
                for &e in &self.adjacent[u] {
                    let v = self.to[e];
                    if level[v] == usize::MAX && self.residual(e) > EPS {
                        level[v] = level[u] + 1;
                        queue.push_back(v);
                    }
                }
            }
            if level[sink] == usize::MAX {
                return total;
            }
            // Depth-first: push blocking flow along shortest paths only.
            next_edge.iter_mut().for_each(|i| *i = 0);
            loop {
                let pushed = self.push(source, sink, f64::INFINITY, &level, &mut next_edge);
                if pushed <= EPS {
                    break;
                }
                total += pushed;
            }
        }
    }

    /// One augmenting path of at most `limit` from `u` to `sink` in the level graph (iterative, so a
    /// deep graph cannot overflow the stack). Returns the amount pushed.
    fn push(&mut self, source: usize, sink: usize, limit: f64, level: &[usize], next_edge: &mut [usize]) -> f64 {
        // The path so far as edge indices.
        let mut path: Vec<usize> = Vec::new();
        let mut u = source;
        loop {
            if u == sink {
                let amount = path.iter().fold(limit, |m, &e| m.min(self.residual(e)));
                for &e in &path {
                    self.flow[e] += amount;
                    self.flow[e ^ 1] -= amount;
                }
                return amount;
            }
            let mut advanced = false;
            while next_edge[u] < self.adjacent[u].len() {
                let e = self.adjacent[u][next_edge[u]];
                let v = self.to[e];
                if self.residual(e) > EPS && level[v] == level[u] + 1 {
                    path.push(e);
                    u = v;
                    advanced = true;
                    break;
                }
                next_edge[u] += 1;
            }
            if !advanced {
                // A dead end: retreat, and never try the edge that led here again in this phase.
                let Some(e) = path.pop() else { return 0.0 };
                u = self.to[e ^ 1];
                next_edge[u] += 1;
            }
        }
    }
}
