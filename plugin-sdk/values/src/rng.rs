//! Every random number of a run comes from here: per-call streams seeded from (scenario seed, job,
//! timestep, substep, position), so the same scenario and seed give the same numbers whatever the
//! thread count or sharding. Plugins draw from it through the host's `rng_*` imports; the disorder
//! stage draws from its own stream.

/// SplitMix64: tiny, fast and good enough for simulation draws; seeded per call so that a call's
/// numbers depend only on (seed, job, timestep, substep, position), never on scheduling.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in [0, 1), 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The SplitMix64 finalizer, also used to derive seeds.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Combine seed material in order.
pub fn derive(parts: &[u64]) -> u64 {
    parts.iter().fold(0x6A09_E667_F3BC_C908, |acc, p| mix(acc ^ mix(p.wrapping_add(0x9E37_79B9_7F4A_7C15))))
}
