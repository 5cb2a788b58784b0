//! `bare-producer [--keys N] BROKERS TOPIC COUNT SIZE [key=value ...]`: send COUNT messages of SIZE
//! random alphanumeric bytes with rdkafka's ThreadedProducer and a delivery callback (the same
//! producer the engine uses, with the same defaults), and print one JSON line with acknowledged
//! msgs/s and MB/s, timed from the first send to the last acknowledgement. Unkeyed, or with
//! `--keys N` message `i` is keyed with the decimal text of `i % N`: the scheme of
//! `plugins/loadgen` (`keys: N`), so that the peer comparison's keyed rows do the same work.

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

struct Ctx {
    acked: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    last_ack_us: Arc<AtomicU64>,
    /// The first send (set just before it).
    start: Arc<OnceLock<Instant>>,
}

impl ClientContext for Ctx {}
impl ProducerContext for Ctx {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        match r {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
                let now = self.start.get().map_or(0, |s| s.elapsed().as_micros() as u64);
                self.last_ack_us.fetch_max(now, Ordering::Relaxed);
            }
            Err(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let mut keys = 0u64;
    if args.get(1).map(String::as_str) == Some("--keys") && args.len() > 2 {
        keys = args[2].parse().expect("--keys takes a number");
        args.drain(1..3);
    }
    if args.len() < 5 {
        eprintln!("usage: bare-producer [--keys N] BROKERS TOPIC COUNT SIZE [key=value ...]");
        std::process::exit(2);
    }
    let (brokers, topic) = (&args[1], &args[2]);
    let count: u64 = args[3].parse().expect("COUNT is a number");
    let size: usize = args[4].parse().expect("SIZE is a number");
    let mut cfg = ClientConfig::new();
    cfg.set("bootstrap.servers", brokers)
        .set("queue.buffering.max.messages", "1000000")
        .set("message.timeout.ms", "30000");
    for kv in &args[5..] {
        let (k, v) = kv.split_once('=').expect("settings are key=value");
        cfg.set(k, v);
    }
    let (acked, failed, last) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let start = Arc::new(OnceLock::new());
    let ctx = Ctx { acked: acked.clone(), failed: failed.clone(), last_ack_us: last.clone(), start: start.clone() };
    let producer: ThreadedProducer<Ctx> = cfg.create_with_context(ctx).expect("producer");
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let payload: Vec<u8> = (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x % ALPHABET.len() as u64) as usize]
        })
        .collect();
    let mut buf = payload.clone();
    let mut key = String::new();
    start.get_or_init(Instant::now);
    for i in 0..count {
        for (b, t) in buf.iter_mut().zip(i.to_le_bytes()) {
            *b = ALPHABET[t as usize % ALPHABET.len()];
        }
        let mut rec = BaseRecord::<str, [u8], ()>::to(topic).payload(&buf[..]);
        if keys > 0 {
            use std::fmt::Write;
            key.clear();
            let _ = write!(key, "{}", i % keys);
            rec = rec.key(&key[..]);
        }
        loop {
            match producer.send(rec) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    rec = r;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err((e, _)) => panic!("send failed: {e}"),
            }
        }
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    let secs = last.load(Ordering::Relaxed) as f64 / 1e6;
    let n = acked.load(Ordering::Relaxed);
    println!(
        "{{\"acked\": {n}, \"failed\": {}, \"seconds\": {secs:.3}, \"msgs_per_sec\": {:.0}, \"mb_per_sec\": {:.2}}}",
        failed.load(Ordering::Relaxed),
        n as f64 / secs,
        n as f64 * size as f64 / 1e6 / secs
    );
}
