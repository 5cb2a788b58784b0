//! The cadCAD conformance models of `shared/conformance` (ref1, ref2, ref4) and the cadCAD/radCAD
//! semantics models (`sem`) as plugin functions.
//!
//! Each function is the Python original with the same name, reading the same keys; a scenario
//! wires them into the same blocks. Integers are `i64`; where Python's unbounded integers would
//! keep counting, an overflow fails the call instead of wrapping into a wrong record.

pub mod history;
pub mod ref1;
pub mod ref2;
pub mod ref4;
pub mod sem;

distroduce_sdk::native_table!(
    ref1::p_inc_a,
    ref1::p_inc_b,
    ref1::p_m2,
    ref1::p_m3,
    ref1::p_empty,
    ref1::s_a,
    ref1::s_b1,
    ref1::s_c,
    ref1::s_d,
    ref1::s_b2,
    ref2::p_step,
    ref2::s_x,
    ref2::s_y,
    ref2::s_tag,
    ref4::p_first,
    ref4::p_second,
    ref4::p_third,
    ref4::s_log,
    ref4::s_count,
    history::p_history,
    history::s_inc_x,
    history::s_seen,
    history::p_prev_stamp,
    history::s_prev_stamp,
    sem::p_observe_run,
    sem::s_policy_run,
    sem::s_suf_run,
    sem::s_score,
    sem::p_emits,
    sem::s_record_signals,
    sem::p_labelled,
    sem::s_order,
    sem::s_total,
    sem::p_observe_prev,
    sem::s_prev,
);

/// `a + b`, failing where Python would have produced an integer beyond `i64`.
fn add(a: i64, b: i64) -> Result<i64, String> {
    a.checked_add(b).ok_or_else(|| format!("{a} + {b} overflows a 64-bit integer"))
}

/// `a * b`, failing where Python would have produced an integer beyond `i64`.
fn mul(a: i64, b: i64) -> Result<i64, String> {
    a.checked_mul(b).ok_or_else(|| format!("{a} * {b} overflows a 64-bit integer"))
}
