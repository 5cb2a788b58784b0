//! The end-of-run summary as people read it (the same figures are in summary.json).

use distroduce::Summary;

pub fn print_summary(s: &Summary) {
    let d = &s.delivery;
    println!("scenario        {}", s.scenario);
    println!("jobs            {} ({} failed), {} threads", s.jobs, s.jobs_failed, s.threads);
    println!("records         {}", s.records);
    println!("substeps        {} ({:.0}/s over {:.3}s of simulation)", s.substeps, s.substeps_per_sec, s.sim_seconds);
    println!(
        "cost            {:.3}s generating, {:.3}s publishing (thread-seconds)",
        s.generation_seconds, s.publish_seconds
    );
    println!("kafka           {}", s.kafka);
    println!(
        "messages        {} emitted, {} produced, {} acknowledged, {} failed",
        s.messages_emitted, d.produced, d.acked, d.failed
    );
    if d.acked > 0 {
        println!("throughput      {:.0} msgs/s, {:.2} MB/s (by acknowledgement)", s.msgs_per_sec, s.mb_per_sec);
    }
    if let Some(t) = &d.transactions {
        println!(
            "transactions    per {}: {} committed ({} msgs), {} aborted ({} msgs)",
            t.mode, t.committed, t.messages_committed, t.aborted, t.messages_aborted
        );
        if let Some(l) = t.commit_ms {
            println!("commit ms       {}", percentiles(&l));
        }
    }
    if let Some(l) = d.latency_from_due_ms {
        println!("from due ms     {}", percentiles(&l));
    }
    if let Some(l) = d.latency_ms {
        println!("ack latency ms  {}", percentiles(&l));
    }
    if let Some(n) = s.expected_records {
        println!("expectations    {n} expected records (expected.jsonl)");
    }
    if s.interrupted {
        println!("interrupted     yes: {} of {} jobs did not finish", s.jobs_interrupted, s.jobs);
    }
    println!("wall time       {:.3}s", s.wall_seconds);
    for o in &s.outputs {
        println!("output          {}", o.display());
    }
    for w in &d.warnings {
        eprintln!("warning: {w}");
    }
}

fn percentiles(l: &[f64; 5]) -> String {
    format!("p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}", l[0], l[1], l[2], l[3], l[4])
}
