//! The memory allocator: mimalloc rather than the system's. Weir allocates per event on
//! every worker thread, and glibc's arenas spent a quarter of the CPU of a loaded Weir
//! on locking and consolidation (docs/BENCHMARKS.md).
//!
//! The `mimalloc` crate's allocator asks mimalloc for every block through its aligned
//! entry points, whose fast path serves only blocks of up to 1 KiB that happen to be
//! aligned already: request bodies, read buffers and header maps went through its
//! generic path, 21 allocations per event at about 220 instructions each. Blocks whose
//! alignment mimalloc gives anyway (16 bytes, or the size for smaller blocks, as the
//! standard library's system allocator reasons) are asked for plainly here.

// An allocator is unsafe code by definition; it is kept to this file.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment every mimalloc block of at least that size has
/// (`MI_MAX_ALIGN_SIZE`).
const PLAIN_ALIGN: usize = 16;

/// mimalloc as Rust's global allocator.
pub struct Mimalloc;

/// Whether a plain (unaligned) request gives a block aligned for `layout`.
fn plain(layout: Layout) -> bool {
    layout.align() <= PLAIN_ALIGN && layout.align() <= layout.size()
}

// SAFETY: every block comes from mimalloc, aligned as `layout` asks (by `plain`, or by
// the aligned entry points), and is returned to it by `mi_free`, which takes blocks of
// either kind.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions take any size.
        unsafe {
            if plain(layout) {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe {
            if plain(layout) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (the caller's contract).
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout` (the caller's contract).
        unsafe {
            match Layout::from_size_align(new_size, layout.align()) {
                Ok(new) if plain(new) => mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast(),
                _ => mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_as_asked_and_keep_their_contents_when_resized() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 15, 16, 17, 100, 1024, 1025, 70_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size; every block is freed with its layout.
                unsafe {
                    let block = Mimalloc.alloc(layout);
                    assert!(!block.is_null());
                    assert_eq!(block as usize % align, 0, "size {size}, align {align}");
                    block.write_bytes(0xab, size);
                    let grown = Mimalloc.realloc(block, layout, size * 3);
                    assert_eq!(grown as usize % align, 0, "grown: size {size}, align {align}");
                    assert!(std::slice::from_raw_parts(grown, size).iter().all(|&b| b == 0xab));
                    Mimalloc.dealloc(grown, Layout::from_size_align(size * 3, align).unwrap());
                    let zeroed = Mimalloc.alloc_zeroed(layout);
                    assert_eq!(zeroed as usize % align, 0);
                    assert!(std::slice::from_raw_parts(zeroed, size).iter().all(|&b| b == 0));
                    Mimalloc.dealloc(zeroed, layout);
                }
            }
        }
    }
}
