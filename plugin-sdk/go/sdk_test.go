package sdk

import (
	"errors"
	"math"
	"strings"
	"testing"
)

const day = int64(86_400) * 1_000_000_000

func TestFormatPython(t *testing.T) {
	cases := map[int64]string{
		0:                               "1970-01-01 00:00:00",
		999:                             "1970-01-01 00:00:00",
		1_000:                           "1970-01-01 00:00:00.000001",
		1_500_000_000:                   "1970-01-01 00:00:01.500000",
		-1:                              "1969-12-31 23:59:59.999999",
		-day:                            "1969-12-31 00:00:00",
		1_570_060_800 * 1_000_000_000:   "2019-10-03 00:00:00",
		951_782_400 * 1_000_000_000:     "2000-02-29 00:00:00",
		951_868_800 * 1_000_000_000:     "2000-03-01 00:00:00",
		1_709_210_096*1e9 + 789_012_345: "2024-02-29 12:34:56.789012",
		math.MaxInt64:                   "2262-04-11 23:47:16.854775",
		math.MinInt64:                   "1677-09-21 00:12:43.145224",
	}
	for ns, want := range cases {
		if got := FormatPython(ns); got != want {
			t.Errorf("FormatPython(%d) = %q, want %q", ns, got, want)
		}
	}
}

func TestCivilFromDaysFourCenturies(t *testing.T) {
	leap := func(y int64) bool { return (y%4 == 0 && y%100 != 0) || y%400 == 0 }
	z := int64(-25_567) // 1900-01-01
	for y := int64(1900); y < 2300; y++ {
		for m := uint32(1); m <= 12; m++ {
			n := uint32(31)
			switch {
			case m == 2 && leap(y):
				n = 29
			case m == 2:
				n = 28
			case m == 4 || m == 6 || m == 9 || m == 11:
				n = 30
			}
			for d := uint32(1); d <= n; d++ {
				gy, gm, gd := CivilFromDays(z)
				if gy != y || gm != m || gd != d {
					t.Fatalf("CivilFromDays(%d) = %d-%d-%d, want %d-%d-%d", z, gy, gm, gd, y, m, d)
				}
				z++
			}
		}
	}
}

func TestValueRoundTripKeepsOrderAndKinds(t *testing.T) {
	v := Map(
		E("z", Int(1)),
		E("a", Float(1)),
		E("m", List(Str("x"), Nil(), Bool(true), Int(-40), Int(1<<40), Int(math.MinInt64), Float(-0.5))),
		E("b", Bin([]byte{0, 1, 2})),
		E("s", Str(strings.Repeat("é", 40))),
	)
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back Value
	if err := Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(v) {
		t.Fatalf("round trip: %v != %v", back, v)
	}
	if Int(1).Equal(Float(1)) {
		t.Fatal("Int(1) must differ from Float(1)")
	}
	if k := back.Entries()[0].Key; k != "z" {
		t.Fatalf("first key %q, want z", k)
	}
}

type inner struct {
	MsgCounts []int64
	SendTimes []float64
	Note      *string
	Extra     string `msgpack:"x,omitempty"`
}

func TestStructDecoding(t *testing.T) {
	b, _ := Marshal(Map(E("send_times", List(Int(1), Float(2.5))), E("msg_counts", List(Int(3))), E("junk", Map())))
	var x inner
	if err := Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	if x.SendTimes[0] != 1 || x.SendTimes[1] != 2.5 || x.MsgCounts[0] != 3 || x.Note != nil {
		t.Fatalf("%+v", x)
	}
	// A float where an int is expected fails; a missing required field fails.
	b, _ = Marshal(Map(E("send_times", List()), E("msg_counts", List(Float(1)))))
	if err := Unmarshal(b, &x); err == nil || !strings.Contains(err.Error(), "expected an integer") {
		t.Fatalf("float into int: %v", err)
	}
	b, _ = Marshal(Map(E("send_times", List())))
	if err := Unmarshal(b, &x); err == nil || !strings.Contains(err.Error(), "missing field `msg_counts`") {
		t.Fatalf("missing field: %v", err)
	}
	// Encoding keeps field order and snake_case keys, and leaves out empty omitempty fields.
	out, _ := ValueOf(inner{MsgCounts: []int64{1}, SendTimes: []float64{}})
	if got := out.String(); got != `{"msg_counts": [1], "send_times": [], "note": null}` {
		t.Fatalf("encoded %s", got)
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{"MsgCounts": "msg_counts", "TimeNS": "time_ns", "HTTPServer": "http_server",
		"Value2": "value2", "A": "a", "TotalSendTime": "total_send_time"} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func ctxMap(seed int64) Value {
	return Map(E("simulation", Int(0)), E("subset", Int(0)), E("run", Int(1)), E("timestep", Int(1)),
		E("substep", Int(1)), E("seed", Int(seed)), E("time_ns", Int(1_570_060_800_000_000_000)), E("variable", Str("x")))
}

type counterIn struct {
	State  struct{ X int64 }
	Params struct{ Step int64 }
	Args   *struct{ Scale int64 }
}

func TestInvokeAndErrors(t *testing.T) {
	f := func(ctx *Ctx, in counterIn) (int64, error) {
		if in.State.X < 0 {
			return 0, errors.New("negative")
		}
		if in.State.X == 13 {
			panic("unlucky")
		}
		ctx.Emit("t", "k", map[string]int64{"x": in.State.X})
		return in.State.X + in.Params.Step + int64(ctx.RngIntn(1)), nil
	}
	input := func(x int64) Value {
		return Map(E("ctx", ctxMap(7)), E("params", Map(E("step", Int(2)))), E("state", Map(E("x", Int(x)))))
	}
	h := NewTestHost(7, 0)
	got, err := Invoke(f, input(40), h)
	if err != nil || !got.Equal(Int(42)) {
		t.Fatalf("got %v, %v", got, err)
	}
	if len(h.Emitted) != 1 || h.Emitted[0].String() != `{"topic": "t", "value": {"x": 40}, "key": "k"}` {
		t.Fatalf("emitted %v", h.Emitted)
	}
	if _, err := Invoke(f, input(-1), nil); err == nil || err.Error() != "negative" {
		t.Fatalf("error: %v", err)
	}
	if _, err := Invoke(f, input(13), nil); err == nil || !strings.HasPrefix(err.Error(), "panic: unlucky (at ") {
		t.Fatalf("panic: %v", err)
	}
	bad := Map(E("ctx", ctxMap(7)), E("params", Map(E("step", Int(2)))), E("state", Map(E("x", Float(1.5)))))
	if _, err := Invoke(f, bad, nil); err == nil || !strings.Contains(err.Error(), "cannot decode `state`") {
		t.Fatalf("bad state: %v", err)
	}
	if _, err := Invoke(func(x int) int { return x }, input(1), nil); err == nil {
		t.Fatal("a bad signature must fail")
	}
}

func TestArgsAndHistoryMissing(t *testing.T) {
	f := func(in struct{ Args struct{ A string } }) string { return in.Args.A }
	_, err := Invoke(f, Map(E("ctx", ctxMap(1))), nil)
	if err == nil || !strings.Contains(err.Error(), "binds no `args`") {
		t.Fatalf("missing args: %v", err)
	}
	got, err := Invoke(f, Map(E("ctx", ctxMap(1)), E("args", Map(E("a", Str("hi"))))), nil)
	if err != nil || !got.Equal(Str("hi")) {
		t.Fatalf("args: %v %v", got, err)
	}
}

func TestDescribe(t *testing.T) {
	f := func(ctx *Ctx, in struct {
		State   Raw
		Signals struct{ MsgCounts []int64 }
	}) (map[string]int64, error) {
		return nil, nil
	}
	if got := Describe(f, true).String(); got != `{"kind": "state_update", "output": "map", "reads": {"state": null, "params": [], "signals": ["msg_counts"], "args": []}}` {
		t.Fatalf("describe: %s", got)
	}
	g := func(ctx *Ctx) string { return "" }
	if got := Describe(g, false).String(); got != `{"kind": "policy", "reads": {"state": [], "params": [], "signals": [], "args": []}}` {
		t.Fatalf("describe: %s", got)
	}
}

func TestRngMatchesEngineSplitMix(t *testing.T) {
	// SplitMix64 seeded with 0: the reference sequence.
	s := SplitMix64{0}
	if a, b := s.Next(), s.Next(); a != 0xe220a8397b1dcdaf || b != 0x6e789e6aa1b965f4 {
		t.Fatalf("splitmix64: %x %x", a, b)
	}
}

func TestMalformedInputs(t *testing.T) {
	for _, bad := range [][]byte{{}, {0x81}, {0x81, 0xa1, 'a'}, {0x81, 0xa1, 'a', 0xc1}, {0x05}, {0x81, 0x01, 0x01},
		{0xdf, 0xff, 0xff, 0xff, 0xff}, {0xdd, 0xff, 0xff, 0xff, 0xff}} {
		if _, failure := run(func() int { return 1 }, bad, NewTestHost(0, 0), nil); failure == "" {
			t.Errorf("%x: accepted", bad)
		}
	}
	deep := []byte{0x81, 0xa1, 'a'}
	for i := 0; i < 10_000; i++ {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0xc0)
	if _, failure := run(func() int { return 1 }, deep, NewTestHost(0, 0), nil); !strings.Contains(failure, "nested") {
		t.Errorf("deep nesting: %q", failure)
	}
}

type thread struct {
	Text    string
	Replies []thread
	Next    *thread `msgpack:",omitempty"`
}

// A type that contains itself gets one plan, which meets itself while it is built (a forward
// function waits for it); encoding and decoding round-trip, from many goroutines at once.
func TestRecursiveTypesRoundTrip(t *testing.T) {
	in := thread{Text: "a", Replies: []thread{{Text: "b", Replies: []thread{{Text: "c"}}}}, Next: &thread{Text: "d"}}
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			b, err := Marshal(in)
			if err != nil {
				done <- err
				return
			}
			var out thread
			if err := Unmarshal(b, &out); err != nil {
				done <- err
				return
			}
			if out.Replies[0].Replies[0].Text != "c" || out.Next == nil || out.Next.Text != "d" || out.Next.Next != nil {
				done <- errors.New("round trip changed the value")
				return
			}
			done <- nil
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
