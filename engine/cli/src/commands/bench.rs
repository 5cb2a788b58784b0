//! `engine bench`.

use crate::args::MaxRateFlags;
use crate::exit::{self, Exit};
use distroduce::bench::{Axis, BenchArgs};
use distroduce::maxrate::{MaxRateArgs, SearchConfig};
use distroduce::model::types::RecordFormat;
use distroduce::RunArgs;
use std::path::PathBuf;

pub fn bench(mut run: RunArgs, axes: Vec<Axis>, repeat: u32) -> Exit {
    // A benchmark measures the producer; record files only if asked for.
    run.formats.get_or_insert_with(|| vec![RecordFormat::None]);
    let dir = run.out.clone().unwrap_or_else(|| {
        let name = run.scenario.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        PathBuf::from("out").join(format!("{name}-bench"))
    });
    run.out = Some(dir.clone());
    let args = BenchArgs { run, axes, repeat };
    let total: usize = args.axes.iter().map(|a| a.values.len()).product::<usize>() * args.repeat.max(1) as usize;
    let mut n = 0;
    let cells = distroduce::bench::run(&args, |c| {
        n += 1;
        match (&c.summary, &c.error) {
            (Some(s), None) => eprintln!(
                "[{n}/{total}] {}: {:.0} msgs/s, {:.2} MB/s, p99 {:.2} ms",
                c.label(),
                s.msgs_per_sec,
                s.mb_per_sec,
                s.delivery.latency_ms.map_or(f64::NAN, |l| l[2])
            ),
            (_, Some(e)) => eprintln!("[{n}/{total}] {}: failed: {e}", c.label()),
            _ => {}
        }
    });
    let cells = match cells {
        Ok(c) => c,
        Err(e) => return exit::run_error(&e),
    };
    match distroduce::bench::write_results(&dir, &args.run.scenario.display().to_string(), &args.axes, &cells) {
        Ok(paths) => paths.iter().for_each(|p| println!("output          {}", p.display())),
        Err(e) => {
            eprintln!("error: cannot write bench results to {}: {e}", dir.display());
            return Exit::Failed;
        }
    }
    if cells.iter().any(|c| c.error.is_some()) {
        eprintln!("error: some configurations failed; see the report");
        return Exit::Failed;
    }
    Exit::Ok
}

/// `engine bench --find-max-rate --slo p99=50ms`.
pub fn max_rate(mut run: RunArgs, flags: MaxRateFlags) -> Exit {
    run.formats.get_or_insert_with(|| vec![RecordFormat::None]);
    let dir = run.out.clone().unwrap_or_else(|| {
        let name = run.scenario.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        PathBuf::from("out").join(format!("{name}-max-rate"))
    });
    run.out = Some(dir.clone());
    let config = SearchConfig {
        trials: flags.trials,
        precision: flags.precision,
        trial_seconds: flags.trial_seconds,
        ..Default::default()
    };
    let args = MaxRateArgs { run, slos: flags.slos, config };
    let outcome = distroduce::maxrate::find(&args, |t| {
        let l = t.latency_from_due_ms.unwrap_or([f64::NAN; 5]);
        if t.trial == 0 {
            eprintln!("probe (unpaced): {:.0} msgs/s acknowledged, {} messages", t.achieved, t.messages);
        } else {
            eprintln!(
                "rate {:.0} msgs/s, trial {}: {} (p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms from due; {:.0} msgs/s achieved){}",
                t.rate,
                t.trial,
                if t.passed { "pass" } else { "FAIL" },
                l[0],
                l[2],
                l[3],
                t.achieved,
                t.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
            );
        }
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return exit::run_error(&e),
    };
    println!("max rate        {}", outcome.statement);
    match distroduce::maxrate::write_results(&dir, &args.run.scenario.display().to_string(), &outcome) {
        Ok(paths) => paths.iter().for_each(|p| println!("output          {}", p.display())),
        Err(e) => {
            eprintln!("error: cannot write the rate search results to {}: {e}", dir.display());
            return Exit::Failed;
        }
    }
    if outcome.max_rate.is_none() {
        eprintln!("error: no rate met the objectives");
        return Exit::Failed;
    }
    Exit::Ok
}
