// Memory management across calls.
//
// With `--runtime stub` (the default of asconfig.json) nothing is ever freed by the runtime, and a
// run makes tens of thousands of calls, each of which decodes its input and builds its output on
// the heap. So the SDK makes the heap an arena that is emptied at every `distroduce_alloc`: the
// heap goes back to where it stood after the module's start function (module-level objects built
// there stay), then the new input is allocated. A call's objects therefore live until the next
// input arrives, which is exactly what ABI.md §1 asks of the input and output buffers, and memory
// stays bounded by the largest single call instead of growing with the length of the run.
//
// The consequence for authors: an object created *during* a call must not be kept in a
// module-level variable for a later call (numbers and strings created at module level are fine).
//
// With `--runtime minimal` the SDK runs the collector at each `distroduce_alloc` instead (no
// objects are on the stack then), and with `--runtime incremental` the runtime collects by itself.

import { Runtime } from "shared/runtime";

// @ts-ignore: decorator
@inline const BLOCK_OVERHEAD: usize = sizeof<usize>();
// @ts-ignore: decorator
@inline const AL_MASK: usize = 15;

/** Where the stub runtime starts allocating (mirrors `startOffset` of ~lib/rt/stub.ts). */
// @ts-ignore: decorator
@inline function stubStart(): usize {
  return ((__heap_base + BLOCK_OVERHEAD + AL_MASK) & ~AL_MASK) - BLOCK_OVERHEAD;
}

/** The stub heap's top when the SDK was first entered, i.e. after the start function. */
let floor: usize = 0;

/** Records the floor on the first entry into the SDK (any export). */
export function enterSdk(): void {
  if (ASC_RUNTIME == Runtime.Stub) {
    if (floor == 0) {
      // A zero-size block starts exactly at the current top; it is reused after the reset.
      floor = heap.alloc(0) - BLOCK_OVERHEAD;
      resetTo(floor);
    }
  }
}

/**
 * Moves the stub heap's top back to `mark`: the stub can only reset to its start, so reset and
 * then allocate one block that spans everything up to `mark`. That block's header is the header
 * of the first block allocated at start, which is saved and restored.
 */
function resetTo(mark: usize): void {
  if (ASC_RUNTIME == Runtime.Stub) {
    const start = stubStart();
    __reset();
    if (mark > start) {
      const saved = load<usize>(start);
      heap.alloc(mark - start - BLOCK_OVERHEAD);
      store<usize>(start, saved);
    }
  }
}

/** The buffer of the current input (kept between calls for the GC runtimes). */
let inputPtr: usize = 0;
let inputCap: usize = 0;

/** `distroduce_alloc`: frees the previous call's objects and returns room for `len` bytes. */
export function allocInput(len: usize): usize {
  enterSdk();
  if (ASC_RUNTIME == Runtime.Stub) {
    resetTo(floor);
    return heap.alloc(len);
  }
  if (ASC_RUNTIME == Runtime.Minimal) {
    __collect();
  }
  if (len > inputCap || inputPtr == 0) {
    if (inputPtr != 0) heap.free(inputPtr);
    inputCap = max<usize>(len, 256);
    inputPtr = heap.alloc(inputCap);
  }
  return inputPtr;
}

/** True when buffers must be allocated afresh for each call (the arena is reset between inputs). */
// @ts-ignore: decorator
@inline export const PER_CALL_BUFFERS: bool = ASC_RUNTIME == Runtime.Stub;
