//! Reading one record of a job's output: (key, window start, value) through the expectation's
//! [`Locator`]s. Real jobs write keys as plain strings or JSON, window starts as epoch
//! milliseconds or RFC 3339 text, values as a plain number or a JSON field; all of these are read
//! here, and anything else is an error message that the report shows next to the record.

use super::time::{clip, parse_time};
use distroduce_model::expect::{JobOutput, Locator};
use serde_json::Value;

/// What a job said in one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub key: String,
    pub window_start: Option<i64>,
    /// `None` for a tombstone (a record without a value): the job deleted this key and window.
    pub value: Option<Num>,
}

/// A number as the job wrote it: compared as `f64`, reported as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Num {
    pub f: f64,
    pub json: serde_json::Number,
}

impl Num {
    pub fn from_json(n: &serde_json::Number) -> Option<Self> {
        let f = n.as_f64().filter(|f| f.is_finite())?;
        Some(Self { f, json: n.clone() })
    }

    /// A number in text: `40`, `40.5`, ` 40\n`, `4e1`. Not `NaN` or `inf`, which no aggregate yields.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Ok(n) = serde_json::from_str::<serde_json::Number>(s) {
            return Self::from_json(&n);
        }
        // Forms JSON rejects but Rust and Java print, e.g. `+40` or `40.`.
        let f = s.parse::<f64>().ok().filter(|f| f.is_finite())?;
        Some(Self { f, json: serde_json::Number::from_f64(f)? })
    }
}

/// A record's key and value, each parsed as JSON at most once, and only if a locator asks.
pub struct Record<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    key_json: Option<Result<Value, String>>,
    value_json: Option<Result<Value, String>>,
}

impl<'a> Record<'a> {
    pub fn new(key: Option<&'a [u8]>, value: Option<&'a [u8]>) -> Self {
        Self { key, value, key_json: None, value_json: None }
    }

    /// Read (key, window start, value). `windowed` says whether the expectation has windows; a
    /// record of an unwindowed one has no window start even if the output names one.
    pub fn read(&mut self, out: &JobOutput, windowed: bool) -> Result<Reading, String> {
        let key = match self.locate(&out.key)? {
            Datum::Text(t) => t.to_string(),
            Datum::Json(Value::String(s)) => s.clone(),
            Datum::Json(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            Datum::Json(v) => return Err(format!("{} is {}, not a string", out.key, kind(v))),
        };
        let window_start = match (&out.window_start, windowed) {
            (Some(loc), true) => Some(match self.locate(loc)? {
                Datum::Text(t) => parse_time(t).map_err(|e| format!("{loc}: {e}"))?,
                Datum::Json(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
                    (Some(ms), _) => ms,
                    (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
                    _ => return Err(format!("{loc} is {n}, not a whole number of epoch milliseconds")),
                },
                Datum::Json(Value::String(s)) => parse_time(s).map_err(|e| format!("{loc}: {e}"))?,
                Datum::Json(v) => return Err(format!("{loc} is {}, not a time", kind(v))),
            }),
            _ => None,
        };
        if self.value.is_none() && !matches!(out.value, Locator::Key | Locator::KeyField(_)) {
            return Ok(Reading { key, window_start, value: None });
        }
        let loc = &out.value;
        let value = match self.locate(loc)? {
            Datum::Text(t) => Num::parse(t).ok_or_else(|| format!("{loc} `{}` is not a number", clip(t, 40)))?,
            Datum::Json(Value::Number(n)) => Num::from_json(n).ok_or_else(|| format!("{loc} {n} is not finite"))?,
            Datum::Json(Value::String(s)) => {
                Num::parse(s).ok_or_else(|| format!("{loc} \"{}\" is not a number", clip(s, 40)))?
            }
            Datum::Json(v) => return Err(format!("{loc} is {}, not a number", kind(v))),
        };
        Ok(Reading { key, window_start, value: Some(value) })
    }

    fn locate(&mut self, loc: &Locator) -> Result<Datum<'_>, String> {
        match loc {
            Locator::Key => Ok(Datum::Text(text(self.key, "key")?)),
            Locator::Value => Ok(Datum::Text(text(self.value, "value")?)),
            Locator::KeyField(path) => {
                let parsed = self.key_json.get_or_insert_with(|| json(self.key, "key"));
                field(parsed.as_ref().map_err(Clone::clone)?, path, loc)
            }
            Locator::ValueField(path) => {
                let parsed = self.value_json.get_or_insert_with(|| json(self.value, "value"));
                field(parsed.as_ref().map_err(Clone::clone)?, path, loc)
            }
        }
    }
}

enum Datum<'a> {
    Text(&'a str),
    Json(&'a Value),
}

fn text<'b>(bytes: Option<&'b [u8]>, what: &str) -> Result<&'b str, String> {
    let b = bytes.ok_or_else(|| format!("the record has no {what}"))?;
    std::str::from_utf8(b).map_err(|_| format!("the record {what} is not UTF-8 text"))
}

fn json(bytes: Option<&[u8]>, what: &str) -> Result<Value, String> {
    let t = text(bytes, what)?;
    serde_json::from_str(t).map_err(|e| format!("the record {what} is not JSON ({e})"))
}

fn field<'v>(v: &'v Value, path: &[String], loc: &Locator) -> Result<Datum<'v>, String> {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Object(m) => m.get(p).ok_or_else(|| format!("{loc}: no field `{p}`"))?,
            other => return Err(format!("{loc}: `{p}` is looked up in {}, not an object", kind(other))),
        };
    }
    Ok(Datum::Json(cur))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(key: &str, ws: Option<&str>, value: &str) -> JobOutput {
        JobOutput {
            topic: "t".into(),
            key: Locator::parse(key).unwrap(),
            window_start: ws.map(|w| Locator::parse(w).unwrap()),
            value: Locator::parse(value).unwrap(),
        }
    }

    fn read(o: &JobOutput, k: Option<&str>, v: Option<&str>) -> Result<Reading, String> {
        Record::new(k.map(str::as_bytes), v.map(str::as_bytes)).read(o, true)
    }

    const T10: i64 = 1_570_060_810_000;

    #[test]
    fn kafka_streams_shape_string_key_and_json_value() {
        let o = out("key", Some("value.window_start"), "value.count");
        let r =
            read(&o, Some("room_1"), Some(r#"{"window_start":1570060810000,"window_end":1570060820000,"count":40}"#))
                .unwrap();
        assert_eq!(r.key, "room_1");
        assert_eq!(r.window_start, Some(T10));
        assert_eq!(r.value.unwrap().f, 40.0);
    }

    #[test]
    fn spark_shape_json_key_and_plain_number_value() {
        let o = out("key.room", Some("key.window_start"), "value");
        let r = read(&o, Some(r#"{"room":"room_1","window_start":"2019-10-03T00:00:10.000Z"}"#), Some("40\n")).unwrap();
        assert_eq!((r.key.as_str(), r.window_start), ("room_1", Some(T10)));
        let v = r.value.unwrap();
        assert_eq!((v.f, v.json.to_string()), (40.0, "40".to_string()));
    }

    #[test]
    fn numbers_in_any_reasonable_spelling() {
        let o = out("key", None, "value.v");
        let get = |v: &str| read(&o, Some("k"), Some(v)).map(|r| r.value.unwrap().f);
        assert_eq!(get(r#"{"v": 2.5}"#), Ok(2.5));
        assert_eq!(get(r#"{"v": "2.5"}"#), Ok(2.5));
        assert_eq!(get(r#"{"v": 1e3}"#), Ok(1000.0));
        assert!(get(r#"{"v": "NaN"}"#).unwrap_err().contains("not a number"));
        assert!(get(r#"{"v": null}"#).unwrap_err().contains("null, not a number"));
        assert_eq!(Num::parse("+40").map(|n| n.f), Some(40.0));
        assert_eq!(Num::parse("inf"), None);
    }

    #[test]
    fn keys_and_windows_from_nested_json_fields() {
        let o = out("key.id.room", Some("value.w.start"), "value.n");
        let r = read(&o, Some(r#"{"id":{"room":7}}"#), Some(r#"{"w":{"start":"1570060810000"},"n":3}"#)).unwrap();
        assert_eq!((r.key.as_str(), r.window_start), ("7", Some(T10)));
        let float_ms = read(&o, Some(r#"{"id":{"room":"a"}}"#), Some(r#"{"w":{"start":1570060810000.0},"n":3}"#));
        assert_eq!(float_ms.unwrap().window_start, Some(T10));
    }

    #[test]
    fn unreadable_records_say_why() {
        let o = out("key", Some("value.window_start"), "value.count");
        let err = |k: Option<&str>, v: Option<&str>| read(&o, k, v).unwrap_err();
        assert!(err(Some("r"), Some("not json")).contains("the record value is not JSON"));
        assert!(err(Some("r"), Some(r#"{"count":1}"#)).contains("value.window_start: no field `window_start`"));
        assert!(err(Some("r"), Some(r#"{"window_start":"soon","count":1}"#)).contains("neither epoch milliseconds"));
        assert!(err(Some("r"), Some(r#"{"window_start":1.5,"count":1}"#)).contains("not a whole number"));
        assert!(err(None, Some(r#"{"window_start":0,"count":1}"#)).contains("has no key"));
        assert!(err(Some("r"), Some("[1]")).contains("looked up in an array"));
        let bytes = Record::new(Some(&[0xff, 0xfe]), Some(b"1")).read(&out("key", None, "value"), false);
        assert!(bytes.unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn a_tombstone_is_a_deletion_when_its_key_says_which_window() {
        let spark = out("key.room", Some("key.window_start"), "value");
        let r = read(&spark, Some(r#"{"room":"room_1","window_start":"2019-10-03T00:00:10Z"}"#), None).unwrap();
        assert_eq!((r.window_start, r.value), (Some(T10), None));
        // Kafka Streams' window start is in the value: a tombstone cannot say which window it deletes.
        let ks = out("key", Some("value.window_start"), "value.count");
        assert!(read(&ks, Some("room_1"), None).unwrap_err().contains("has no value"));
    }

    #[test]
    fn unwindowed_expectations_ignore_the_window_locator() {
        let o = out("key", Some("value.window_start"), "value.count");
        let r = Record::new(Some(b"k"), Some(br#"{"count":2}"#)).read(&o, false).unwrap();
        assert_eq!(r.window_start, None);
    }
}
