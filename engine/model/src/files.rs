//! Reading a file a user named, with a cap on how much of it is read.
//!
//! Scenarios name files (schemas, plugins, secrets) and `engine merge` reads files from shard
//! directories; a path may lead to something that never ends (`/dev/zero`, a symlink to it) or to
//! a file far larger than its kind ever is. `std::fs::read` would grow a buffer until memory runs
//! out; this reads at most `limit + 1` bytes and refuses the file if there were more.

use std::io::{self, Read};
use std::path::Path;

/// The whole of the file at `path` if it holds at most `limit` bytes; an `io::ErrorKind::FileTooLarge`
/// error that says the limit otherwise. Never reads more than `limit + 1` bytes.
pub fn read_capped(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    // A regular file's length is known up front: refuse it without reading it, or read it into a
    // buffer of its size. Anything else (a pipe, a device) grows the buffer as it is read.
    let known = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    if known.is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }
    let mut bytes = Vec::with_capacity(known.unwrap_or(0) as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// [`read_capped`] for text: non-UTF-8 content is an `InvalidData` error, as in `fs::read_to_string`.
pub fn read_capped_string(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_capped(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("larger than the limit of {} for this kind of file", size(limit)),
    )
}

/// `limit` as people write it: 16 MiB, 64 KiB, or bytes.
fn size(limit: u64) -> String {
    match limit {
        l if l >= 1 << 20 && l % (1 << 20) == 0 => format!("{} MiB", l >> 20),
        l if l >= 1 << 10 && l % (1 << 10) == 0 => format!("{} KiB", l >> 10),
        l => format!("{l} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'x'; 1024]).unwrap();
        assert_eq!(read_capped(&p, 1024).unwrap().len(), 1024);
        let e = read_capped(&p, 1023).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(e.to_string(), "larger than the limit of 1023 bytes for this kind of file");
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_device_is_refused_after_the_limit_not_read_forever() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("zeros");
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        let e = read_capped(&p, 1 << 20).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("1 MiB"), "{e}");
    }

    #[test]
    fn text_that_is_not_utf8_is_invalid_data() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert_eq!(read_capped_string(&p, 16).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
