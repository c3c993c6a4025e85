//! The one random generator of the core: seeded sampling (models::generation) and the seeded
//! random weights of an "untrained twin" (loader::weights) draw from it. A leaf module, so both
//! can use it without the loader depending on the models.

/// SplitMix64: tiny, fast, and identical everywhere.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        // `crate::math`, not the platform's log and cos: the same bits natively and in wasm, so the CLI and
        // the page draw the same random weights and the same RNN (`teach::rnn`), whose exploding runs
        // magnify a last-bit difference (seed 6471334's 220th normal differed in f32).
        ((-2.0 * crate::math::ln(u1)).sqrt() * crate::math::cos(std::f64::consts::TAU * u2)) as f32
    }
}
