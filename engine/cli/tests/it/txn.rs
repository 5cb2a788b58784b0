//! `kafka.transactions` without a real broker: the settings librdkafka's transactional producer
//! cannot work with are refused by `engine validate` at their position; the simulation tells the
//! sink where every job's blocks and timesteps end, the same in the host loop and in the plugin's
//! in-guest loop (many blocks per guest call), and a failed job ends with "discard"; and a run on the
//! embedded broker commits one transaction per job and timestep (or block). The real broker's side
//! (what a `read_committed` consumer sees) is in kafka_txn.rs.

use crate::common::*;
use distroduce::model::message::OutMessage;
use distroduce::model::output::{Boundary, DeliveryStats, MessageSink};
use distroduce::model::JobId;
use distroduce::plugin_host::wasm::WasmBackend;
use distroduce::sim::{self as exec, DataPlane, RunOptions};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// `scenarios/chat.yaml` with its plugin prebuilt and `kafka` extended by `extra` (YAML lines at
/// the indentation of `kafka:`'s keys).
fn chat(extra: &str) -> String {
    let y = read(&repo().join("scenarios/chat.yaml"))
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")))
        .replace("kafka:\n  topics:", &format!("kafka:\n{extra}  topics:"));
    assert!(y.contains(extra), "scenarios/chat.yaml changed its kafka section; update this test");
    y
}

fn validate(yaml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), yaml);
    let out = engine(&["validate", path.to_str().unwrap()]);
    (out.status.code().unwrap_or(-1), stderr(&out).replace(&format!("{}/", dir.path().display()), ""))
}

/// Line of the first line of `yaml` that contains `needle`, 1-based (for expected positions).
fn line_of(yaml: &str, needle: &str) -> usize {
    yaml.lines().position(|l| l.contains(needle)).expect("needle in the scenario") + 1
}

#[test]
fn settings_transactions_cannot_use_are_refused_at_validate_with_positions() {
    let good = chat("  transactions: timestep\n  producer: {acks: all, linger.ms: 5}\n");
    assert_eq!(validate(&good), (0, String::new()));

    let y = chat("  transactions: timestep\n  producer:\n    acks: 1\n    enable.idempotence: false\n    transactional.id: mine\n");
    let (code, err) = validate(&y);
    assert_eq!(code, 2, "{err}");
    let acks = line_of(&y, "acks: 1");
    assert!(
        err.contains(&format!("scenario.yaml:{acks}:11: `kafka.transactions: timestep` needs `acks: all`, not `1`")),
        "{err}"
    );
    let idem = line_of(&y, "enable.idempotence");
    assert!(
        err.contains(&format!("scenario.yaml:{idem}:25: `kafka.transactions: timestep` needs idempotence")),
        "{err}"
    );
    let id = line_of(&y, "transactional.id");
    assert!(err.contains(&format!("scenario.yaml:{id}:5: `transactional.id` is set by the engine")), "{err}");
    assert!(err.contains("hint: remove `acks` (the default is `all`) or set `kafka.transactions: off`"), "{err}");

    // The same producer settings are fine without transactions.
    let y = chat("  producer: {acks: 1}\n");
    assert_eq!(validate(&y).0, 0);

    // What only librdkafka knows is refused by librdkafka, also at validate.
    let y = chat("  transactions: block\n  producer: {max.in.flight.requests.per.connection: 10}\n");
    let (code, err) = validate(&y);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the producer properties do not work together") && err.contains("max.in.flight"), "{err}");

    let y = chat("  transactions: always\n");
    let (code, err) = validate(&y);
    assert_eq!(code, 2, "{err}");
    let at = line_of(&y, "transactions: always");
    assert!(err.contains(&format!("scenario.yaml:{at}:17")) && err.contains("unknown variant `always`"), "{err}");

    let y = chat("  transactions: timestep\n  transactional_id_prefix: \"two words\"\n");
    let (code, err) = validate(&y);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must be a non-empty word without spaces"), "{err}");
}

/// What a sink is told, per job, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Started,
    /// A message's (timestep, substep).
    Msg(u64, u32),
    At(Boundary),
    Ended(bool),
}

#[derive(Default)]
struct Recorder {
    jobs: Mutex<BTreeMap<usize, Vec<Event>>>,
}

impl Recorder {
    fn push(&self, job: usize, e: Event) {
        self.jobs.lock().unwrap().entry(job).or_default().push(e);
    }
}

impl MessageSink for Recorder {
    fn send(&self, m: &OutMessage) -> Result<(), String> {
        self.push(m.meta.job, Event::Msg(m.meta.timestep, m.meta.substep));
        Ok(())
    }
    fn finish(&self, _: Duration) -> DeliveryStats {
        DeliveryStats::default()
    }
    fn describe(&self) -> String {
        "recorder".into()
    }
    fn job_started(&self, job: &JobId) -> Result<(), String> {
        self.push(job.index, Event::Started);
        Ok(())
    }
    fn boundary(&self, job: &JobId, at: Boundary) -> Result<(), String> {
        self.push(job.index, Event::At(at));
        Ok(())
    }
    fn job_ended(&self, job: &JobId, commit: bool) -> Result<(), String> {
        self.push(job.index, Event::Ended(commit));
        Ok(())
    }
}

fn record(yaml: &str, plane: DataPlane) -> (BTreeMap<usize, Vec<Event>>, &'static str) {
    let dir = tempfile::tempdir().unwrap();
    let model = distroduce::scenario::load(&scenario(dir.path(), yaml)).unwrap();
    let (backend, resolved) = WasmBackend::load(&model).unwrap();
    let sink = Recorder::default();
    let opts = RunOptions { threads: 2, data_plane: plane, ..Default::default() };
    let report = exec::run(&model, &backend, &resolved, &sink, &mut [], &opts).unwrap();
    (sink.jobs.into_inner().unwrap(), report.data_plane)
}

/// Every message lies between the boundaries of its own block and timestep: after block k−1's
/// (or the previous timestep's) and before its block's, for blocks 1..=`blocks` of timesteps
/// 1..=`timesteps`; the job starts first and ends with `ended`.
fn check_job(events: &[Event], blocks: u32, timesteps: u64, ended: bool) {
    assert_eq!(events.first(), Some(&Event::Started));
    assert_eq!(events.last(), Some(&Event::Ended(ended)));
    let (mut t, mut k) = (1u64, 1u32);
    let mut messages = 0;
    for e in &events[1..events.len() - 1] {
        match *e {
            Event::Msg(mt, mk) => {
                assert_eq!((mt, mk), (t, k), "a message of another block before the boundary of {t}/{k}: {events:?}");
                messages += 1;
            }
            Event::At(Boundary::Block { timestep, substep }) => {
                assert_eq!((timestep, substep), (t, k), "{events:?}");
                k += 1;
            }
            Event::At(Boundary::Timestep { timestep }) => {
                assert_eq!((timestep, k), (t, blocks + 1), "a timestep ended before its blocks: {events:?}");
                (t, k) = (t + 1, 1);
            }
            ref e => panic!("{e:?} in the middle of a job: {events:?}"),
        }
    }
    assert_eq!(t, timesteps + 1, "every timestep ended");
    assert!(messages > 0);
}

#[test]
fn blocks_and_timesteps_end_where_their_messages_do_in_both_loops() {
    let y = read(&repo().join("scenarios/chat.yaml"))
        .replace("{crate: ../plugins/chat}", &format!("{{wasm: {}}}", plugin("chat_plugin")))
        .replace("runs: 1\n", "runs: 3\n");
    let (host, plane) = record(&y, DataPlane::Host);
    assert_eq!(plane, "host");
    let (fused, plane) = record(&y, DataPlane::Fused);
    assert_eq!(plane, "fused", "chat runs in its in-guest loop");
    assert_eq!(host.len(), 3);
    for events in host.values() {
        check_job(events, 4, 10, true);
    }
    assert_eq!(host, fused, "the in-guest loop tells the sink the same, in the same order");
}

#[test]
fn a_failed_job_ends_with_discard_after_its_last_complete_timestep() {
    let y = format!(
        "name: t\nruns: 2\ntimesteps: 6\nstate: {{total: 0}}\nplugins:\n  gen: {{wasm: {}}}\n  bad: {{wasm: {}}}\nkafka:\n  topics:\n    load: {{name: load, format: raw}}\nblocks:\n  - policies: [{{fn: gen.emit, args: {{count: 3, size: 10}}}}]\n    updates: {{total: gen.count}}\n  - policies: [{{fn: bad.panic_policy, args: {{at: 4}}}}]\n",
        plugin("loadgen_plugin"),
        plugin("misbehave_plugin")
    );
    let (jobs, _) = record(&y, DataPlane::Auto);
    for events in jobs.values() {
        // Timesteps 1–3 whole, then block 1 of timestep 4 (sent, its block done), then the failure.
        let end = events.iter().position(|e| *e == Event::At(Boundary::Timestep { timestep: 3 })).unwrap();
        check_job(&[&events[..=end], &[Event::Ended(false)]].concat(), 2, 3, false);
        let tail: Vec<Event> = events[end + 1..].to_vec();
        let four = Event::Msg(4, 1);
        assert_eq!(
            tail,
            [
                vec![four.clone(), four.clone(), four],
                vec![Event::At(Boundary::Block { timestep: 4, substep: 1 }), Event::Ended(false)]
            ]
            .concat()
        );
    }
}

/// `engine run` on the embedded broker (librdkafka's mock cluster, which implements transactions):
/// one transaction per job and timestep, or per job and block, every message in one.
#[test]
fn the_embedded_broker_commits_one_transaction_per_timestep_or_block() {
    for mode in ["timestep", "block"] {
        let dir = tempfile::tempdir().unwrap();
        let y = chat(&format!("  transactions: {mode}\n")).replace("runs: 1\n", "runs: 2\n");
        let p = scenario(dir.path(), &y);
        let out = dir.path().join("out");
        let o = engine(&["run", p.to_str().unwrap(), "--write-messages", "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{mode}: {}", stderr(&o));
        let stdout = String::from_utf8_lossy(&o.stdout);
        // One transaction per job and timestep (block) that sent something.
        let groups: std::collections::BTreeSet<(u64, u64, u64)> = read(&out.join("messages.jsonl"))
            .lines()
            .map(|l| {
                let m: serde_json::Value = serde_json::from_str(l).unwrap();
                let k = if mode == "block" { m["substep"].as_u64().unwrap() } else { 0 };
                (m["run"].as_u64().unwrap(), m["timestep"].as_u64().unwrap(), k)
            })
            .collect();
        assert_eq!(groups.len(), if mode == "block" { 40 } else { 20 }, "chat sends in 2 of its 4 blocks");
        let per_job = groups.len() as u64 / 2;
        let s: serde_json::Value = serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
        let (d, t) = (&s["delivery"], &s["delivery"]["transactions"]);
        assert_eq!((d["produced"].as_u64(), d["acked"].as_u64()), (Some(80), Some(80)), "{s}");
        assert_eq!(t["mode"], mode);
        assert_eq!((t["committed"].as_u64(), t["messages_committed"].as_u64()), (Some(2 * per_job), Some(80)), "{t}");
        assert_eq!((t["aborted"].as_u64(), t["messages_aborted"].as_u64()), (Some(0), Some(0)), "{t}");
        // A commit on the in-process broker takes about a millisecond; 100 ms was the poll slice of
        // rdkafka's flush, which the sink no longer waits for.
        assert!(t["commit_ms"][0].as_f64().unwrap() < 50.0, "{t}");
        assert!(
            stdout.contains(&format!("transactions    per {mode}: {} committed (80 msgs), 0 aborted", 2 * per_job)),
            "{stdout}"
        );
        assert!(
            s["kafka"].as_str().unwrap().contains(&format!("one transaction per {mode} (transactional.id chat-")),
            "{s}"
        );
    }
}
