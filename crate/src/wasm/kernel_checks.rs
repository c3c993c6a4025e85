//! wasm exports that run SIMD and scalar kernels side by side, for the Node tests. (Being written.)
