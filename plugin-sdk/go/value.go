package sdk

import (
	"math"
	"strconv"
	"strings"
)

// Kind is the type of a [Value].
type Kind uint8

const (
	KindNil Kind = iota
	KindBool
	KindInt
	KindFloat
	KindStr
	KindBin
	KindList
	KindMap
)

// Entry is one key/value pair of a map [Value].
type Entry struct {
	Key   string
	Value Value
}

// Value is any value the ABI carries (ABI §3), for the parts of a model whose shape is only known
// at run time. Integers and floats stay distinct (Int(1) and Float(1) are different values and
// are written differently in the records), and maps keep their key order, so a value passed
// through a plugin comes out exactly as it went in. The zero Value is nil.
//
// A Value is immutable in practice: the constructors copy nothing, so do not modify a slice
// after handing it to List, Map or Bin.
type Value struct {
	kind    Kind
	num     uint64 // bool (0/1), int64 bits, float64 bits
	str     string // Str, Bin
	items   []Value
	entries []Entry
}

// Nil is the nil value (also the zero Value).
func Nil() Value { return Value{} }

// Bool makes a boolean value.
func Bool(b bool) Value {
	v := Value{kind: KindBool}
	if b {
		v.num = 1
	}
	return v
}

// Int makes an integer value.
func Int(i int64) Value { return Value{kind: KindInt, num: uint64(i)} }

// Float makes a float value.
func Float(f float64) Value { return Value{kind: KindFloat, num: math.Float64bits(f)} }

// Str makes a string value.
func Str(s string) Value { return Value{kind: KindStr, str: s} }

// Bin makes a binary value (MessagePack bin; sent as-is when emitted as a message value).
func Bin(b []byte) Value { return Value{kind: KindBin, str: string(b)} }

// List makes a list value.
func List(items ...Value) Value {
	if items == nil {
		items = []Value{}
	}
	return Value{kind: KindList, items: items}
}

// Map makes a map value with the entries in the given order.
func Map(entries ...Entry) Value {
	if entries == nil {
		entries = []Entry{}
	}
	return Value{kind: KindMap, entries: entries}
}

// E is shorthand for an [Entry]: Map(E("a", Int(1)), E("b", Str("x"))).
func E(key string, v Value) Entry { return Entry{Key: key, Value: v} }

// Kind is the value's type.
func (v Value) Kind() Kind { return v.kind }

// IsNil reports whether the value is nil.
func (v Value) IsNil() bool { return v.kind == KindNil }

// AsBool returns the boolean, and whether the value is one.
func (v Value) AsBool() (bool, bool) { return v.num != 0, v.kind == KindBool }

// AsInt returns the integer, and whether the value is one (floats are not converted).
func (v Value) AsInt() (int64, bool) { return int64(v.num), v.kind == KindInt }

// AsFloat returns the number as a float, and whether the value is a number: integers convert,
// as Python's arithmetic would mix them.
func (v Value) AsFloat() (float64, bool) {
	switch v.kind {
	case KindFloat:
		return math.Float64frombits(v.num), true
	case KindInt:
		return float64(int64(v.num)), true
	}
	return 0, false
}

// AsStr returns the string, and whether the value is one.
func (v Value) AsStr() (string, bool) {
	if v.kind == KindStr {
		return v.str, true
	}
	return "", false
}

// AsBin returns the bytes, and whether the value is binary.
func (v Value) AsBin() ([]byte, bool) {
	if v.kind == KindBin {
		return []byte(v.str), true
	}
	return nil, false
}

// Items returns the elements of a list (nil for anything else).
func (v Value) Items() []Value {
	if v.kind == KindList {
		return v.items
	}
	return nil
}

// Entries returns the entries of a map, in order (nil for anything else).
func (v Value) Entries() []Entry {
	if v.kind == KindMap {
		return v.entries
	}
	return nil
}

// Len is the number of items of a list or entries of a map, the length of a string or binary,
// and 0 for anything else.
func (v Value) Len() int {
	switch v.kind {
	case KindList:
		return len(v.items)
	case KindMap:
		return len(v.entries)
	case KindStr, KindBin:
		return len(v.str)
	}
	return 0
}

// Get returns the entry of a map under key (the first, should a map repeat a key), and whether
// there is one. Anything but a map has no entries.
func (v Value) Get(key string) (Value, bool) {
	if v.kind != KindMap {
		return Value{}, false
	}
	for i := range v.entries {
		if v.entries[i].Key == key {
			return v.entries[i].Value, true
		}
	}
	return Value{}, false
}

// Index returns item i of a list, and whether there is one.
func (v Value) Index(i int) (Value, bool) {
	if v.kind != KindList || i < 0 || i >= len(v.items) {
		return Value{}, false
	}
	return v.items[i], true
}

// With returns a copy of the map v with key set to x: replaced in place if present, appended
// otherwise. On a non-map it returns a map with that single entry.
func (v Value) With(key string, x Value) Value {
	var entries []Entry
	if v.kind == KindMap {
		entries = make([]Entry, len(v.entries), len(v.entries)+1)
		copy(entries, v.entries)
	}
	for i := range entries {
		if entries[i].Key == key {
			entries[i].Value = x
			return Map(entries...)
		}
	}
	return Map(append(entries, Entry{key, x})...)
}

// Append returns a copy of the list v with xs added at the end (a list of xs on a non-list).
func (v Value) Append(xs ...Value) Value {
	var items []Value
	if v.kind == KindList {
		items = make([]Value, len(v.items), len(v.items)+len(xs))
		copy(items, v.items)
	}
	return List(append(items, xs...)...)
}

// TypeName is the Python-ish name of the value's type, for error messages: nil, bool, int,
// float, str, bytes, list, map.
func (v Value) TypeName() string { return v.kind.String() }

// String is the Python-ish name of the kind.
func (k Kind) String() string {
	switch k {
	case KindNil:
		return "nil"
	case KindBool:
		return "bool"
	case KindInt:
		return "int"
	case KindFloat:
		return "float"
	case KindStr:
		return "str"
	case KindBin:
		return "bytes"
	case KindList:
		return "list"
	case KindMap:
		return "map"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Equal compares two values structurally, like the Rust SDK's Value: kinds must match (Int(1)
// differs from Float(1)), floats compare with == (so NaN differs from itself) and maps compare
// entry by entry, in order.
func (v Value) Equal(o Value) bool {
	if v.kind != o.kind {
		return false
	}
	switch v.kind {
	case KindNil:
		return true
	case KindBool, KindInt:
		return v.num == o.num
	case KindFloat:
		return math.Float64frombits(v.num) == math.Float64frombits(o.num)
	case KindStr, KindBin:
		return v.str == o.str
	case KindList:
		if len(v.items) != len(o.items) {
			return false
		}
		for i := range v.items {
			if !v.items[i].Equal(o.items[i]) {
				return false
			}
		}
		return true
	case KindMap:
		if len(v.entries) != len(o.entries) {
			return false
		}
		for i := range v.entries {
			if v.entries[i].Key != o.entries[i].Key || !v.entries[i].Value.Equal(o.entries[i].Value) {
				return false
			}
		}
		return true
	}
	return false
}

// String renders the value as JSON-like text, for logs and test failures (not the engine's
// record format).
func (v Value) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v Value) write(b *strings.Builder) {
	switch v.kind {
	case KindNil:
		b.WriteString("null")
	case KindBool:
		b.WriteString(strconv.FormatBool(v.num != 0))
	case KindInt:
		b.WriteString(strconv.FormatInt(int64(v.num), 10))
	case KindFloat:
		f := math.Float64frombits(v.num)
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") { // keep floats recognisable: 1.0, not 1
			s += ".0"
		}
		b.WriteString(s)
	case KindStr:
		b.WriteString(strconv.Quote(v.str))
	case KindBin:
		b.WriteString("b")
		b.WriteString(strconv.Quote(v.str))
	case KindList:
		b.WriteByte('[')
		for i, x := range v.items {
			if i > 0 {
				b.WriteString(", ")
			}
			x.write(b)
		}
		b.WriteByte(']')
	case KindMap:
		b.WriteByte('{')
		for i, e := range v.entries {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(e.Key))
			b.WriteString(": ")
			e.Value.write(b)
		}
		b.WriteByte('}')
	}
}

// ValueOf converts a Go value (as [Marshal] would encode it) to a Value.
func ValueOf(x any) (Value, error) {
	if v, ok := x.(Value); ok {
		return v, nil
	}
	b, err := Marshal(x)
	if err != nil {
		return Value{}, err
	}
	var v Value
	err = Unmarshal(b, &v)
	return v, err
}
