//! Teaching computations drawn by the page's views: numbers derived from a model's captured
//! activations, and small models trained here (never new transformer code).
//!
//! - [`patterns`]: a score per layer and head for the attention patterns people look for
//! - [`rollout`]: attention rollout and attention flow through the layers (Abnar and Zuidema, 2020)
//! - [`rnn`]: an RNN, an LSTM and a one-head attention model with hand-written BPTT (vanishing/exploding gradients)
//! - [`logreg`]: logistic regression on frozen features (the transfer demo)

pub mod logreg;
pub mod patterns;
pub mod rnn;
pub mod rollout;
