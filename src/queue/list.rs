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

impl List {
    /// In a forked child (one thread, no producer or consumer running): puts `new` where
    /// `old` is linked (head, a node's `next`, tail), `new` taking `old`'s successor. False
    /// if `old` is not reachable from the head (a producer the fork stopped between its swap
    /// and its link left a gap before it): the list is unchanged then.
    ///
    /// # Safety
    /// Only in a forked child, before any other thread exists; `old` and `new` live nodes,
    /// `new` in no list.
    pub(crate) unsafe fn replace_after_fork(
        &self,
        old: NonNull<TaskHeader>,
        new: NonNull<TaskHeader>,
    ) -> bool {
        let (o, n) = (old.as_ptr(), new.as_ptr());
        let tail = self.tail.load(Ordering::SeqCst);
        let mut p = self.head.load(Ordering::SeqCst);
        let mut pred: *mut TaskHeader = ptr::null_mut();
        loop {
            if p.is_null() {
                return false;
            }
            if p == o {
                break;
            }
            if p == tail {
                return false;
            }
            pred = p;
            // SAFETY: a linked node of this list (single-threaded, per the contract).
            p = unsafe { (*p).next.load(Ordering::SeqCst) };
        }
        // SAFETY: per the contract.
        unsafe {
            (*n).next
                .store((*o).next.load(Ordering::SeqCst), Ordering::SeqCst)
        };
        if pred.is_null() {
            self.head.store(n, Ordering::SeqCst);
        } else {
            // SAFETY: as above.
            unsafe { (*pred).next.store(n, Ordering::SeqCst) };
        }
        if tail == o {
            self.tail.store(n, Ordering::SeqCst);
        }
        true
    }
}

impl List {
    /// In a forked child (one thread): a producer the fork stopped between its `tail` swap and
    /// its link left the nodes from its own to the tail unreachable, and the consumer would
    /// wait for the link forever. Cuts them off (they are lost in the child: their producers'
    /// threads do not exist there; the nodes leak). Returns whether something was cut.
    ///
    /// # Safety
    /// Only in a forked child, before any other thread exists; the list's nodes are live.
    pub(crate) unsafe fn cut_gap_after_fork(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        if tail.is_null() {
            return false;
        }
        let mut p = self.head.load(Ordering::SeqCst);
        if p.is_null() {
            // The gap is at the head: nothing is reachable.
            self.tail.store(ptr::null_mut(), Ordering::SeqCst);
            return true;
        }
        loop {
            if p == tail {
                return false;
            }
            // SAFETY: a linked node (single-threaded, per the contract).
            let next = unsafe { (*p).next.load(Ordering::SeqCst) };
            if next.is_null() {
                self.tail.store(p, Ordering::SeqCst);
                return true;
            }
            p = next;
        }
    }
}

/// Single-threaded tests of the intrusive list's pointer handling, small enough for Miri
/// (`cargo +nightly miri test miri_`): every node is a `Box` that the test frees after its pop,
/// so a node still reachable from the list after it was popped is a use after free.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Action;

    unsafe fn never_called(_: NonNull<TaskHeader>, _: Action) {
        unreachable!("list nodes are never invoked here");
    }

    fn node() -> NonNull<TaskHeader> {
        NonNull::from(Box::leak(Box::new(TaskHeader::new(never_called, 0))))
    }

    /// Frees a node taken off the list.
    fn free(n: NonNull<TaskHeader>) {
        // SAFETY: every node comes from `node()` and is popped once.
        drop(unsafe { Box::from_raw(n.as_ptr()) });
    }

    #[test]
    fn miri_list_fifo_and_empty_transitions() {
        let list = List::new();
        assert!(list.is_empty());
        assert!(list.peek().is_none());
        assert!(list.pop().is_none());
        let nodes: Vec<_> = (0..5).map(|_| node()).collect();
        for (i, n) in nodes.iter().enumerate() {
            // SAFETY: fresh nodes in no list.
            let was_empty = unsafe { list.push(*n) };
            assert_eq!(
                was_empty,
                i == 0,
                "only the first push finds the list empty"
            );
        }
        assert!(!list.is_empty());
        assert_eq!(list.peek(), Some(nodes[0]), "peek does not remove");
        for n in &nodes {
            let p = list.pop().expect("a node");
            assert_eq!(p, *n, "first in, first out");
            free(p);
        }
        assert!(list.is_empty());
        assert!(list.pop().is_none());
    }

    #[test]
    fn miri_list_last_node_then_refill() {
        // The pop of the only node takes the CAS on `tail`; the list must then be reusable.
        let list = List::new();
        for round in 0..3 {
            let a = node();
            // SAFETY: a fresh node.
            assert!(unsafe { list.push(a) }, "round {round}: empty again");
            let p = list.pop().expect("the node");
            assert_eq!(p, a);
            assert!(list.is_empty());
            free(p);
        }
        // Interleaved: push two, pop one, push one, drain.
        let (a, b, c) = (node(), node(), node());
        // SAFETY: fresh nodes.
        unsafe {
            list.push(a);
            list.push(b);
        }
        free(list.pop().expect("a"));
        // SAFETY: a fresh node.
        assert!(!unsafe { list.push(c) }, "b is still queued");
        let rest: Vec<_> = std::iter::from_fn(|| list.pop()).collect();
        assert_eq!(rest, vec![b, c]);
        rest.into_iter().for_each(free);
    }
}
