//! The guest's allocator (WebAssembly only, feature `fast-alloc`, on by default): small blocks
//! from per-size free lists, everything else from the target's own allocator (dlmalloc).
//!
//! A plugin allocates and frees the same few small sizes over and over (a policy's lists and
//! strings, a state update's new value, the previous one freed); dlmalloc's general bookkeeping
//! (bins, coalescing, unlinking) was a tenth of a chat timestep. Here a block of up to
//! [`MAX_SMALL`] bytes is rounded up to a multiple of [`GRAIN`] bytes and taken from that size's
//! free list, or cut from a 64 KiB slab when the list is empty; freeing pushes it back. Blocks
//! never move between sizes and slabs are never returned, so a guest's memory is its peak use
//! per size; an instance lives for one job. A plugin that wants another allocator turns the
//! feature off (`default-features = false`) and declares its own `#[global_allocator]`.
//!
//! Single-threaded: compiled only for WebAssembly without the `atomics` feature, where a module
//! has one thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// Size granularity and the largest alignment served from the free lists.
const GRAIN: usize = 16;
/// Sizes up to this come from the free lists.
const MAX_SMALL: usize = 512;
const CLASSES: usize = MAX_SMALL / GRAIN;
/// Bytes taken from the system allocator at a time for small blocks.
const SLAB: usize = 64 * 1024;

/// The allocator: free lists per size class, and the slab small blocks are cut from.
pub(crate) struct SizeClasses {
    inner: UnsafeCell<Lists>,
}

struct Lists {
    /// Per class, the first free block; each free block holds the address of the next.
    free: [*mut u8; CLASSES],
    /// The unused part of the current slab.
    next: *mut u8,
    end: *mut u8,
}

// SAFETY: installed only in single-threaded WebAssembly (the cfg in lib.rs); the unit tests use
// it from one thread.
unsafe impl Sync for SizeClasses {}

impl SizeClasses {
    pub(crate) const fn new() -> Self {
        SizeClasses {
            inner: UnsafeCell::new(Lists {
                free: [ptr::null_mut(); CLASSES],
                next: ptr::null_mut(),
                end: ptr::null_mut(),
            }),
        }
    }
}

/// The class of a layout, or `None` for the system allocator.
#[inline]
fn class(size: usize, align: usize) -> Option<usize> {
    (size <= MAX_SMALL && align <= GRAIN).then(|| size.saturating_sub(1) / GRAIN)
}

impl Lists {
    /// A new block of class `c` cut from the slab (a fresh slab if this one is too short).
    #[cold]
    unsafe fn carve(&mut self, c: usize) -> *mut u8 {
        let size = (c + 1) * GRAIN;
        if (self.end as usize) - (self.next as usize) < size {
            // SAFETY: a non-zero size and a power-of-two alignment.
            let slab = unsafe { System.alloc(Layout::from_size_align_unchecked(SLAB, GRAIN)) };
            if slab.is_null() {
                return slab;
            }
            self.next = slab;
            // SAFETY: `SLAB` bytes were allocated at `slab`.
            self.end = unsafe { slab.add(SLAB) };
        }
        let p = self.next;
        // SAFETY: at least `size` bytes are left before `end`.
        self.next = unsafe { p.add(size) };
        p
    }
}

unsafe impl GlobalAlloc for SizeClasses {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(layout.size(), layout.align()) else {
            // SAFETY: the caller's layout, passed on.
            return unsafe { System.alloc(layout) };
        };
        // SAFETY: one thread, and no reference to the lists outlives a call.
        let lists = unsafe { &mut *self.inner.get() };
        let head = lists.free[c];
        if head.is_null() {
            // SAFETY: `c` is a class.
            return unsafe { lists.carve(c) };
        }
        // SAFETY: a free block of this class holds the next free block's address (16-aligned).
        lists.free[c] = unsafe { *(head as *mut *mut u8) };
        head
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let Some(c) = class(layout.size(), layout.align()) else {
            // SAFETY: allocated by `System` with this layout (same class test).
            return unsafe { System.dealloc(p, layout) };
        };
        // SAFETY: one thread; `p` is a block of class `c` no longer in use, at least 16 bytes.
        unsafe {
            let lists = &mut *self.inner.get();
            *(p as *mut *mut u8) = lists.free[c];
            lists.free[c] = p;
        }
    }

    #[inline]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match (class(layout.size(), layout.align()), class(new_size, layout.align())) {
            (Some(a), Some(b)) if a == b => p,
            // SAFETY: both from and to the system allocator, with the caller's layout.
            (None, None) => unsafe { System.realloc(p, layout, new_size) },
            _ => {
                // SAFETY: `GlobalAlloc::realloc`'s contract: `new_size` is non-zero and valid
                // with this alignment; the old block is freed only once copied.
                unsafe {
                    let new = Layout::from_size_align_unchecked(new_size, layout.align());
                    let q = self.alloc(new);
                    if !q.is_null() {
                        ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                        self.dealloc(p, layout);
                    }
                    q
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{class, SizeClasses, GRAIN, MAX_SMALL};
    use std::alloc::{GlobalAlloc, Layout};

    #[test]
    fn sizes_round_up_to_their_class_and_large_or_overaligned_blocks_go_to_the_system() {
        assert_eq!(class(1, 1), Some(0));
        assert_eq!(class(GRAIN, 8), Some(0));
        assert_eq!(class(GRAIN + 1, 8), Some(1));
        assert_eq!(class(MAX_SMALL, 16), Some(MAX_SMALL / GRAIN - 1));
        assert_eq!(class(MAX_SMALL + 1, 1), None);
        assert_eq!(class(8, 32), None);
    }

    /// Freed blocks are reused by their class; a realloc inside a class keeps the block; across
    /// classes and to the system it copies.
    #[test]
    fn blocks_are_reused_within_a_class_and_realloc_copies_across() {
        let a = SizeClasses::new();
        unsafe {
            let l = Layout::from_size_align(24, 8).unwrap();
            let p = a.alloc(l);
            let q = a.alloc(l);
            assert_ne!(p, q);
            a.dealloc(p, l);
            assert_eq!(a.alloc(l), p, "the last freed block of the class comes back first");
            assert_eq!(a.realloc(p, l, 30), p, "24 and 30 bytes are one class");
            p.write_bytes(7, 30);
            let l30 = Layout::from_size_align(30, 8).unwrap();
            let big = a.realloc(p, l30, 4000);
            assert_ne!(big, p);
            assert!((0..30).all(|i| *big.add(i) == 7));
            let back = a.realloc(big, Layout::from_size_align(4000, 8).unwrap(), 20);
            assert!((0..20).all(|i| *back.add(i) == 7));
            a.dealloc(back, Layout::from_size_align(20, 8).unwrap());
            a.dealloc(q, l);
        }
    }
}
