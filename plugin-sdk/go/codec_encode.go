package sdk

// Encoding Go values by reflection: one plan per type, cached (see codec.go for the mapping).

import (
	"errors"
	"reflect"
	"sort"
	"sync"
)

type encFn func(b []byte, v reflect.Value) ([]byte, error)

var encoders sync.Map // reflect.Type -> encFn

func encoderFor(t reflect.Type) encFn {
	return cachedPlan(&encoders, t, newEncoder, func(plan func() encFn) encFn {
		return func(b []byte, v reflect.Value) ([]byte, error) { return plan()(b, v) }
	})
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
