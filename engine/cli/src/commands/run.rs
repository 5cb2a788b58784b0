//! `engine run`.

use crate::exit::{self, Exit};
use crate::render::print_summary;
use distroduce::RunArgs;
use std::path::PathBuf;

pub fn run(mut args: RunArgs, summary_json: Option<PathBuf>) -> Exit {
    let stop = crate::signals::Stop::install();
    args.cancel = Some(stop.cancel.clone());
    let bar = crate::progress::bar();
    let result = distroduce::run(&args, bar.as_ref().map(|(p, _)| p.clone()));
    if let Some((_, b)) = bar {
        b.finish_and_clear();
    }
    // A failed run that went to the end still has a summary: print it before the errors.
    let summary = match &result {
        Ok(s) => Some(s),
        Err(e) => e.summary(),
    };
    if let Some(s) = summary {
        print_summary(s);
        if let Some(p) = &summary_json {
            if let Err(e) = distroduce::layout::write_json(p, s, true) {
                eprintln!("error: cannot write {}: {e}", p.display());
            }
        }
    }
    match result {
        Ok(_) => Exit::Ok,
        Err(e @ distroduce::RunError::Interrupted { .. }) => {
            exit::print_error(&e);
            Exit::Signal(stop.received().unwrap_or(libc::SIGINT))
        }
        Err(e) => exit::run_error(&e),
    }
}
