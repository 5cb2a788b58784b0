package main

// state_updates.py. Each state update reads the aggregated actions of its block:
// {types: [..], messages: [..], send_times: [..], msg_counts: [..]}.

import (
	"errors"

	"distroduce.dev/sdk"
)

// SignalActions are the signals send_message reads. Messages and types stay dynamic so that
// they pass through untouched and compare the way Python compares them.
type SignalActions struct {
	Types     []sdk.Value
	Messages  []sdk.Value
	MsgCounts []int64
	SendTimes []float64
}

// Client is a client's next value. The plural msg_counts/send_times differ from the initial
// state's msg_count/send_time: that schema drift is the original's and is kept.
type Client struct {
	Users     []sdk.Value
	Messages  []sdk.Value
	MsgCounts int64
	SendTimes float64
}

var errEmptyReduce = errors.New("reduce() of empty iterable with no initial value")

// reduceInts is functools.reduce(add, xs) over integers: Python's error for an empty list, and
// a failure where Python's unbounded integers would leave the int64 range.
func reduceInts(xs []int64) (int64, error) {
	if len(xs) == 0 {
		return 0, errEmptyReduce
	}
	acc := xs[0]
	for _, x := range xs[1:] {
		var ok bool
		if acc, ok = checkedAdd(acc, x); !ok {
			return 0, errors.New("integer overflow")
		}
	}
	return acc, nil
}

// reduceFloats is functools.reduce(add, xs) over floats: a left fold, as Python adds them.
func reduceFloats(xs []float64) (float64, error) {
	if len(xs) == 0 {
		return 0, errEmptyReduce
	}
	acc := xs[0]
	for _, x := range xs[1:] {
		acc += x
	}
	return acc, nil
}

func checkedAdd(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// senderItems is `for user in msg['sender']`: a string yields its characters (so only
// one-letter user names work, as in the original), a list its items.
func senderItems(msg sdk.Value) ([]sdk.Value, error) {
	s, ok := msg.Get("sender")
	if !ok {
		return nil, errors.New("KeyError: 'sender'")
	}
	switch s.Kind() {
	case sdk.KindStr:
		str, _ := s.AsStr()
		var out []sdk.Value
		for _, c := range str {
			out = append(out, sdk.Str(string(c)))
		}
		return out, nil
	case sdk.KindList:
		return s.Items(), nil
	}
	return nil, errors.New("'" + s.TypeName() + "' object is not iterable")
}

// UpdateUsers is update_users(users, actions): action kinds are processed in the order send,
// enter, exit (whatever their order in the block); enter appends the sender, exit removes its
// first occurrence and fails if it is absent (list.remove), send changes nothing.
func UpdateUsers(users []sdk.Value, a *SignalActions) ([]sdk.Value, error) {
	users = append([]sdk.Value{}, users...)
	for _, kind := range [...]string{"send", "enter", "exit"} {
		present := false
		for _, t := range a.Types {
			if s, ok := t.AsStr(); ok && s == kind {
				present = true
				break
			}
		}
		if !present {
			continue
		}
		for _, msg := range a.Messages {
			action, ok := msg.Get("action")
			if !ok {
				return nil, errors.New("KeyError: 'action'")
			}
			if s, ok := action.AsStr(); !ok || s != kind || kind == "send" {
				continue
			}
			items, err := senderItems(msg)
			if err != nil {
				return nil, err
			}
			for _, user := range items {
				if kind == "enter" {
					users = append(users, user)
					continue
				}
				at := -1
				for i, u := range users {
					if u.Equal(user) {
						at = i
						break
					}
				}
				if at < 0 {
					return nil, errors.New("list.remove(x): x not in list")
				}
				users = append(users[:at], users[at+1:]...)
			}
		}
	}
	return users, nil
}

// SendMessage is send_message(state), for client_a and client_b alike: the variable being
// updated is ctx.Variable. Every client records all messages of the block (no per-client
// filtering). The state stays undecoded (sdk.Raw) except for the variable's `users`.
func SendMessage(ctx *sdk.Ctx, in struct {
	State   sdk.Raw
	Signals SignalActions
}) (Client, error) {
	name := ctx.Variable
	if name == "" {
		return Client{}, errors.New("send_message must be used as a state update")
	}
	// The last entry of that name, as a map would keep it.
	var variable sdk.Raw
	found := false
	if err := in.State.Each(func(k string, v sdk.Raw) bool {
		if k == name {
			variable, found = v, true
		}
		return true
	}); err != nil {
		return Client{}, errors.New("cannot decode `state`: " + err.Error())
	}
	if !found {
		return Client{}, errors.New("KeyError: '" + name + "'")
	}
	rawUsers, ok := variable.Get("users")
	if !ok {
		return Client{}, errors.New("KeyError: '" + name + ".users'")
	}
	usersValue, err := rawUsers.Value()
	if err != nil {
		return Client{}, errors.New("cannot decode `state`: " + err.Error())
	}
	if usersValue.Kind() != sdk.KindList {
		return Client{}, errors.New("`" + name + ".users` is a " + usersValue.TypeName() + ", not a list")
	}
	// The same order of checks as the Rust plugin: users, then the two reductions.
	users, err := UpdateUsers(usersValue.Items(), &in.Signals)
	if err != nil {
		return Client{}, err
	}
	msgCounts, err := reduceInts(in.Signals.MsgCounts)
	if err != nil {
		return Client{}, err
	}
	sendTimes, err := reduceFloats(in.Signals.SendTimes)
	if err != nil {
		return Client{}, err
	}
	return Client{users, in.Signals.Messages, msgCounts, sendTimes}, nil
}

// CountMessages counts every action, enter and exit included (+8 per timestep although only 4
// messages are published, as in the original).
func CountMessages(in struct {
	State   struct{ TotalMsgCount int64 }
	Signals struct{ MsgCounts []int64 }
}) (int64, error) {
	n, err := reduceInts(in.Signals.MsgCounts)
	if err != nil {
		return 0, err
	}
	total, ok := checkedAdd(in.State.TotalMsgCount, n)
	if !ok {
		return 0, errors.New("integer overflow")
	}
	return total, nil
}

// AddSendTime is total + reduce(add, send_times), in that association order.
func AddSendTime(in struct {
	State   struct{ TotalSendTime float64 }
	Signals struct{ SendTimes []float64 }
}) (float64, error) {
	s, err := reduceFloats(in.Signals.SendTimes)
	if err != nil {
		return 0, err
	}
	return in.State.TotalSendTime + s, nil
}

// CurrentTime is current_time('record_creation'): the virtual clock as Python's
// str(datetime.now()).
func CurrentTime(ctx *sdk.Ctx) string {
	return sdk.FormatPython(ctx.NowNs())
}
