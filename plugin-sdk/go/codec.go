package sdk

// Reflection-based MessagePack encoding and decoding of Go values, with a plan cached per type.
//
// Mapping (both ways):
//   bool <-> bool; intN/uintN <-> integer; float32/float64 <-> float (decoding a float accepts an
//   integer, decoding an integer rejects a float); string <-> string; []byte <-> binary;
//   slices and arrays <-> lists; map[string]T <-> maps (encoded with sorted keys, since Go maps
//   have no order); structs <-> maps in field order; Value <-> anything; Raw <-> its bytes;
//   pointers and interfaces <-> nil or their element (an interface decodes to a Value).
//
// Struct fields: exported fields only. The key is the `msgpack:"name"` tag, else the field name
// in snake_case (MsgCounts -> msg_counts, TimeNS -> time_ns). Tag options: `msgpack:"-"` skips
// the field; `msgpack:",omitempty"` leaves a zero value out when encoding and makes the field
// optional when decoding; `msgpack:",optional"` only makes it optional. When decoding, unknown
// keys are ignored and a missing key is an error ("missing field `x`") unless the field is
// optional, a pointer or an interface, as with serde in the Rust SDK.

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"unicode"
)

var (
	valueType = reflect.TypeFor[Value]()
	rawType   = reflect.TypeFor[Raw]()
	bytesType = reflect.TypeFor[[]byte]()
	errorType = reflect.TypeFor[error]()
	ctxType   = reflect.TypeFor[Ctx]()
	ctxPtr    = reflect.TypeFor[*Ctx]()
)

// Marshal encodes a Go value as MessagePack.
func Marshal(x any) ([]byte, error) {
	return appendAny(nil, x)
}

func appendAny(b []byte, x any) ([]byte, error) {
	switch v := x.(type) {
	case nil:
		return appendNil(b), nil
	case Value:
		return appendValue(b, v), nil
	case string:
		return appendStr(b, v), nil
	}
	rv := reflect.ValueOf(x)
	return encoderFor(rv.Type())(b, rv)
}

// Unmarshal decodes MessagePack into x, which must be a non-nil pointer. Trailing bytes are an
// error.
func Unmarshal(data []byte, x any) error {
	rv := reflect.ValueOf(x)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errors.New("Unmarshal needs a non-nil pointer, got " + typeName(rv.Type()))
	}
	d := decoder{b: data}
	if err := decoderFor(rv.Type().Elem())(&d, rv.Elem()); err != nil {
		return err
	}
	if d.pos != len(d.b) {
		return d.errAt("trailing bytes")
	}
	return nil
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}

// cachedPlan returns cache's plan for t, built once by build. A recursive type meets its own plan
// while build runs: it finds forward's function in the cache, which waits for the real plan and
// calls it.
func cachedPlan[F any](cache *sync.Map, t reflect.Type, build func(reflect.Type) F, forward func(plan func() F) F) F {
	if f, ok := cache.Load(t); ok {
		return f.(F)
	}
	var (
		wg sync.WaitGroup
		f  F
	)
	wg.Add(1)
	fi, loaded := cache.LoadOrStore(t, forward(func() F {
		wg.Wait()
		return f
	}))
	if loaded {
		return fi.(F)
	}
	f = build(t)
	wg.Done()
	cache.Store(t, f)
	return f
}

// ---- struct fields ----

type field struct {
	key       string
	index     int
	typ       reflect.Type
	omitEmpty bool
	optional  bool
}

var fieldCache sync.Map // reflect.Type -> []field

// structFields lists the exported fields of t with their keys.
func structFields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("msgpack")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = SnakeCase(sf.Name)
		}
		f := field{key: name, index: i, typ: sf.Type}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty":
				f.omitEmpty, f.optional = true, true
			case "optional":
				f.optional = true
			}
		}
		if k := sf.Type.Kind(); k == reflect.Pointer || k == reflect.Interface {
			f.optional = true
		}
		out = append(out, f)
	}
	fieldCache.Store(t, out)
	return out
}

// SnakeCase is the key a struct field gets without a tag: MsgCounts -> msg_counts,
// TimeNS -> time_ns, HTTPServer -> http_server, Value2 -> value2.
func SnakeCase(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func itoa(i int) string {
	if i == math.MinInt {
		return "-9223372036854775808"
	}
	neg := i < 0
	if neg {
		i = -i
	}
	var buf [20]byte
	p := len(buf)
	for {
		p--
		buf[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	if neg {
		p--
		buf[p] = '-'
	}
	return string(buf[p:])
}
