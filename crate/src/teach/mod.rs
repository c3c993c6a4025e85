//! Teaching models and computations that are not transformers' forward passes.

pub mod logreg;
pub mod rnn;
