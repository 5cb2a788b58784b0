//! Parameter sweeps: how the `params` map expands into parameter subsets.

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
    let values = |v: &Json| -> Vec<Json> {
        match v {
            Json::Array(a) => a.clone(),
            other => vec![other.clone()],
        }
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
            let mut subsets = vec![Map::new()];
            for (k, v) in params {
                subsets = subsets
                    .into_iter()
                    .flat_map(|s| {
                        values(v).into_iter().map(move |x| {
                            let mut s = s.clone();
                            s.insert(k.clone(), x);
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
    fn cartesian_first_param_slowest() {
        let s = expand(&p(json!({"a": [1, 2], "b": ["x", "y", "z"]})), SweepMode::Cartesian).unwrap();
        assert_eq!(s.len(), 6);
        assert_eq!(Json::Object(s[1].clone()), json!({"a": 1, "b": "y"}));
        assert_eq!(Json::Object(s[3].clone()), json!({"a": 2, "b": "x"}));
    }
}
