//! Ctrl-C and SIGTERM during `engine run`: the first signal stops the run cleanly (no new job
//! starts, running jobs stop after their current timestep, records, messages and the summary are
//! written and the producer is flushed, for at most 10 s); a second signal exits at once.

use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

/// Watches for SIGINT and SIGTERM from a thread of its own.
pub struct Stop {
    pub cancel: Arc<AtomicBool>,
    signal: Arc<AtomicI32>,
}

impl Stop {
    /// Install the handlers; without them (an error from the OS) the run is not stoppable cleanly,
    /// which is said once and otherwise ignored.
    pub fn install() -> Self {
        let stop = Stop { cancel: Arc::new(AtomicBool::new(false)), signal: Arc::new(AtomicI32::new(0)) };
        match signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
            Ok(mut signals) => {
                let (cancel, signal) = (stop.cancel.clone(), stop.signal.clone());
                let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
                    for s in signals.forever() {
                        if cancel.swap(true, Ordering::SeqCst) {
                            eprintln!("\nsecond signal: exiting now");
                            std::process::exit(128 + s);
                        }
                        signal.store(s, Ordering::SeqCst);
                        eprintln!(
                            "\ninterrupted: stopping after the current timestep, writing what was produced (again to quit at once)"
                        );
                    }
                });
                if let Err(e) = spawned {
                    eprintln!("warning: cannot watch for Ctrl-C: {e}");
                }
            }
            Err(e) => eprintln!("warning: cannot watch for Ctrl-C: {e}"),
        }
        stop
    }

    /// The signal that stopped the run, if one did.
    pub fn received(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::SeqCst)).filter(|s| *s != 0)
    }
}
