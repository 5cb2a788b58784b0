//! The `emit` map of a binary value (ABI.md §5), `{topic: str, value: bin, key?: str}` in that
//! order, strings and the binary in their shortest MessagePack forms: what the Rust SDK's
//! `emit_bytes` sent through `emit` before the `emit_bytes` import, and what the engine still
//! counts and, for any message its fast path does not take, parses, for one that came through the
//! import. One encoder for both sides, so that the two ways of sending agree byte for byte.

use alloc::vec::Vec;

/// Append the map for `topic`, `value` and `key` to `buf`. `None` if a length passes
/// MessagePack's 32 bits.
pub fn encode_bytes(buf: &mut Vec<u8>, topic: &[u8], key: Option<&[u8]>, value: &[u8]) -> Option<()> {
    buf.reserve(encoded_len(topic.len(), key.map(<[u8]>::len), value.len()));
    buf.push(if key.is_some() { 0x83 } else { 0x82 });
    buf.extend_from_slice(b"\xa5topic");
    str_into(buf, topic)?;
    buf.extend_from_slice(b"\xa5value");
    let n = u32::try_from(value.len()).ok()?;
    match n {
        0..=0xff => buf.extend_from_slice(&[0xc4, n as u8]),
        0x100..=0xffff => {
            buf.push(0xc5);
            buf.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            buf.push(0xc6);
            buf.extend_from_slice(&n.to_be_bytes());
        }
    }
    buf.extend_from_slice(value);
    if let Some(k) = key {
        buf.extend_from_slice(b"\xa3key");
        str_into(buf, k)?;
    }
    Some(())
}

/// The length of what [`encode_bytes`] writes for a topic, key and value of these lengths.
pub const fn encoded_len(topic: usize, key: Option<usize>, value: usize) -> usize {
    let key = match key {
        Some(k) => 4 + str_head(k) + k,
        None => 0,
    };
    1 + 6 + str_head(topic) + topic + 6 + bin_head(value) + value + key
}

const fn str_head(n: usize) -> usize {
    match n {
        0..=31 => 1,
        32..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 5,
    }
}

const fn bin_head(n: usize) -> usize {
    match n {
        0..=0xff => 2,
        0x100..=0xffff => 3,
        _ => 5,
    }
}

/// A MessagePack string (of bytes the caller vouches for) in its shortest form.
fn str_into(buf: &mut Vec<u8>, s: &[u8]) -> Option<()> {
    let n = u32::try_from(s.len()).ok()?;
    match n {
        0..=31 => buf.push(0xa0 | n as u8),
        32..=0xff => buf.extend_from_slice(&[0xd9, n as u8]),
        0x100..=0xffff => {
            buf.push(0xda);
            buf.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            buf.push(0xdb);
            buf.extend_from_slice(&n.to_be_bytes());
        }
    }
    buf.extend_from_slice(s);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn the_length_is_what_the_encoder_writes() {
        let lens = [0, 1, 31, 32, 255, 256, 65_535, 65_536, 70_000];
        for &tl in &lens[..6] {
            let topic = vec![b't'; tl];
            for &vl in &lens {
                let value = vec![7u8; vl];
                for kl in [None, Some(0), Some(31), Some(32), Some(300)] {
                    let key = kl.map(|n| vec![b'k'; n]);
                    let mut b = Vec::new();
                    encode_bytes(&mut b, &topic, key.as_deref(), &value).unwrap();
                    assert_eq!(b.len(), encoded_len(tl, kl, vl), "topic {tl}, key {kl:?}, value {vl}");
                }
            }
        }
    }
}
