//! The process-wide Rust allocator for each build. Every build counts the bytes the
//! program holds (`live_bytes`) the same way, so builds differ only in the allocator.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

// One shared counter written on every allocation is one cache line that every worker
// thread bounces between cores: the very contention that tells allocators apart. So each
// thread counts in a slot of its own, on its own cache line, and /stats sums the slots.
// A thread frees what another allocated, so a slot may go negative; only the sum means
// anything. Threads past SLOTS share the overflow counter (tokio's blocking pool, rarely).
const SLOTS: usize = 256;

#[repr(align(128))]
struct Slot(AtomicIsize);

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot(AtomicIsize::new(0));
static COUNTS: [Slot; SLOTS] = [EMPTY; SLOTS];
static OVERFLOW: Slot = EMPTY;
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
const UNASSIGNED: usize = usize::MAX;

thread_local! {
    // const-initialised and without Drop: no lazy init and no destructor, so it is safe
    // to touch from inside the allocator, even while a thread is being torn down.
    static MY_SLOT: Cell<usize> = const { Cell::new(UNASSIGNED) };
}

#[inline]
fn track(delta: isize) {
    let slot = MY_SLOT.with(|s| {
        let mut i = s.get();
        if i == UNASSIGNED {
            i = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
            s.set(i);
        }
        i
    });
    if slot < SLOTS {
        // Only this thread writes its slot: a plain load and store, no locked instruction.
        let c = &COUNTS[slot].0;
        c.store(c.load(Ordering::Relaxed) + delta, Ordering::Relaxed);
    } else {
        OVERFLOW.0.fetch_add(delta, Ordering::Relaxed);
    }
}

/// Bytes the program currently holds through Rust's allocator, as requested (not as
/// rounded up by the allocator): the sum of every thread's count.
pub fn live_bytes() -> isize {
    COUNTS.iter().map(|c| c.0.load(Ordering::Relaxed)).sum::<isize>() + OVERFLOW.0.load(Ordering::Relaxed)
}

/// The build's allocator as named on the command line and in /stats.
pub const BUILD: &str = if cfg!(feature = "jemalloc") {
    "jemalloc"
} else if cfg!(feature = "mimalloc") {
    "mimalloc"
} else if cfg!(feature = "tcmalloc") {
    "tcmalloc"
} else {
    "system"
};

// malloc's guaranteed alignment on x86_64 glibc and all three allocators.
#[cfg(any(feature = "jemalloc", feature = "tcmalloc"))]
const MIN_ALIGN: usize = 16;

#[cfg(feature = "jemalloc")]
mod imp {
    use super::*;
    use libc::{c_int, c_void, size_t};
    extern "C" {
        fn mallocx(size: size_t, flags: c_int) -> *mut c_void;
        fn rallocx(ptr: *mut c_void, size: size_t, flags: c_int) -> *mut c_void;
        fn sdallocx(ptr: *mut c_void, size: size_t, flags: c_int);
    }
    const MALLOCX_ZERO: c_int = 0x40;
    // MALLOCX_LG_ALIGN(lg) is lg itself; 0 means "no stronger alignment than malloc's",
    // which holds only when the size is at least the alignment (tikv-jemallocator's rule).
    fn flags(align: usize, size: usize) -> c_int {
        if align <= MIN_ALIGN && align <= size {
            0
        } else {
            align.trailing_zeros() as c_int
        }
    }
    pub struct Allocator;
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            track(l.size() as isize);
            mallocx(l.size(), flags(l.align(), l.size())) as *mut u8
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            track(l.size() as isize);
            mallocx(l.size(), flags(l.align(), l.size()) | MALLOCX_ZERO) as *mut u8
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            track(-(l.size() as isize));
            sdallocx(p as *mut c_void, l.size(), flags(l.align(), l.size()))
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            track(new as isize - l.size() as isize);
            // The flags describe the block as it will be: the new size with the old alignment.
            rallocx(p as *mut c_void, new, flags(l.align(), new)) as *mut u8
        }
    }
}

#[cfg(feature = "mimalloc")]
mod imp {
    use super::*;
    use libc::{c_void, size_t};
    extern "C" {
        fn mi_malloc_aligned(size: size_t, align: size_t) -> *mut c_void;
        fn mi_zalloc_aligned(size: size_t, align: size_t) -> *mut c_void;
        fn mi_realloc_aligned(p: *mut c_void, size: size_t, align: size_t) -> *mut c_void;
        fn mi_free(p: *mut c_void);
    }
    pub struct Allocator;
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            track(l.size() as isize);
            mi_malloc_aligned(l.size(), l.align()) as *mut u8
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            track(l.size() as isize);
            mi_zalloc_aligned(l.size(), l.align()) as *mut u8
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            track(-(l.size() as isize));
            mi_free(p as *mut c_void)
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            track(new as isize - l.size() as isize);
            mi_realloc_aligned(p as *mut c_void, new, l.align()) as *mut u8
        }
    }
}

#[cfg(feature = "tcmalloc")]
mod imp {
    use super::*;
    use libc::{c_void, size_t};
    extern "C" {
        fn tc_malloc(size: size_t) -> *mut c_void;
        fn tc_calloc(n: size_t, size: size_t) -> *mut c_void;
        fn tc_memalign(align: size_t, size: size_t) -> *mut c_void;
        fn tc_realloc(p: *mut c_void, size: size_t) -> *mut c_void;
        fn tc_free(p: *mut c_void);
    }
    fn plain(l: &Layout) -> bool {
        l.align() <= MIN_ALIGN && l.align() <= l.size()
    }
    pub struct Allocator;
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            track(l.size() as isize);
            if plain(&l) {
                tc_malloc(l.size()) as *mut u8
            } else {
                tc_memalign(l.align(), l.size()) as *mut u8
            }
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            if plain(&l) {
                track(l.size() as isize);
                return tc_calloc(1, l.size()) as *mut u8;
            }
            let p = self.alloc(l);
            if !p.is_null() {
                std::ptr::write_bytes(p, 0, l.size());
            }
            p
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            track(-(l.size() as isize));
            tc_free(p as *mut c_void)
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            if plain(&l) && l.align() <= new {
                track(new as isize - l.size() as isize);
                return tc_realloc(p as *mut c_void, new) as *mut u8;
            }
            // tcmalloc has no aligned realloc: move the block by hand.
            let moved = self.alloc(Layout::from_size_align_unchecked(new, l.align()));
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(p, moved, l.size().min(new));
                self.dealloc(p, l);
            }
            moved
        }
    }
}

#[cfg(not(any(feature = "jemalloc", feature = "mimalloc", feature = "tcmalloc")))]
mod imp {
    use super::*;
    use std::alloc::System;
    pub struct Allocator;
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            track(l.size() as isize);
            System.alloc(l)
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            track(l.size() as isize);
            System.alloc_zeroed(l)
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            track(-(l.size() as isize));
            System.dealloc(p, l)
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            track(new as isize - l.size() as isize);
            System.realloc(p, l, new)
        }
    }
}

pub use imp::Allocator;
