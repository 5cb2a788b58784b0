//go:build wasip1

package sdk

// The WASM side of the ABI: the `distroduce` imports, the SDK's own exports
// (distroduce_abi_version, distroduce_alloc) and the call buffers. The input buffer (written by
// the host after distroduce_alloc) and the output buffer (read by the host after a call) are
// separate, so the host may call several functions on one input.

import (
	"os"
	"runtime/debug"
	"strconv"
	"unsafe"
)

//go:wasmimport distroduce rng_u64
func hostRngU64() int64

//go:wasmimport distroduce rng_f64
func hostRngF64() float64

//go:wasmimport distroduce now_ns
func hostNowNs() int64

//go:wasmimport distroduce log
func hostLog(level int32, ptr unsafe.Pointer, n int32)

//go:wasmimport distroduce emit
func hostEmit(ptr unsafe.Pointer, n int32)

//go:wasmimport distroduce fail
func hostFail(ptr unsafe.Pointer, n int32)

func init() {
	// Calls allocate little that outlives them, and a GC cycle is costly in WASM (one thread):
	// collect less often. The instance's memory cap (limits.memory) still bounds the heap.
	// GOGC can only be set here: the engine passes no environment to plugins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// gcPercent is the GOGC the SDK sets (the Go default is 100).
var gcPercent = 400

type wasmHost struct{}

func (wasmHost) RngU64() uint64  { return uint64(hostRngU64()) }
func (wasmHost) RngF64() float64 { return hostRngF64() }
func (wasmHost) NowNs() int64    { return hostNowNs() }
func (wasmHost) Log(level int32, msg string) {
	hostLog(level, unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
}
func (wasmHost) Emit(b []byte) { hostEmit(unsafe.Pointer(unsafe.SliceData(b)), int32(len(b))) }
func (wasmHost) Fail(msg string) {
	hostFail(unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
}

var (
	inBuf  []byte // the input buffer handed out by distroduce_alloc; only grows
	outBuf []byte // the last result; valid until the next call
)

//go:wasmexport distroduce_abi_version
func distroduceAbiVersion() int32 { return ABIVersion }

// distroduceAlloc returns a buffer of at least n bytes for the next call input.
//
//go:wasmexport distroduce_alloc
func distroduceAlloc(n int32) int32 {
	if n < 0 {
		wasmHost{}.Fail("distroduce_alloc: negative length " + strconv.Itoa(int(n)))
		panic("distroduce_alloc: negative length")
	}
	if int(n) > len(inBuf) || len(inBuf) == 0 {
		size := int(n)
		if size < 4096 {
			size = 4096
		}
		if size < 2*len(inBuf) {
			size = 2 * len(inBuf)
		}
		inBuf = make([]byte, size)
	}
	return int32(uintptr(unsafe.Pointer(&inBuf[0])))
}

// pack returns b's address and length as ABI §1 asks.
func pack(b []byte) int64 {
	if len(b) == 0 {
		return 0
	}
	return int64(uint64(uint32(uintptr(unsafe.Pointer(&b[0]))))<<32 | uint64(uint32(len(b))))
}

// callExport runs f on the input the host wrote at (ptr, n).
func callExport(ptr, n int32, f any) int64 {
	base := uintptr(0)
	if len(inBuf) > 0 {
		base = uintptr(unsafe.Pointer(&inBuf[0]))
	}
	start, size := uintptr(uint32(ptr)), uintptr(uint32(n))
	if len(inBuf) == 0 || start < base || start+size > base+uintptr(len(inBuf)) {
		wasmHost{}.Fail("input (" + strconv.FormatUint(uint64(start), 16) + ", " + strconv.Itoa(int(size)) +
			") is not inside the distroduce_alloc buffer")
		return 0
	}
	off := int(start - base)
	out, failure := run(f, inBuf[off:off+int(size)], wasmHost{}, outBuf[:0])
	outBuf = out
	if failure != "" {
		wasmHost{}.Fail(failure)
		return 0
	}
	return pack(outBuf)
}

func describeExport(f any, stateUpdate bool) int64 {
	outBuf = appendValue(outBuf[:0], describe(f, stateUpdate))
	return pack(outBuf)
}
