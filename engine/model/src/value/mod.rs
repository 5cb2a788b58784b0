//! MessagePack values as the engine keeps them: encoded bytes. The helpers, aggregation and the
//! RNG live in `distroduce-values` (shared with the Rust SDK's in-guest loop); JSON is here.

pub use distroduce_values::*;
mod aggregate_tests;
pub mod json;
pub mod json_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_len_walks_nested_containers() {
        let v = json::from_json(&serde_json::json!({"a": [1, "x", {"b": 2.5}], "c": null}));
        assert_eq!(value_len(&v, 0).unwrap(), v.len());
        assert!(check_one(&v).is_ok());
        assert!(check_one(&v[..v.len() - 1]).is_err());
        assert_eq!(map_get(&v, "c").unwrap(), Some(&[0xc0u8][..]));
    }

    #[test]
    fn check_one_refuses_values_nested_too_deep_without_recursing() {
        // 10k nested one-element lists around a nil: a recursive decoder would overflow the stack.
        let mut deep = vec![0x91u8; 10_000];
        deep.push(0xc0);
        let e = check_one(&deep).unwrap_err();
        assert_eq!(e.what, TOO_DEEP, "{e}");
        assert_eq!(e.offset, MAX_DEPTH);
        // Exactly the limit is fine, one more is not; maps count the same.
        let mut ok = vec![0x91u8; MAX_DEPTH];
        ok.push(0xc0);
        assert!(check_one(&ok).is_ok());
        let mut maps = [0x81u8, 0xa1, b'k'].repeat(MAX_DEPTH + 1);
        maps.push(0xc0);
        assert_eq!(check_one(&maps).unwrap_err().what, TOO_DEEP);
        // Siblings after a closed container are still read.
        let v = json::from_json(&serde_json::json!([[[1]], [2, [3]], {"a": [[]]}]));
        assert_eq!(check_value(&v, 0).unwrap(), v.len());
        assert!(check_one(&[0x92, 0x91, 0x01]).is_err(), "truncated");
        // Past the levels kept on the stack (16) and back: each level's count is its own.
        let mut v = vec![0x92; 40]; // [x, 7] around each level
        v.push(0xc0);
        v.extend(std::iter::repeat_n(0x07, 40));
        assert_eq!(check_value(&v, 0).unwrap(), v.len());
        assert!(check_one(&v[..v.len() - 1]).is_err(), "one sibling short");
        v.push(0x07);
        assert_eq!(check_one(&v).unwrap_err().what, "trailing bytes after the value");
    }

    #[test]
    fn check_one_refuses_strings_and_keys_that_are_not_utf8() {
        assert_eq!(check_one(&[0xa2, b'o', 0xff]).unwrap_err(), Malformed { offset: 0, what: "string is not UTF-8" });
        // As a map key, and as a str8 value inside a list.
        assert_eq!(check_one(&[0x81, 0xa1, 0xc3, 0x01]).unwrap_err().what, "string is not UTF-8");
        assert_eq!(
            check_one(&[0x91, 0xd9, 0x01, 0x80]).unwrap_err(),
            Malformed { offset: 1, what: "string is not UTF-8" }
        );
        // Binary may hold any bytes.
        assert!(check_one(&[0xc4, 0x01, 0xff]).is_ok());
        assert!(check_one(&[0xa2, 0xc3, 0xa9]).is_ok(), "é");
        // A str8 longer than a word with one bad byte at the end, and a fixstr cut short.
        let mut long = vec![0xd9, 20];
        long.extend([b'a'; 19]);
        long.push(0xfe);
        assert_eq!(check_one(&long).unwrap_err(), Malformed { offset: 0, what: "string is not UTF-8" });
        assert_eq!(check_one(&[0xa3, b'a']).unwrap_err().what, "value runs past the end");
    }

    #[test]
    fn kinds_and_numbers() {
        let i = json::from_json(&serde_json::json!(-7));
        let f = json::from_json(&serde_json::json!(0.5));
        assert_eq!(kind(&i).unwrap(), Kind::Int);
        assert_eq!(as_num(&i), Some(Num::Int(-7)));
        assert_eq!(as_num(&f), Some(Num::Float(0.5)));
        assert!(kind(&[0xc1]).is_err());
    }
}
