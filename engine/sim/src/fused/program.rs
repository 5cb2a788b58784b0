//! The program a job's in-guest loop follows (ABI.md §10): computed by the engine, which keeps
//! cadCAD's semantics — policy order, identity policies, what each function reads, aggregation,
//! and the call positions that seed each call's random stream.

use crate::job::{job_seed, JobCtx};
use distroduce_abi::fused::UPDATE_POS;
use distroduce_model::types::{AggOp, Semantics};
use distroduce_model::value::{write_array_len, write_map_len, write_str, write_uint};
use distroduce_model::{JobId, PolicyStep};

fn agg_name(op: AggOp) -> &'static str {
    match op {
        AggOp::Add => "add",
        AggOp::Mul => "mul",
        AggOp::Max => "max",
        AggOp::Min => "min",
        AggOp::First => "first",
        AggOp::Last => "last",
        AggOp::Merge => "merge",
    }
}

fn write_bin(out: &mut Vec<u8>, b: &[u8]) {
    let _ = rmp::encode::write_bin(out, b);
}

fn write_opt_bin(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        Some(b) => write_bin(out, b),
        None => out.push(0xc0),
    }
}

fn write_names<'a>(out: &mut Vec<u8>, names: impl ExactSizeIterator<Item = &'a str>) {
    write_array_len(out, names.len());
    names.for_each(|n| write_str(out, n));
}

/// The program of one job (ABI.md §10); `values`: whether the engine reads the state's values
/// (else the loop may leave out those whose kind is fixed).
pub(super) fn program(cx: &JobCtx, plugin: usize, job: &JobId, values: bool) -> Vec<u8> {
    let model = cx.model;
    let mut b = Vec::new();
    write_map_len(&mut b, 13);
    write_str(&mut b, "values");
    b.push(if values { 0xc3 } else { 0xc2 });
    // This engine reads quiet runs of blocks (ABI.md §10).
    write_str(&mut b, "quiet_runs");
    b.push(0xc3);
    let exports = &cx.resolved.exports[plugin];
    write_str(&mut b, "fns");
    write_names(&mut b, exports.iter().map(String::as_str));
    write_str(&mut b, "reads");
    write_array_len(&mut b, exports.len());
    for r in &cx.resolved.reads[plugin] {
        write_map_len(&mut b, 3);
        write_str(&mut b, "state");
        match &r.state {
            Some(vars) => {
                write_array_len(&mut b, vars.len());
                vars.iter().for_each(|&v| write_uint(&mut b, v as u64));
            }
            None => b.push(0xc0),
        }
        write_str(&mut b, "bookkeeping");
        b.push(if r.bookkeeping { 0xc3 } else { 0xc2 });
        write_str(&mut b, "signals");
        match &r.signals {
            Some(names) => write_names(&mut b, names.iter().map(String::as_str)),
            None => b.push(0xc0),
        }
    }
    write_str(&mut b, "vars");
    write_names(&mut b, model.vars.iter().map(|v| v.name.as_str()));
    write_str(&mut b, "state");
    write_array_len(&mut b, model.vars.len());
    model.vars.iter().for_each(|v| write_bin(&mut b, &v.initial));
    write_str(&mut b, "params");
    write_bin(&mut b, &model.subsets[job.subset as usize].encoded);
    write_str(&mut b, "job");
    write_array_len(&mut b, 3);
    for v in [job.simulation, job.subset, job.run] {
        write_uint(&mut b, v as u64);
    }
    write_str(&mut b, "seed");
    write_uint(&mut b, job_seed(model, job));
    write_str(&mut b, "zero_lone");
    let zero_lone = model.blocks.len() == 1 && model.semantics == Semantics::Cadcad;
    b.push(if zero_lone { 0xc3 } else { 0xc2 });
    write_str(&mut b, "agg_default");
    write_str(&mut b, agg_name(model.aggregator.default));
    write_str(&mut b, "agg");
    write_array_len(&mut b, model.aggregator.per_signal.len());
    for (name, op) in &model.aggregator.per_signal {
        write_array_len(&mut b, 2);
        write_str(&mut b, name);
        write_str(&mut b, agg_name(*op));
    }
    write_str(&mut b, "blocks");
    write_array_len(&mut b, model.blocks.len());
    for (plan, block) in model.blocks.iter().zip(&cx.resolved.blocks) {
        write_map_len(&mut b, 2);
        write_str(&mut b, "policies");
        write_array_len(&mut b, plan.policy_order.len());
        for step in &plan.policy_order {
            match *step {
                PolicyStep::Identity => b.push(0xc0),
                PolicyStep::Policy(pi) => {
                    write_map_len(&mut b, 3);
                    write_str(&mut b, "f");
                    write_uint(&mut b, block.policies[pi].func as u64);
                    write_str(&mut b, "pos");
                    write_uint(&mut b, pi as u64);
                    write_str(&mut b, "args");
                    write_opt_bin(&mut b, plan.policies[pi].args.as_deref());
                }
            }
        }
        write_str(&mut b, "updates");
        write_array_len(&mut b, block.updates.len());
        for (ui, (vi, slot)) in block.updates.iter().enumerate() {
            write_map_len(&mut b, 4);
            write_str(&mut b, "var");
            write_uint(&mut b, *vi as u64);
            write_str(&mut b, "f");
            write_uint(&mut b, slot.func as u64);
            write_str(&mut b, "pos");
            write_uint(&mut b, UPDATE_POS as u64 + ui as u64);
            write_str(&mut b, "args");
            write_opt_bin(&mut b, plan.updates[ui].1.args.as_deref());
        }
    }
    b
}
