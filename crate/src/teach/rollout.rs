//! Where information flows through the layers: attention rollout and attention flow
//! (Abnar and Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020).
//!
//! One layer's attention maps say which positions a token read *in that layer*; after a few
//! layers each position already mixes many tokens, so the last layer's map says little about the
//! input words. Both methods follow the mixing down to the input:
//!
//! 1. Each layer becomes one matrix: its heads averaged, then the residual connection counted as
//!    the paper does, `0.5·A + 0.5·I` (half of what a position carries on is itself), each row
//!    divided by its sum (rows of an ablated head or a hidden key sum to less than 1).
//! 2. **Rollout** multiplies the layers' matrices, `R = Ã_L · … · Ã_1`: row `i` of `R` is the
//!    share of each input token in output position `i` if the shares mixed linearly. Rows sum to 1.
//! 3. **Flow** treats the layers as a graph: a node per (level, position), level 0 the input
//!    tokens and level `L` the outputs; an edge from position `i` of level `l + 1` to position `j`
//!    of level `l` whose capacity is `Ã_{l+1}[i][j]`. The flow from output `o` to input `j` is the
//!    maximum flow from node (L, o) to node (0, j): it is limited by the narrowest path instead of
//!    multiplied along it, so it spreads more evenly than rollout. Each value is at most 1 (the
//!    capacities leaving a node sum to 1); the values of one output are computed separately and do
//!    not sum to 1 (the paper normalises them for display; [`flow`] leaves them raw).
//!
//! Both need the keys to be the queries (self-attention: an encoder's, or a decoder's with its
//! causal mask, which keeps every path, hence every flow, on earlier tokens). Cross-attention links
//! two different sequences and is refused.
//!
//! Cost: rollout is `L·T³` multiply-adds. Flow runs a maximum flow (Dinic's algorithm) per input
//! token over a graph of `L·T²` edges, and dense maps need many augmenting paths: for one output
//! token of 12 layers on random dense maps, about 20 ms at 32 tokens, 140 ms at 64 and 1.7 s at 128
//! natively (`cargo run --release --example views_cost`, a loaded 2-core machine; wasm is slower).
//! [`flow`] refuses graphs above [`MAX_FLOW_WORK`] (`T · L·T²`, 12 layers at 128 tokens).

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
    let t = shape[2];
    let layers = residual_layers(maps, shape)?;
    // [T][T], starting from the identity (no layer: each position is its own token).
    let mut joint: Vec<f64> = (0..t * t).map(|k| if k / t.max(1) == k % t.max(1) { 1.0 } else { 0.0 }).collect();
    for layer in layers.chunks_exact((t * t).max(1)).take(shape[0]) {
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
    Ok(joint.into_iter().map(|x| x as f32).collect())
}

/// Attention flow `[T]` from output position `output` to every input token (raw maximum-flow
/// values, each in [0, 1]).
pub fn flow(maps: &[f32], shape: [usize; 4], output: usize) -> Result<Vec<f32>> {
    let [n_layers, _, t, _] = shape;
    let layers = residual_layers(maps, shape)?;
    if output >= t {
        return Err(Error::input(format!("output token {output} is past the last of {t} tokens"), format!("Pick an output token from 0 to {}", t.saturating_sub(1))));
    }
    let work = t.saturating_mul(n_layers).saturating_mul(t).saturating_mul(t);
    if work > MAX_FLOW_WORK {
        return Err(Error::input(
            format!("attention flow over {n_layers} layers of {t} tokens is too large to compute here (tokens x layers x tokens² = {work}, the limit MAX_FLOW_WORK is {MAX_FLOW_WORK})"),
            "Use a shorter text, or attention rollout, which is cheap at any size",
        ));
    }
    if n_layers == 0 {
        // No layer: each output is its own input.
        return Ok((0..t).map(|j| if j == output { 1.0 } else { 0.0 }).collect());
    }
    let mut graph = Graph::new((n_layers + 1) * t);
    let node = |level: usize, pos: usize| level * t + pos;
    for (l, layer) in layers.chunks_exact(t * t).enumerate() {
        for i in 0..t {
            for j in 0..t {
                let c = layer[i * t + j] as f64;
                if c > EPS {
                    graph.add_edge(node(l + 1, i), node(l, j), c);
                }
            }
        }
    }
    Ok((0..t).map(|j| graph.max_flow(node(n_layers, output), node(0, j)) as f32).collect())
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
