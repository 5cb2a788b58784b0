//! What the typed loop's `step` does out of line: the quiet-run word, the MessagePack path for
//! blocks that do not aggregate typed, a record with values, and failures. Kept apart (and
//! `#[inline(never)]` / `#[cold]` where rare) so that the typed path stays small.

use super::{Block, Policy, NO_SIGNALS};
use crate::fused::{put_u32, Counting, Cursor, IDENTITY_SIGNAL};
use crate::input::FusedCtx;
use crate::native::Host;
use crate::typed::{TypedCall, TypedUse};
use distroduce_abi::fused::status;
use distroduce_values::aggregate::AggError;
use distroduce_values::check_one;

/// ABI.md §10, quiet runs: a block that emitted nothing and left out every value extends the run
/// that ends `out` (its count word at `run`) or starts one; the count is current after every block,
/// so the records the cursor covers after a trap are exact.
#[inline]
pub(super) fn quiet_block(out: &mut Vec<u8>, run: &mut Option<usize>) {
    match *run {
        Some(at) => {
            let word = &mut out[at..at + 4];
            let c = u32::from_le_bytes(word.try_into().expect("4 bytes")) + 1;
            word.copy_from_slice(&c.to_le_bytes());
        }
        None => {
            put_u32(out, distroduce_abi::fused::QUIET_RUN);
            put_u32(out, 1);
            *run = Some(out.len() - 4);
        }
    }
}

/// The policies of a block without typed aggregation, one at a time, each output encoded (and
/// checked) into `outputs` for the MessagePack aggregation. `Err`: the status, and the message if
/// the loop keeps it (else the host was told).
#[inline(never)]
pub(super) fn msgpack_policies<S, D: TypedUse<S>>(
    block: &mut Block<D>,
    state: &S,
    ctx: &FusedCtx<'_>,
    cursor: &mut Cursor,
    host: &mut Counting<'_>,
    marks: &mut Vec<(u32, u32)>,
    outputs: &mut [Vec<u8>],
) -> Result<(), (u32, Option<String>)> {
    let k = ctx.substep;
    for (i, p) in block.policies.iter_mut().enumerate() {
        let Some(p) = p else {
            if block.constant.is_none() {
                outputs[i].clear();
                outputs[i].extend_from_slice(IDENTITY_SIGNAL);
            }
            continue;
        };
        cursor.substep = k;
        cursor.pos = p.pos;
        let cx = TypedCall { state, ctx: FusedCtx { pos: p.pos, ..*ctx }, signals: NO_SIGNALS, typed_signals: None };
        let before = host.emits;
        if let Err(m) = p.f.call(&cx, host) {
            host.fail(&m);
            return Err((status::CALL_FAILED, None));
        }
        if host.emits != before {
            marks.push((p.pos, host.emits));
        }
        if block.fold.is_none() {
            let out = &mut outputs[i];
            out.clear();
            if let Err(m) = p.f.encode(out) {
                host.fail(&m);
                return Err((status::CALL_FAILED, None));
            }
            if let Err(e) = check_one(out) {
                return Err((status::BAD_OUTPUT, Some(e.to_string())));
            }
        }
    }
    Ok(())
}

/// A block's record that is not part of a quiet run: its marks, then each update's value (or
/// `OMITTED`, ABI.md §10). `Err`: a value that did not encode (the record is not written).
#[inline(never)]
pub(super) fn write_record<S, D: TypedUse<S>>(
    block: &mut Block<D>,
    marks: &[(u32, u32)],
    out: &mut Vec<u8>,
    quiet_at: &mut Option<usize>,
) -> Result<(), String> {
    *quiet_at = None;
    put_u32(out, marks.len() as u32);
    for &(pos, n) in marks {
        put_u32(out, pos);
        put_u32(out, n);
    }
    for u in &mut block.updates {
        if u.omit && u.sent {
            put_u32(out, distroduce_abi::fused::OMITTED);
            continue;
        }
        u.sent = true;
        let at = out.len();
        put_u32(out, 0);
        if let Err(m) = u.f.encode(out) {
            out.truncate(at);
            return Err(m);
        }
        let len = (out.len() - at - 4) as u32;
        out[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }
    block.all_sent = true;
    Ok(())
}

/// A failed call's message to the host.
#[cold]
#[inline(never)]
pub(super) fn call_failed(host: &mut Counting<'_>, m: String) {
    host.fail(&m);
}

/// A failed aggregation: the blamed policy (a duplicate signal's, else the block's first) in the
/// cursor, the message kept.
#[cold]
#[inline(never)]
pub(super) fn aggregate_failed<D>(
    cursor: &mut Cursor,
    msg: &mut String,
    out: &[u8],
    policies: &[Option<Policy<D>>],
    k: u32,
    e: AggError,
) -> u32 {
    let which = match &e {
        AggError::DuplicateSignal { policy, .. } => *policy,
        _ => 0,
    };
    cursor.substep = k;
    cursor.pos = policies.get(which).and_then(|c| c.as_ref()).map_or(0, |c| c.pos);
    *msg = e.to_string();
    stop(cursor, msg, out, status::AGGREGATE_FAILED)
}

pub(super) fn stop(cursor: &mut Cursor, msg: &str, out: &[u8], code: u32) -> u32 {
    cursor.status = code;
    cursor.msg_ptr = msg.as_ptr() as usize as u32;
    cursor.msg_len = msg.len() as u32;
    cursor.out_ptr = out.as_ptr() as usize as u32;
    cursor.out_len = out.len() as u32;
    code
}
