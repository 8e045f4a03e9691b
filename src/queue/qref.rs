//! `QueueRef`: the reference-counted pointer to a queue — `Arc`'s interface, with the count
//! inside `QueueInner` and the memory from the queue block cache (`alloc.rs`), so creating a
//! queue costs no `malloc` and few page faults.

use super::QueueInner;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

pub(crate) struct QueueRef(NonNull<QueueInner>);

// SAFETY: QueueInner is Send + Sync; the count is atomic.
unsafe impl Send for QueueRef {}
unsafe impl Sync for QueueRef {}

// (Under loom the atomics are larger; no queue is built there.)
#[cfg(not(all(loom, test)))]
const _: () = assert!(std::mem::size_of::<QueueInner>() <= crate::alloc::QUEUE_BLOCK);
const _: () = assert!(std::mem::align_of::<QueueInner>() <= crate::alloc::ALIGN);

impl QueueRef {
    /// Moves `q` into a fresh block with one reference.
    pub(crate) fn new(q: QueueInner) -> QueueRef {
        let p = crate::alloc::alloc_queue_block() as *mut QueueInner;
        // SAFETY: a fresh block, large and aligned enough (checked above).
        unsafe { p.write(q) };
        // SAFETY: just written.
        unsafe { (*p).refs.store(1, Ordering::Relaxed) };
        // SAFETY: the block allocators never return null.
        QueueRef(unsafe { NonNull::new_unchecked(p) })
    }

    /// Gives up the reference without dropping it; `from_raw` takes it back.
    pub(crate) fn into_raw(this: QueueRef) -> *const QueueInner {
        let p = this.0.as_ptr();
        std::mem::forget(this);
        p
    }

    /// Takes back a reference given up by `into_raw` (or counted by `increment_strong_count`).
    ///
    /// # Safety
    /// `p` must be a live queue and the caller must own one reference to it.
    pub(crate) unsafe fn from_raw(p: *const QueueInner) -> QueueRef {
        // SAFETY: per the contract, non-null.
        QueueRef(unsafe { NonNull::new_unchecked(p as *mut QueueInner) })
    }

    /// # Safety
    /// `p` must be a live queue.
    #[inline]
    pub(crate) unsafe fn increment_strong_count(p: *const QueueInner) {
        // SAFETY: per the contract.
        let q = unsafe { &*p };
        // Global queues live forever: skip the shared counter every thread would bounce.
        if !q.is_global() {
            q.refs.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// # Safety
    /// `p` must be a live queue and the caller must own one reference, which this consumes.
    #[inline]
    pub(crate) unsafe fn decrement_strong_count(p: *const QueueInner) {
        // SAFETY: per the contract.
        if unsafe { QueueRef::release_is_last(p) } {
            // SAFETY: that was the last reference.
            unsafe { Self::drop_slow(p) };
        }
    }

    /// Drops one reference; true when it was the last one: the caller must then `drop_slow`
    /// the queue. Split from it so that this part (one atomic) inlines everywhere.
    ///
    /// # Safety
    /// As for `decrement_strong_count`.
    #[inline]
    pub(crate) unsafe fn release_is_last(p: *const QueueInner) -> bool {
        // SAFETY: per the contract.
        let q = unsafe { &*p };
        !q.is_global() && q.refs.fetch_sub(1, Ordering::Release) == 1
    }

    /// Destroys a queue whose last reference is gone. Out of line: it keeps the release
    /// above small enough to inline.
    ///
    /// # Safety
    /// `release_is_last(p)` must have returned true, and nothing may use `p` afterwards.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn drop_slow(p: *const QueueInner) {
        fence(Ordering::Acquire);
        // SAFETY: the last reference: nobody else can reach the queue. The block goes to the
        // quarantine (see `object.rs`), not straight back to the cache that would hand it to
        // the next queue created on this thread.
        unsafe {
            std::ptr::drop_in_place(p as *mut QueueInner);
            crate::object::retire(p as *mut u8, free_block);
        }
    }
}

/// Frees a retired queue block.
unsafe fn free_block(p: *mut u8) {
    // SAFETY: a block from `alloc_queue_block` whose queue was dropped.
    unsafe { crate::alloc::free_queue_block(p) }
}

impl Clone for QueueRef {
    fn clone(&self) -> Self {
        // SAFETY: we hold a reference, so the queue is live.
        unsafe { QueueRef::increment_strong_count(self.0.as_ptr()) };
        QueueRef(self.0)
    }
}

impl Deref for QueueRef {
    type Target = QueueInner;
    fn deref(&self) -> &QueueInner {
        // SAFETY: we hold a reference.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for QueueRef {
    fn drop(&mut self) {
        // SAFETY: we own this reference.
        unsafe { QueueRef::decrement_strong_count(self.0.as_ptr()) };
    }
}
