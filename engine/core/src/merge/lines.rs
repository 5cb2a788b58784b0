//! Merging the shards' line files (records.jsonl, records.csv, messages.jsonl) by streaming.
//!
//! Each shard writes its jobs in output order and the shards' jobs are disjoint, so the merged file
//! is a k-way merge of job blocks: take the shard whose next job comes first, copy that job's lines,
//! repeat. Memory is one line per shard, whatever the size of the run (a run on EMR writes tens of
//! GB of records; reading them whole needed three times that in RAM).

use super::{output_order, JobKey, MergeError};
use distroduce_model::types::Semantics;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The longest line a shard file may hold: a record of a state far larger than any scenario's
/// (a file of one endless line must not be read into memory whole).
const MAX_LINE_BYTES: u64 = 256 << 20;

/// One shard's file, read a line at a time, with the job key of the line it holds.
struct Cursor {
    path: PathBuf,
    reader: BufReader<File>,
    line: String,
    line_no: usize,
    /// The held line's job, in output order; `None` at the end of the file.
    key: Option<JobKey>,
    /// [`MAX_LINE_BYTES`] (smaller in tests).
    max_line: u64,
}

impl Cursor {
    fn open(path: PathBuf) -> Result<Self, MergeError> {
        let file = File::open(&path).map_err(|error| MergeError::Io { path: path.clone(), error })?;
        Ok(Self {
            path,
            reader: BufReader::with_capacity(1 << 16, file),
            line: String::new(),
            line_no: 0,
            key: None,
            max_line: MAX_LINE_BYTES,
        })
    }

    /// The next line into `self.line` (without its newline); false at the end of the file.
    fn next_line(&mut self) -> Result<bool, MergeError> {
        self.line.clear();
        let n = (&mut self.reader)
            .take(self.max_line + 1)
            .read_line(&mut self.line)
            .map_err(|error| MergeError::Io { path: self.path.clone(), error })?;
        if n == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        if n as u64 > self.max_line {
            return Err(MergeError::Line {
                path: self.path.clone(),
                line: self.line_no,
                error: format!("the line is longer than {} bytes: not a file `engine run` wrote", self.max_line),
            });
        }
        if self.line.ends_with('\n') {
            self.line.pop();
        }
        Ok(true)
    }

    /// Read the next line and its job key; a job that goes back in output order is an error (the
    /// file is not what `engine run --shard` writes).
    fn advance(
        &mut self,
        semantics: Semantics,
        key: &impl Fn(&str) -> Result<JobKey, String>,
    ) -> Result<(), MergeError> {
        let before = self.key;
        if !self.next_line()? {
            self.key = None;
            return Ok(());
        }
        let line_err =
            |path: &Path, line: usize, error: String| MergeError::Line { path: path.to_path_buf(), line, error };
        let k = output_order(semantics, key(&self.line).map_err(|e| line_err(&self.path, self.line_no, e))?);
        if before.is_some_and(|b| k < b) {
            return Err(line_err(
                &self.path,
                self.line_no,
                "this job comes before the line above it in output order; `engine run --shard` writes jobs in order"
                    .into(),
            ));
        }
        self.key = Some(k);
        Ok(())
    }
}

/// Merge `name` from every shard directory into `out/name`; `header` files (CSV) keep one header,
/// which every shard must share. Written to a temporary file and renamed, as a local run does.
pub(super) fn merge_lines(
    dirs: &[PathBuf],
    name: &str,
    out: &Path,
    header: bool,
    semantics: Semantics,
    key: impl Fn(&str) -> Result<JobKey, String>,
) -> Result<Option<PathBuf>, MergeError> {
    let present: Vec<bool> = dirs.iter().map(|d| d.join(name).is_file()).collect();
    if present.iter().all(|p| !p) {
        return Ok(None);
    }
    if let Some(i) = present.iter().position(|p| !p) {
        return Err(MergeError::Shards(format!("{} has no {name}, but other shards do", dirs[i].display())));
    }
    let path = out.join(name);
    let tmp = path.with_file_name(format!("{name}.tmp"));
    let merged = write_merged(dirs, name, &tmp, header, semantics, key)
        .and_then(|()| std::fs::rename(&tmp, &path).map_err(|error| MergeError::Io { path: path.clone(), error }));
    if merged.is_err() {
        // Nothing half-written stays behind a refused merge.
        let _ = std::fs::remove_file(&tmp);
    }
    merged.map(|()| Some(path))
}

fn write_merged(
    dirs: &[PathBuf],
    name: &str,
    tmp: &Path,
    header: bool,
    semantics: Semantics,
    key: impl Fn(&str) -> Result<JobKey, String>,
) -> Result<(), MergeError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |error| MergeError::Io { path: p, error }
    };
    let mut w = BufWriter::with_capacity(1 << 20, File::create(tmp).map_err(io(tmp))?);
    let mut cursors = dirs.iter().map(|d| Cursor::open(d.join(name))).collect::<Result<Vec<_>, _>>()?;
    if header {
        let mut head: Option<String> = None;
        for c in &mut cursors {
            if !c.next_line()? {
                continue;
            }
            match &head {
                None => head = Some(c.line.clone()),
                Some(h) if *h != c.line => {
                    return Err(MergeError::Line {
                        path: c.path.clone(),
                        line: 1,
                        error: format!("the header differs from the other shards' (`{h}`)"),
                    })
                }
                Some(_) => {}
            }
        }
        if let Some(h) = head {
            writeln!(w, "{h}").map_err(io(tmp))?;
        }
    }
    for c in &mut cursors {
        c.advance(semantics, &key)?;
    }
    // Job blocks, in output order: the shard holding the smallest next job gives all of that job.
    while let Some(i) = (0..cursors.len()).filter(|&i| cursors[i].key.is_some()).min_by_key(|&i| cursors[i].key) {
        let c = &mut cursors[i];
        let job = c.key;
        while c.key == job {
            w.write_all(c.line.as_bytes()).and_then(|()| w.write_all(b"\n")).map_err(io(tmp))?;
            c.advance(semantics, &key)?;
        }
    }
    let f = w.into_inner().map_err(|e| MergeError::Io { path: tmp.to_path_buf(), error: e.into_error() })?;
    f.sync_data().map_err(io(tmp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_past_the_limit_is_refused_at_its_number_without_reading_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("records.jsonl");
        std::fs::write(&p, format!("short\n{}\n", "x".repeat(100))).unwrap();
        let mut c = Cursor::open(p.clone()).unwrap();
        c.max_line = 64;
        assert!(c.next_line().unwrap());
        assert_eq!(c.line, "short");
        let e = c.next_line().unwrap_err().to_string();
        assert_eq!(e, format!("{}:2: the line is longer than 64 bytes: not a file `engine run` wrote", p.display()));
        assert!(c.line.len() <= 65, "read at most the limit + 1 bytes");
    }
}
