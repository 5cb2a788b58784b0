//! `ref1_policy_agg`: signals of several policies summed key by key, over two blocks.

use crate::add;
use distroduce_sdk::{policy, state_update};
use serde::Deserialize;
use std::collections::BTreeMap;

type Signals = BTreeMap<String, i64>;

fn signals<const N: usize>(entries: [(&str, i64); N]) -> Signals {
    entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[derive(Deserialize)]
pub struct A {
    a: i64,
}

#[derive(Deserialize)]
pub struct B {
    b: i64,
}

#[derive(Deserialize)]
pub struct C {
    c: i64,
}

#[derive(Deserialize)]
pub struct D {
    d: i64,
}

#[derive(Deserialize)]
pub struct AB {
    a: i64,
    b: i64,
}

#[derive(Deserialize)]
pub struct Da {
    da: i64,
}

#[derive(Deserialize)]
pub struct Db {
    db: i64,
}

#[derive(Deserialize)]
pub struct Dc {
    dc: i64,
}

#[derive(Deserialize)]
pub struct M {
    m: i64,
}

#[policy]
pub fn p_inc_a() -> Signals {
    signals([("da", 1), ("db", 2)])
}

/// Reads the state before the block ran, so `dc` is the previous `a`.
#[policy]
pub fn p_inc_b(state: &A) -> Signals {
    signals([("da", 10), ("dc", state.a)])
}

#[policy]
pub fn p_m2() -> Signals {
    signals([("m", 2)])
}

#[policy]
pub fn p_m3() -> Signals {
    signals([("m", 3)])
}

/// Contributes no signal at all.
#[policy]
pub fn p_empty() -> Signals {
    Signals::new()
}

#[state_update]
pub fn s_a(state: &A, signals: &Da) -> Result<i64, String> {
    add(state.a, signals.da)
}

#[state_update]
pub fn s_b1(state: &B, signals: &Db) -> Result<i64, String> {
    add(state.b, signals.db)
}

#[state_update]
pub fn s_c(state: &C, signals: &Dc) -> Result<i64, String> {
    add(state.c, signals.dc)
}

#[state_update]
pub fn s_d(state: &D, signals: &M) -> Result<i64, String> {
    add(state.d, signals.m)
}

/// `b + a`, where `a` is the value block 1 wrote this timestep.
#[state_update]
pub fn s_b2(state: &AB) -> Result<i64, String> {
    add(state.b, state.a)
}
