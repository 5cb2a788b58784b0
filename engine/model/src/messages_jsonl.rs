//! `messages.jsonl` (`engine run --write-messages`): one message per line in job order, with its
//! origin, so that two runs can be compared byte for byte.

use crate::message::OutMessage;
use crate::plan::JobId;
use std::io;

/// Append `m`'s line (ending in a newline) to `out`; `topic` is the name of its topic.
pub fn write_line(out: &mut Vec<u8>, topic: &str, job: &JobId, m: &OutMessage) -> io::Result<()> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let headers: serde_json::Map<String, serde_json::Value> =
        m.headers.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(text(v)))).collect();
    let line = serde_json::json!({
        "topic": topic,
        "key": m.key.as_deref().map(text),
        "value": text(&m.value),
        "headers": headers,
        "simulation": job.simulation, "subset": job.subset, "run": job.run,
        "timestep": m.meta.timestep, "substep": m.meta.substep, "seq": m.meta.seq,
        "event_time_ms": m.event_time_ms,
    });
    serde_json::to_writer(&mut *out, &line)?;
    out.push(b'\n');
    Ok(())
}
