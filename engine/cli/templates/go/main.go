// {{name}}: a distroduce plugin in Go (see sdk/README.md for the SDK).
package main

import (
	"errors"

	"distroduce.dev/sdk"
)

// Step is a policy: a random step between 1 and params.max_step, as the signal `delta`. The
// random numbers come from the engine (seeded per scenario, run, timestep and substep), so runs
// are reproducible.
func Step(ctx *sdk.Ctx, in struct {
	Params struct{ MaxStep int64 }
}) (map[string]int64, error) {
	if in.Params.MaxStep < 1 {
		return nil, errors.New("params.max_step must be an integer >= 1")
	}
	return map[string]int64{"delta": 1 + ctx.RngIntn(in.Params.MaxStep)}, nil
}

// AddStep is the state update for `counter`: its previous value plus the step.
func AddStep(in struct {
	State   struct{ Counter int64 }
	Signals struct{ Delta int64 }
}) int64 {
	return in.State.Counter + in.Signals.Delta
}

// The exports: one stub per function (the name after //go:wasmexport is the name scenarios
// use), and optionally its describe, for `engine plugin check` and the engine's pre-run checks.

//go:wasmexport step
func step(ptr, n int32) int64 { return sdk.Policy(ptr, n, Step) }

//go:wasmexport add_step
func addStep(ptr, n int32) int64 { return sdk.StateUpdate(ptr, n, AddStep) }

//go:wasmexport distroduce_describe_step
func describeStep() int64 { return sdk.DescribePolicy(Step) }

//go:wasmexport distroduce_describe_add_step
func describeAddStep() int64 { return sdk.DescribeStateUpdate(AddStep) }

func main() {}
