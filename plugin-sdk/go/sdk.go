// Package sdk is the Go guest side of the distroduce plugin ABI v1 (plugin-sdk/ABI.md).
//
// A plugin author writes plain Go functions over plain Go types and exports each one with a
// two-line stub; the SDK decodes the MessagePack input into the function's parameters, encodes
// its result, reports errors and panics, and implements the ABI's own exports and imports.
//
//	type In struct {
//		State  struct{ Count int64 }
//		Params struct{ Step int64 }
//	}
//
//	func Bump(ctx *sdk.Ctx, in In) (map[string]int64, error) {
//		return map[string]int64{"delta": in.Params.Step * ctx.RngIntn(3)}, nil
//	}
//
//	//go:wasmexport bump
//	func bump(ptr, n int32) int64 { return sdk.Policy(ptr, n, Bump) }
//
// Functions have the shape func([ctx *sdk.Ctx,] [in In]) Out or (Out, error). In is a struct
// whose fields are among State, Params, Signals, Args and History (the parts of the call input,
// ABI §3); each is decoded into its field's type (see codec.go for the mapping). Out is encoded
// the same way: a policy returns a map (a struct or a map[string]T), a state update the new value
// of its variable. A returned error, Ctx.Fail or a panic fails the call with its message.
//
// Build with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (Go >= 1.24); see README.md.
package sdk

// Policy runs f as a policy on the call input at (ptr, n); use it in a //go:wasmexport stub.
func Policy(ptr, n int32, f any) int64 { return callExport(ptr, n, f) }

// StateUpdate runs f as a state update on the call input at (ptr, n); use it in a
// //go:wasmexport stub.
func StateUpdate(ptr, n int32, f any) int64 { return callExport(ptr, n, f) }

// DescribePolicy returns the describe map (ABI §2) of policy f; use it in a
// //go:wasmexport distroduce_describe_<name> stub so that `engine plugin check` and the engine's
// pre-run checks know the function.
func DescribePolicy(f any) int64 { return describeExport(f, false) }

// DescribeStateUpdate is DescribePolicy for a state update: it also gives the output type.
func DescribeStateUpdate(f any) int64 { return describeExport(f, true) }
