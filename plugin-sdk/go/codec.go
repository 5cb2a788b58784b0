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
	"sort"
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

// ---- encoding ----

type encFn func(b []byte, v reflect.Value) ([]byte, error)

var encoders sync.Map // reflect.Type -> encFn

func encoderFor(t reflect.Type) encFn {
	if f, ok := encoders.Load(t); ok {
		return f.(encFn)
	}
	// Recursive types: publish an indirect function first, then the real one.
	var (
		wg sync.WaitGroup
		f  encFn
	)
	wg.Add(1)
	fi, loaded := encoders.LoadOrStore(t, encFn(func(b []byte, v reflect.Value) ([]byte, error) {
		wg.Wait()
		return f(b, v)
	}))
	if loaded {
		return fi.(encFn)
	}
	f = newEncoder(t)
	wg.Done()
	encoders.Store(t, f)
	return f
}

func newEncoder(t reflect.Type) encFn {
	switch t {
	case valueType:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendValue(b, v.Interface().(Value)), nil }
	case rawType:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.Len() == 0 {
				return appendNil(b), nil
			}
			return append(b, v.Bytes()...), nil
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendBool(b, v.Bool()), nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendInt(b, v.Int()), nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendUint(b, v.Uint()), nil }
	case reflect.Float32:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendFloat32(b, float32(v.Float())), nil }
	case reflect.Float64:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendFloat64(b, v.Float()), nil }
	case reflect.String:
		return func(b []byte, v reflect.Value) ([]byte, error) { return appendStr(b, v.String()), nil }
	case reflect.Interface:
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return appendNil(b), nil
			}
			e := v.Elem()
			return encoderFor(e.Type())(b, e)
		}
	case reflect.Pointer:
		elem := t.Elem()
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return appendNil(b), nil
			}
			return encoderFor(elem)(b, v.Elem())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(b []byte, v reflect.Value) ([]byte, error) { return appendBin(b, string(v.Bytes())), nil }
		}
		fallthrough
	case reflect.Array:
		elem := t.Elem()
		var once sync.Once
		var f encFn
		return func(b []byte, v reflect.Value) ([]byte, error) {
			once.Do(func() { f = encoderFor(elem) })
			n := v.Len()
			b = appendArrayHeader(b, n)
			var err error
			for i := 0; i < n; i++ {
				if b, err = f(b, v.Index(i)); err != nil {
					return b, err
				}
			}
			return b, nil
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return unsupportedEnc(t, "map keys must be strings")
		}
		elem := t.Elem()
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return appendMapHeader(b, 0), nil
			}
			keys := v.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			b = appendMapHeader(b, len(keys))
			f := encoderFor(elem)
			var err error
			for _, k := range keys {
				b = appendStr(b, k.String())
				if b, err = f(b, v.MapIndex(k)); err != nil {
					return b, err
				}
			}
			return b, nil
		}
	case reflect.Struct:
		fields := structFields(t)
		var once sync.Once
		encs := make([]encFn, len(fields))
		return func(b []byte, v reflect.Value) ([]byte, error) {
			once.Do(func() {
				for i := range fields {
					encs[i] = encoderFor(fields[i].typ)
				}
			})
			n := 0
			for i := range fields {
				if !fields[i].omitEmpty || !v.Field(fields[i].index).IsZero() {
					n++
				}
			}
			b = appendMapHeader(b, n)
			var err error
			for i := range fields {
				f := &fields[i]
				fv := v.Field(f.index)
				if f.omitEmpty && fv.IsZero() {
					continue
				}
				b = appendStr(b, f.key)
				if b, err = encs[i](b, fv); err != nil {
					return b, err
				}
			}
			return b, nil
		}
	}
	return unsupportedEnc(t, "")
}

func unsupportedEnc(t reflect.Type, why string) encFn {
	msg := "cannot encode a " + typeName(t)
	if why != "" {
		msg += ": " + why
	}
	return func(b []byte, v reflect.Value) ([]byte, error) { return b, errors.New(msg) }
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

// ---- decoding ----

type decFn func(d *decoder, v reflect.Value) error

var decoders sync.Map // reflect.Type -> decFn

func decoderFor(t reflect.Type) decFn {
	if f, ok := decoders.Load(t); ok {
		return f.(decFn)
	}
	var (
		wg sync.WaitGroup
		f  decFn
	)
	wg.Add(1)
	fi, loaded := decoders.LoadOrStore(t, decFn(func(d *decoder, v reflect.Value) error {
		wg.Wait()
		return f(d, v)
	}))
	if loaded {
		return fi.(decFn)
	}
	f = newDecoder(t)
	wg.Done()
	decoders.Store(t, f)
	return f
}

// fieldErr prefixes an error with where it happened.
func fieldErr(where string, err error) error {
	return errors.New(where + ": " + err.Error())
}

func newDecoder(t reflect.Type) decFn {
	switch t {
	case valueType:
		return func(d *decoder, v reflect.Value) error {
			x, err := d.readValue()
			if err == nil {
				v.Set(reflect.ValueOf(x))
			}
			return err
		}
	case rawType:
		return func(d *decoder, v reflect.Value) error {
			r, err := d.readRaw()
			if err == nil {
				v.SetBytes(r)
			}
			return err
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(d *decoder, v reflect.Value) error {
			x, err := d.readBool()
			v.SetBool(x)
			return err
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(d *decoder, v reflect.Value) error {
			start := d.pos
			x, err := d.readInt()
			if err != nil {
				return err
			}
			if v.OverflowInt(x) {
				d.pos = start
				return d.errAt("integer out of range for " + t.String())
			}
			v.SetInt(x)
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(d *decoder, v reflect.Value) error {
			start := d.pos
			x, err := d.readUint()
			if err != nil {
				return err
			}
			if v.OverflowUint(x) {
				d.pos = start
				return d.errAt("integer out of range for " + t.String())
			}
			v.SetUint(x)
			return nil
		}
	case reflect.Float32, reflect.Float64:
		return func(d *decoder, v reflect.Value) error {
			x, err := d.readFloat()
			v.SetFloat(x)
			return err
		}
	case reflect.String:
		return func(d *decoder, v reflect.Value) error {
			x, err := d.readStr()
			v.SetString(x)
			return err
		}
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return unsupportedDec(t)
		}
		return func(d *decoder, v reflect.Value) error {
			x, err := d.readValue()
			if err != nil {
				return err
			}
			if x.IsNil() {
				v.SetZero()
			} else {
				v.Set(reflect.ValueOf(x))
			}
			return nil
		}
	case reflect.Pointer:
		elem := t.Elem()
		return func(d *decoder, v reflect.Value) error {
			if d.isNil() {
				v.SetZero()
				return nil
			}
			p := reflect.New(elem)
			if err := decoderFor(elem)(d, p.Elem()); err != nil {
				return err
			}
			v.Set(p)
			return nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(d *decoder, v reflect.Value) error {
				x, err := d.readBinBytes()
				if err != nil {
					return err
				}
				v.SetBytes(append([]byte{}, x...))
				return nil
			}
		}
		elem := t.Elem()
		var once sync.Once
		var f decFn
		return func(d *decoder, v reflect.Value) error {
			once.Do(func() { f = decoderFor(elem) })
			n, err := d.readArrayLen()
			if err != nil {
				return err
			}
			if err := d.enter(); err != nil {
				return err
			}
			s := reflect.MakeSlice(t, n, n)
			for i := 0; i < n; i++ {
				if err := f(d, s.Index(i)); err != nil {
					return err
				}
			}
			d.depth--
			v.Set(s)
			return nil
		}
	case reflect.Array:
		elem := t.Elem()
		return func(d *decoder, v reflect.Value) error {
			start := d.pos
			n, err := d.readArrayLen()
			if err != nil {
				return err
			}
			if n != t.Len() {
				d.pos = start
				return d.errAt("expected a list of " + itoa(t.Len()) + " items, found " + itoa(n))
			}
			if err := d.enter(); err != nil {
				return err
			}
			f := decoderFor(elem)
			for i := 0; i < n; i++ {
				if err := f(d, v.Index(i)); err != nil {
					return err
				}
			}
			d.depth--
			return nil
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return unsupportedDec(t)
		}
		elem := t.Elem()
		return func(d *decoder, v reflect.Value) error {
			n, err := d.readMapLen()
			if err != nil {
				return err
			}
			if err := d.enter(); err != nil {
				return err
			}
			m := reflect.MakeMapWithSize(t, n)
			f := decoderFor(elem)
			for i := 0; i < n; i++ {
				k, err := d.readStr()
				if err != nil {
					return err
				}
				x := reflect.New(elem).Elem()
				if err := f(d, x); err != nil {
					return fieldErr("key `"+k+"`", err)
				}
				m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), x)
			}
			d.depth--
			v.Set(m)
			return nil
		}
	case reflect.Struct:
		fields := structFields(t)
		var once sync.Once
		decs := make([]decFn, len(fields))
		return func(d *decoder, v reflect.Value) error {
			once.Do(func() {
				for i := range fields {
					decs[i] = decoderFor(fields[i].typ)
				}
			})
			n, err := d.readMapLen()
			if err != nil {
				return err
			}
			if err := d.enter(); err != nil {
				return err
			}
			var seen uint64 // fields 0..63; later fields are tracked in more
			var more map[int]bool
			for i := 0; i < n; i++ {
				k, err := d.readStrBytes()
				if err != nil {
					return err
				}
				fi := -1
				for j := range fields {
					if fields[j].key == string(k) {
						fi = j
						break
					}
				}
				if fi < 0 {
					if err := d.skip(); err != nil {
						return err
					}
					continue
				}
				f := &fields[fi]
				if err := decs[fi](d, v.Field(f.index)); err != nil {
					return fieldErr("field `"+f.key+"`", err)
				}
				if fi < 64 {
					seen |= 1 << fi
				} else {
					if more == nil {
						more = map[int]bool{}
					}
					more[fi] = true
				}
			}
			d.depth--
			for j := range fields {
				got := (j < 64 && seen&(1<<j) != 0) || more[j]
				if !got && !fields[j].optional {
					return errors.New("missing field `" + fields[j].key + "`")
				}
			}
			return nil
		}
	}
	return unsupportedDec(t)
}

func unsupportedDec(t reflect.Type) decFn {
	return func(d *decoder, v reflect.Value) error { return errors.New("cannot decode into a " + typeName(t)) }
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
