//! T5: encoder-decoder. (Being written: see issue 3.)

use super::{Capture, ModelInfo, Outputs, StepDecoder, StepOutput};
use crate::error::{Error, Result};
use crate::loader::Weights;

pub struct T5 {
    pub info: ModelInfo,
}

impl T5 {
    pub fn load(_config_json: &[u8], _weights: Weights) -> Result<Self> {
        Err(Error::config("model_type", "this family is not implemented yet", "Use a GPT-2 or BERT model"))
    }
    pub fn forward(&self, _ids: &[u32], _decoder_ids: &[u32], _capture: Capture) -> Result<Outputs> {
        unreachable!("cannot be loaded")
    }
    pub fn decoder(&self, _source: &[u32]) -> Result<T5Decoder<'_>> {
        unreachable!("cannot be loaded")
    }
}

#[derive(Clone)]
pub struct T5Decoder<'m> {
    _model: &'m T5,
}

impl StepDecoder for T5Decoder<'_> {
    fn feed(&mut self, _tokens: &[u32], _capture: Capture) -> Result<StepOutput> {
        unreachable!("cannot be loaded")
    }
    fn len(&self) -> usize {
        0
    }
    fn fork(&self) -> Box<dyn StepDecoder + '_> {
        Box::new(self.clone())
    }
}
