//! An intrusive multi-producer single-consumer list of `TaskHeader`s.
//!
//! Producers: `tail.swap(node)`, then link `prev.next = node`, or set `head = node` when the
//! list was empty (that producer must then wake the queue). The consumer owns `head`; it pops
//! without a CAS except on the last node, where it races producers for `tail`. A producer
//! between its swap and its link leaves a short window where the node is not reachable yet;
//! the consumer spins through it (it lasts a few instructions).
//!
//! Memory ordering: the `tail` swap is SeqCst because queues pair it with a SeqCst load of
//! their state word (the lost-wake-up check, see `queue/README.md`); links are Release and the
//! consumer's loads Acquire, so a popped node's contents are visible.

use crate::atomics::{spin_loop, AtomicPtr};
use crate::task::TaskHeader;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering;

pub(crate) struct List {
    head: AtomicPtr<TaskHeader>,
    tail: AtomicPtr<TaskHeader>,
}

impl List {
    pub(crate) fn new() -> Self {
        List {
            head: AtomicPtr::new(ptr::null_mut()),
            tail: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Appends `node`; returns true when the list was empty.
    ///
    /// # Safety
    /// `node` must be live and in no list.
    #[inline]
    pub(crate) unsafe fn push(&self, node: NonNull<TaskHeader>) -> bool {
        let n = node.as_ptr();
        // SAFETY: the caller owns `node` until it is published below.
        unsafe { (*n).next.store(ptr::null_mut(), Ordering::Relaxed) };
        let prev = self.tail.swap(n, Ordering::SeqCst);
        if prev.is_null() {
            self.head.store(n, Ordering::Release);
            true
        } else {
            // SAFETY: `prev` cannot be freed before its `next` is set: the consumer waits.
            unsafe { (*prev).next.store(n, Ordering::Release) };
            false
        }
    }

    /// Is the list empty (as far as producers have published)?
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.tail.load(Ordering::SeqCst).is_null()
    }

    /// The first node without removing it (consumer only).
    pub(crate) fn peek(&self) -> Option<NonNull<TaskHeader>> {
        loop {
            let h = self.head.load(Ordering::Acquire);
            if !h.is_null() {
                return NonNull::new(h);
            }
            if self.tail.load(Ordering::Acquire).is_null() {
                return None;
            }
            // A producer is between its swap and setting head.
            spin_loop();
        }
    }

    /// Removes the first node (consumer only).
    pub(crate) fn pop(&self) -> Option<NonNull<TaskHeader>> {
        let h = self.peek()?.as_ptr();
        // SAFETY: `h` is the head, owned by the consumer until popped.
        let next = unsafe { (*h).next.load(Ordering::Acquire) };
        if !next.is_null() {
            self.head.store(next, Ordering::Relaxed);
            return NonNull::new(h);
        }
        self.head.store(ptr::null_mut(), Ordering::Relaxed);
        if self
            .tail
            .compare_exchange(h, ptr::null_mut(), Ordering::SeqCst, Ordering::Acquire)
            .is_err()
        {
            // A producer appended after `h` and is about to link it.
            let next = loop {
                // SAFETY: as above.
                let n = unsafe { (*h).next.load(Ordering::Acquire) };
                if !n.is_null() {
                    break n;
                }
                spin_loop();
            };
            self.head.store(next, Ordering::Release);
        }
        NonNull::new(h)
    }
}
