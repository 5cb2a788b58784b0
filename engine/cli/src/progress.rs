//! The progress bar of `engine run`: shown on a terminal only, sized by the run itself when it
//! starts (so the scenario is loaded once).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;

struct Bar(ProgressBar);

impl distroduce::sim::Progress for Bar {
    fn start(&self, total_timesteps: u64) {
        self.0.set_length(total_timesteps);
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

/// A bar on stderr if it is a terminal; the handle to hand to the run, and the bar to clear.
pub fn bar() -> Option<(Arc<dyn distroduce::sim::Progress>, ProgressBar)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} timesteps ({per_sec}, eta {eta})")
            .ok()?
            .progress_chars("=> "),
    );
    b.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    Some((Arc::new(Bar(b.clone())), b))
}
