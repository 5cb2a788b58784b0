use super::*;
use prost_reflect::{DynamicMessage, MapKey, Value};
use serde_json::json;

const CHAT: &str = r#"
syntax = "proto3";
package chat;

message Event {
  enum Kind { TEXT = 0; JOIN = 1; }
  message Meta { string lang = 1; }
  string user = 1;
  sint64 n = 2;
  double score = 3;
  repeated string tags = 4;
  Kind kind = 5;
  optional string room = 6;
  map<string, int32> counts = 7;
  repeated int32 seq = 8;
  Meta meta = 9;
  bytes blob = 10;
  uint32 small = 11;
  oneof target { string to_user = 12; int64 to_group = 13; }
  int32 zero = 14;
}

message Other { int32 x = 1; }
"#;

fn decode(schema: &ProtoSchema, bytes: &[u8]) -> DynamicMessage {
    let pool = pool(CHAT).unwrap();
    let desc = pool.get_message_by_name(&schema.message).unwrap();
    DynamicMessage::decode(desc, bytes).unwrap()
}

fn encode(s: &ProtoSchema, v: Json) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    s.encode(&v, &mut out).map(|()| out)
}

/// Our bytes decode with prost-reflect's decoder to the same value.
#[test]
fn encodes_what_prost_reflect_decodes() {
    let s = ProtoSchema::parse(CHAT, Some("chat.Event")).unwrap();
    let v = json!({"user": "A", "n": -300, "score": 1.5, "tags": ["x", "y"], "kind": "JOIN", "room": "",
                   "counts": {"k": 7}, "seq": [1, -2, 300], "meta": {"lang": "en"}, "blob": "hi",
                   "small": 4_000_000_000u64, "toUser": "B", "zero": 0});
    let m = decode(&s, &encode(&s, v).unwrap());
    let f = |name: &str| m.get_field_by_name(name).unwrap().into_owned();
    assert_eq!(f("user"), Value::String("A".into()));
    assert_eq!(f("n"), Value::I64(-300));
    assert_eq!(f("score"), Value::F64(1.5));
    assert_eq!(f("tags"), Value::List(vec![Value::String("x".into()), Value::String("y".into())]));
    assert_eq!(f("kind"), Value::EnumNumber(1));
    assert!(m.has_field_by_name("room"), "an optional field set to its default is written");
    assert_eq!(f("counts"), Value::Map([(MapKey::String("k".into()), Value::I32(7))].into()));
    assert_eq!(f("seq"), Value::List(vec![Value::I32(1), Value::I32(-2), Value::I32(300)]));
    assert_eq!(f("meta").as_message().unwrap().get_field_by_name("lang").unwrap().as_str(), Some("en"));
    assert_eq!(f("blob"), Value::Bytes("hi".into()));
    assert_eq!(f("small"), Value::U32(4_000_000_000));
    assert_eq!(f("to_user"), Value::String("B".into()), "by its JSON name");
    assert!(!m.has_field_by_name("zero"), "a proto3 field at its default is not written");
}

#[test]
fn a_value_that_does_not_fit_names_the_field() {
    let s = ProtoSchema::parse(CHAT, Some("chat.Event")).unwrap();
    let err = |v: Json| encode(&s, v).unwrap_err();
    assert_eq!(err(json!({"user": 3})), "field `user`: expected string, got 3");
    assert_eq!(err(json!({"small": -1})), "field `small`: -1 is out of range for uint32");
    assert_eq!(err(json!({"seq": [1, 3_000_000_000u64]})), "field `seq.[1]`: 3000000000 is out of range for int32");
    assert_eq!(err(json!({"n": 1.5})), "field `n`: expected sint64, got 1.5");
    assert_eq!(
        err(json!({"meta": {"lang": "en", "x": 1}})),
        "field `meta.x`: message `chat.Event.Meta` has no such field (its fields: lang)"
    );
    assert!(err(json!({"mood": "ok"}))
        .starts_with("field `mood`: message `chat.Event` has no such field (its fields: user, n, score,"));
    assert_eq!(
        err(json!({"kind": "LEAVE"})),
        "field `kind`: `LEAVE` is not a value of enum `chat.Event.Kind` (TEXT, JOIN)"
    );
    assert_eq!(err(json!({"counts": {"k": "x"}})), "field `counts.k`: expected int32, got \"x\"");
    assert_eq!(
        err(json!({"to_user": "a", "to_group": 1})),
        "fields `to_user` and `to_group` are members of one oneof: set one of them"
    );
    assert_eq!(err(json!([1])), "expected message `chat.Event` (a map), got [1]");
}

#[test]
fn message_indexes_follow_confluents_encoding() {
    let first = ProtoSchema::parse(CHAT, Some("chat.Event")).unwrap();
    assert_eq!((first.indexes.as_slice(), first.index_bytes()), (&[0i64][..], &[0u8][..]));
    let second = ProtoSchema::parse(CHAT, Some("chat.Other")).unwrap();
    assert_eq!((second.indexes.as_slice(), second.index_bytes()), (&[1i64][..], &[2u8, 2][..]));
    // Nested: Event's first nested message (declared before the map entry `counts` generates).
    let meta = ProtoSchema::parse(CHAT, Some("chat.Event.Meta")).unwrap();
    assert_eq!((meta.indexes.as_slice(), meta.index_bytes()), (&[0i64, 0][..], &[4u8, 0, 0][..]));
}

#[test]
fn bad_schemas_and_message_names_are_clear() {
    let e = ProtoSchema::parse("syntax = \"proto3\";\nmessage M {\n  strin x = 1;\n}\n", None).unwrap_err();
    assert!(e.contains("line 3"), "{e}");
    let e = ProtoSchema::parse(CHAT, None).unwrap_err();
    assert!(e.contains("declares 2 top-level messages") && e.contains("`message`"), "{e}");
    let e = ProtoSchema::parse(CHAT, Some("chat.Nope")).unwrap_err();
    assert!(
        e.starts_with(
            "the schema declares no message `chat.Nope` (it declares: chat.Event, chat.Event.Meta, chat.Other"
        ),
        "{e}"
    );
    let e = ProtoSchema::parse("syntax = \"proto3\";\nimport \"other.proto\";\n", None).unwrap_err();
    assert!(e.contains("other.proto"), "{e}");
    let wkt = "syntax = \"proto3\";\nimport \"google/protobuf/timestamp.proto\";\nmessage M { google.protobuf.Timestamp at = 1; }\n";
    let s = ProtoSchema::parse(wkt, None).unwrap();
    assert_eq!(encode(&s, json!({"at": {"seconds": 1}})).unwrap(), vec![10, 2, 8, 1]);
}

#[test]
fn changes_between_versions_are_named_by_field_number() {
    let v1 = ProtoSchema::parse(CHAT, Some("chat.Event")).unwrap();
    let v2 = CHAT
        .replace("sint64 n = 2;", "string n = 2;")
        .replace("double score = 3;", "double points = 3;")
        .replace("  bytes blob = 10;\n", "");
    let v2 = ProtoSchema::parse(&v2, Some("chat.Event")).unwrap();
    assert_eq!(
        v2.changes_from(&v1),
        [
            "field 2 `n` changed from sint64 to string",
            "field 3 was renamed from `score` to `points`",
            "field 10 `blob` was removed"
        ]
    );
    assert!(v1.changes_from(&v1).is_empty());
}
