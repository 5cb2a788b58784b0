//! Tests of signal aggregation (`distroduce_values::aggregate`), written with JSON values.

#[cfg(test)]
mod tests {
    use crate::value::json::{from_json, to_json};
    use distroduce_values::aggregate::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn agg(op: AggOp, outs: &[serde_json::Value]) -> Result<serde_json::Value, AggError> {
        let enc: Vec<Vec<u8>> = outs.iter().map(from_json).collect();
        let refs: Vec<&[u8]> = enc.iter().map(|v| v.as_slice()).collect();
        let a = Aggregator { default: op, per_signal: HashMap::new() };
        Ok(to_json(&a.aggregate(&refs)?).unwrap())
    }

    #[test]
    fn add_follows_python_plus_in_policy_order() {
        let out = agg(
            AggOp::Add,
            &[
                json!({"da": 1, "db": 2, "ev": ["a"], "s": "x"}),
                json!({"da": 10, "ev": ["b"], "s": "y", "f": 0.5}),
                json!({}),
            ],
        )
        .unwrap();
        assert_eq!(out, json!({"da": 11, "db": 2, "ev": ["a", "b"], "s": "xy", "f": 0.5}));
        assert_eq!(agg(AggOp::Add, &[json!({"x": 1}), json!({"x": 0.5})]).unwrap(), json!({"x": 1.5}));
    }

    #[test]
    fn other_operators() {
        assert_eq!(agg(AggOp::Max, &[json!({"m": 2}), json!({"m": 3})]).unwrap(), json!({"m": 3}));
        assert_eq!(agg(AggOp::Min, &[json!({"m": 2}), json!({"m": 3.5})]).unwrap(), json!({"m": 2}));
        assert_eq!(agg(AggOp::Mul, &[json!({"m": 2}), json!({"m": 3})]).unwrap(), json!({"m": 6}));
        assert_eq!(agg(AggOp::Last, &[json!({"m": 2}), json!({"m": "z"})]).unwrap(), json!({"m": "z"}));
        assert_eq!(
            agg(AggOp::Merge, &[json!({"m": {"a": 1, "b": 1}}), json!({"m": {"b": 2}})]).unwrap(),
            json!({"m": {"a": 1, "b": 2}})
        );
    }

    #[test]
    fn mismatches_and_overflow_are_errors() {
        let e = agg(AggOp::Add, &[json!({"x": [1]}), json!({"x": 1})]).unwrap_err();
        assert_eq!(e.to_string(), "signal `x`: cannot add list and int");
        assert!(matches!(agg(AggOp::Add, &[json!({"x": i64::MAX}), json!({"x": 1})]), Err(AggError::Overflow { .. })));
        assert!(matches!(agg(AggOp::Add, &[json!(3)]), Err(AggError::NotAMap("int"))));
    }

    #[test]
    fn a_signal_twice_in_one_policy_output_is_refused_naming_that_policy() {
        // {"s": 1, "s": 2}: from_json cannot write it, a plugin can.
        let dup = [0x82u8, 0xa1, b's', 0x01, 0xa1, b's', 0x02];
        let one = from_json(&json!({"s": 5}));
        let a = Aggregator::default();
        let e = a.aggregate(&[&one, &dup]).unwrap_err();
        assert_eq!(e, AggError::DuplicateSignal { policy: 1, signal: "s".into() });
        assert_eq!(e.to_string(), "the policy's output map has the signal `s` twice");
        // The same signal from two policies is what aggregation is for.
        assert!(a.aggregate(&[&one, &one]).is_ok());
    }

    /// The fast fold of `aggregate_into` gives what pairwise `combine` gives, value and error,
    /// over numbers of every encoding (ints near the limits, f32, f64), strings, lists and maps.
    #[test]
    fn aggregation_equals_pairwise_combine() {
        let values: Vec<Vec<u8>> = vec![
            from_json(&json!(1)),
            from_json(&json!(-7)),
            from_json(&json!(i64::MAX)),
            from_json(&json!(i64::MIN)),
            from_json(&json!(u64::MAX)),
            from_json(&json!(2.5)),
            vec![0xca, 0x3f, 0xc0, 0, 0], // f32 1.5
            from_json(&json!("x")),
            from_json(&json!([1])),
            from_json(&json!({"k": 1})),
            from_json(&json!(null)),
        ];
        let ops = [AggOp::Add, AggOp::Mul, AggOp::Max, AggOp::Min, AggOp::First, AggOp::Last, AggOp::Merge];
        let signal = |v: &[u8]| {
            let mut m = vec![0x81, 0xa1, b's'];
            m.extend_from_slice(v);
            m
        };
        let mut scratch = AggScratch::default();
        let mut buf = Vec::new();
        for op in ops {
            let a = Aggregator { default: op, per_signal: HashMap::new() };
            for x in &values {
                for y in &values {
                    for z in &values {
                        let outs = [signal(x), signal(y), signal(z)];
                        let want = combine(op, "s", x, y).and_then(|xy| combine(op, "s", &xy, z)).map(|v| {
                            let mut m = vec![0x81, 0xa1, b's'];
                            m.extend_from_slice(&v);
                            m
                        });
                        let got = a.aggregate_into(&outs, &mut scratch, &mut buf).map(|()| buf.clone());
                        assert_eq!(got, want, "{op:?} {x:?} {y:?} {z:?}");
                    }
                }
            }
        }
    }

    /// Past the names compared one by one, the index finds every signal and duplicates.
    #[test]
    fn many_signals_aggregate_in_first_appearance_order() {
        let names: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let one = |rev: bool| {
            let mut m = serde_json::Map::new();
            let mut ns: Vec<&String> = names.iter().collect();
            if rev {
                ns.reverse();
            }
            for n in ns {
                m.insert(n.clone(), json!(1));
            }
            from_json(&serde_json::Value::Object(m))
        };
        let (a, b) = (one(false), one(true));
        let agg = Aggregator::default();
        let got = to_json(&agg.aggregate(&[&a, &b]).unwrap()).unwrap();
        let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
        assert_eq!(keys, names.iter().collect::<Vec<_>>());
        assert!(got.as_object().unwrap().values().all(|v| *v == json!(2)));
        let mut dup = vec![0xde, 0, 17];
        for i in 0..17 {
            dup.extend(from_json(&json!(format!("d{}", i % 16))));
            dup.push(1);
        }
        assert!(matches!(agg.aggregate(&[&dup]), Err(AggError::DuplicateSignal { signal, .. }) if signal == "d0"));
    }

    /// A signal name sent with a longer header than needed comes out re-encoded, as before.
    #[test]
    fn signal_names_come_out_in_the_shortest_encoding() {
        let long_header = [0x81, 0xd9, 0x01, b's', 0x01];
        let agg = Aggregator::default();
        assert_eq!(agg.aggregate(&[&long_header[..]]).unwrap(), vec![0x81, 0xa1, b's', 0x01]);
        assert_eq!(agg.aggregate(&[&long_header[..], &long_header[..]]).unwrap(), vec![0x81, 0xa1, b's', 0x02]);
    }
}
