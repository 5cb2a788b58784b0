package sdk

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
