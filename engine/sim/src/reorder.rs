//! Records (and `messages.jsonl` lines) of jobs that run ahead of the first unfinished one, held
//! until their turn.
//!
//! Records are written in job order, but jobs run side by side: while job 0 runs, job 1 (and any
//! job after it) may finish many batches. Those wait here, in memory up to a window of bytes and
//! beyond it in an unnamed temporary file, so that a run's memory stays bounded whatever the
//! jobs' lengths (one long first job and many short ones, or two long jobs on two threads) while
//! the job threads never wait for the writer.

use distroduce_model::record::PackedRecords;
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// What a job hands the writer thread in one piece.
pub(crate) enum Batch {
    Records(PackedRecords),
    /// Lines of `messages.jsonl`, each ending in a newline.
    MessageLines(Vec<u8>),
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Batch::Records(r) => r.is_empty(),
            Batch::MessageLines(l) => l.is_empty(),
        }
    }
    fn footprint(&self) -> usize {
        match self {
            Batch::Records(r) => r.footprint(),
            Batch::MessageLines(l) => l.capacity(),
        }
    }
    /// A tag byte, then the batch.
    fn spill(&self, out: &mut Vec<u8>) {
        match self {
            Batch::Records(r) => {
                out.push(0);
                r.spill(out);
            }
            Batch::MessageLines(l) => {
                out.push(1);
                out.extend_from_slice(l);
            }
        }
    }
    fn from_spilled(b: &[u8]) -> io::Result<Self> {
        match b.split_first() {
            Some((0, r)) => Ok(Batch::Records(PackedRecords::from_spilled(r)?)),
            Some((1, l)) => Ok(Batch::MessageLines(l.to_vec())),
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, "a spilled batch is damaged")),
        }
    }
}

/// Where one held batch is.
enum Held {
    Memory(Batch),
    /// At this offset of the spill file, this many bytes.
    Disk(u64, usize),
}

/// Batches of later jobs, by their position in the run's order.
pub(crate) struct Reorder {
    held: BTreeMap<usize, VecDeque<Held>>,
    /// Bytes of memory the batches in `held` take.
    in_memory: usize,
    window: usize,
    /// Where the spill file goes (it has no name and vanishes with the process).
    dir: PathBuf,
    file: Option<File>,
    file_len: u64,
    buf: Vec<u8>,
    /// Batches' bytes written to disk, in total (the run's report).
    pub(crate) spilled: u64,
    /// The most memory held at once.
    pub(crate) peak: usize,
}

impl Reorder {
    pub(crate) fn new(window: usize, dir: PathBuf) -> Self {
        Self {
            held: BTreeMap::new(),
            in_memory: 0,
            window,
            dir,
            file: None,
            file_len: 0,
            buf: Vec::new(),
            spilled: 0,
            peak: 0,
        }
    }

    /// Keep `batch` of the job at `pos` until [`Reorder::release`] of `pos`: in memory if it fits
    /// the window, else on disk.
    pub(crate) fn hold(&mut self, pos: usize, batch: Batch) -> io::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let size = batch.footprint();
        let held = if self.in_memory + size <= self.window {
            self.in_memory += size;
            self.peak = self.peak.max(self.in_memory);
            Held::Memory(batch)
        } else {
            self.buf.clear();
            batch.spill(&mut self.buf);
            let file = match &mut self.file {
                Some(f) => f,
                None => self.file.insert(unnamed_file(&self.dir)?),
            };
            let at = self.file_len;
            file.write_all_at(&self.buf, at)?;
            self.file_len += self.buf.len() as u64;
            self.spilled += self.buf.len() as u64;
            Held::Disk(at, self.buf.len())
        };
        self.held.entry(pos).or_default().push_back(held);
        Ok(())
    }

    /// Hand every batch held for the job at `pos` to `write`, in the order they came.
    pub(crate) fn release(&mut self, pos: usize, mut write: impl FnMut(&Batch)) -> io::Result<()> {
        for held in self.held.remove(&pos).unwrap_or_default() {
            match held {
                Held::Memory(batch) => {
                    self.in_memory -= batch.footprint();
                    write(&batch);
                }
                Held::Disk(at, len) => {
                    let file = self.file.as_ref().expect("a batch on disk has a file");
                    self.buf.resize(len, 0);
                    file.read_exact_at(&mut self.buf, at)?;
                    write(&Batch::from_spilled(&self.buf)?);
                }
            }
        }
        if self.held.is_empty() {
            // Nothing on disk is needed any more: give the space back.
            if let Some(f) = &self.file {
                f.set_len(0)?;
            }
            self.file_len = 0;
        }
        Ok(())
    }
}

/// A file in `dir` that no other process finds: created under a name no one else uses, then
/// unlinked at once, so it vanishes with the process however the run ends.
fn unnamed_file(dir: &std::path::Path) -> io::Result<File> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let path = dir.join(format!(".records-waiting-{}-{nanos}", std::process::id()));
    let file = File::options().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use distroduce_model::record::{Record, RecordView};
    use distroduce_model::value::Val;

    /// Records for an even tag, message lines for an odd one.
    fn batch(tag: u8, n: usize) -> Batch {
        if tag % 2 == 1 {
            return Batch::MessageLines(
                (0..n).flat_map(|i| format!("{{\"m\": {tag}, \"i\": {i}}}\n").into_bytes()).collect(),
            );
        }
        let mut b = PackedRecords::default();
        for i in 0..n {
            b.push(&Record { substep: 1, timestep: i as u64, vals: vec![Val::from(&[0xcc, tag][..])] });
        }
        Batch::Records(b)
    }

    fn tags(b: &Batch) -> Vec<(u64, Vec<u8>)> {
        match b {
            Batch::Records(b) => {
                b.iter().map(|r| (r.timestep(), r.vals().flat_map(|v| v.to_vec()).collect())).collect()
            }
            Batch::MessageLines(l) => vec![(u64::MAX, l.clone())],
        }
    }

    /// Past the window, batches go to disk; each job's come back in the order they came, the
    /// memory held never passes the window, and the file is emptied once nothing waits.
    #[test]
    fn batches_past_the_window_wait_on_disk_and_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let one = batch(0, 100).footprint().max(batch(1, 100).footprint());
        let mut r = Reorder::new(2 * one, dir.path().to_path_buf());
        let sent: Vec<(usize, u8)> = vec![(2, 1), (1, 2), (2, 3), (1, 4), (2, 5), (3, 6)];
        for &(pos, tag) in &sent {
            r.hold(pos, batch(tag, 100)).unwrap();
        }
        assert!(r.peak <= 2 * one, "{} held with a window of {}", r.peak, 2 * one);
        assert!(r.spilled > 0);
        for pos in 1..=3 {
            let mut got = Vec::new();
            r.release(pos, |b| got.push(tags(b))).unwrap();
            let want: Vec<_> = sent.iter().filter(|s| s.0 == pos).map(|s| tags(&batch(s.1, 100))).collect();
            assert_eq!(got, want, "job at {pos}");
        }
        assert_eq!((r.in_memory, r.file_len), (0, 0));
        assert_eq!(r.file.as_ref().unwrap().metadata().unwrap().len(), 0);
        // Nothing held for a position: nothing written.
        r.release(7, |_| panic!("nothing was held")).unwrap();
    }
}
