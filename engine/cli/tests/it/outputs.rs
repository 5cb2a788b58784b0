//! Record files are real files pandas reads: JSONL and CSV, with the cadCAD columns in order.

use crate::common::*;
use distroduce::model::types::RecordFormat;
use distroduce::{run, KafkaTarget, RunArgs};

#[test]
#[ignore = "needs Python with pandas (DISTRODUCE_PYTHON): scripts/test sets it up"]
fn pandas_reads_jsonl_and_csv_records() {
    let python = std::env::var("DISTRODUCE_PYTHON")
        .expect("DISTRODUCE_PYTHON must point at a python with pandas: run the tests with scripts/test");
    let dir = tempfile::tempdir().unwrap();
    let mut args = RunArgs::new(repo().join("scenarios/randomwalk.yaml"));
    args.out = Some(dir.path().to_path_buf());
    args.kafka = KafkaTarget::None;
    args.formats = Some(vec![RecordFormat::Jsonl, RecordFormat::Csv]);
    let s = run(&args, None).unwrap();
    let script = r#"
import json, sys, pandas as pd
d = sys.argv[1]
j = pd.read_json(f"{d}/records.jsonl", lines=True)
c = pd.read_csv(f"{d}/records.csv")
assert list(j.columns) == list(c.columns) == ["prices", "crossings", "simulation", "subset", "run", "substep", "timestep"], (list(j.columns), list(c.columns))
assert (j["crossings"] == c["crossings"]).all()
assert (j[["subset", "run", "timestep"]].values == c[["subset", "run", "timestep"]].values).all()
assert j["prices"].iloc[-1] == json.loads(c["prices"].iloc[-1])
print(len(j))
"#;
    let out = std::process::Command::new(python).args(["-c", script, dir.path().to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), s.records.to_string());
}
