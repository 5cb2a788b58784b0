//! Call deadlines: wasmtime's epoch interruption, advanced by one ticker thread per engine.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::Engine;

/// How often the epoch advances; call deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The call deadline of `engine plugin check`, which has no scenario: the default
/// `limits.call_timeout`.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Epoch ticks in `timeout`.
pub(crate) fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// A thread advancing an engine's epoch every [`EPOCH_TICK`] until dropped, so that epoch
/// deadlines (call timeouts) fire.
pub(crate) struct Ticker(Arc<AtomicBool>);

impl Ticker {
    pub(crate) fn start(engine: &Engine) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        std::thread::Builder::new().name("epoch-ticker".into()).spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })?;
        Ok(Ticker(stop))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// If `e` is the epoch deadline firing, what ran out of time: `what` (the start function,
/// `_initialize`) did not finish within `timeout`.
pub(crate) fn timed_out(e: &wasmtime::Error, what: &str, timeout: Duration, setting: &str) -> Option<String> {
    (e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt)).then(|| {
        format!(
            "{what} did not finish within {} ({setting}); is there an endless loop?",
            humantime::format_duration(timeout)
        )
    })
}
