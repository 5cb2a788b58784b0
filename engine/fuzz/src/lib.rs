//! A small, deterministic, dependency-free mutation fuzzer for the engine's decoders of untrusted
//! input, run by `cargo test` with a fixed budget per target (issue 12).
//!
//! Each target replays its seed corpus (`engine/fuzz/corpus/<target>/`, plus what the test adds)
//! and then `cases` inputs derived from it by byte-level mutations (bit flips, interesting bytes,
//! inserted, deleted, duplicated and repeated ranges, splices, dictionary tokens). The random
//! stream is seeded from the target's name, so every CI run executes the same inputs and a failure
//! reproduces with the same command. Any panic is a bug: the failing input is written to the temp
//! directory and named in the failure.
//!
//! `DISTRODUCE_FUZZ_CASES=N` overrides every budget (e.g. a long local run);
//! `DISTRODUCE_FUZZ_SEED=S` changes the stream to explore further.

use distroduce_model::rng::SplitMix64;
use std::path::{Path, PathBuf};

/// Inputs never grow past this many bytes: large inputs only make the run slower.
pub const MAX_LEN: usize = 64 * 1024;

/// The mutants to run for a target: `default`, or `DISTRODUCE_FUZZ_CASES`.
pub fn budget(default: usize) -> usize {
    std::env::var("DISTRODUCE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The directory of a target's checked-in corpus.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target)
}

/// Every file under the target's corpus directory, in name order (subdirectories included).
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    collect(&corpus_dir(target), &mut files);
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Bytes that decoders treat specially: MessagePack type markers, UTF-8 edges, ASCII structure.
const INTERESTING: [u8; 32] = [
    0x00, 0x01, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x91, 0x9f, 0xa0, 0xa1, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc7, 0xca,
    0xcb, 0xcf, 0xd3, 0xd9, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff, b'"', b'\n', b'{',
];

/// A deterministic byte mutator.
pub struct Mutator {
    rng: SplitMix64,
    dict: Vec<Vec<u8>>,
}

impl Mutator {
    /// A mutator for `target`, with tokens that target's format is made of.
    pub fn new(target: &str, dict: &[&[u8]]) -> Self {
        let extra: u64 = std::env::var("DISTRODUCE_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        let seed = target.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x1000_0000_01b3));
        Self { rng: SplitMix64(seed ^ extra), dict: dict.iter().map(|t| t.to_vec()).collect() }
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.rng.next_u64() % n as u64) as usize
        }
    }

    fn range(&mut self, len: usize) -> (usize, usize) {
        let a = self.below(len + 1);
        let b = a + self.below(len - a + 1).min(64);
        (a, b)
    }

    /// A new input: one of `seeds`, mutated one to four times.
    pub fn mutate(&mut self, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut v = if seeds.is_empty() { Vec::new() } else { seeds[self.below(seeds.len())].clone() };
        for _ in 0..1 + self.below(4) {
            self.once(&mut v, seeds);
        }
        v.truncate(MAX_LEN);
        v
    }

    fn once(&mut self, v: &mut Vec<u8>, seeds: &[Vec<u8>]) {
        let len = v.len();
        match self.below(11) {
            0 if len > 0 => {
                let i = self.below(len);
                v[i] ^= 1 << self.below(8);
            }
            1 if len > 0 => {
                let i = self.below(len);
                v[i] = self.rng.next_u64() as u8;
            }
            2 if len > 0 => {
                let i = self.below(len);
                v[i] = INTERESTING[self.below(INTERESTING.len())];
            }
            3 => {
                let at = self.below(len + 1);
                let n = 1 + self.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.next_u64() as u8).collect();
                v.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let (a, b) = self.range(len);
                v.drain(a..b);
            }
            5 if len > 0 => {
                // Repeat a range: deep nesting, long lists, many keys.
                let (a, b) = self.range(len);
                let times = [1, 2, 8, 64, 200][self.below(5)];
                let chunk = v[a..b].to_vec();
                let at = self.below(len + 1);
                let rep: Vec<u8> = chunk.iter().copied().cycle().take(chunk.len() * times).collect();
                v.splice(at..at, rep);
            }
            6 if len > 0 => v.truncate(self.below(len)),
            7 if !seeds.is_empty() => {
                let other = &seeds[self.below(seeds.len())];
                let (a, b) = self.range(other.len());
                let at = self.below(len + 1);
                v.splice(at..at, other[a..b].iter().copied());
            }
            8 | 9 if !self.dict.is_empty() => {
                let pick = self.below(self.dict.len());
                let tok = self.dict[pick].clone();
                let (a, b) = if self.below(2) == 0 { (self.below(len + 1), 0) } else { self.range(len) };
                let b = b.max(a);
                v.splice(a..b, tok);
            }
            _ if len > 0 => {
                // Overwrite with a little- or big-endian extreme integer.
                let i = self.below(len);
                let n = [0u64, 1, 0x7f, 0xff, 0xffff, 0xffff_ffff, u64::MAX, 1 << 63][self.below(8)];
                let bytes = if self.below(2) == 0 { n.to_be_bytes() } else { n.to_le_bytes() };
                let w = [1, 2, 4, 8][self.below(4)].min(len - i);
                v[i..i + w].copy_from_slice(&bytes[8 - w..]);
            }
            _ => v.push(self.rng.next_u64() as u8),
        }
    }
}

/// One input running longer than this fails the run.
const SLOW: std::time::Duration = std::time::Duration::from_secs(2);

/// What a target run did.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub seeds: usize,
    pub mutants: usize,
}

/// Feed `f` every seed, then `cases` mutants. A panic fails the run after writing the input to the
/// temp directory; returns how many inputs ran.
pub fn run(target: &str, seeds: &[Vec<u8>], dict: &[&[u8]], cases: usize, mut f: impl FnMut(&[u8])) -> Stats {
    let started = std::time::Instant::now();
    let mut m = Mutator::new(target, dict);
    let mut failures = Vec::new();
    // `DISTRODUCE_FUZZ_TRACE=1`: write each input before running it, to catch one that hangs or
    // aborts the process.
    let trace = std::env::var_os("DISTRODUCE_FUZZ_TRACE")
        .map(|_| std::env::temp_dir().join(format!("distroduce-fuzz-{target}-current.bin")));
    let mut one = |i: usize, input: &[u8], failures: &mut Vec<String>| {
        if let Some(t) = &trace {
            let _ = std::fs::write(t, input);
        }
        let started = std::time::Instant::now();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(input))).is_err();
        // Decoders are linear: one input taking seconds is a bug too (a hang, with more bytes).
        let slow = started.elapsed() > SLOW;
        if panicked || slow {
            let path = std::env::temp_dir().join(format!("distroduce-fuzz-{target}-{i}.bin"));
            let _ = std::fs::write(&path, input);
            let what = if panicked { "panicked" } else { "took over 2 s" };
            failures.push(format!("input {i} {what} (saved as {}): {:?}", path.display(), clip(input)));
        }
    };
    for (i, s) in seeds.iter().enumerate() {
        one(i, s, &mut failures);
    }
    for i in 0..cases {
        let input = m.mutate(seeds);
        one(seeds.len() + i, &input, &mut failures);
        if failures.len() >= 5 {
            break;
        }
    }
    let stats = Stats { seeds: seeds.len(), mutants: cases };
    eprintln!(
        "fuzz {target}: {} executions ({} seeds + {} mutants) in {:.1?}",
        stats.seeds + stats.mutants,
        stats.seeds,
        stats.mutants,
        started.elapsed()
    );
    assert!(failures.is_empty(), "fuzz target `{target}` failed:\n{}", failures.join("\n"));
    stats
}

fn clip(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(600)]).into_owned();
    if b.len() > 600 {
        format!("{s}… ({} bytes)", b.len())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mutator_is_deterministic_and_bounded() {
        let seeds = vec![b"runs: 1\ntimesteps: 2\n".to_vec(), vec![0x91, 0x91, 0xc0]];
        let mut a = Mutator::new("t", &[b"- "]);
        let mut b = Mutator::new("t", &[b"- "]);
        for _ in 0..2000 {
            let (x, y) = (a.mutate(&seeds), b.mutate(&seeds));
            assert_eq!(x, y);
            assert!(x.len() <= MAX_LEN);
        }
    }

    #[test]
    #[should_panic(expected = "fuzz target `boom` failed")]
    fn a_panicking_target_fails_the_run() {
        run("boom", &[b"x".to_vec()], &[], 10, |b| assert!(b != b"x"));
    }
}
