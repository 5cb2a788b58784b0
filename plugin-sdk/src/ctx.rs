//! The per-call context handed to plugin functions: who is calling (the `ctx` header of the input)
//! and the host services (random numbers, the virtual clock, logs and message emission).

use crate::native::Host;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};

/// The `ctx` map of a call's input (ABI §3), as it is sent. Unknown keys are ignored so that
/// later engine versions can add some without breaking plugins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct WireHeader<'a> {
    simulation: u64,
    subset: u64,
    run: u64,
    timestep: u64,
    substep: u64,
    #[serde(deserialize_with = "bits64")]
    seed: u64,
    time_ns: i64,
    #[serde(default, borrow)]
    variable: Option<&'a str>,
}

/// A call's seed: as the host sent it, or derived on first use from the job's seed as the host
/// derives it (the in-guest loop: most functions never read it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum Seed {
    Sent(u64),
    /// `derive(job_seed, timestep, substep, pos)` (ABI.md §10).
    Derive {
        job_seed: u64,
        pos: u32,
    },
}

/// What a [`Ctx`] is built from: the `ctx` map of the input, or what the in-guest loop knows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(hidden)]
pub struct CtxHeader<'a> {
    pub simulation: u64,
    pub subset: u64,
    pub run: u64,
    pub timestep: u64,
    pub substep: u64,
    pub seed: Seed,
    pub time_ns: i64,
    pub variable: Option<&'a str>,
    /// The host's clock is `time_ns` for the whole call (ABI.md §4: `now_ns` is `ctx.time_ns`),
    /// so [`Ctx::now_ns`] need not ask it. Set by the in-guest loop of a WASM plugin only.
    pub clock_is_time_ns: bool,
}

impl<'a> CtxHeader<'a> {
    /// Decodes the `ctx` map of a call's input; `variable` borrows from `raw`.
    pub fn decode(raw: &'a [u8]) -> Result<Self, String> {
        let w: WireHeader<'a> = rmp_serde::from_slice(raw)
            .map_err(|e| format!("cannot decode `ctx` as {}: {e}", std::any::type_name::<CtxHeader<'_>>()))?;
        Ok(CtxHeader {
            simulation: w.simulation,
            subset: w.subset,
            run: w.run,
            timestep: w.timestep,
            substep: w.substep,
            seed: Seed::Sent(w.seed),
            time_ns: w.time_ns,
            variable: w.variable,
            clock_is_time_ns: false,
        })
    }
}

/// The seed is 64 random bits: accept them as an unsigned or a (negative) signed integer, since
/// a host may write either.
fn bits64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct Bits;
    impl serde::de::Visitor<'_> for Bits {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a 64-bit integer")
        }
        fn visit_u64<E>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E>(self, v: i64) -> Result<u64, E> {
            Ok(v as u64)
        }
    }
    d.deserialize_u64(Bits)
}

/// Log levels of the `log` import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

/// What a plugin function can know about its call and ask of the host.
///
/// Every method takes `&self`, so a function may declare `ctx: &Ctx` or `ctx: &mut Ctx`
/// as it likes; the host sits behind a `RefCell` that is borrowed only inside one method.
///
/// The call's seed and the variable of a state update are methods ([`Ctx::seed`],
/// [`Ctx::variable`]) since SDK 0.2: the seed is derived only when asked for and the variable's
/// name is borrowed, not copied, on every call (see plugin-sdk/CHANGELOG.md).
pub struct Ctx<'h> {
    /// 0-based index of the model in the experiment.
    pub simulation: u64,
    /// 0-based index of the parameter set.
    pub subset: u64,
    /// 1-based Monte Carlo run.
    pub run: u64,
    /// The timestep being computed (1-based; the record read is the previous one).
    pub timestep: u64,
    /// 1-based index of the partial state update block.
    pub substep: u64,
    /// The virtual clock, ns since the Unix epoch, as [`Ctx::now_ns`].
    pub time_ns: i64,
    seed: Seed,
    variable: Option<&'h str>,
    clock_is_time_ns: bool,
    host: RefCell<&'h mut dyn Host>,
    /// The first error of a host service (e.g. an `emit` value that cannot be encoded). The
    /// shim turns it into a `fail` after the function returns, so a call fails exactly once.
    error: Cell<Option<String>>,
}

/// Builds a context; only the generated shims do this.
#[doc(hidden)]
pub fn new_ctx<'h>(header: CtxHeader<'h>, host: &'h mut dyn Host) -> Ctx<'h> {
    Ctx {
        simulation: header.simulation,
        subset: header.subset,
        run: header.run,
        timestep: header.timestep,
        substep: header.substep,
        time_ns: header.time_ns,
        seed: header.seed,
        variable: header.variable,
        clock_is_time_ns: header.clock_is_time_ns,
        host: RefCell::new(host),
        error: Cell::new(None),
    }
}

/// The `emit` map of ABI §5. `value` is pre-encoded so that it can be written as raw bytes
/// (binary values) or spliced in as MessagePack (everything else).
#[derive(Serialize)]
struct Emit<'a, V: Serialize + ?Sized> {
    topic: &'a str,
    value: &'a V,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<Headers<'a>>,
}

/// Headers as a MessagePack map of string to string.
struct Headers<'a>(&'a [(&'a str, &'a str)]);

impl Serialize for Headers<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (*k, *v)))
    }
}

// One buffer per thread, reused for `Ctx::emit` and `Ctx::emit_with_headers`.
thread_local! {
    static EMIT_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serializes bytes as MessagePack `bin` (serde would otherwise write a list of integers); what
/// [`encode_bytes_emit`] is checked against.
#[cfg(test)]
struct Bytes<'a>(&'a [u8]);

#[cfg(test)]
impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl<'h> Ctx<'h> {
    /// Seed unique to this call, for plugins that prefer their own generator (the host's
    /// `derive(job seed, timestep, substep, position)`, ABI.md §10).
    pub fn seed(&self) -> u64 {
        match self.seed {
            Seed::Sent(seed) => seed,
            Seed::Derive { job_seed, pos } => {
                distroduce_values::rng::derive(&[job_seed, self.timestep, self.substep, pos as u64])
            }
        }
    }

    /// For state updates: the name of the variable this call produces (`None` for a policy).
    pub fn variable(&self) -> Option<&'h str> {
        self.variable
    }

    /// The next 64 random bits of this call's stream (same seed, same numbers).
    pub fn rng_u64(&self) -> u64 {
        self.host.borrow_mut().rng_u64()
    }

    /// A uniform float in `[0, 1)` from this call's stream.
    pub fn rng_f64(&self) -> f64 {
        self.host.borrow_mut().rng_f64()
    }

    /// A normal draw by Box–Muller. It uses two `rng_f64` draws per number and drops the second
    /// value of the pair, so that a call's draws do not depend on hidden state kept between calls.
    pub fn normal(&self, mean: f64, sd: f64) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.rng_f64();
        let u2 = self.rng_f64();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        mean + sd * z
    }

    /// The virtual clock, ns since the Unix epoch (see [`crate::time::format_python`]).
    pub fn now_ns(&self) -> i64 {
        if self.clock_is_time_ns {
            return self.time_ns;
        }
        self.host.borrow_mut().now_ns()
    }

    /// Publishes `value` to the topic alias `topic` (declared in the scenario), optionally keyed.
    /// The host encodes the value with the topic's format (JSON by default). A value that cannot
    /// be encoded fails the call once the function returns.
    pub fn emit<V: Serialize + ?Sized>(&self, topic: &str, key: Option<&str>, value: &V) {
        self.emit_map(&Emit { topic, value, key, headers: None });
    }

    /// [`Ctx::emit`] with Kafka headers.
    pub fn emit_with_headers<V: Serialize + ?Sized>(
        &self,
        topic: &str,
        key: Option<&str>,
        value: &V,
        headers: &[(&str, &str)],
    ) {
        let headers = Some(Headers(headers));
        self.emit_map(&Emit { topic, value, key, headers });
    }

    /// Publishes bytes that the host sends as they are, whatever the topic's format.
    pub fn emit_bytes(&self, topic: &str, key: Option<&str>, value: &[u8]) {
        // The parts go to the host as they are (the `emit_bytes` import in WASM): a load generator
        // calls this millions of times, and encoding the map cost more than the bytes themselves.
        let mut host = self.host.borrow_mut();
        #[cfg(target_arch = "wasm32")]
        if host.claim_direct_emit() {
            crate::wasm::emit_bytes(topic, key, value);
            return;
        }
        if !host.emit_bytes(topic, key, value) {
            self.set_error(format!("cannot encode the message for topic `{topic}`: too long"));
        }
    }

    fn emit_map<V: Serialize + ?Sized>(&self, msg: &Emit<'_, V>) {
        EMIT_BUF.with_borrow_mut(|buf| {
            buf.clear();
            match crate::encode::write_named(buf, msg) {
                Ok(()) => self.host.borrow_mut().emit(buf),
                Err(e) => self.set_error(format!("cannot encode the message for topic `{}`: {e}", msg.topic)),
            }
        });
    }

    /// Sends a log line to the host (shown with `-v`, attached to failure reports).
    pub fn log(&self, level: Level, msg: &str) {
        self.host.borrow_mut().log(level as i32, msg);
    }

    /// [`Ctx::log`] at [`Level::Debug`].
    pub fn debug(&self, msg: &str) {
        self.log(Level::Debug, msg);
    }

    /// [`Ctx::log`] at [`Level::Info`].
    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg);
    }

    /// [`Ctx::log`] at [`Level::Warn`].
    pub fn warn(&self, msg: &str) {
        self.log(Level::Warn, msg);
    }

    /// [`Ctx::log`] at [`Level::Error`].
    pub fn error(&self, msg: &str) {
        self.log(Level::Error, msg);
    }

    fn set_error(&self, msg: String) {
        let first = self.error.take().unwrap_or(msg);
        self.error.set(Some(first));
    }

    /// The first error a host service ran into, if any (generated code checks it after the
    /// function returns).
    #[doc(hidden)]
    pub fn __take_error(&self) -> Option<String> {
        self.error.take()
    }
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("simulation", &self.simulation)
            .field("subset", &self.subset)
            .field("run", &self.run)
            .field("timestep", &self.timestep)
            .field("substep", &self.substep)
            .field("seed", &self.seed())
            .field("time_ns", &self.time_ns)
            .field("variable", &self.variable)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct encoding is byte for byte serde's, at every length where a MessagePack form changes.
    #[test]
    fn bytes_emit_is_what_serde_writes() {
        let lens = [0, 1, 31, 32, 255, 256, 65_535, 65_536, 70_000];
        for &tl in &lens[..6] {
            let topic = "t".repeat(tl);
            for &vl in &lens {
                let value: Vec<u8> = (0..vl).map(|i| i as u8).collect();
                for key in [None, Some(String::new()), Some("k".repeat(40)), Some("é".repeat(200))] {
                    let key = key.as_deref();
                    let mut want = Vec::new();
                    let msg = Emit { topic: &topic, value: &Bytes(&value), key, headers: None };
                    rmp_serde::encode::write_named(&mut want, &msg).unwrap();
                    let mut got = vec![9, 9];
                    got.clear();
                    let key = key.map(str::as_bytes);
                    distroduce_abi::emit::encode_bytes(&mut got, topic.as_bytes(), key, &value).unwrap();
                    assert!(got == want, "topic {tl} B, value {vl} B, key {key:?}");
                }
            }
        }
    }
}
