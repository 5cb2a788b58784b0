//! The rows of `records.parquet` while the run goes: a spill file of length-prefixed cells, read
//! back once at the end, when every column's type is known. Memory stays one row group whatever the
//! number of rows; the disk holds the rows twice for a moment (spill, then Parquet).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// One state-variable value of a row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// The value's MessagePack bytes, as the run holds it.
    Value(&'a [u8]),
    /// JSON text as a shard's JSON column holds it (`engine merge`), copied verbatim so that the
    /// merged file has the very bytes of a local run.
    Json(&'a str),
}

/// (simulation, subset, run, substep, timestep) of a row.
pub type Bookkeeping = [u64; 5];

const VALUE: u8 = 0;
const JSON: u8 = 1;

pub struct SpillWriter(BufWriter<File>);

impl SpillWriter {
    pub fn create(path: &Path) -> io::Result<Self> {
        Ok(Self(BufWriter::with_capacity(1 << 20, File::create(path)?)))
    }

    pub fn row<'a>(&mut self, keys: &Bookkeeping, cells: impl Iterator<Item = Cell<'a>>) -> io::Result<()> {
        for k in keys {
            self.0.write_all(&k.to_le_bytes())?;
        }
        for c in cells {
            let (tag, bytes) = match c {
                Cell::Value(v) => (VALUE, v),
                Cell::Json(t) => (JSON, t.as_bytes()),
            };
            let len = u32::try_from(bytes.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a record value is over 4 GiB"))?;
            self.0.write_all(&[tag])?;
            self.0.write_all(&len.to_le_bytes())?;
            self.0.write_all(bytes)?;
        }
        Ok(())
    }

    pub fn finish(self) -> io::Result<()> {
        self.0.into_inner().map_err(|e| e.into_error())?.sync_data()
    }
}

pub struct SpillReader {
    r: BufReader<File>,
    columns: usize,
    /// The current row's cells: (tag, bytes) back to back.
    buf: Vec<u8>,
    spans: Vec<(u8, usize, usize)>,
}

impl SpillReader {
    pub fn open(path: &Path, columns: usize) -> io::Result<Self> {
        Ok(Self {
            r: BufReader::with_capacity(1 << 20, File::open(path)?),
            columns,
            buf: Vec::new(),
            spans: Vec::new(),
        })
    }

    /// The next row, or None at the end of the file.
    pub fn next_row(&mut self) -> io::Result<Option<(Bookkeeping, impl Iterator<Item = Cell<'_>>)>> {
        let mut keys = [0u64; 5];
        let mut word = [0u8; 8];
        for (i, k) in keys.iter_mut().enumerate() {
            match self.r.read_exact(&mut word) {
                Err(e) if i == 0 && e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                r => r?,
            }
            *k = u64::from_le_bytes(word);
        }
        self.buf.clear();
        self.spans.clear();
        for _ in 0..self.columns {
            let mut head = [0u8; 5];
            self.r.read_exact(&mut head)?;
            let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let at = self.buf.len();
            self.buf.resize(at + len, 0);
            self.r.read_exact(&mut self.buf[at..])?;
            self.spans.push((head[0], at, at + len));
        }
        let buf = &self.buf;
        let cells = self.spans.iter().map(move |&(tag, a, b)| match tag {
            // The spill is this process's own file, written as UTF-8 by `row`.
            JSON => Cell::Json(std::str::from_utf8(&buf[a..b]).unwrap_or_default()),
            _ => Cell::Value(&buf[a..b]),
        });
        Ok(Some((keys, cells)))
    }
}
