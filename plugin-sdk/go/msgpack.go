package sdk

// MessagePack primitives: an appending encoder and a bounds-checked decoder. Authors never need
// them; they are exported through Marshal, Unmarshal, Value and Raw.

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds nesting when decoding, so a hostile input cannot exhaust the stack.
const maxDepth = 256

// ---- encoding ----

func appendNil(b []byte) []byte { return append(b, 0xc0) }

func appendBool(b []byte, x bool) []byte {
	if x {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// appendInt writes i in its most compact form (as rmp's write_sint does).
func appendInt(b []byte, i int64) []byte {
	switch {
	case i >= 0:
		return appendUint(b, uint64(i))
	case i >= -32:
		return append(b, byte(i))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(i))
	case i >= math.MinInt16:
		return append(b, 0xd1, byte(i>>8), byte(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(i))
}

func appendUint(b []byte, u uint64) []byte {
	switch {
	case u < 128:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return append(b, 0xcd, byte(u>>8), byte(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), u)
}

func appendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}

func appendFloat32(b []byte, f float32) []byte {
	return binary.BigEndian.AppendUint32(append(b, 0xca), math.Float32bits(f))
}

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xda, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
}

func appendStr(b []byte, s string) []byte { return append(appendStrHeader(b, len(s)), s...) }

func appendBin(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = append(b, 0xc5, byte(n>>8), byte(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, s...)
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xdc, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(b, 0xde, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}

// appendValue writes a dynamic value.
func appendValue(b []byte, v Value) []byte {
	switch v.kind {
	case KindNil:
		return appendNil(b)
	case KindBool:
		return appendBool(b, v.num != 0)
	case KindInt:
		return appendInt(b, int64(v.num))
	case KindFloat:
		return binary.BigEndian.AppendUint64(append(b, 0xcb), v.num)
	case KindStr:
		return appendStr(b, v.str)
	case KindBin:
		return appendBin(b, v.str)
	case KindList:
		b = appendArrayHeader(b, len(v.items))
		for i := range v.items {
			b = appendValue(b, v.items[i])
		}
		return b
	case KindMap:
		b = appendMapHeader(b, len(v.entries))
		for i := range v.entries {
			b = appendStr(b, v.entries[i].Key)
			b = appendValue(b, v.entries[i].Value)
		}
		return b
	}
	return appendNil(b)
}

// ---- decoding ----

// decoder reads MessagePack from a byte slice.
type decoder struct {
	b     []byte
	pos   int
	depth int
}

var errTruncated = errors.New("truncated MessagePack")

func (d *decoder) errAt(msg string) error {
	return errors.New(msg + " at byte " + strconv.Itoa(d.pos))
}

func (d *decoder) peek() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, errTruncated
	}
	return d.b[d.pos], nil
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.pos {
		return nil, errTruncated
	}
	s := d.b[d.pos : d.pos+n]
	d.pos += n
	return s, nil
}

func (d *decoder) be(n int) (uint64, error) {
	s, err := d.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range s {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// describe names the MessagePack type starting with byte c, for error messages.
func describeMarker(c byte) string {
	switch {
	case c <= 0x7f || c >= 0xe0, c >= 0xcc && c <= 0xd3:
		return "an integer"
	case c <= 0x8f, c == 0xde, c == 0xdf:
		return "a map"
	case c <= 0x9f, c == 0xdc, c == 0xdd:
		return "a list"
	case c <= 0xbf, c >= 0xd9 && c <= 0xdb:
		return "a string"
	case c == 0xc0:
		return "nil"
	case c == 0xc2, c == 0xc3:
		return "a boolean"
	case c == 0xca, c == 0xcb:
		return "a float"
	case c >= 0xc4 && c <= 0xc6:
		return "binary"
	case c >= 0xc7 && c <= 0xc9, c >= 0xd4 && c <= 0xd8:
		return "an extension value"
	}
	return "an invalid byte"
}

func (d *decoder) typeErr(want string) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	return d.errAt("expected " + want + ", found " + describeMarker(c))
}

// isNil consumes a nil if there is one.
func (d *decoder) isNil() bool {
	if d.pos < len(d.b) && d.b[d.pos] == 0xc0 {
		d.pos++
		return true
	}
	return false
}

// intKind reports whether the next value is an integer, and whether it is an unsigned 64-bit one
// beyond the signed range.
func (d *decoder) readInt() (int64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		d.pos++
		return int64(c), nil
	case c >= 0xe0:
		d.pos++
		return int64(int8(c)), nil
	}
	switch c {
	case 0xcc, 0xcd, 0xce, 0xcf:
		d.pos++
		u, err := d.be(1 << (c - 0xcc))
		if err != nil {
			return 0, err
		}
		if u > math.MaxInt64 {
			d.pos -= 9
			return 0, d.errAt("integer " + strconv.FormatUint(u, 10) + " is out of the signed 64-bit range")
		}
		return int64(u), nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		d.pos++
		n := 1 << (c - 0xd0)
		u, err := d.be(n)
		if err != nil {
			return 0, err
		}
		shift := 64 - 8*n
		return int64(u<<shift) >> shift, nil
	}
	return 0, d.typeErr("an integer")
}

// readBits reads 64 integer bits, signed or unsigned (the ctx seed).
func (d *decoder) readBits() (uint64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	if c == 0xcf {
		d.pos++
		return d.be(8)
	}
	i, err := d.readInt()
	return uint64(i), err
}

func (d *decoder) readUint() (uint64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	if c == 0xcf {
		d.pos++
		return d.be(8)
	}
	start := d.pos
	i, err := d.readInt()
	if err != nil {
		return 0, err
	}
	if i < 0 {
		d.pos = start
		return 0, d.errAt("expected a non-negative integer, found " + strconv.FormatInt(i, 10))
	}
	return uint64(i), nil
}

// readFloat reads a float, or an integer as a float.
func (d *decoder) readFloat() (float64, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	switch c {
	case 0xcb:
		d.pos++
		u, err := d.be(8)
		return math.Float64frombits(u), err
	case 0xca:
		d.pos++
		u, err := d.be(4)
		return float64(math.Float32frombits(uint32(u))), err
	case 0xcf:
		d.pos++
		u, err := d.be(8)
		return float64(u), err
	}
	if c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3) {
		i, err := d.readInt()
		return float64(i), err
	}
	return 0, d.typeErr("a number")
}

func (d *decoder) readBool() (bool, error) {
	c, err := d.peek()
	if err != nil {
		return false, err
	}
	switch c {
	case 0xc2:
		d.pos++
		return false, nil
	case 0xc3:
		d.pos++
		return true, nil
	}
	return false, d.typeErr("a boolean")
}

// readStrBytes reads a string without copying it (the slice aliases the input).
func (d *decoder) readStrBytes() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case c >= 0xa0 && c <= 0xbf:
		d.pos++
		n = uint64(c & 0x1f)
	case c == 0xd9 || c == 0xda || c == 0xdb:
		d.pos++
		n, err = d.be(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
	default:
		return nil, d.typeErr("a string")
	}
	if n > uint64(len(d.b)) {
		return nil, errTruncated
	}
	return d.take(int(n))
}

func (d *decoder) readStr() (string, error) {
	s, err := d.readStrBytes()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(s) {
		return "", d.errAt("invalid UTF-8 in a string")
	}
	return string(s), nil
}

// readBinBytes reads binary (or a string) without copying it.
func (d *decoder) readBinBytes() ([]byte, error) {
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c >= 0xc4 && c <= 0xc6 {
		d.pos++
		n, err := d.be(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		if n > uint64(len(d.b)) {
			return nil, errTruncated
		}
		return d.take(int(n))
	}
	if (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb) {
		return d.readStrBytes()
	}
	return nil, d.typeErr("binary")
}

func (d *decoder) readArrayLen() (int, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c >= 0x90 && c <= 0x9f:
		d.pos++
		n = uint64(c & 0x0f)
	case c == 0xdc || c == 0xdd:
		d.pos++
		n, err = d.be(2 << (c - 0xdc))
		if err != nil {
			return 0, err
		}
	default:
		return 0, d.typeErr("a list")
	}
	if n > uint64(len(d.b)-d.pos) { // every item takes at least one byte
		return 0, errTruncated
	}
	return int(n), nil
}

func (d *decoder) readMapLen() (int, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c >= 0x80 && c <= 0x8f:
		d.pos++
		n = uint64(c & 0x0f)
	case c == 0xde || c == 0xdf:
		d.pos++
		n, err = d.be(2 << (c - 0xde))
		if err != nil {
			return 0, err
		}
	default:
		return 0, d.typeErr("a map")
	}
	if n > uint64(len(d.b)-d.pos)/2 {
		return 0, errTruncated
	}
	return int(n), nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.errAt("values nested deeper than " + strconv.Itoa(maxDepth) + " levels")
	}
	return nil
}

// skip advances past one complete value without decoding it.
func (d *decoder) skip() error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	d.pos++
	var fixed, lenBytes, items int
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
	case c <= 0x8f:
		items = 2 * int(c&0x0f)
	case c <= 0x9f:
		items = int(c & 0x0f)
	case c <= 0xbf:
		fixed = int(c & 0x1f)
	default:
		switch c {
		case 0xc1:
			d.pos--
			return d.errAt("invalid byte 0xc1")
		case 0xc4, 0xd9:
			lenBytes = 1
		case 0xc5, 0xda:
			lenBytes = 2
		case 0xc6, 0xdb:
			lenBytes = 4
		case 0xc7:
			fixed, lenBytes = 1, 1
		case 0xc8:
			fixed, lenBytes = 1, 2
		case 0xc9:
			fixed, lenBytes = 1, 4
		case 0xcc, 0xd0:
			fixed = 1
		case 0xcd, 0xd1:
			fixed = 2
		case 0xca, 0xce, 0xd2:
			fixed = 4
		case 0xcb, 0xcf, 0xd3:
			fixed = 8
		case 0xd4:
			fixed = 2
		case 0xd5:
			fixed = 3
		case 0xd6:
			fixed = 5
		case 0xd7:
			fixed = 9
		case 0xd8:
			fixed = 17
		case 0xdc:
			lenBytes, items = 2, -1
		case 0xdd:
			lenBytes, items = 4, -1
		case 0xde:
			lenBytes, items = 2, -2
		case 0xdf:
			lenBytes, items = 4, -2
		}
	}
	if lenBytes > 0 {
		n, err := d.be(lenBytes)
		if err != nil {
			return err
		}
		if n > uint64(len(d.b)) {
			return errTruncated
		}
		if items < 0 {
			items = -items * int(n)
		} else {
			fixed += int(n)
		}
	}
	if _, err := d.take(fixed); err != nil {
		return err
	}
	if items > 0 {
		if err := d.enter(); err != nil {
			return err
		}
		for i := 0; i < items; i++ {
			if err := d.skip(); err != nil {
				return err
			}
		}
		d.depth--
	}
	return nil
}

// readValue decodes one dynamic value.
func (d *decoder) readValue() (Value, error) {
	c, err := d.peek()
	if err != nil {
		return Value{}, err
	}
	switch {
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3 && c != 0xcf):
		i, err := d.readInt()
		return Int(i), err
	case c == 0xcf:
		i, err := d.readInt()
		return Int(i), err
	case c == 0xc0:
		d.pos++
		return Value{}, nil
	case c == 0xc2 || c == 0xc3:
		d.pos++
		return Bool(c == 0xc3), nil
	case c == 0xca || c == 0xcb:
		f, err := d.readFloat()
		return Float(f), err
	case (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb):
		s, err := d.readStr()
		return Str(s), err
	case c >= 0xc4 && c <= 0xc6:
		b, err := d.readBinBytes()
		return Value{kind: KindBin, str: string(b)}, err
	case (c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd:
		n, err := d.readArrayLen()
		if err != nil {
			return Value{}, err
		}
		if err := d.enter(); err != nil {
			return Value{}, err
		}
		items := make([]Value, n)
		for i := range items {
			if items[i], err = d.readValue(); err != nil {
				return Value{}, err
			}
		}
		d.depth--
		return Value{kind: KindList, items: items}, nil
	case (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf:
		n, err := d.readMapLen()
		if err != nil {
			return Value{}, err
		}
		if err := d.enter(); err != nil {
			return Value{}, err
		}
		entries := make([]Entry, n)
		for i := range entries {
			if entries[i].Key, err = d.readStr(); err != nil {
				return Value{}, err
			}
			if entries[i].Value, err = d.readValue(); err != nil {
				return Value{}, err
			}
		}
		d.depth--
		return Value{kind: KindMap, entries: entries}, nil
	}
	return Value{}, d.errAt("unsupported MessagePack value (" + describeMarker(c) + ")")
}

// readRaw returns the bytes of the next value, copied.
func (d *decoder) readRaw() (Raw, error) {
	start := d.pos
	if err := d.skip(); err != nil {
		return nil, err
	}
	return Raw(append([]byte(nil), d.b[start:d.pos]...)), nil
}

// Raw is one value's MessagePack, decoded only when asked: declare a part of the input (or a
// field) as Raw to skip the cost of decoding what a function does not read. Its Get and Each
// look into maps without decoding the rest.
type Raw []byte

// Kind is the type of the value.
func (r Raw) Kind() Kind {
	if len(r) == 0 {
		return KindNil
	}
	c := r[0]
	switch {
	case c <= 0x7f || c >= 0xe0, c >= 0xcc && c <= 0xd3:
		return KindInt
	case c <= 0x8f, c == 0xde, c == 0xdf:
		return KindMap
	case c <= 0x9f, c == 0xdc, c == 0xdd:
		return KindList
	case c <= 0xbf, c >= 0xd9 && c <= 0xdb:
		return KindStr
	case c == 0xc2, c == 0xc3:
		return KindBool
	case c == 0xca, c == 0xcb:
		return KindFloat
	case c >= 0xc4 && c <= 0xc6:
		return KindBin
	}
	return KindNil
}

// Each calls f for every entry of a map, in order, until f returns false. It fails if r is not
// a map or is malformed.
func (r Raw) Each(f func(key string, v Raw) bool) error {
	d := decoder{b: r}
	n, err := d.readMapLen()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		k, err := d.readStrBytes()
		if err != nil {
			return err
		}
		start := d.pos
		if err := d.skip(); err != nil {
			return err
		}
		if !f(string(k), r[start:d.pos:d.pos]) {
			return nil
		}
	}
	return nil
}

// Get returns the entry of a map under key (the first, should the map repeat it), and whether
// there is one. A non-map has no entries.
func (r Raw) Get(key string) (Raw, bool) {
	var out Raw
	found := false
	if r.Kind() != KindMap {
		return nil, false
	}
	_ = r.Each(func(k string, v Raw) bool {
		if k == key {
			out, found = v, true
			return false
		}
		return true
	})
	return out, found
}

// Value decodes the whole value.
func (r Raw) Value() (Value, error) {
	d := decoder{b: r}
	return d.readValue()
}

// Decode decodes the value into x, as [Unmarshal] does.
func (r Raw) Decode(x any) error { return Unmarshal(r, x) }
