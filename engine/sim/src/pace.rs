//! `clock.realtime`: a job keeps pace with the wall clock, timestep `t` not before `t × step`
//! after the job started.

use crate::job::{FailKind, JobSink};
use distroduce_model::Model;
use std::time::{Duration, Instant};

/// The longest one sleep lasts before the cancel flag is read again: Ctrl-C stops a run with a
/// long `clock.step` at once, not after the step.
const SLICE: Duration = Duration::from_millis(50);

/// Wait until timestep `t + 1` is due, if the clock runs in real time. A cancelled run stops
/// waiting and the job ends as interrupted.
pub(crate) fn keep_pace(model: &Model, t: u64, job_start: Instant, sink: &dyn JobSink) -> Result<(), FailKind> {
    if !model.clock.realtime {
        return Ok(());
    }
    // The scenario's clock fits i64 nanoseconds over every timestep (validated).
    let due = job_start + Duration::from_nanos((model.clock.step_ns as u64).saturating_mul(t));
    while let Some(wait) = due.checked_duration_since(Instant::now()).filter(|w| !w.is_zero()) {
        if sink.cancelled() {
            return Err(FailKind::Interrupted);
        }
        std::thread::sleep(wait.min(SLICE));
    }
    Ok(())
}
