//! Deliberate disorder (`kafka.topics.*.disorder`): a per-job stage between the model and the
//! producer that holds some messages back (late, jitter) and sends some twice (duplicate).
//!
//! A held message is released at the end of the first timestep whose clock is at least its event
//! time plus its delay (for late messages `by` plus the jitter bound), in order of that release
//! time; whatever is still held when the job ends is released then, in event order. Draws come from a stream per (scenario seed, job index, topic alias), never from the
//! plugins' streams, so turning disorder on changes no record and no plugin-visible number, and a
//! seed disorders the same messages whatever the thread count or sharding. Event times, keys,
//! values and headers (including `distroduce-id`) are never changed.

use distroduce_model::message::{ns_to_ms, OutMessage};
use distroduce_model::rng::{derive, SplitMix64};
use distroduce_model::{Disorder, JobId, Model};

pub struct DisorderStage {
    /// Per topic (by index): its disorder and its random stream.
    topics: Vec<Option<(Disorder, SplitMix64)>>,
    held: Vec<Held>,
    /// Arrival counter, to keep emission order among equal event times.
    arrivals: u64,
}

struct Held {
    release_ms: i64,
    event_ms: i64,
    arrival: u64,
    msg: OutMessage,
}

/// A stable 64-bit digest of a topic alias (FNV-1a), so the seed does not depend on topic order.
fn alias_hash(alias: &str) -> u64 {
    alias.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

impl DisorderStage {
    /// `None` when no topic is disordered (messages then go straight to the producer).
    pub fn new(model: &Model, job: &JobId) -> Option<Self> {
        let topics: Vec<_> = model
            .kafka
            .topics
            .iter()
            .map(|t| {
                t.disorder.map(|d| {
                    (d, SplitMix64(derive(&[model.seed, 0xD150_4DE4, job.index as u64, alias_hash(&t.alias)])))
                })
            })
            .collect();
        topics.iter().any(Option::is_some).then_some(Self { topics, held: Vec::new(), arrivals: 0 })
    }

    /// Messages of one block, in emission order: append those to send now to `out`, hold the rest.
    pub fn admit(&mut self, msgs: Vec<OutMessage>, out: &mut Vec<OutMessage>) {
        for m in msgs {
            let Some((d, rng)) = self.topics.get_mut(m.topic).and_then(Option::as_mut) else {
                out.push(m);
                continue;
            };
            // Every configured draw is made for every message, so one setting's draws do not
            // shift with another's outcome.
            let late = d.late.filter(|(f, _)| rng.next_f64() < *f).map(|(_, by)| by);
            let jitter = d.jitter_ms.filter(|j| *j > 0).map_or(0, |j| (rng.next_u64() % (j as u64 + 1)) as i64);
            let twice = d.duplicate > 0.0 && rng.next_f64() < d.duplicate;
            // A late message also waits out the jitter bound, so that it trails every message
            // `by` newer than itself even when those are jittered.
            let delay = late.map_or(jitter, |by| by.saturating_add(d.jitter_ms.unwrap_or(0)));
            let copies = if twice { vec![m.clone(), m] } else { vec![m] };
            for m in copies {
                if delay == 0 {
                    out.push(m);
                } else {
                    let event_ms = m.event_time_ms.unwrap_or(0);
                    self.arrivals += 1;
                    self.held.push(Held {
                        release_ms: event_ms.saturating_add(delay),
                        event_ms,
                        arrival: self.arrivals,
                        msg: m,
                    });
                }
            }
        }
    }

    /// End of a timestep at virtual clock `now_ns`: release what is due, in event order.
    pub fn timestep_done(&mut self, now_ns: i64, out: &mut Vec<OutMessage>) {
        let now_ms = ns_to_ms(now_ns);
        if !self.held.iter().any(|h| h.release_ms <= now_ms) {
            return;
        }
        let (due, keep): (Vec<Held>, Vec<Held>) =
            std::mem::take(&mut self.held).into_iter().partition(|h| h.release_ms <= now_ms);
        self.held = keep;
        release(due, out, |h| (h.release_ms, h.event_ms, h.arrival));
    }

    /// End of the job: everything still held, in event order.
    pub fn finish(&mut self, out: &mut Vec<OutMessage>) {
        release(std::mem::take(&mut self.held), out, |h| (h.event_ms, 0, h.arrival));
    }
}

fn release(mut due: Vec<Held>, out: &mut Vec<OutMessage>, order: impl Fn(&Held) -> (i64, i64, u64)) {
    due.sort_by_key(|h| order(h));
    out.extend(due.into_iter().map(|h| h.msg));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(d: Disorder) -> DisorderStage {
        DisorderStage { topics: vec![Some((d, SplitMix64(7)))], held: Vec::new(), arrivals: 0 }
    }

    fn msg(seq: u64, t_ms: i64) -> OutMessage {
        OutMessage {
            topic: 0,
            key: None,
            value: seq.to_string().into_bytes(),
            headers: vec![],
            partition: None,
            event_time_ms: Some(t_ms),
            meta: distroduce_model::message::MsgMeta { seq, ..Default::default() },
        }
    }

    #[test]
    fn late_messages_wait_until_the_clock_passes_event_time_plus_by() {
        let mut s = stage(Disorder { late: Some((1.0, 15_000)), jitter_ms: None, duplicate: 0.0 });
        let mut out = Vec::new();
        s.admit(vec![msg(0, 1_000)], &mut out);
        assert!(out.is_empty());
        s.timestep_done(15_999_000_000, &mut out);
        assert!(out.is_empty(), "not yet due at 15.999 s");
        s.timestep_done(16_000_000_000, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn duplicates_are_adjacent_copies_and_the_rest_passes_in_order() {
        let mut s = stage(Disorder { late: None, jitter_ms: None, duplicate: 0.5 });
        let mut out = Vec::new();
        s.admit((0..200).map(|i| msg(i, 0)).collect(), &mut out);
        let seqs: Vec<u64> = out.iter().map(|m| m.meta.seq).collect();
        let mut dedup = seqs.clone();
        dedup.dedup();
        assert_eq!(dedup, (0..200).collect::<Vec<_>>(), "order kept, copies adjacent");
        let dups = seqs.len() - 200;
        assert!((60..140).contains(&dups), "about half duplicated: {dups}");
    }

    #[test]
    fn held_messages_are_released_at_the_end_in_event_order() {
        let mut s = stage(Disorder { late: None, jitter_ms: Some(5_000), duplicate: 0.0 });
        let mut out = Vec::new();
        s.admit((0..50).map(|i| msg(i, 1_000 * (50 - i as i64))).collect(), &mut out);
        let passed = out.len();
        s.finish(&mut out);
        assert_eq!(out.len(), 50);
        let times: Vec<i64> = out[passed..].iter().map(|m| m.event_time_ms.unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    }
}
