package main

// Runs the chat model's four blocks natively with a hand-written engine loop (policy results
// concatenated in order, all state updates reading the previous record), as the Rust plugin's
// tests/model.rs does, and checks the trajectory and the quirks.

import (
	"strings"
	"testing"

	"distroduce.dev/sdk"
)

const clock = int64(1_570_060_800_000_000_000) // 2019-10-03 00:00:00 UTC

func s(x string) sdk.Value { return sdk.Str(x) }

func ctx(variable string) sdk.Value {
	v := sdk.Nil()
	if variable != "" {
		v = s(variable)
	}
	return sdk.Map(sdk.E("simulation", sdk.Int(0)), sdk.E("subset", sdk.Int(0)), sdk.E("run", sdk.Int(1)),
		sdk.E("timestep", sdk.Int(1)), sdk.E("substep", sdk.Int(1)), sdk.E("seed", sdk.Int(7)),
		sdk.E("time_ns", sdk.Int(clock)), sdk.E("variable", v))
}

func presence(client, user string) sdk.Value {
	return sdk.Map(sdk.E("client", s(client)), sdk.E("room", s("room_1")), sdk.E("user", s(user)))
}

func sendArgs(client, input, sender, receiver string) sdk.Value {
	return sdk.Map(sdk.E("client", s(client)), sdk.E("room", s("room_1")), sdk.E("input", s(input)),
		sdk.E("sender", s(sender)), sdk.E("receiver", s(receiver)))
}

type call struct {
	f    any
	args sdk.Value
}

var blocks = [4][2]call{
	{{Enter, presence("server", "A")}, {Enter, presence("server", "B")}},
	{{Send, sendArgs("client_A", "Hi B", "A", "B")}, {Send, sendArgs("client_B", "Hi A", "B", "A")}},
	{{Send, sendArgs("client_A", "Bye B", "A", "B")}, {Send, sendArgs("client_B", "Bye A", "B", "A")}},
	{{Exit, presence("server", "A")}, {Exit, presence("server", "B")}},
}

var updates = []struct {
	variable string
	f        any
}{
	{"client_a", SendMessage}, {"client_b", SendMessage}, {"total_msg_count", CountMessages},
	{"total_send_time", AddSendTime}, {"record_creation", CurrentTime},
}

func initialState() sdk.Value {
	client := sdk.Map(sdk.E("users", sdk.List()), sdk.E("messages", sdk.List()), sdk.E("msg_count", sdk.Int(0)),
		sdk.E("send_time", sdk.Float(0)))
	return sdk.Map(sdk.E("record_creation", s("2019-10-03 00:00:00")), sdk.E("client_a", client),
		sdk.E("client_b", client), sdk.E("total_msg_count", sdk.Int(0)), sdk.E("total_send_time", sdk.Float(0)))
}

// concat is the engine's default aggregation: lists of the same key are concatenated.
func concat(a, b sdk.Value) sdk.Value {
	out := a
	for _, e := range b.Entries() {
		prev, ok := out.Get(e.Key)
		if ok {
			out = out.With(e.Key, prev.Append(e.Value.Items()...))
		} else {
			out = out.With(e.Key, e.Value)
		}
	}
	return out
}

func substep(t testing.TB, state sdk.Value, block [2]call, host sdk.Host) sdk.Value {
	signals := sdk.Map()
	for _, c := range block {
		in := sdk.Map(sdk.E("ctx", ctx("")), sdk.E("params", sdk.Map()), sdk.E("state", state), sdk.E("args", c.args))
		out, err := sdk.Invoke(c.f, in, host)
		if err != nil {
			t.Fatal(err)
		}
		signals = concat(signals, out)
	}
	next := state
	for _, u := range updates {
		in := sdk.Map(sdk.E("ctx", ctx(u.variable)), sdk.E("params", sdk.Map()), sdk.E("state", state),
			sdk.E("signals", signals))
		out, err := sdk.Invoke(u.f, in, host)
		if err != nil {
			t.Fatalf("%s: %v", u.variable, err)
		}
		next = next.With(u.variable, out)
	}
	return next
}

func TestOneTimestepMatchesTheOriginal(t *testing.T) {
	host := sdk.NewTestHost(1, clock)
	state := initialState()
	wantUsers := []string{`["A", "B"]`, `["A", "B"]`, `["A", "B"]`, `[]`}
	for i, block := range blocks {
		state = substep(t, state, block, host)
		a, _ := state.Get("client_a")
		users, _ := a.Get("users")
		if users.String() != wantUsers[i] {
			t.Fatalf("block %d: users %s, want %s", i+1, users, wantUsers[i])
		}
	}
	if n, _ := state.Get("total_msg_count"); !n.Equal(sdk.Int(8)) {
		t.Fatalf("total_msg_count %v, want 8", n)
	}
	if f, _ := state.Get("total_send_time"); !f.Equal(sdk.Float(0)) {
		t.Fatalf("total_send_time %v, want 0.0", f)
	}
	a, _ := state.Get("client_a")
	want := `{"users": [], "messages": [{"client": "server", "room": "room_1", "action": "exit", "sender": "A", ` +
		`"receiver": null, "input": "A exited room_1", "created": "2019-10-03 00:00:00"}, {"client": "server", ` +
		`"room": "room_1", "action": "exit", "sender": "B", "receiver": null, "input": "B exited room_1", ` +
		`"created": "2019-10-03 00:00:00"}], "msg_counts": 2, "send_times": 0.0}`
	if a.String() != want {
		t.Fatalf("client_a:\n%s\nwant\n%s", a, want)
	}
	if len(host.Emitted) != 4 {
		t.Fatalf("%d messages emitted, want 4", len(host.Emitted))
	}
	if got := host.Emitted[0].String(); !strings.HasPrefix(got, `{"topic": "chat", "value": {"client": "client_A", "room": "room_1", "action": "send", "sender": "A", "receiver": "B", "input": "Hi B", "created": "2019-10-03 00:00:00"}, "key": "room_1"}`) {
		t.Fatalf("emitted %s", got)
	}
}

func TestQuirks(t *testing.T) {
	sig := func(types []string, msgs ...sdk.Value) SignalActions {
		var ts []sdk.Value
		for _, x := range types {
			ts = append(ts, s(x))
		}
		return SignalActions{Types: ts, Messages: msgs}
	}
	msg := func(action string, sender sdk.Value) sdk.Value {
		return sdk.Map(sdk.E("action", s(action)), sdk.E("sender", sender))
	}
	// Exit before enter in the block: enter is still processed first.
	a := sig([]string{"exit", "enter"}, msg("exit", s("A")), msg("enter", s("A")))
	if u, err := UpdateUsers(nil, &a); err != nil || len(u) != 0 {
		t.Fatalf("exit then enter: %v %v", u, err)
	}
	// A sender is iterated by character.
	a = sig([]string{"enter"}, msg("enter", s("Bob")))
	if u, err := UpdateUsers(nil, &a); err != nil || sdk.List(u...).String() != `["B", "o", "b"]` {
		t.Fatalf("by character: %v %v", u, err)
	}
	// Removing an absent user fails like list.remove.
	a = sig([]string{"exit"}, msg("exit", s("Z")))
	if _, err := UpdateUsers([]sdk.Value{s("A")}, &a); err == nil || err.Error() != "list.remove(x): x not in list" {
		t.Fatalf("remove: %v", err)
	}
	a = sig([]string{"enter"}, msg("enter", sdk.Int(1)))
	if _, err := UpdateUsers(nil, &a); err == nil || err.Error() != "'int' object is not iterable" {
		t.Fatalf("int sender: %v", err)
	}
	if _, err := reduceInts(nil); err == nil || err.Error() != "reduce() of empty iterable with no initial value" {
		t.Fatalf("empty reduce: %v", err)
	}
	if _, err := reduceInts([]int64{1 << 62, 1 << 62}); err == nil || err.Error() != "integer overflow" {
		t.Fatalf("overflow: %v", err)
	}
	// A float msg_counts entry fails the call (instead of turning the sum into a float).
	in := sdk.Map(sdk.E("ctx", ctx("total_msg_count")), sdk.E("state", sdk.Map(sdk.E("total_msg_count", sdk.Int(0)))),
		sdk.E("signals", sdk.Map(sdk.E("msg_counts", sdk.List(sdk.Float(1))))))
	if _, err := sdk.Invoke(CountMessages, in, nil); err == nil || !strings.Contains(err.Error(), "cannot decode `signals`") {
		t.Fatalf("float count: %v", err)
	}
	// send_message names a missing variable like Python's KeyError.
	in = sdk.Map(sdk.E("ctx", ctx("client_c")), sdk.E("state", initialState()),
		sdk.E("signals", sdk.Map(sdk.E("types", sdk.List()), sdk.E("messages", sdk.List()),
			sdk.E("msg_counts", sdk.List(sdk.Int(1))), sdk.E("send_times", sdk.List(sdk.Float(0))))))
	if _, err := sdk.Invoke(SendMessage, in, nil); err == nil || err.Error() != "KeyError: 'client_c'" {
		t.Fatalf("missing variable: %v", err)
	}
}

// BenchmarkTimestep measures one timestep (4 substeps, 28 calls) including the MessagePack
// encoding of the inputs, as a rough native profile of the SDK's per-call cost.
func BenchmarkTimestep(b *testing.B) {
	host := sdk.NewTestHost(1, clock)
	state := initialState()
	for i := 0; i < b.N; i++ {
		for _, block := range blocks {
			state = substep(b, state, block, host)
		}
		host.Emitted = host.Emitted[:0]
	}
}

// BenchmarkCalls measures the SDK path alone on fixed inputs: the 7 calls of block 2.
func BenchmarkCalls(b *testing.B) {
	host := sdk.NewTestHost(1, clock)
	state := initialState()
	state = substep(b, state, blocks[0], host)
	var inputs []sdk.Value
	var fs []any
	signals := sdk.Map()
	for _, c := range blocks[1] {
		in := sdk.Map(sdk.E("ctx", ctx("")), sdk.E("params", sdk.Map()), sdk.E("state", state), sdk.E("args", c.args))
		out, _ := sdk.Invoke(c.f, in, host)
		signals = concat(signals, out)
		inputs, fs = append(inputs, in), append(fs, c.f)
	}
	for _, u := range updates {
		inputs = append(inputs, sdk.Map(sdk.E("ctx", ctx(u.variable)), sdk.E("params", sdk.Map()), sdk.E("state", state),
			sdk.E("signals", signals)))
		fs = append(fs, u.f)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range fs {
			if _, err := sdk.Invoke(fs[j], inputs[j], host); err != nil {
				b.Fatal(err)
			}
		}
		host.Emitted = host.Emitted[:0]
	}
}
