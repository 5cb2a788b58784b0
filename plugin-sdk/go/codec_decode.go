package sdk

// Decoding into Go values by reflection: one plan per type, cached (see codec.go for the mapping).

import (
	"errors"
	"reflect"
	"sync"
)

type decFn func(d *decoder, v reflect.Value) error

var decoders sync.Map // reflect.Type -> decFn

func decoderFor(t reflect.Type) decFn {
	return cachedPlan(&decoders, t, newDecoder, func(plan func() decFn) decFn {
		return func(d *decoder, v reflect.Value) error { return plan()(d, v) }
	})
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
