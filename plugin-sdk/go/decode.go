package sdk

// MessagePack decoding: a bounds-checked reader that refuses hostile input (lengths past the
// end, nesting past maxDepth) with an error, never a panic or an allocation it cannot back.

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds nesting when decoding, so a hostile input cannot exhaust the stack.
const maxDepth = 256

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

// readArrayLen reads a list's header: the number of items.
func (d *decoder) readArrayLen() (int, error) { return d.readLen(0x90, 0xdc, 1, "a list") }

// readMapLen reads a map's header: the number of entries.
func (d *decoder) readMapLen() (int, error) { return d.readLen(0x80, 0xde, 2, "a map") }

// readLen reads the header of a list or map whose fix form starts at marker fix and whose 16-bit
// form is marker wide (the 32-bit form follows it). A count the remaining bytes cannot hold (each
// item takes at least perItem bytes) is refused before anything is allocated for it.
func (d *decoder) readLen(fix, wide byte, perItem uint64, what string) (int, error) {
	c, err := d.peek()
	if err != nil {
		return 0, err
	}
	var n uint64
	switch {
	case c >= fix && c <= fix|0x0f:
		d.pos++
		n = uint64(c & 0x0f)
	case c == wide || c == wide+1:
		d.pos++
		n, err = d.be(2 << (c - wide))
		if err != nil {
			return 0, err
		}
	default:
		return 0, d.typeErr(what)
	}
	if n > uint64(len(d.b)-d.pos)/perItem {
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
