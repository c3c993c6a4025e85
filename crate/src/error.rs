//! Typed errors for everything a user can get wrong.
//!
//! Every message names the thing at fault (a file, a config field, a tensor, an input) and
//! ends with what to do about it. The core never panics on user-supplied data; these errors
//! become JS `Error`s only at the wasm boundary and one stderr line in the CLI.

use std::fmt;

/// What went wrong, with the culprit named and a suggested fix.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A whole file is unreadable: empty, truncated, not JSON, not safetensors.
    File { file: String, problem: String, fix: String },
    /// A field of config.json is missing, of the wrong type or unsupported.
    Config { field: String, problem: String, fix: String },
    /// A tensor in model.safetensors is missing, of the wrong shape or of an unsupported dtype.
    Tensor { name: String, problem: String, fix: String },
    /// tokenizer.json describes something we cannot run.
    Tokenizer { problem: String, fix: String },
    /// The text, ids or options the user passed cannot be used with this model.
    Input { problem: String, fix: String },
}

impl Error {
    pub fn file(file: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::File { file: file.into(), problem: problem.into(), fix: fix.into() }
    }
    pub fn config(field: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Config { field: field.into(), problem: problem.into(), fix: fix.into() }
    }
    pub fn tensor(name: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Tensor { name: name.into(), problem: problem.into(), fix: fix.into() }
    }
    pub fn tokenizer(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Tokenizer { problem: problem.into(), fix: fix.into() }
    }
    pub fn input(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Input { problem: problem.into(), fix: fix.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::File { file, problem, fix } => write!(f, "{file}: {problem}. {fix}"),
            Error::Config { field, problem, fix } => {
                write!(f, "config.json field `{field}`: {problem}. {fix}")
            }
            Error::Tensor { name, problem, fix } => {
                write!(f, "model.safetensors tensor `{name}`: {problem}. {fix}")
            }
            Error::Tokenizer { problem, fix } => write!(f, "tokenizer.json: {problem}. {fix}"),
            Error::Input { problem, fix } => write!(f, "{problem}. {fix}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
