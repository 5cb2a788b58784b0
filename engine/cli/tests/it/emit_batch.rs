//! The batched emit import (`emit_batch`, ABI.md §5) under hostile input: a batch that does not
//! split into whole messages, or lies outside the plugin's memory, fails the call with what is
//! wrong and where; a well-framed batch carrying a bad message fails it as `emit` would. The
//! plugins are [`picky_code`]'s: only run 1 misbehaves, run 2 completes.

use crate::hostile::{assert_contained, picky_code, run_hostile};

/// A module whose `f` calls `emit_batch` on `batch` (at 4096) in run 1.
fn batching(batch: &[u8]) -> String {
    let call = format!("(call $emit_batch (i32.const 4096) (i32.const {})) (i64.const {})", batch.len(), (256u64 << 32) | 1);
    picky_code(&[0x80], batch, &call, 4, "")
}

/// `{topic: "out", value: "v"}` as MessagePack.
const GOOD: [u8; 17] = [0x82, 0xa5, b't', b'o', b'p', b'i', b'c', 0xa3, b'o', b'u', b't', 0xa5, b'v', b'a', b'l', b'u', b'e'];

fn framed(msgs: &[&[u8]]) -> Vec<u8> {
    msgs.iter().flat_map(|m| (m.len() as u32).to_le_bytes().into_iter().chain(m.iter().copied())).collect()
}

#[test]
fn a_batch_that_does_not_split_into_messages_fails_the_call() {
    let policy = "  - policies: [w.f]\n";
    let mut good = GOOD.to_vec();
    good.extend_from_slice(&[0xa1, b'v']);
    // A second message whose length runs past the end of the batch.
    let mut batch = framed(&[&good]);
    batch.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x80]);
    assert_contained(
        "length past the end",
        run_hostile(&batching(&batch), "{a: 0}", policy),
        "the plugin returned an invalid result: emit_batch: message 1 at byte 23 says it is 4294967295 bytes long, past the end of the 28-byte batch",
    );
    // A batch cut inside a length prefix.
    let mut batch = framed(&[&good]);
    batch.extend_from_slice(&[0x01, 0x00]);
    assert_contained(
        "cut length",
        run_hostile(&batching(&batch), "{a: 0}", policy),
        "emit_batch: message 1 at byte 23 of the 25-byte batch: 2 bytes left, too few for its 4-byte length",
    );
    // A batch outside the plugin's memory (4 pages).
    let call = format!("(call $emit_batch (i32.const 262140) (i32.const 100)) (i64.const {})", (256u64 << 32) | 1);
    assert_contained(
        "outside memory",
        run_hostile(&picky_code(&[0x80], &[0x80], &call, 4, ""), "{a: 0}", policy),
        "emit_batch: the batch at 0x3fffc (100 bytes) lies outside the plugin's 262144 bytes of memory",
    );
    // Well framed, but the second message is not a map: the same error as through `emit`.
    assert_contained(
        "bad message",
        run_hostile(&batching(&framed(&[&good, &[0x01]])), "{a: 0}", policy),
        "bad emitted message: emit payload is not a MessagePack map",
    );
}
