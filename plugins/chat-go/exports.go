// The distroduce chat model in Go: two users enter a room, greet each other, say goodbye and
// leave, every timestep; only the send actions are published to Kafka. A port of the Rust plugin
// (plugins/chat), itself a port of distroduce/action_policies.py and state_updates.py (cadCAD
// history, Oct 2019); see plugins/chat/README.md for the model and its deliberate differences.
//
// This file is the only ABI glue: one export stub per function, plus its optional describe.
package main

import "distroduce.dev/sdk"

//go:wasmexport enter
func enter(ptr, n int32) int64 { return sdk.Policy(ptr, n, Enter) }

//go:wasmexport send
func send(ptr, n int32) int64 { return sdk.Policy(ptr, n, Send) }

//go:wasmexport exit
func exit(ptr, n int32) int64 { return sdk.Policy(ptr, n, Exit) }

//go:wasmexport send_message
func sendMessage(ptr, n int32) int64 { return sdk.StateUpdate(ptr, n, SendMessage) }

//go:wasmexport count_messages
func countMessages(ptr, n int32) int64 { return sdk.StateUpdate(ptr, n, CountMessages) }

//go:wasmexport add_send_time
func addSendTime(ptr, n int32) int64 { return sdk.StateUpdate(ptr, n, AddSendTime) }

//go:wasmexport current_time
func currentTime(ptr, n int32) int64 { return sdk.StateUpdate(ptr, n, CurrentTime) }

// Describe maps (optional): they let `engine plugin check` and the pre-run checks know each
// function's kind, output type and reads.

//go:wasmexport distroduce_describe_enter
func describeEnter() int64 { return sdk.DescribePolicy(Enter) }

//go:wasmexport distroduce_describe_send
func describeSend() int64 { return sdk.DescribePolicy(Send) }

//go:wasmexport distroduce_describe_exit
func describeExit() int64 { return sdk.DescribePolicy(Exit) }

//go:wasmexport distroduce_describe_send_message
func describeSendMessage() int64 { return sdk.DescribeStateUpdate(SendMessage) }

//go:wasmexport distroduce_describe_count_messages
func describeCountMessages() int64 { return sdk.DescribeStateUpdate(CountMessages) }

//go:wasmexport distroduce_describe_add_send_time
func describeAddSendTime() int64 { return sdk.DescribeStateUpdate(AddSendTime) }

//go:wasmexport distroduce_describe_current_time
func describeCurrentTime() int64 { return sdk.DescribeStateUpdate(CurrentTime) }

func main() {}
