//! The `flint` binary: see `flint --help`.

// The allocator and its options are C: the binary's one module allowed `unsafe`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// mimalloc instead of glibc malloc: allocation was a fifth of the user-space
/// instructions of a cached request (see bench/README.md).
#[global_allocator]
static ALLOCATOR: Mimalloc = Mimalloc;

/// mimalloc, asked for alignment only when its own does not suffice. The
/// `mimalloc` crate calls `mi_malloc_aligned` for every allocation, whose
/// fast path covers blocks up to 1 KiB only: larger ones (request futures,
/// header maps, buffers) went through two more layers and sometimes an
/// over-allocation, about a tenth of a cached read's instructions.
struct Mimalloc;

/// What every mimalloc block is aligned to when it is at least this large
/// (`MI_MAX_ALIGN_SIZE`), as `malloc` guarantees for `max_align_t`.
const MI_MAX_ALIGN_SIZE: usize = 16;

fn natural(layout: &Layout, size: usize) -> bool {
    layout.align() <= MI_MAX_ALIGN_SIZE && layout.align() <= size
}

// SAFETY: every pointer comes from mimalloc and goes back to it; alignment is
// requested explicitly whenever mimalloc's guarantee does not cover it.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let size = layout.size();
        // SAFETY: plain mimalloc calls.
        unsafe { if natural(&layout, size) { mi::mi_malloc(size) } else { mi::mi_malloc_aligned(size, layout.align()) }.cast() }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let size = layout.size();
        // SAFETY: plain mimalloc calls.
        unsafe { if natural(&layout, size) { mi::mi_zalloc(size) } else { mi::mi_zalloc_aligned(size, layout.align()) }.cast() }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` was allocated by mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let ptr = ptr.cast::<c_void>();
        // SAFETY: `ptr` was allocated by mimalloc with `layout`'s alignment.
        unsafe {
            if natural(&layout, new_size) { mi::mi_realloc(ptr, new_size) } else { mi::mi_realloc_aligned(ptr, new_size, layout.align()) }
                .cast()
        }
    }
}

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (mimalloc.h).
const MI_OPTION_PURGE_DELAY: mi::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Hand freed memory back to the OS at once rather than a second later
    // (mimalloc v3's default). Large transient buffers (a sitemap being
    // rendered, a burst of responses) piled up meanwhile: peak RSS with
    // 10,000 posts under load went from 67 to 57 MB, with no measurable
    // change in cached-read throughput.
    // SAFETY: sets a plain integer option; mimalloc reads options atomically.
    unsafe { mi::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    flint::cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // Option 15 still holds mimalloc v3's purge-delay default (1,000 ms,
        // src/options.c), so `main` changes the purge delay and no other option.
        // SAFETY: reads an integer option.
        assert_eq!(unsafe { mi::mi_option_get(MI_OPTION_PURGE_DELAY) }, 1000);
    }

    #[test]
    fn allocations_keep_their_alignment() {
        for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
            for size in [1, 7, 8, 15, 16, 24, 100, 1024, 1500, 5000, 70_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: allocated, checked and freed with one layout.
                unsafe {
                    let p = ALLOCATOR.alloc(layout);
                    assert!(!p.is_null() && (p as usize).is_multiple_of(align), "size {size} align {align}");
                    let grown = ALLOCATOR.realloc(p, layout, size * 3);
                    assert!(!grown.is_null() && (grown as usize).is_multiple_of(align), "realloc to {} align {align}", size * 3);
                    ALLOCATOR.dealloc(grown, Layout::from_size_align(size * 3, align).unwrap());
                    let z = ALLOCATOR.alloc_zeroed(layout);
                    assert!((z as usize).is_multiple_of(align) && std::slice::from_raw_parts(z, size).iter().all(|b| *b == 0));
                    ALLOCATOR.dealloc(z, layout);
                }
            }
        }
    }
}
