//! Parameter sweeps: how the `params` map expands into parameter subsets.

use super::limits::MAX_SUBSETS;
use super::scenario::SweepMode;
use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

/// Why the params do not form a sweep; `param` names the offending entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepError {
    pub param: String,
    pub message: String,
    pub hint: String,
}

/// Expand params into subsets.
///
/// * `zip` (cadCAD): every list is one axis; lists must have one common length L, and one-element
///   lists and scalars are broadcast to all L subsets. cadCAD rejects a scalar next to a list; we
///   accept it, as radCAD does, since it has only one meaning.
/// * `cartesian`: every combination, the first param varying slowest.
pub fn expand(params: &IndexMap<String, Json>, mode: SweepMode) -> Result<Vec<Map<String, Json>>, SweepError> {
    for (k, v) in params {
        if matches!(v, Json::Array(a) if a.is_empty()) {
            return Err(SweepError {
                param: k.clone(),
                message: format!("param `{k}` is an empty list, which sweeps over nothing"),
                hint: "give at least one value; to pass an empty list as the value, write `[[]]`".into(),
            });
        }
    }
    // Borrowed, never cloned per subset: expansion is linear in the number of subsets.
    fn values(v: &Json) -> &[Json] {
        match v {
            Json::Array(a) => a,
            other => std::slice::from_ref(other),
        }
    }
    let too_many = |k: &str, n: String| SweepError {
        param: k.to_string(),
        message: format!("the sweep expands into {n} parameter subsets; the limit is {MAX_SUBSETS}"),
        hint: "sweep over fewer values (README.md, \"Resource limits\")".into(),
    };
    match mode {
        SweepMode::Zip => {
            let len = params.values().map(|v| values(v).len()).max().unwrap_or(1);
            for (k, v) in params {
                let n = values(v).len();
                if n != 1 && n != len {
                    let (longest, _) = params.iter().find(|(_, v)| values(v).len() == len).expect("max exists");
                    return Err(SweepError {
                        param: k.clone(),
                        message: format!(
                            "param `{k}` has {n} values but `{longest}` has {len}; zipped sweeps need equal lengths (or one value)"
                        ),
                        hint: "make the lists the same length, give one value, or set `sweep: cartesian` for every combination".into(),
                    });
                }
            }
            if len as u64 > MAX_SUBSETS {
                let (longest, _) = params.iter().find(|(_, v)| values(v).len() == len).expect("max exists");
                return Err(too_many(longest, len.to_string()));
            }
            Ok((0..len)
                .map(|i| {
                    params
                        .iter()
                        .map(|(k, v)| {
                            let vs = values(v);
                            (k.clone(), if vs.len() == 1 { vs[0].clone() } else { vs[i].clone() })
                        })
                        .collect()
                })
                .collect())
        }
        SweepMode::Cartesian => {
            // The size first, so that an impossible product is refused before it is built.
            let mut size: u64 = 1;
            for (k, v) in params {
                size = size.saturating_mul(values(v).len() as u64);
                if size > MAX_SUBSETS {
                    let all = params.values().map(|v| values(v).len() as u128).product::<u128>();
                    return Err(too_many(k, all.to_string()));
                }
            }
            let mut subsets = vec![Map::new()];
            for (k, v) in params {
                subsets = subsets
                    .into_iter()
                    .flat_map(|s| {
                        values(v).iter().map(move |x| {
                            let mut s = s.clone();
                            s.insert(k.clone(), x.clone());
                            s
                        })
                    })
                    .collect();
            }
            Ok(subsets)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(v: Json) -> IndexMap<String, Json> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn zip_broadcasts_singletons_like_cadcad() {
        let s = expand(&p(json!({"alpha": [1, 2, 3], "beta": [10], "g": 5})), SweepMode::Zip).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(Json::Object(s[2].clone()), json!({"alpha": 3, "beta": 10, "g": 5}));
    }

    #[test]
    fn zip_rejects_unequal_lengths_naming_both_params() {
        let e = expand(&p(json!({"a": [1, 2], "b": [1, 2, 3]})), SweepMode::Zip).unwrap_err();
        assert_eq!(e.param, "a");
        assert!(e.message.contains("`b` has 3"), "{}", e.message);
    }

    #[test]
    fn double_wrapped_list_is_one_value_and_no_params_is_one_subset() {
        let s = expand(&p(json!({"w": [[1, 2, 3]]})), SweepMode::Zip).unwrap();
        assert_eq!(Json::Object(s[0].clone()), json!({"w": [1, 2, 3]}));
        assert_eq!(expand(&IndexMap::new(), SweepMode::Zip).unwrap().len(), 1);
    }

    #[test]
    fn sweeps_past_the_subset_limit_are_refused_before_expanding() {
        let hundred: Vec<u32> = (0..100).collect();
        let six = p(json!({"a": hundred, "b": hundred, "c": hundred, "d": hundred, "e": hundred, "f": hundred}));
        let started = std::time::Instant::now();
        let e = expand(&six, SweepMode::Cartesian).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "not expanded first");
        assert_eq!(e.param, "c", "where the product first passes the limit");
        assert!(e.message.contains("1000000000000 parameter subsets; the limit is 100000"), "{}", e.message);
        let long: Vec<u64> = (0..=MAX_SUBSETS).collect();
        let e = expand(&p(json!({"a": 1, "z": long})), SweepMode::Zip).unwrap_err();
        assert_eq!(e.param, "z");
        assert!(e.message.contains("100001 parameter subsets"), "{}", e.message);
    }

    #[test]
    fn a_zip_over_one_long_list_is_linear() {
        // Was quadratic: every subset cloned every list.
        let long: Vec<u64> = (0..MAX_SUBSETS).collect();
        let started = std::time::Instant::now();
        let s = expand(&p(json!({"a": long, "b": 7})), SweepMode::Zip).unwrap();
        assert_eq!(s.len(), MAX_SUBSETS as usize);
        assert_eq!(Json::Object(s[99_999].clone()), json!({"a": 99_999, "b": 7}));
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    }

    #[test]
    fn cartesian_first_param_slowest() {
        let s = expand(&p(json!({"a": [1, 2], "b": ["x", "y", "z"]})), SweepMode::Cartesian).unwrap();
        assert_eq!(s.len(), 6);
        assert_eq!(Json::Object(s[1].clone()), json!({"a": 1, "b": "y"}));
        assert_eq!(Json::Object(s[3].clone()), json!({"a": 2, "b": "x"}));
    }
}
