//go:build !wasip1

package sdk

// Outside WASM (go test, go vet, editors) the export helpers compile but cannot be called by an
// engine; use Invoke to run functions natively.

func callExport(ptr, n int32, f any) int64 {
	panic("sdk: export functions run only in a GOOS=wasip1 GOARCH=wasm build; use sdk.Invoke in tests")
}

func describeExport(f any, stateUpdate bool) int64 {
	panic("sdk: export functions run only in a GOOS=wasip1 GOARCH=wasm build; use sdk.Describe in tests")
}
