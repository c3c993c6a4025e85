//! The wasm boundary: the only place that knows about JavaScript. (Being written: issue 5.)

mod kernel_checks;
