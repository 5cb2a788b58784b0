//! `--format parquet`: `records.parquet` holds the rows of `records.jsonl` with typed columns, which
//! pandas (pyarrow), pyarrow and DuckDB read; the same bytes whatever the thread count; a row group
//! per 65,536 rows; and `engine merge` of Parquet shards writes the very bytes of a local run.

use crate::common::*;
use std::path::Path;

const CHAT: &str = "scenarios/chat.yaml";
const MARBLES: &str = "scenarios/cadcad/robot_marbles/scenario.yaml";

fn run(scenario: &str, out: &Path, extra: &[&str]) {
    let mut args =
        vec!["run", scenario, "--kafka", "none", "--format", "jsonl,parquet", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_engine")).current_dir(repo()).args(&args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The number of rows in a Parquet file's footer.
fn parquet_rows(p: &Path) -> i64 {
    use ::parquet::file::reader::{FileReader, SerializedFileReader};
    let r = SerializedFileReader::new(std::fs::File::open(p).unwrap()).unwrap();
    r.metadata().file_metadata().num_rows()
}

#[test]
fn parquet_is_the_same_bytes_with_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    for (scenario, extra) in [(CHAT, &["--runs", "3", "--timesteps", "300"][..]), (MARBLES, &[][..])] {
        let one = dir.path().join("one");
        let two = dir.path().join("two");
        run(scenario, &one, &[extra, &["--threads", "1"]].concat());
        run(scenario, &two, &[extra, &["--threads", "2"]].concat());
        let a = bytes(&one.join("records.parquet"));
        assert!(a.starts_with(b"PAR1") && a.ends_with(b"PAR1"), "{scenario}: a whole Parquet file");
        assert!(a == bytes(&two.join("records.parquet")), "{scenario}: the bytes differ between 1 and 2 threads");
        let lines = read(&one.join("records.jsonl")).lines().count();
        assert_eq!(parquet_rows(&one.join("records.parquet")), lines as i64, "{scenario}");
        assert!(!one.join("records.parquet.spill").exists(), "the spill is removed");
        std::fs::remove_dir_all(&one).unwrap();
        std::fs::remove_dir_all(&two).unwrap();
    }
}

#[test]
fn merged_parquet_shards_are_the_bytes_of_a_local_run() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 3] =
        [(MARBLES, &[]), (MARBLES, &["--semantics", "radcad"]), (CHAT, &["--runs", "3", "--timesteps", "50"])];
    for (n, (scenario, extra)) in cases.iter().enumerate() {
        let d = dir.path().join(n.to_string());
        run(scenario, &d.join("local"), extra);
        for i in 0..2 {
            run(scenario, &d.join(format!("s{i}")), &[extra, &["--shard", &format!("{i}/2")][..]].concat());
        }
        let merged = d.join("merged");
        // Shards in any order.
        let o = engine(&[
            "merge",
            "--out",
            merged.to_str().unwrap(),
            d.join("s1").to_str().unwrap(),
            d.join("s0").to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let local = bytes(&d.join("local/records.parquet"));
        assert!(bytes(&merged.join("records.parquet")) == local, "{scenario} {extra:?}: merged bytes differ");
        assert!(bytes(&d.join("s0/records.parquet")) != local, "a shard alone is not the whole run");
        assert_eq!(read(&merged.join("records.jsonl")), read(&d.join("local/records.jsonl")));
        let summary: serde_json::Value = serde_json::from_str(&read(&merged.join("summary.json"))).unwrap();
        assert!(summary["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().ends_with("records.parquet")));
    }
}

#[test]
fn merge_refuses_a_shard_without_parquet_or_with_a_cut_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    run(MARBLES, &d("s0"), &["--shard", "0/2"]);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_engine"))
        .current_dir(repo())
        .args(["run", MARBLES, "--kafka", "none", "--format", "jsonl", "--shard", "1/2", "--out"])
        .arg(d("s1"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let merge =
        || engine(&["merge", "--out", d("m").to_str().unwrap(), d("s0").to_str().unwrap(), d("s1").to_str().unwrap()]);
    let o = merge();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("has no records.parquet, but other shards do"), "{}", stderr(&o));
    // A file cut short, as a killed writer would leave it, is named, not a panic.
    let p = bytes(&d("s0/records.parquet"));
    std::fs::write(d("s1/records.parquet"), &p[..p.len() / 2]).unwrap();
    let o = merge();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("s1/records.parquet: not a readable Parquet file"), "{}", stderr(&o));
}

/// What the Python side checks: `argv[2]` maps each state column to the type it must have
/// (`int64`, `double`, `string` or `json`); the bookkeeping columns must be int64.
const READ_BACK: &str = r#"
import json, sys
import duckdb, pandas as pd, pyarrow.parquet as pq
d, want = sys.argv[1], json.loads(sys.argv[2])
rows = [json.loads(l) for l in open(f"{d}/records.jsonl")]
p = f"{d}/records.parquet"
books = ["simulation", "subset", "run", "substep", "timestep"]
want.update({b: "int64" for b in books})
cols = list(rows[0].keys())
t = pq.read_table(p)
assert t.column_names == cols, (t.column_names, cols)
for f in t.schema:
    json_col = (f.metadata or {}).get(b"distroduce.encoding") == b"json"
    got = "json" if json_col else str(f.type)
    assert got == want[f.name], (f.name, got, want[f.name])
df = pd.read_parquet(p, engine="pyarrow")
pandas_dtype = {"int64": "int64", "double": "float64", "string": "str", "json": "str"}
for c in cols:
    assert str(df[c].dtype) == pandas_dtype[want[c]], (c, str(df[c].dtype))
    expect = [r[c] for r in rows]
    got = [json.loads(x) for x in df[c]] if want[c] == "json" else df[c].tolist()
    assert got == expect, (c, got[:3], expect[:3])
    if want[c] == "int64":
        assert all(type(x) is int for x in expect), c
    if want[c] == "double":
        assert all(type(x) is float for x in expect), c
duck_type = {"int64": "BIGINT", "double": "DOUBLE", "string": "VARCHAR", "json": "VARCHAR"}
con = duckdb.connect()
described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [p]).fetchall()
assert [(r[0], r[1]) for r in described] == [(c, duck_type[want[c]]) for c in cols], described
duck = con.execute("SELECT * FROM read_parquet(?)", [p]).fetchall()
assert len(duck) == len(rows)
for r, dr in zip(rows, duck):
    got = [json.loads(x) if want[c] == "json" else x for c, x in zip(cols, dr)]
    assert got == [r[c] for c in cols], (got, r)
meta = pq.ParquetFile(p).metadata
print(json.dumps({"rows": len(rows), "row_groups": [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]}))
"#;

fn read_back(python: &str, dir: &Path, want: serde_json::Value) -> serde_json::Value {
    let o = std::process::Command::new(python)
        .args(["-c", READ_BACK, dir.to_str().unwrap(), &want.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
#[ignore = "needs Python with pandas, pyarrow and duckdb (DISTRODUCE_PYTHON): scripts/test sets it up"]
fn pandas_pyarrow_and_duckdb_read_the_jsonl_records_with_typed_columns() {
    let python = std::env::var("DISTRODUCE_PYTHON")
        .expect("DISTRODUCE_PYTHON must point at a python with pandas: run the tests with scripts/test");
    let dir = tempfile::tempdir().unwrap();
    // chat: a string, two maps of lists (JSON text), an int and a float, all declared `number`
    // or inferred from their initial values.
    let chat = serde_json::json!({
        "record_creation": "string", "client_a": "json", "client_b": "json",
        "total_msg_count": "int64", "total_send_time": "double",
    });
    run(CHAT, &dir.path().join("chat"), &["--runs", "2", "--timesteps", "25"]);
    let got = read_back(&python, &dir.path().join("chat"), chat.clone());
    assert_eq!(got["rows"], 2 * (25 * 4 + 1));
    // robot_marbles: integers only, six jobs.
    run(MARBLES, &dir.path().join("marbles"), &[]);
    let got = read_back(&python, &dir.path().join("marbles"), serde_json::json!({"box_A": "int64", "box_B": "int64"}));
    assert_eq!(got["rows"], 126);
    // Past 65,536 rows the file has several row groups of that size: memory is one row group.
    run(CHAT, &dir.path().join("long"), &["--timesteps", "20000"]);
    let got = read_back(&python, &dir.path().join("long"), chat);
    assert_eq!(got["rows"], 80_001);
    assert_eq!(got["row_groups"], serde_json::json!([65_536, 80_001 - 65_536]));
}

/// `output: {formats: [..., parquet]}` in the scenario does what `--format` does.
#[test]
fn the_scenario_can_ask_for_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = read(&repo().join(MARBLES)).replace(
        "rm: {crate: ../../../plugins/robot-marbles}",
        &format!("rm: {{wasm: {}}}", plugin("robot_marbles_plugin")),
    ) + "output: {formats: [jsonl, parquet]}\n";
    assert!(yaml.contains("wasm:"), "the plugin line was replaced");
    let path = scenario(dir.path(), &yaml);
    let out = dir.path().join("out");
    let o = engine(&["run", path.to_str().unwrap(), "--kafka", "none", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(parquet_rows(&out.join("records.parquet")), 126);
    assert_eq!(read(&out.join("records.jsonl")).lines().count(), 126);
}
