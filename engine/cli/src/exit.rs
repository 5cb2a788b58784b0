//! The one place where outcomes become exit codes, and library errors become text for people.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok,
    /// 1: the run failed (jobs, deliveries, requests), or `verify` found the job's output wrong.
    Failed,
    /// 2: bad input (scenario, flags, plugin files); nothing was run.
    BadInput,
    /// 128 + the signal (130 for SIGINT, 143 for SIGTERM): stopped early, outputs written.
    Signal(i32),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::BadInput => 2,
            Exit::Signal(s) => u8::try_from(128 + s).unwrap_or(1),
        }
    }

    /// From a library's own 0/1/2 classification.
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => Exit::Ok,
            2 => Exit::BadInput,
            _ => Exit::Failed,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

/// Print an error (or several lines of one) with the `error: ` prefix once.
pub fn print_error(e: &dyn std::fmt::Display) {
    let s = e.to_string();
    if s.starts_with("error:") {
        eprintln!("{s}");
    } else {
        eprintln!("error: {s}");
    }
}

/// `engine run`/`bench`/`validate` errors: each failed job on its own line, the first delivery
/// error verbatim.
pub fn run_error(e: &distroduce::RunError) -> Exit {
    use distroduce::RunError;
    match e {
        RunError::JobsFailed { failures, .. } => {
            for f in failures {
                eprintln!("error: {f}");
            }
            eprintln!("error: {e}; records produced before each failure were written");
        }
        RunError::Undelivered { summary } => {
            eprintln!("error: {e}");
            if let Some(first) = &summary.delivery.first_error {
                eprintln!("  first error: {first}");
            }
        }
        other => print_error(other),
    }
    match e {
        RunError::Config(_) | RunError::Metrics(_) | RunError::Usage(_) => Exit::BadInput,
        RunError::Registry(distroduce::RegistryError::Schema(_)) => Exit::BadInput,
        _ => Exit::Failed,
    }
}
