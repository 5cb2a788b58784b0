//! What plugins emit, on its way from the `emit` and `emit_batch` imports (ABI.md §5) to the
//! executor, which parses each message after the call.

/// Emitted payloads back to back in one buffer: no allocation per message once it has grown.
#[derive(Debug, Default)]
pub struct Emitted {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Emitted {
    pub fn push(&mut self, payload: &[u8]) {
        self.bytes.extend_from_slice(payload);
        self.ends.push(self.bytes.len());
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    /// The payloads in emission order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.ends.iter().scan(0, |start, &end| {
            let s = &self.bytes[*start..end];
            *start = end;
            Some(s)
        })
    }
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

/// Call `each` on every message of an `emit_batch` buffer (ABI.md §5: each a little-endian `u32`
/// length and that many bytes), in order. A batch that does not split into whole messages is a
/// [`BadEmit`] naming the message and the byte it starts at.
pub fn split_batch(batch: &[u8], mut each: impl FnMut(&[u8]) -> wasmtime::Result<()>) -> wasmtime::Result<()> {
    let (mut at, mut n) = (0usize, 0usize);
    while at < batch.len() {
        let Some(head) = batch.get(at..at + 4) else {
            return Err(BadEmit(format!(
                "emit_batch: message {n} at byte {at} of the {}-byte batch: {} bytes left, too few for its 4-byte length",
                batch.len(),
                batch.len() - at
            ))
            .into());
        };
        let len = u32::from_le_bytes(head.try_into().expect("4 bytes")) as usize;
        let Some(msg) = batch[at + 4..].get(..len) else {
            return Err(BadEmit(format!(
                "emit_batch: message {n} at byte {at} says it is {len} bytes long, past the end of the {}-byte batch",
                batch.len()
            ))
            .into());
        };
        each(msg)?;
        at += 4 + len;
        n += 1;
    }
    Ok(())
}

/// An `emit_batch` buffer the host cannot split into messages (ABI.md §5). The host function
/// traps with it; the backend reports it as an invalid result of the call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BadEmit(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn split(batch: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        split_batch(batch, |m| {
            out.push(m.to_vec());
            Ok(())
        })
        .map_err(|e| e.downcast_ref::<BadEmit>().expect("a BadEmit").0.clone())?;
        Ok(out)
    }

    #[test]
    fn a_batch_splits_into_its_messages_in_order() {
        assert_eq!(split(&[]), Ok(vec![]));
        let batch = [2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0, 1, 0, 0, 0, b'c'];
        assert_eq!(split(&batch), Ok(vec![b"ab".to_vec(), vec![], b"c".to_vec()]));
    }

    #[test]
    fn a_batch_that_does_not_split_names_the_message_and_where_it_starts() {
        let e = split(&[1, 0, 0, 0, b'a', 9, 0]).unwrap_err();
        assert_eq!(e, "emit_batch: message 1 at byte 5 of the 7-byte batch: 2 bytes left, too few for its 4-byte length");
        let e = split(&[1, 0, 0, 0, b'a', 0xff, 0xff, 0xff, 0xff, b'b']).unwrap_err();
        assert_eq!(e, "emit_batch: message 1 at byte 5 says it is 4294967295 bytes long, past the end of the 10-byte batch");
    }
}
