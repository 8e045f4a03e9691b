//! A cache of fixed-size blocks for work items, so the enqueue/run cycle does not go through
//! `malloc`/`free` for every item.
//!
//! Items are allocated on the thread that submits them and freed on the worker that ran them,
//! the pattern general-purpose allocators handle worst (every free is a cross-thread free).
//! Each thread keeps a free list of up to `LOCAL_MAX` blocks; past that, freed blocks are
//! gathered into batches of `BATCH` and handed to a global stack, where an allocating thread
//! whose list ran dry takes a whole batch. The global lock is taken once per `BATCH` items.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::Mutex;

/// Block size: items up to this size (header + closure) use the cache.
pub(crate) const BLOCK: usize = 64;
/// Block alignment.
pub(crate) const ALIGN: usize = 16;
const LOCAL_MAX: usize = 256;
const BATCH: usize = 64;
const GLOBAL_MAX: usize = 256;

const LAYOUT: Layout = match Layout::from_size_align(BLOCK, ALIGN) {
    Ok(l) => l,
    Err(_) => panic!("bad block layout"),
};

struct Free {
    next: *mut Free,
}

struct Batch {
    head: *mut Free,
    len: usize,
}
// SAFETY: a batch is a list of unused blocks owned by whoever holds it.
unsafe impl Send for Batch {}

static GLOBAL: Mutex<Vec<Batch>> = Mutex::new(Vec::new());

struct Local {
    free: *mut Free,
    nfree: usize,
    out: *mut Free,
    nout: usize,
}

impl Drop for Local {
    fn drop(&mut self) {
        // SAFETY: both lists hold unused blocks owned by this thread.
        unsafe {
            release_list(self.free);
            release_list(self.out);
        }
    }
}

unsafe fn release_list(mut p: *mut Free) {
    while !p.is_null() {
        // SAFETY: every block in a list is a live, unused block from `LAYOUT`.
        let next = unsafe { (*p).next };
        unsafe { dealloc(p as *mut u8, LAYOUT) };
        p = next;
    }
}

thread_local! {
    static LOCAL: UnsafeCell<Local> = const {
        UnsafeCell::new(Local { free: ptr::null_mut(), nfree: 0, out: ptr::null_mut(), nout: 0 })
    };
}

/// A `BLOCK`-byte, `ALIGN`-aligned block.
#[inline]
pub(crate) fn alloc_block() -> *mut u8 {
    let cached = LOCAL.try_with(|l| {
        // SAFETY: only this thread touches its `Local`, and never re-entrantly.
        let l = unsafe { &mut *l.get() };
        if l.free.is_null() {
            let batch = GLOBAL.lock().ok()?.pop()?;
            l.free = batch.head;
            l.nfree = batch.len;
        }
        let p = l.free;
        // SAFETY: `p` heads the free list.
        l.free = unsafe { (*p).next };
        l.nfree -= 1;
        Some(p as *mut u8)
    });
    match cached {
        Ok(Some(p)) => p,
        _ => {
            // SAFETY: LAYOUT has a non-zero size.
            let p = unsafe { alloc(LAYOUT) };
            if p.is_null() {
                handle_alloc_error(LAYOUT);
            }
            p
        }
    }
}

/// Returns a block from `alloc_block`.
///
/// # Safety
/// `p` must come from `alloc_block` and not be used afterwards.
#[inline]
pub(crate) unsafe fn free_block(p: *mut u8) {
    let f = p as *mut Free;
    let cached = LOCAL.try_with(|l| {
        // SAFETY: as in `alloc_block`.
        let l = unsafe { &mut *l.get() };
        if l.nfree < LOCAL_MAX {
            // SAFETY: the block is ours now.
            unsafe { (*f).next = l.free };
            l.free = f;
            l.nfree += 1;
            return;
        }
        // SAFETY: as above.
        unsafe { (*f).next = l.out };
        l.out = f;
        l.nout += 1;
        if l.nout == BATCH {
            let batch = Batch {
                head: std::mem::replace(&mut l.out, ptr::null_mut()),
                len: std::mem::take(&mut l.nout),
            };
            let mut g = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
            if g.len() < GLOBAL_MAX {
                g.push(batch);
            } else {
                drop(g);
                // SAFETY: the batch's blocks are unused and ours.
                unsafe { release_list(batch.head) };
            }
        }
    });
    if cached.is_err() {
        // The thread is exiting and its cache is gone.
        // SAFETY: `p` came from LAYOUT.
        unsafe { dealloc(p, LAYOUT) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cycle_between_threads() {
        let blocks: Vec<usize> = (0..1000).map(|_| alloc_block() as usize).collect();
        std::thread::spawn(move || {
            for b in blocks {
                // SAFETY: fresh blocks from alloc_block.
                unsafe { free_block(b as *mut u8) };
            }
        })
        .join()
        .unwrap();
        // The other thread's batches are reusable here.
        let again: Vec<*mut u8> = (0..1000).map(|_| alloc_block()).collect();
        assert!(again.iter().all(|p| (*p as usize) % ALIGN == 0));
        for p in again {
            // SAFETY: fresh blocks from alloc_block.
            unsafe { free_block(p) };
        }
    }
}
