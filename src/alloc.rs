//! Caches of fixed-size blocks: one for work items, so the enqueue/run cycle does not go
//! through `malloc`/`free` for every item, and one for queue objects.
//!
//! Items are allocated on the thread that submits them and freed on the worker that ran them,
//! the pattern general-purpose allocators handle worst (every free is a cross-thread free).
//! Each thread keeps a free list of up to `LOCAL_MAX` blocks; past that, freed blocks are
//! gathered into batches of `BATCH` and handed to a global stack, where an allocating thread
//! whose list ran dry takes a whole batch. The global lock is taken once per `BATCH` items.

//!
//! Work-item blocks come from the global allocator and go back to it, a batch at a time in the
//! order they were freed, when the caches are full.
//! Queue blocks are carved from chunks obtained with `mmap` (populated at once, 64 KiB doubling
//! up to 2 MiB) and are recycled but never returned: creating many queues then costs one
//! system call per chunk instead of a page fault per 4 KiB page, which was most of the cost of
//! creating a queue.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Block size: items up to this size (header + closure) use the task cache.
pub(crate) const BLOCK: usize = 64;
/// Block alignment.
pub(crate) const ALIGN: usize = 16;
/// Queue block size (a `QueueInner`, checked where it is used).
pub(crate) const QUEUE_BLOCK: usize = 96;
const LOCAL_MAX: usize = 256;
const BATCH: usize = 64;
const GLOBAL_MAX: usize = 256;
/// Chunks grow by doubling up to this size.
const MAX_CHUNK: usize = 2 << 20;

struct Free {
    next: *mut Free,
}

struct Batch {
    head: *mut Free,
    len: usize,
}
// SAFETY: a batch is a list of unused blocks owned by whoever holds it.
unsafe impl Send for Batch {}

struct Chunk {
    cur: usize,
    end: usize,
    next_size: usize,
    /// Every chunk mapped (base, length), for a forked child's look at all queues.
    maps: Vec<(usize, usize)>,
}

struct Class {
    layout: Layout,
    /// Blocks come from `mmap`ed chunks and are never freed (else: the global allocator).
    chunked: bool,
    global: Mutex<Vec<Batch>>,
    /// Batches in `global` (a hint read without the lock).
    global_len: AtomicUsize,
    chunk: Mutex<Chunk>,
}

const fn layout(size: usize) -> Layout {
    match Layout::from_size_align(size, ALIGN) {
        Ok(l) => l,
        Err(_) => panic!("bad block layout"),
    }
}

static TASKS: Class = Class {
    layout: layout(BLOCK),
    chunked: false,
    global: Mutex::new(Vec::new()),
    global_len: AtomicUsize::new(0),
    chunk: Mutex::new(Chunk {
        cur: 0,
        end: 0,
        next_size: 0,
        maps: Vec::new(),
    }),
};

static QUEUES: Class = Class {
    layout: layout(QUEUE_BLOCK),
    chunked: true,
    global: Mutex::new(Vec::new()),
    global_len: AtomicUsize::new(0),
    chunk: Mutex::new(Chunk {
        cur: 0,
        end: 0,
        next_size: 64 << 10,
        maps: Vec::new(),
    }),
};

/// Before a fork (see `src/fork.rs`): the global lists and chunks of both classes. Each
/// thread's cache is its own; a dead thread's cache is simply lost to the child.
pub(crate) fn fork_lock(held: &mut crate::fork::Held) -> bool {
    held.lock(&TASKS.global)
        && held.lock(&TASKS.chunk)
        && held.lock(&QUEUES.global)
        && held.lock(&QUEUES.chunk)
}

/// Every queue block ever carved (live queues and free blocks alike; memory never carved is
/// zero), for a forked child (`queue::repair_after_fork`). Single-threaded use only.
pub(crate) fn queue_blocks() -> Vec<usize> {
    let c = QUEUES.chunk.lock().unwrap_or_else(|e| e.into_inner());
    let mut v = Vec::new();
    for &(base, len) in &c.maps {
        let end = if (base..base + len).contains(&c.cur) {
            c.cur
        } else {
            base + len
        };
        let mut a = base;
        while a + QUEUE_BLOCK <= end {
            v.push(a);
            a += QUEUE_BLOCK;
        }
    }
    v
}

struct Local {
    free: *mut Free,
    nfree: usize,
    /// The batch being gathered, in the order its blocks were freed (`out_tail` is its last).
    out: *mut Free,
    out_tail: *mut Free,
    nout: usize,
}

impl Local {
    const fn new() -> Self {
        Local {
            free: ptr::null_mut(),
            nfree: 0,
            out: ptr::null_mut(),
            out_tail: ptr::null_mut(),
            nout: 0,
        }
    }
}

struct Locals([Local; 2]);

impl Drop for Locals {
    fn drop(&mut self) {
        for (l, class) in self.0.iter_mut().zip([&TASKS, &QUEUES]) {
            // SAFETY: both lists hold unused blocks owned by this thread.
            unsafe {
                class.release_list(l.free, l.nfree);
                class.release_list(l.out, l.nout);
            }
        }
    }
}

thread_local! {
    static LOCAL: UnsafeCell<Locals> = const { UnsafeCell::new(Locals([Local::new(), Local::new()])) };
}

fn map_chunk(size: usize) -> Option<usize> {
    // Populated at once: one system call instead of a page fault per 4 KiB page. (Huge pages
    // were tried: their first fault can stall in compaction for hundreds of microseconds.)
    // SAFETY: an anonymous private mapping; the result is checked.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            // (Miri's mmap takes no MAP_POPULATE; its tests only need the memory.)
            libc::MAP_PRIVATE
                | libc::MAP_ANONYMOUS
                | if cfg!(miri) { 0 } else { libc::MAP_POPULATE },
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p as usize)
}

impl Class {
    unsafe fn release_list(&self, head: *mut Free, len: usize) {
        if head.is_null() {
            return;
        }
        if self.chunked {
            self.global
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Batch { head, len });
            return;
        }
        let mut p = head;
        while !p.is_null() {
            // SAFETY: every block in a list is a live, unused block of this class.
            let next = unsafe { (*p).next };
            unsafe { dealloc(p as *mut u8, self.layout) };
            p = next;
        }
    }

    fn push_global(&self, b: Batch) {
        let mut g = self.global.lock().unwrap_or_else(|e| e.into_inner());
        g.push(b);
        self.global_len.store(g.len(), Ordering::Relaxed);
    }

    fn pop_global(&self) -> Option<Batch> {
        if self.global_len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut g = self.global.lock().unwrap_or_else(|e| e.into_inner());
        let b = g.pop();
        self.global_len.store(g.len(), Ordering::Relaxed);
        b
    }

    /// Carves a batch of fresh blocks from the current chunk (a new one when it is full).
    fn carve(&self) -> Option<Batch> {
        let size = self.layout.size();
        let mut c = self.chunk.lock().unwrap_or_else(|e| e.into_inner());
        if c.cur + size * BATCH > c.end {
            let len = c.next_size;
            let base = map_chunk(len)?;
            c.maps.push((base, len));
            c.cur = base;
            c.end = base + len;
            c.next_size = (len * 2).min(MAX_CHUNK);
        }
        let mut head: *mut Free = ptr::null_mut();
        for i in (0..BATCH).rev() {
            let f = (c.cur + i * size) as *mut Free;
            // SAFETY: fresh, writable, aligned memory inside the chunk.
            unsafe { (*f).next = head };
            head = f;
        }
        c.cur += size * BATCH;
        Some(Batch { head, len: BATCH })
    }

    /// A block from this thread's free list: the fast path, inlined into its callers.
    #[inline]
    fn alloc(&self, index: usize) -> *mut u8 {
        let cached = LOCAL.try_with(|l| {
            // SAFETY: only this thread touches its `Local`, and never re-entrantly.
            let l = unsafe { &mut (*l.get()).0[index] };
            let p = l.free;
            if p.is_null() {
                return None;
            }
            // SAFETY: `p` heads the free list.
            l.free = unsafe { (*p).next };
            l.nfree -= 1;
            Some(p as *mut u8)
        });
        match cached {
            Ok(Some(p)) => p,
            _ => self.alloc_refill(index),
        }
    }

    /// `alloc` when this thread's free list is empty: refills it with a batch (from the global
    /// stack, or carved from a chunk), else falls back on the global allocator.
    #[inline(never)]
    fn alloc_refill(&self, index: usize) -> *mut u8 {
        let cached = LOCAL.try_with(|l| {
            // SAFETY: only this thread touches its `Local`, and never re-entrantly.
            let l = unsafe { &mut (*l.get()).0[index] };
            if l.free.is_null() {
                let batch = match self.pop_global() {
                    Some(b) => b,
                    None if self.chunked => self.carve()?,
                    None => return None,
                };
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
                if self.chunked {
                    if let Some(b) = self.carve() {
                        // Thread exiting: take one block, give the rest back.
                        let p = b.head;
                        // SAFETY: `p` heads a fresh batch.
                        let rest = unsafe { (*p).next };
                        // SAFETY: the rest of the batch is unused.
                        unsafe { self.release_list(rest, b.len - 1) };
                        return p as *mut u8;
                    }
                }
                // SAFETY: the layout has a non-zero size.
                let p = unsafe { alloc(self.layout) };
                if p.is_null() {
                    handle_alloc_error(self.layout);
                }
                p
            }
        }
    }

    /// Takes a block back: onto this thread's free list (the fast path, inlined into its
    /// callers), else into the batch being gathered (`free_to_batch`).
    #[inline]
    unsafe fn free(&self, index: usize, p: *mut u8) {
        let f = p as *mut Free;
        let cached = LOCAL.try_with(|l| {
            // SAFETY: as in `alloc`.
            let l = unsafe { &mut (*l.get()).0[index] };
            if l.nfree < LOCAL_MAX {
                // SAFETY: the block is ours now.
                unsafe { (*f).next = l.free };
                l.free = f;
                l.nfree += 1;
            } else {
                // SAFETY: as above.
                unsafe { self.free_to_batch(l, f) };
            }
        });
        if cached.is_err() {
            // The thread is exiting and its cache is gone.
            // SAFETY: a single unused block of this class.
            unsafe { (*f).next = ptr::null_mut() };
            unsafe { self.release_list(f, 1) };
        }
    }

    /// `free` when this thread's list is full: appends the block to the batch being gathered,
    /// which goes to the global stack when complete, or back to the allocator when the global
    /// stack is full too.
    ///
    /// Appended, not pushed: a batch keeps the order in which its blocks were freed. The
    /// allocator reuses freed blocks last-in first-out, so it then hands them out in one
    /// direction through memory. Given back in reverse, the next burst of allocations
    /// zigzagged in steps of a batch, which the hardware prefetcher does not follow: a burst
    /// of a million items onto a suspended queue cost 31-34 ns/item instead of 19-21.
    ///
    /// # Safety
    /// `f` must be an unused block of this class, and `l` this thread's `Local` for it.
    #[inline(never)]
    unsafe fn free_to_batch(&self, l: &mut Local, f: *mut Free) {
        // SAFETY: per the contract, the block is ours.
        unsafe { (*f).next = ptr::null_mut() };
        if l.out.is_null() {
            l.out = f;
        } else {
            // SAFETY: `out_tail` is the last block of the batch, ours.
            unsafe { (*l.out_tail).next = f };
        }
        l.out_tail = f;
        l.nout += 1;
        if l.nout == BATCH {
            let batch = Batch {
                head: std::mem::replace(&mut l.out, ptr::null_mut()),
                len: std::mem::take(&mut l.nout),
            };
            if self.chunked || self.global_len.load(Ordering::Relaxed) < GLOBAL_MAX {
                self.push_global(batch);
            } else {
                // SAFETY: the batch's blocks are unused and ours.
                unsafe { self.release_list(batch.head, batch.len) };
            }
        }
    }
}

/// A `BLOCK`-byte, `ALIGN`-aligned block for a work item.
#[inline]
pub(crate) fn alloc_block() -> *mut u8 {
    TASKS.alloc(0)
}

/// Returns a block from `alloc_block`.
///
/// # Safety
/// `p` must come from `alloc_block` and not be used afterwards.
#[inline]
pub(crate) unsafe fn free_block(p: *mut u8) {
    // SAFETY: per the contract.
    unsafe { TASKS.free(0, p) }
}

/// A `QUEUE_BLOCK`-byte, `ALIGN`-aligned block for a queue object.
#[inline]
pub(crate) fn alloc_queue_block() -> *mut u8 {
    QUEUES.alloc(1)
}

/// Returns a block from `alloc_queue_block`.
///
/// # Safety
/// `p` must come from `alloc_queue_block` and not be used afterwards.
#[inline]
pub(crate) unsafe fn free_queue_block(p: *mut u8) {
    // SAFETY: per the contract.
    unsafe { QUEUES.free(1, p) }
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

    #[test]
    fn queue_blocks_are_distinct_and_recycled() {
        let a: Vec<usize> = (0..5000).map(|_| alloc_queue_block() as usize).collect();
        let mut sorted = a.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), a.len());
        assert!(a.iter().all(|p| p % ALIGN == 0));
        for p in &a {
            // SAFETY: fresh blocks.
            unsafe { free_queue_block(*p as *mut u8) };
        }
        let b = alloc_queue_block();
        // SAFETY: a fresh block.
        unsafe { free_queue_block(b) };
    }

    /// Writes every byte of a block and checks it: a block handed out twice, or one too
    /// small, shows as a mismatch (natively) or an out-of-bounds access (under Miri).
    fn fill(p: *mut u8, size: usize, v: u8) {
        // SAFETY: a live block of `size` bytes.
        unsafe { ptr::write_bytes(p, v, size) };
    }
    fn holds(p: *mut u8, size: usize, v: u8) -> bool {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(p, size) }
            .iter()
            .all(|&b| b == v)
    }

    /// Single-threaded, small enough for Miri (`cargo +nightly miri test miri_`): enough
    /// blocks to overflow this thread's list (`LOCAL_MAX`), gather batches (`BATCH`) onto the
    /// global stack and take them back, with every block written in full while it is held.
    #[test]
    fn miri_blocks_through_local_list_and_batches() {
        for (alloc_fn, free_fn, size) in [
            (
                alloc_block as fn() -> *mut u8,
                free_block as unsafe fn(*mut u8),
                BLOCK,
            ),
            (alloc_queue_block, free_queue_block, QUEUE_BLOCK),
        ] {
            let n = LOCAL_MAX + 2 * BATCH + 3;
            let blocks: Vec<*mut u8> = (0..n).map(|_| alloc_fn()).collect();
            for (i, &p) in blocks.iter().enumerate() {
                assert_eq!(p as usize % ALIGN, 0);
                fill(p, size, i as u8);
            }
            for (i, &p) in blocks.iter().enumerate() {
                assert!(holds(p, size, i as u8), "block {i} was handed out twice");
            }
            for &p in &blocks {
                // SAFETY: live blocks of this class, freed once.
                unsafe { free_fn(p) };
            }
            // Again: now from the local list and the batches just gathered.
            let again: Vec<*mut u8> = (0..n).map(|_| alloc_fn()).collect();
            let mut sorted: Vec<usize> = again.iter().map(|&p| p as usize).collect();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), n, "no block is handed out twice");
            for &p in &again {
                fill(p, size, 0xa5);
                // SAFETY: as above.
                unsafe { free_fn(p) };
            }
        }
    }
}
