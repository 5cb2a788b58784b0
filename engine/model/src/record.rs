//! Records: the rows a run writes, one per block per timestep plus each job's initial row, and
//! their JSON form (the same bytes in records.jsonl and on a `records_topic`).

use crate::plan::{JobId, Model};
use crate::value::json_text::{write_json_text, Style};
use crate::value::Val;
use serde_json::ser::{CompactFormatter, Formatter};
use serde_json::Value as Json;
use std::io;

/// One output row: the state variables (in declaration order) and the row's bookkeeping; the job's
/// identity supplies `simulation, subset, run`.
#[derive(Debug, Clone)]
pub struct Record {
    pub substep: u32,
    pub timestep: u64,
    pub vals: Vec<Val>,
}

/// A record as the writers read it: a [`Record`] or a row of a [`PackedRecords`].
pub trait RecordView<'v>: Copy {
    fn substep(self) -> u32;
    fn timestep(self) -> u64;
    /// The values' MessagePack bytes, in declaration order.
    fn vals(self) -> impl Iterator<Item = &'v [u8]> + Clone;
}

impl<'v> RecordView<'v> for &'v Record {
    fn substep(self) -> u32 {
        self.substep
    }
    fn timestep(self) -> u64 {
        self.timestep
    }
    fn vals(self) -> impl Iterator<Item = &'v [u8]> + Clone {
        self.vals.iter().map(|v| &v[..])
    }
}

/// Records packed for the writers: every value's bytes back to back in one buffer. A job hands
/// its records to the writer thread as a few buffers rather than one allocation per value and
/// record (which the writer thread then had to free, contending with the job threads' allocator).
#[derive(Debug, Default)]
pub struct PackedRecords {
    bytes: Vec<u8>,
    /// Where each value ends in `bytes`.
    ends: Vec<usize>,
    /// Each record's substep, timestep and where its values end in `ends`.
    rows: Vec<(u32, u64, usize)>,
}

/// A record whose values the caller holds, as slices of any byte buffers: the in-guest loop's
/// rows, read from buffers it reuses, without a shared value per variable.
#[derive(Debug)]
pub struct Row<'v, V> {
    pub substep: u32,
    pub timestep: u64,
    pub vals: &'v [V],
}

impl<V> Clone for Row<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Row<'_, V> {}

impl<'v, V: AsRef<[u8]>> RecordView<'v> for Row<'v, V> {
    fn substep(self) -> u32 {
        self.substep
    }
    fn timestep(self) -> u64 {
        self.timestep
    }
    fn vals(self) -> impl Iterator<Item = &'v [u8]> + Clone {
        self.vals.iter().map(AsRef::as_ref)
    }
}

impl PackedRecords {
    pub fn push<'v>(&mut self, r: impl RecordView<'v>) {
        for v in r.vals() {
            self.bytes.extend_from_slice(v);
            self.ends.push(self.bytes.len());
        }
        self.rows.push((r.substep(), r.timestep(), self.ends.len()));
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Empty, keeping the buffers' capacity (a batch the writer is done with, reused by a job).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.rows.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Bytes of values held.
    pub fn value_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// Bytes of memory the batch holds: its values and the offsets beside them (for records of
    /// small numbers the offsets outweigh the values).
    pub fn footprint(&self) -> usize {
        self.bytes.capacity()
            + self.ends.capacity() * std::mem::size_of::<usize>()
            + self.rows.capacity() * std::mem::size_of::<(u32, u64, usize)>()
    }

    /// Append the batch to `out` in the form [`PackedRecords::from_spilled`] reads: for a batch
    /// that waits on disk rather than in memory. Native byte order: it is read back by the same
    /// process.
    pub fn spill(&self, out: &mut Vec<u8>) {
        for n in [self.bytes.len(), self.ends.len(), self.rows.len()] {
            out.extend_from_slice(&(n as u64).to_ne_bytes());
        }
        out.extend_from_slice(&self.bytes);
        self.ends.iter().for_each(|e| out.extend_from_slice(&(*e as u64).to_ne_bytes()));
        for (substep, timestep, end) in &self.rows {
            out.extend_from_slice(&substep.to_ne_bytes());
            out.extend_from_slice(&timestep.to_ne_bytes());
            out.extend_from_slice(&(*end as u64).to_ne_bytes());
        }
    }

    /// A batch [`PackedRecords::spill`] wrote. Anything else (a file changed under the run) is an
    /// `InvalidData` error, never a batch whose offsets point outside its values.
    pub fn from_spilled(b: &[u8]) -> io::Result<Self> {
        let mut r = Spilled(b);
        let (n_bytes, n_ends, n_rows) = (r.len()?, r.len()?, r.len()?);
        let bytes = r.take(n_bytes)?.to_vec();
        let mut ends = Vec::with_capacity(n_ends.min(bytes.len() + 1));
        for _ in 0..n_ends {
            let e = r.len()?;
            if e > bytes.len() || ends.last().is_some_and(|l| e < *l) {
                return Err(spill_damaged());
            }
            ends.push(e);
        }
        let mut rows = Vec::with_capacity(n_rows.min(ends.len() + 1));
        for _ in 0..n_rows {
            let substep = u32::from_ne_bytes(r.array()?);
            let timestep = u64::from_ne_bytes(r.array()?);
            let end = r.len()?;
            if end > ends.len() || rows.last().is_some_and(|&(_, _, l)| end < l) {
                return Err(spill_damaged());
            }
            rows.push((substep, timestep, end));
        }
        if !r.0.is_empty() {
            return Err(spill_damaged());
        }
        Ok(Self { bytes, ends, rows })
    }

    pub fn iter(&self) -> impl Iterator<Item = RecordRef<'_>> {
        let mut first = 0;
        self.rows.iter().map(move |&(substep, timestep, end)| {
            let start = if first == 0 { 0 } else { self.ends[first - 1] };
            let r = RecordRef { substep, timestep, bytes: &self.bytes, ends: &self.ends[first..end], start };
            first = end;
            r
        })
    }
}

fn spill_damaged() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a spilled record batch is damaged")
}

/// Reads what [`PackedRecords::spill`] wrote, front to back.
struct Spilled<'b>(&'b [u8]);

impl<'b> Spilled<'b> {
    fn take(&mut self, n: usize) -> io::Result<&'b [u8]> {
        let (head, rest) = self.0.split_at_checked(n).ok_or_else(spill_damaged)?;
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }
    fn len(&mut self) -> io::Result<usize> {
        usize::try_from(u64::from_ne_bytes(self.array()?)).map_err(|_| spill_damaged())
    }
}

/// One record of a [`PackedRecords`].
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'v> {
    pub substep: u32,
    pub timestep: u64,
    bytes: &'v [u8],
    /// Where this record's values end in `bytes`.
    ends: &'v [usize],
    /// Where its first value starts.
    start: usize,
}

impl<'v> RecordView<'v> for RecordRef<'v> {
    fn substep(self) -> u32 {
        self.substep
    }
    fn timestep(self) -> u64 {
        self.timestep
    }
    fn vals(self) -> impl Iterator<Item = &'v [u8]> + Clone {
        let bytes = self.bytes;
        let mut start = self.start;
        self.ends.iter().map(move |&e| {
            let v = &bytes[start..e];
            start = e;
            v
        })
    }
}

/// Append one record as a JSON object: state variables (their JSON-quoted names in `keys`), then
/// the bookkeeping fields, with Python's separators. Values go straight from MessagePack to text
/// ([`write_json_text`]); a value that is not valid MessagePack is an `InvalidData` error and
/// leaves `out` as it was.
pub fn write_record_json<'v>(
    out: &mut Vec<u8>,
    keys: &[String],
    job: &JobId,
    r: impl RecordView<'v>,
) -> io::Result<()> {
    write_record_json_cached(out, keys, job, r, None)
}

/// [`write_record_json`], with the text of values a writer wrote before looked up in `cache`
/// (the same bytes, the same errors).
pub fn write_record_json_cached<'v>(
    out: &mut Vec<u8>,
    keys: &[String],
    job: &JobId,
    r: impl RecordView<'v>,
    cache: Option<&mut TextCache>,
) -> io::Result<()> {
    let start = out.len();
    let (substep, timestep) = (r.substep(), r.timestep());
    let mut slots = cache.and_then(|c| c.row(substep, keys.len()));
    // The values written so far and where their text is in `out`: a value byte for byte equal
    // to one of them (chat's two clients hold the same messages) has the same text, copied.
    let mut done: [(&[u8], usize, usize); SAME_VALUES] = [(&[], 0, 0); SAME_VALUES];
    out.push(b'{');
    for (i, (k, v)) in keys.iter().zip(r.vals()).enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        let at = out.len();
        let seen = if v.len() >= SAME_MIN_LEN { done[..i.min(SAME_VALUES)].iter().find(|d| d.0 == v) } else { None };
        let slot = match &mut slots {
            Some((s, kept)) if (SAME_MIN_LEN..=TEXT_MAX).contains(&v.len()) => s.get_mut(i).map(|s| (s, &mut **kept)),
            _ => None,
        };
        if let Some(&(_, s, e)) = seen {
            out.extend_from_within(s..e);
        } else if let Some((slot, kept)) = slot {
            if slot.value == v {
                out.extend_from_slice(&slot.text);
                slot.misses = 0;
            } else if let Err(e) = write_json_text(out, v, Style::Python) {
                out.truncate(start);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            } else {
                slot.misses = slot.misses.saturating_add(1);
                let (old, new) = (slot.value.len() + slot.text.len(), v.len() + (out.len() - at));
                let fits = *kept - old + new <= TEXT_BUDGET;
                if fits && (slot.misses <= TEXT_KEEP_MISSES || slot.misses.is_multiple_of(TEXT_BACKOFF)) {
                    // Fresh buffers of the exact size, so that what `kept` counts is what is held.
                    slot.value = v.to_vec();
                    slot.text = out[at..].to_vec();
                    *kept = *kept - old + new;
                }
            }
        } else if let Err(e) = write_json_text(out, v, Style::Python) {
            out.truncate(start);
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        if let Some(d) = done.get_mut(i) {
            *d = (v, at, out.len());
        }
    }
    if !keys.is_empty() {
        out.extend_from_slice(b", ");
    }
    let fields: [(&[u8], u64); 5] = [
        (b"\"simulation\": ", u64::from(job.simulation)),
        (b", \"subset\": ", u64::from(job.subset)),
        (b", \"run\": ", u64::from(job.run)),
        (b", \"substep\": ", u64::from(substep)),
        (b", \"timestep\": ", timestep),
    ];
    for (name, n) in fields {
        out.extend_from_slice(name);
        // Writing to a Vec cannot fail.
        let _ = CompactFormatter.write_u64(out, n);
    }
    out.push(b'}');
    Ok(())
}

/// The first this many values of a record are looked up when a later value may repeat one.
const SAME_VALUES: usize = 16;

/// Values shorter than this are written again rather than looked up (a comparison would cost
/// about what their text does).
const SAME_MIN_LEN: usize = 16;

/// The JSON text of values a record writer wrote, by substep and column, so that a value byte for
/// byte equal to the last one of its column at the same substep is written as a copy of that
/// one's text (a model whose state repeats block by block from timestep to timestep, as chat's
/// does under a frozen clock). Values are compared in full, never by a hash; the text of a value
/// is a function of its bytes alone.
#[derive(Debug, Default)]
pub struct TextCache {
    /// `substep * columns + column`, for the first [`TEXT_SUBSTEPS`] substeps.
    slots: Vec<TextSlot>,
    /// Bytes of values and texts held in `slots`, at most [`TEXT_BUDGET`].
    kept: usize,
}

#[derive(Debug, Default)]
struct TextSlot {
    value: Vec<u8>,
    text: Vec<u8>,
    /// Misses in a row: after [`TEXT_KEEP_MISSES`], only one miss in [`TEXT_BACKOFF`] is kept.
    misses: u32,
}

/// Substeps whose values are kept (a record of a later substep is written without the cache).
const TEXT_SUBSTEPS: usize = 64;
/// Values longer than this are not kept.
const TEXT_MAX: usize = 64 * 1024;
/// Bytes held at most, values and texts together: a model of many columns of large values
/// (64 substeps × columns × up to 2 × 64 KiB) would otherwise hold gigabytes beside the records'
/// own bounded window.
const TEXT_BUDGET: usize = 8 << 20;
const TEXT_KEEP_MISSES: u32 = 4;
const TEXT_BACKOFF: u32 = 64;

impl TextCache {
    /// The slots of `substep`'s records, `columns` of them, and the bytes held in all slots.
    fn row(&mut self, substep: u32, columns: usize) -> Option<(&mut [TextSlot], &mut usize)> {
        let s = substep as usize;
        if s >= TEXT_SUBSTEPS || columns == 0 {
            return None;
        }
        let end = (s + 1) * columns;
        if self.slots.len() < end {
            self.slots.resize_with(end, TextSlot::default);
        }
        Some((&mut self.slots[s * columns..end], &mut self.kept))
    }
}

/// JSON-quoted state variable names, for [`write_record_json`].
pub fn json_keys(model: &Model) -> Vec<String> {
    // A string always encodes; `Json::from` cannot fail where `to_string` returns a Result.
    model.vars.iter().map(|v| Json::from(v.name.as_str()).to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_gives_back_each_records_values() {
        let rec = |substep, timestep, vals: &[&[u8]]| Record {
            substep,
            timestep,
            vals: vals.iter().map(|v| Val::from(*v)).collect(),
        };
        let records =
            [rec(0, 0, &[&[0x01], &[0xa1, b'x']]), rec(1, 1, &[]), rec(2, 1, &[&[0xc0], &[0x92, 0x01, 0x02]])];
        let mut batch = PackedRecords::default();
        records.iter().for_each(|r| batch.push(r));
        assert_eq!(batch.len(), 3);
        for (r, b) in records.iter().zip(batch.iter()) {
            assert_eq!((r.substep(), r.timestep()), (b.substep(), b.timestep()));
            assert_eq!(r.vals().collect::<Vec<_>>(), b.vals().collect::<Vec<_>>());
        }
        // Spilled and read back, the batch is the same; cut or lengthened, it is refused.
        let mut disk = Vec::new();
        batch.spill(&mut disk);
        let back = PackedRecords::from_spilled(&disk).unwrap();
        assert_eq!((back.bytes.clone(), back.ends.clone(), back.rows.clone()), (batch.bytes, batch.ends, batch.rows));
        for cut in 0..disk.len() {
            assert!(PackedRecords::from_spilled(&disk[..cut]).is_err(), "cut at {cut}");
        }
        disk.push(0);
        assert!(PackedRecords::from_spilled(&disk).is_err());
    }

    /// A value equal to an earlier one of its record is written as that one's text was; values
    /// that differ, and one that is not MessagePack, are each written (or refused) as they are.
    #[test]
    fn a_repeated_value_has_the_same_text() {
        use crate::value::json::from_json;
        let msg = from_json(&serde_json::json!({"messages": [{"input": "Hi \"B\"", "n": [1, 2.5, null]}]}));
        let other = from_json(&serde_json::json!({"messages": [{"input": "Hi \"A\"", "n": [1, 2.5, null]}]}));
        let job = JobId { index: 0, simulation: 0, subset: 1, run: 2, mc_run: 2 };
        let keys: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|k| format!("\"{k}\"")).collect();
        let text = |v: &[u8]| {
            let mut t = Vec::new();
            write_json_text(&mut t, v, Style::Python).unwrap();
            String::from_utf8(t).unwrap()
        };
        let (m, o) = (text(&msg), text(&other));
        let rec =
            Record { substep: 3, timestep: 4, vals: [&msg, &other, &msg, &[0x01][..], &msg].map(Val::from).to_vec() };
        let mut out = Vec::new();
        write_record_json(&mut out, &keys, &job, &rec).unwrap();
        let want = format!(
            "{{\"a\": {m}, \"b\": {o}, \"c\": {m}, \"d\": 1, \"e\": {m}, \"simulation\": 0, \"subset\": 1, \"run\": 2, \"substep\": 3, \"timestep\": 4}}"
        );
        assert_eq!(String::from_utf8(out).unwrap(), want);
        // Truncated, the repeated value is refused as the first one would be, and nothing is left.
        let bad = &msg[..msg.len() - 1];
        let rec = Record { substep: 0, timestep: 0, vals: vec![Val::from(bad), Val::from(bad)] };
        let mut out = b"kept".to_vec();
        assert!(write_record_json(&mut out, &keys, &job, &rec).is_err());
        assert_eq!(out, b"kept");
    }

    /// Records written through a [`TextCache`] are byte for byte those written without, round
    /// after round: values that repeat at their column and substep (hits), values of the same
    /// length one byte apart, a value moved to another column or substep, one that is not
    /// MessagePack after a good one of its length (refused, nothing written, nothing kept), and
    /// substeps past those kept.
    #[test]
    fn the_text_cache_writes_what_a_fresh_writer_writes() {
        use crate::value::json::from_json;
        let hi = from_json(&serde_json::json!({"messages": [{"input": "Hi B", "n": [1, 2.5, null]}]}));
        let near = {
            let at = hi.windows(4).position(|w| w == b"Hi B").unwrap();
            let mut v = hi.clone();
            v[at + 3] = b'C';
            v
        };
        // A string's header made the reserved 0xc1: the same length, malformed.
        let bad = {
            let at = hi.windows(4).position(|w| w == b"Hi B").unwrap() - 1;
            let mut v = hi.clone();
            v[at] = 0xc1;
            v
        };
        let not_utf8 = {
            let at = hi.windows(4).position(|w| w == b"Hi B").unwrap();
            let mut v = hi.clone();
            v[at] = 0xff;
            v
        };
        let long = from_json(&serde_json::json!({"users": ["A", "B"], "text": "x".repeat(300)}));
        let vals: [&[u8]; 6] = [&hi, &near, &bad, &not_utf8, &long, &[0x01]];
        let job = JobId { index: 0, simulation: 0, subset: 0, run: 1, mc_run: 1 };
        let keys: Vec<String> = ["a", "b", "c"].iter().map(|k| format!("\"{k}\"")).collect();
        let mut cache = TextCache::default();
        let (mut hits, mut refused) = (0, 0);
        for round in 0..400usize {
            // Mostly repeats, now and then another value in a column, and substeps past the
            // kept ones.
            let pick =
                |c: usize| if (round + c).is_multiple_of(7) { vals[(round / 7 + c) % vals.len()] } else { vals[c] };
            let rec = Record {
                substep: [1, 2, 3, TEXT_SUBSTEPS as u32 + 1][round % 4],
                timestep: round as u64,
                vals: [pick(0), pick(4), pick((round / 3) % 2)].map(Val::from).to_vec(),
            };
            let (mut want, mut got) = (b"line\n".to_vec(), b"line\n".to_vec());
            let kept = |c: usize| {
                cache.slots.get(rec.substep as usize * keys.len() + c).is_some_and(|s| s.value == rec.vals[c][..])
            };
            hits += (0..keys.len()).filter(|&c| kept(c)).count();
            let w = write_record_json(&mut want, &keys, &job, &rec);
            let g = write_record_json_cached(&mut got, &keys, &job, &rec, Some(&mut cache));
            assert_eq!(w.is_ok(), g.is_ok(), "round {round}");
            assert_eq!(String::from_utf8_lossy(&want), String::from_utf8_lossy(&got), "round {round}");
            refused += usize::from(g.is_err());
        }
        assert!(refused > 0, "a malformed value was written");
        assert!(hits > 200, "the cache was used ({hits} hits)");
        assert!(cache.slots.iter().all(|s| s.value.is_empty() || to_json_ok(&s.value)), "only good values are kept");
        assert_eq!(cache.slots.len(), TEXT_SUBSTEPS.min(4) * keys.len(), "no slots past the substeps written");
    }

    /// Many columns of large values at many substeps: the cache holds at most its budget, and
    /// what it writes is still a fresh writer's.
    #[test]
    fn the_text_cache_holds_at_most_its_budget() {
        use crate::value::json::from_json;
        let columns = 40;
        let keys: Vec<String> = (0..columns).map(|c| format!("\"v{c}\"")).collect();
        let job = JobId { index: 0, simulation: 0, subset: 0, run: 1, mc_run: 1 };
        let mut cache = TextCache::default();
        for round in 0..3u32 {
            for substep in 0..TEXT_SUBSTEPS as u32 {
                let vals: Vec<Vec<u8>> = (0..columns)
                    .map(|c| from_json(&serde_json::json!({"c": c, "s": substep, "text": "x".repeat(30_000)})))
                    .collect();
                let rec = Record {
                    substep,
                    timestep: u64::from(round),
                    vals: vals.iter().map(|v| Val::from(&v[..])).collect(),
                };
                let (mut want, mut got) = (Vec::new(), Vec::new());
                write_record_json(&mut want, &keys, &job, &rec).unwrap();
                write_record_json_cached(&mut got, &keys, &job, &rec, Some(&mut cache)).unwrap();
                assert!(want == got, "round {round} substep {substep}");
                let held: usize = cache.slots.iter().map(|s| s.value.len() + s.text.len()).sum();
                assert_eq!(held, cache.kept);
                assert!(cache.kept <= TEXT_BUDGET, "{} bytes held", cache.kept);
            }
        }
        // Without the budget this would have held 64 × 40 × ~60 KB, about 150 MB.
        assert!(cache.kept > TEXT_BUDGET / 2, "the cache was used up to near its budget ({})", cache.kept);
    }

    fn to_json_ok(v: &[u8]) -> bool {
        crate::value::json::to_json(v).is_ok()
    }
}
