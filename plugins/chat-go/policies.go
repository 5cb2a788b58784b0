package main

// action_policies.py: one policy per action kind. Each returns one action as four one-element
// lists, which the engine's default aggregation (a + b) concatenates in policy order:
// {types: [action], messages: [msg], send_times: [seconds], msg_counts: [1]}.

import "distroduce.dev/sdk"

// Topic is the topic alias the send messages go to (the original's kafkaConfig['send_topic']).
const Topic = "chat"

// PresenceArgs are the args of enter and exit: enter_action(state, room, user), whose first
// argument (named state in the original) is the client id.
type PresenceArgs struct {
	Client string
	Room   string
	User   string
}

// SendArgs are the args of send: message_actions(state, room, message_input, sender, receiver).
type SendArgs struct {
	Client   string
	Room     string
	Input    string
	Sender   string
	Receiver string
}

// Msg is one chat event; the field order is the key order of the Python dict in messages().
type Msg struct {
	Client   string
	Room     string
	Action   string
	Sender   string
	Receiver any // nil for enter and exit, else a string
	Input    string
	Created  string // str(datetime) of the virtual clock when the action was taken
}

// Actions is a policy's result, keys in the order the original inserted them.
type Actions struct {
	Types     []string
	Messages  []Msg
	SendTimes []float64
	MsgCounts []int64
}

// message is messages(client_id, room, action, _input, sender, receiver=None).
func message(ctx *sdk.Ctx, client, room, action, input, sender string, receiver any) Msg {
	return Msg{client, room, action, sender, receiver, input, sdk.FormatPython(ctx.NowNs())}
}

func actions(msg Msg, sendTime float64) Actions {
	return Actions{[]string{msg.Action}, []Msg{msg}, []float64{sendTime}, []int64{1}}
}

// totalSeconds is timedelta.total_seconds(): whole microseconds, as a float.
func totalSeconds(ns int64) float64 {
	us := ns / 1_000
	if ns%1_000 < 0 {
		us--
	}
	return float64(us) / 1e6
}

// Enter is enter_action: the user joins the room. Nothing is published.
func Enter(ctx *sdk.Ctx, in struct{ Args PresenceArgs }) Actions {
	a := in.Args
	return actions(message(ctx, a.Client, a.Room, "enter", a.User+" enters "+a.Room, a.User, nil), 0.0)
}

// Send is message_actions: publishes the message to `chat`, keyed by room, and reports how long
// the publishing took on the virtual clock (0.0 unless the host advances the clock in a call).
func Send(ctx *sdk.Ctx, in struct{ Args SendArgs }) Actions {
	start := ctx.NowNs()
	a := in.Args
	msg := message(ctx, a.Client, a.Room, "send", a.Input, a.Sender, a.Receiver)
	ctx.Emit(Topic, msg.Room, msg)
	elapsed := totalSeconds(saturatingSub(ctx.NowNs(), start))
	return actions(msg, elapsed)
}

// Exit is exit_action: the user leaves the room. Nothing is published.
func Exit(ctx *sdk.Ctx, in struct{ Args PresenceArgs }) Actions {
	a := in.Args
	return actions(message(ctx, a.Client, a.Room, "exit", a.User+" exited "+a.Room, a.User, nil), 0.0)
}

func saturatingSub(a, b int64) int64 {
	d := a - b
	if (b < 0 && d < a) || (b > 0 && d > a) { // overflowed
		if b < 0 {
			return 1<<63 - 1
		}
		return -1 << 63
	}
	return d
}
