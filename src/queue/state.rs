//! The serial queue's enqueue/drain protocol on its state word and list, as functions of
//! those two alone (no pool, no references), so that the loom model (`loom_model` below)
//! runs exactly what `QueueInner::wakeup`, `unlock` and the serial drain run. See README.md,
//! "No lost wake-ups".

use super::list::List;
use super::{INACTIVE, LOCKED, SUSPEND_MASK, SUSPEND_ONE};
use crate::atomics::AtomicU64;
use crate::task::TaskHeader;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

/// The state-word half of `wakeup`: takes LOCKED if the queue is unlocked, active and not
/// suspended (true: the caller now owns the drain and must schedule it).
#[inline(always)]
pub(crate) fn try_lock(state: &AtomicU64) -> bool {
    let mut s = state.load(Ordering::SeqCst);
    loop {
        if s & (LOCKED | INACTIVE | SUSPEND_MASK) != 0 {
            return false;
        }
        match state.compare_exchange_weak(s, s | LOCKED, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return true,
            Err(cur) => s = cur,
        }
    }
}

/// The state-word half of `unlock`: clears LOCKED, then re-checks the list (true: items
/// arrived meanwhile, so the caller must try to lock again: their producer may have seen
/// LOCKED and left them to us).
#[inline(always)]
pub(crate) fn unlock(state: &AtomicU64, list: &List) -> bool {
    state.fetch_and(!LOCKED, Ordering::SeqCst);
    !list.is_empty()
}

/// `suspend`: counts one more suspension (false, changing nothing, at the count's maximum).
/// A drain in progress stops before its next item (`next_serial`).
#[inline]
pub(crate) fn suspend(state: &AtomicU64) -> bool {
    let prev = state.fetch_add(SUSPEND_ONE, Ordering::SeqCst);
    if prev & SUSPEND_MASK == SUSPEND_MASK {
        state.fetch_sub(SUSPEND_ONE, Ordering::SeqCst);
        return false;
    }
    true
}

/// `resume`: drops one suspension, then re-checks the list (`Ok(true)`: the caller must wake
/// the queue, whose producers may have left their items to a drain while it was suspended).
/// `Err(state)`, changing nothing, when the queue is not suspended.
#[inline]
pub(crate) fn resume(state: &AtomicU64, list: &List) -> Result<bool, u64> {
    let mut s = state.load(Ordering::SeqCst);
    loop {
        if s & SUSPEND_MASK == 0 {
            return Err(s);
        }
        match state.compare_exchange_weak(s, s - SUSPEND_ONE, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return Ok(!list.is_empty()),
            Err(cur) => s = cur,
        }
    }
}

/// The serial drain's next item: none when the queue got suspended or deactivated, or its
/// list is empty (the drain then ends with `unlock`). The caller holds LOCKED.
#[inline(always)]
pub(crate) fn next_serial(state: &AtomicU64, list: &List) -> Option<NonNull<TaskHeader>> {
    let s = state.load(Ordering::Acquire);
    if s & (SUSPEND_MASK | INACTIVE) != 0 {
        return None;
    }
    list.pop()
}

/// Model checks (`RUSTFLAGS="--cfg loom" cargo test --release --lib loom_model`): producers
/// push items with `List::push` and, when the list was empty, `try_lock`; whoever locks
/// drains with `next_serial` and ends with `unlock` (locking again if items arrived), as
/// `QueueInner::enqueue`, `wakeup`, the serial drain and `unlock` do (the drain runs on the
/// thread that locked instead of going through a target). Loom runs every interleaving of
/// their atomics up to `LOOM_MAX_PREEMPTIONS` preemptions.
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use crate::task::Action;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;
    use loom::thread;

    #[repr(C)]
    struct Item {
        header: TaskHeader,
        id: usize,
    }

    unsafe fn never_called(_: NonNull<TaskHeader>, _: Action) {
        unreachable!("the model reads items, it does not run them")
    }

    struct Queue {
        state: AtomicU64,
        list: List,
        /// The ids drained, in order. Only a drain (the holder of LOCKED) touches it, so loom
        /// also checks that two drains never overlap.
        drained: UnsafeCell<Vec<usize>>,
    }

    // SAFETY: `drained` is only touched by the holder of LOCKED (which loom checks).
    unsafe impl Sync for Queue {}
    unsafe impl Send for Queue {}

    fn drain(q: &Queue) {
        loop {
            while let Some(t) = next_serial(&q.state, &q.list) {
                // SAFETY: an `Item` popped from the list, still alive (freed after the model).
                let id = unsafe { (*(t.as_ptr() as *const Item)).id };
                // SAFETY: we hold LOCKED.
                q.drained.with_mut(|d| unsafe { (*d).push(id) });
            }
            if !(unlock(&q.state, &q.list) && try_lock(&q.state)) {
                return;
            }
        }
    }

    /// Enqueues the item at address `item`.
    fn enqueue(q: &Queue, item: usize) {
        // SAFETY: a live item in no list.
        let first = unsafe { q.list.push(NonNull::new_unchecked(item as *mut TaskHeader)) };
        if first && try_lock(&q.state) {
            drain(q);
        }
    }

    fn items(ids: std::ops::Range<usize>) -> Vec<usize> {
        ids.map(|id| {
            Box::into_raw(Box::new(Item {
                header: TaskHeader::new(never_called, 0),
                id,
            })) as usize
        })
        .collect()
    }

    /// A fresh, idle queue.
    ///
    /// Loom treats SeqCst accesses as AcqRel (its README, "Unsupported features"), except
    /// that a SeqCst load does not return a SeqCst store older than another SeqCst store.
    /// An atomic's initial value is not a SeqCst store, so a SeqCst load could still return
    /// it after a newer SeqCst store: the store-buffering outcome that the "no lost wake-up"
    /// argument (README.md) rules out with SeqCst, and C11 forbids. So the queue starts with
    /// SeqCst stores of its idle values: a push and a pop of an item (the tail's swap and
    /// compare-exchange), and a store to the state word.
    fn new_queue() -> Arc<Queue> {
        let q = Arc::new(Queue {
            state: AtomicU64::new(0),
            list: List::new(),
            drained: UnsafeCell::new(Vec::new()),
        });
        let mut prime = TaskHeader::new(never_called, 0);
        let p = NonNull::from(&mut prime);
        // SAFETY: a live item in no list, popped again at once.
        assert!(unsafe { q.list.push(p) });
        assert_eq!(q.list.pop(), Some(p));
        q.state.store(0, Ordering::SeqCst);
        q
    }

    /// Starts one producer per entry of `per`, enqueuing that many items (ids `0..per[0]`,
    /// then the next `per[1]`, ...). Returns the threads and the items.
    fn producers(q: &Arc<Queue>, per: &[usize]) -> (Vec<thread::JoinHandle<()>>, Vec<usize>) {
        let mut start = 0;
        let mut all = Vec::new();
        let mut threads = Vec::new();
        for &n in per {
            let mine = items(start..start + n);
            start += n;
            all.extend_from_slice(&mine);
            let q = q.clone();
            threads.push(thread::spawn(move || {
                for item in mine {
                    enqueue(&q, item);
                }
            }));
        }
        (threads, all)
    }

    /// Once every thread is done: the producers' items were each drained once, in each
    /// producer's order, and the queue ends unlocked with an empty list (no item was left
    /// behind by a drain that stopped as it arrived: a lost wake-up). Frees the items.
    fn check_drained(q: &Queue, per: &[usize], all: Vec<usize>) {
        let start: usize = per.iter().sum();
        {
            assert_eq!(q.state.load(Ordering::SeqCst), 0, "left locked");
            assert!(q.list.is_empty(), "items left behind");
            let drained = q.drained.with(|d| unsafe { (*d).clone() });
            let mut sorted = drained.clone();
            sorted.sort_unstable();
            assert_eq!(
                sorted,
                (0..start).collect::<Vec<_>>(),
                "drained {drained:?}"
            );
            let mut first = 0;
            for &n in per {
                let mine: Vec<_> = drained
                    .iter()
                    .copied()
                    .filter(|id| (first..first + n).contains(id))
                    .collect();
                assert_eq!(mine, (first..first + n).collect::<Vec<_>>(), "out of order");
                first += n;
            }
            for item in all {
                // SAFETY: from `items`, drained and no longer referenced.
                drop(unsafe { Box::from_raw(item as *mut Item) });
            }
        }
    }

    fn check(per: &[usize]) {
        let per = per.to_vec();
        loom::model(move || {
            let q = new_queue();
            let (threads, all) = producers(&q, &per);
            for t in threads {
                t.join().unwrap();
            }
            check_drained(&q, &per, all);
        });
    }

    /// A suspend and a resume race a producer and its drain: the drain stops before an item
    /// once the queue is suspended, and resume's re-check of the list restarts it.
    #[test]
    fn serial_suspend_resume_racing_enqueue() {
        loom::model(|| {
            let q = new_queue();
            let (threads, all) = producers(&q, &[2]);
            assert!(suspend(&q.state));
            if resume(&q.state, &q.list).unwrap() && try_lock(&q.state) {
                drain(&q);
            }
            for t in threads {
                t.join().unwrap();
            }
            check_drained(&q, &[2], all);
        });
    }

    #[test]
    fn serial_two_producers() {
        check(&[1, 2]);
    }

    #[test]
    fn serial_three_producers() {
        check(&[1, 1, 1]);
    }
}
