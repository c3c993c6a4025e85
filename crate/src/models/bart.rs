//! Bart: encoder-decoder. (Being written: see issue 3.)

use super::{Capture, DecoderState, ModelInfo, Outputs, StepOutput};
use crate::error::{Error, Result};
use crate::loader::Weights;

pub struct Bart {
    pub info: ModelInfo,
}

impl Bart {
    pub fn load(_config_json: &[u8], _weights: Weights) -> Result<Self> {
        Err(Error::config("model_type", "this family is not implemented yet", "Use a GPT-2 or BERT model"))
    }
    pub fn forward(&self, _ids: &[u32], _decoder_ids: &[u32], _capture: Capture) -> Result<Outputs> {
        Err(Error::input("not implemented", ""))
    }
    /// Encode `source` once and prepare the decoder's caches.
    pub fn start(&self, _source: &[u32]) -> Result<DecoderState> {
        Err(Error::input("not implemented", ""))
    }
    pub fn feed(&self, _state: &mut DecoderState, _tokens: &[u32], _capture: Capture) -> Result<StepOutput> {
        Err(Error::input("not implemented", ""))
    }
}
