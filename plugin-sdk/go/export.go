package sdk

// Running an author's function on a call's input: the input struct, the result, errors and
// panics, and the describe map (ABI §2).

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
)

// ABIVersion is the ABI version this SDK implements (ABI.md §8).
const ABIVersion = 1

// The input parts a function's input struct may declare (ABI §3), by key.
var partKeys = [...]string{"params", "state", "signals", "args", "history"}

const (
	partParams = iota
	partState
	partSignals
	partArgs
	partHistory
	numParts
)

// plan is how to call one function type.
type plan struct {
	fn       reflect.Type
	ctx      int          // 0: no ctx parameter, 1: *Ctx, 2: Ctx
	in       reflect.Type // the input struct, or nil
	inIndex  int          // position of the input struct among the parameters
	parts    [numParts]int
	partType [numParts]reflect.Type
	partDec  [numParts]decFn
	out      reflect.Type
	outEnc   encFn
	hasErr   bool
	err      string // why the function cannot be used
}

var plans sync.Map // reflect.Type -> *plan

func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := newPlan(t)
	plans.Store(t, p)
	return p
}

const signatureHelp = "a function must look like func([ctx *sdk.Ctx,] [in In]) Out or (Out, error), " +
	"where In is a struct whose fields are among State, Params, Signals, Args and History"

func newPlan(t reflect.Type) *plan {
	p := &plan{fn: t}
	for i := range p.parts {
		p.parts[i] = -1
	}
	if t == nil || t.Kind() != reflect.Func {
		p.err = "not a function (" + typeName(t) + "); " + signatureHelp
		return p
	}
	if t.IsVariadic() || t.NumIn() > 2 {
		p.err = signatureHelp
		return p
	}
	for i := 0; i < t.NumIn(); i++ {
		a := t.In(i)
		switch {
		case i == 0 && a == ctxPtr:
			p.ctx = 1
		case i == 0 && a == ctxType:
			p.ctx = 2
		case a.Kind() == reflect.Struct && p.in == nil:
			p.in, p.inIndex = a, i
		default:
			p.err = "unexpected parameter type " + a.String() + "; " + signatureHelp
			return p
		}
	}
	if p.in != nil {
		for _, f := range structFields(p.in) {
			k := -1
			for j, name := range partKeys {
				if f.key == name {
					k = j
				}
			}
			if k < 0 {
				p.err = "the input struct " + p.in.String() + " has a field `" + f.key +
					"`; its fields must be among State, Params, Signals, Args and History"
				return p
			}
			p.parts[k], p.partType[k], p.partDec[k] = f.index, f.typ, decoderFor(f.typ)
		}
	}
	switch {
	case t.NumOut() == 1 && t.Out(0) != errorType:
	case t.NumOut() == 2 && t.Out(1) == errorType:
		p.hasErr = true
	default:
		p.err = "the function must return one value, or a value and an error; " + signatureHelp
		return p
	}
	p.out = t.Out(0)
	p.outEnc = encoderFor(p.out)
	return p
}

var (
	emptyMap = []byte{0x80}
	nilValue = []byte{0xc0}
)

// splitInput returns the raw MessagePack of ctx and of each part, skipping unknown keys.
func splitInput(in []byte) (ctx []byte, parts [numParts][]byte, err error) {
	d := decoder{b: in}
	n, err := d.readMapLen()
	if err != nil {
		return nil, parts, errors.New("malformed call input: " + err.Error())
	}
	for i := 0; i < n; i++ {
		k, err := d.readStrBytes()
		if err != nil {
			return nil, parts, errors.New("malformed call input: " + err.Error())
		}
		start := d.pos
		if err := d.skip(); err != nil {
			return nil, parts, errors.New("malformed call input: " + err.Error())
		}
		raw := in[start:d.pos:d.pos]
		switch string(k) {
		case "ctx":
			ctx = raw
		case "params":
			parts[partParams] = raw
		case "state":
			parts[partState] = raw
		case "signals":
			parts[partSignals] = raw
		case "args":
			parts[partArgs] = raw
		case "history":
			parts[partHistory] = raw
		}
	}
	if ctx == nil {
		return nil, parts, errors.New("malformed call input: no `ctx` key")
	}
	return ctx, parts, nil
}

// run calls f on one input and appends the encoded result to out. A non-empty failure message
// means the call failed (out is then meaningless).
func run(f any, input []byte, host Host, out []byte) (result []byte, failure string) {
	defer func() {
		if r := recover(); r != nil {
			result, failure = out, panicMessage(r)
		}
	}()
	fv := reflect.ValueOf(f)
	var ft reflect.Type
	if fv.IsValid() {
		ft = fv.Type()
	}
	p := planFor(ft)
	if p.err != "" {
		return out, p.err
	}
	// One pass over the input map: ctx and the declared parts are decoded in place, everything
	// else is skipped; absent parts are decoded from their defaults afterwards.
	ctx := &Ctx{host: host}
	var in reflect.Value
	if p.in != nil {
		in = reflect.New(p.in).Elem()
	}
	d := decoder{b: input}
	n, err := d.readMapLen()
	if err != nil {
		return out, "malformed call input: " + err.Error()
	}
	var seen [numParts]bool
	hasCtx := false
	for i := 0; i < n; i++ {
		key, err := d.readStrBytes()
		if err != nil {
			return out, "malformed call input: " + err.Error()
		}
		k := -1
		switch string(key) {
		case "ctx":
			if err := decodeCtx(&d, ctx); err != nil {
				return out, "malformed call input: cannot decode `ctx`: " + err.Error()
			}
			hasCtx = true
			continue
		case "params":
			k = partParams
		case "state":
			k = partState
		case "signals":
			k = partSignals
		case "args":
			k = partArgs
		case "history":
			k = partHistory
		}
		if k < 0 || p.parts[k] < 0 || seen[k] {
			if err := d.skip(); err != nil {
				return out, "malformed call input: " + err.Error()
			}
			continue
		}
		seen[k] = true
		if err := p.partDec[k](&d, in.Field(p.parts[k])); err != nil {
			return out, "cannot decode `" + partKeys[k] + "` as " + p.partType[k].String() + ": " + err.Error()
		}
	}
	if !hasCtx {
		return out, "malformed call input: no `ctx` key"
	}
	if d.pos != len(d.b) {
		return out, "malformed call input: trailing bytes"
	}
	for k, idx := range p.parts {
		if idx < 0 || seen[k] {
			continue
		}
		raw, hint := emptyMap, ""
		switch k {
		case partArgs:
			raw, hint = nilValue, " (the scenario binds no `args` to this use of the function)"
		case partHistory:
			raw, hint = nilValue, " (the scenario does not set `history` for this function)"
		}
		pd := decoder{b: raw}
		if err := p.partDec[k](&pd, in.Field(idx)); err != nil {
			return out, "cannot decode `" + partKeys[k] + "` as " + p.partType[k].String() + ": " + err.Error() + hint
		}
	}
	args := make([]reflect.Value, p.fn.NumIn())
	switch p.ctx {
	case 1:
		args[0] = reflect.ValueOf(ctx)
	case 2:
		args[0] = reflect.ValueOf(*ctx)
	}
	if p.in != nil {
		args[p.inIndex] = in
	}
	res := fv.Call(args)
	if p.hasErr && !res[1].IsNil() {
		msg := res[1].Interface().(error).Error()
		if msg == "" {
			msg = "failed"
		}
		ctx.setErr(msg)
	}
	if ctx.err != "" {
		return out, ctx.err
	}
	out, err = p.outEnc(out, res[0])
	if err != nil {
		return out, "cannot encode the result: " + err.Error()
	}
	return out, ""
}

// panicMessage is "panic: <value> (at file:line)", the location being the frame that panicked.
func panicMessage(r any) string {
	msg := "panic: " + fmt.Sprint(r)
	pcs := make([]uintptr, 32)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	afterPanic := false
	for {
		fr, more := frames.Next()
		if afterPanic && !strings.HasPrefix(fr.Function, "runtime.") {
			if fr.File != "" {
				msg += " (at " + shortFile(fr.File) + ":" + itoa(fr.Line) + " in " + fr.Function + ")"
			}
			break
		}
		if strings.HasPrefix(fr.Function, "runtime.gopanic") || strings.HasPrefix(fr.Function, "runtime.panic") ||
			strings.HasPrefix(fr.Function, "runtime.sigpanic") {
			afterPanic = true
		}
		if !more {
			break
		}
	}
	return msg
}

// shortFile keeps the last two path elements.
func shortFile(f string) string {
	i := strings.LastIndexByte(f, '/')
	if i > 0 {
		if j := strings.LastIndexByte(f[:i], '/'); j >= 0 {
			return f[j+1:]
		}
	}
	return f
}

// ---- describe ----

// describe returns the describe map (ABI §2) of f used as a policy or a state update.
func describe(f any, stateUpdate bool) Value {
	p := planFor(reflect.TypeOf(f))
	kind := "policy"
	if stateUpdate {
		kind = "state_update"
	}
	entries := []Entry{{"kind", Str(kind)}}
	if stateUpdate && p.err == "" {
		entries = append(entries, Entry{"output", Str(outputKind(p.out))})
	}
	reads := make([]Entry, 0, 4)
	for _, k := range []int{partState, partParams, partSignals, partArgs} {
		var v Value // nil: unknown
		if p.err == "" {
			if p.parts[k] < 0 {
				v = List()
			} else if names := readsOf(p.partType[k]); names != nil {
				v = List(names...)
			}
		}
		reads = append(reads, Entry{partKeys[k], v})
	}
	entries = append(entries, Entry{"reads", Map(reads...)})
	return Map(entries...)
}

// readsOf lists the keys a struct-shaped part reads, looking through pointers, slices and
// arrays; nil (unknown) for anything else.
func readsOf(t reflect.Type) []Value {
	for t != valueType && t != rawType && t != bytesType &&
		(t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == valueType {
		return nil
	}
	names := []Value{}
	for _, f := range structFields(t) {
		names = append(names, Str(f.key))
	}
	return names
}

// outputKind is the describe map's output word for a result type.
func outputKind(t reflect.Type) string {
	switch t {
	case valueType, rawType, bytesType:
		return "any"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.String:
		return "str"
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.Map, reflect.Struct:
		return "map"
	}
	return "any"
}

// Describe returns the describe map of f (for tests and tools): stateUpdate chooses the kind.
func Describe(f any, stateUpdate bool) Value { return describe(f, stateUpdate) }

// ---- native use (tests) ----

// TestHost is a Host for native tests: the engine's generator seeded like a call, a fixed
// clock, and everything logged, emitted or failed kept for inspection.
type TestHost struct {
	Rng     SplitMix64
	Now     int64
	Logs    []string
	Emitted []Value // the emit maps: {topic, value, key?, headers?}
	Failed  string
}

// NewTestHost returns a host whose stream is seeded with seed and whose clock reads nowNs.
func NewTestHost(seed uint64, nowNs int64) *TestHost {
	return &TestHost{Rng: SplitMix64{seed}, Now: nowNs}
}

func (h *TestHost) RngU64() uint64              { return h.Rng.Next() }
func (h *TestHost) RngF64() float64             { return h.Rng.NextF64() }
func (h *TestHost) NowNs() int64                { return h.Now }
func (h *TestHost) Log(level int32, msg string) { h.Logs = append(h.Logs, msg) }
func (h *TestHost) Emit(b []byte) {
	var v Value
	if err := Unmarshal(b, &v); err != nil {
		v = Str("<undecodable emit: " + err.Error() + ">")
	}
	h.Emitted = append(h.Emitted, v)
}
func (h *TestHost) Fail(msg string) {
	if h.Failed == "" {
		h.Failed = msg
	}
}

// Invoke runs f natively on input (anything Marshal accepts, typically a Value map with a ctx,
// state, params, ... as the engine sends), the way the WASM export would, and returns the
// decoded result. A failure (returned error, Fail, panic, bad input) comes back as an error. If
// host is nil, a TestHost seeded with ctx.seed at clock ctx.time_ns is used.
func Invoke(f any, input any, host Host) (Value, error) {
	b, err := Marshal(input)
	if err != nil {
		return Value{}, err
	}
	if host == nil {
		var c Ctx
		if raw, _, err := splitInput(b); err == nil {
			_ = decodeCtx(&decoder{b: raw}, &c)
		}
		host = NewTestHost(c.Seed, c.TimeNs)
	}
	out, failure := run(f, b, host, nil)
	if failure != "" {
		host.Fail(failure)
		return Value{}, errors.New(failure)
	}
	var v Value
	err = Unmarshal(out, &v)
	return v, err
}
