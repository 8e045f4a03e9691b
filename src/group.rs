//! Groups: a count of outstanding work, with waiters and notifications at zero.
//!
//! `state` holds the count times two plus a flag (bit 0) meaning "someone is waiting or a
//! notification is registered". `enter` is one `fetch_add`; `leave` one CAS; only a leave that
//! brings the count to zero with the flag set takes the mutex.
//!
//! **Lifetime.** As with semaphores, a C caller may release the last reference while another
//! thread is blocked in `wait`, or as soon as its `wait` returns while the `leave` that emptied
//! the group is still on its way out. So a blocking `wait` takes a reference of its own before
//! it sets the flag, and a `leave` that will empty a flagged group takes one before its CAS.

use crate::atomics::AtomicU64;
use crate::error::{Error, ErrorKind};
use crate::object::{Kind, ObjExtras, ObjHeader};
use crate::objlock::ObjLock;
use crate::queue::{Queue, QueueInner, QueueRef};
use crate::task::{self, TaskHeader};
use crate::time::Time;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

const WAITERS: u64 = 1;
const ONE: u64 = 2;

enum Notify {
    /// `task`, enqueued on `queue`.
    Queue {
        queue: QueueRef,
        task: task::SendPtr,
    },
    /// The loom model's notification (`loom_model` below): called where a task is enqueued.
    #[cfg(all(loom, test))]
    Probe(Box<dyn FnOnce() + Send>),
}

impl Notify {
    /// Runs the notification: enqueues its task.
    fn deliver(self) {
        match self {
            Notify::Queue { queue, task } => {
                let t = NonNull::new(task.0 as *mut TaskHeader).expect("non-null");
                crate::tsan::release(t.as_ptr());
                // SAFETY: the notification item was never enqueued before.
                unsafe { queue.enqueue(t) };
            }
            #[cfg(all(loom, test))]
            Notify::Probe(f) => f(),
        }
    }

    /// Drops a notification that will never run (its group is destroyed).
    fn discard(self) {
        match self {
            Notify::Queue { task, .. } => {
                let t = NonNull::new(task.0 as *mut TaskHeader).expect("non-null");
                // SAFETY: never enqueued; discarded here.
                unsafe { task::invoke(t, task::Action::Discard) };
            }
            #[cfg(all(loom, test))]
            Notify::Probe(_) => {}
        }
    }
}

#[derive(Default)]
struct Slow {
    generation: u64,
    notify: Vec<Notify>,
}

#[repr(C)]
pub(crate) struct GroupInner {
    pub(crate) obj: ObjHeader,
    pub(crate) extras: ObjExtras,
    state: AtomicU64,
    /// Waiters and notifications (a fork never cuts a holder: `objlock.rs`).
    slow: ObjLock<Slow>,
}

impl GroupInner {
    pub(crate) fn new() -> Arc<GroupInner> {
        crate::object::new_arc(GroupInner {
            obj: ObjHeader::new(Kind::Group, 0),
            extras: ObjExtras::default(),
            state: AtomicU64::new(0),
            slow: ObjLock::new(Slow::default()),
        })
    }

    #[inline]
    pub(crate) fn enter(&self) {
        self.state.fetch_add(ONE, Ordering::AcqRel);
    }

    /// A new reference to this group, dropped at the end of the caller's slow path.
    fn keep_alive(&self) -> Arc<GroupInner> {
        // SAFETY: every `GroupInner` lives in an `Arc` (`new` is its only constructor), and our
        // caller holds a reference while it calls this.
        unsafe { crate::object::keep_alive(self) }
    }

    #[inline]
    pub(crate) fn leave(&self) -> Result<(), Error> {
        crate::tsan::release(self);
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s < ONE {
                return Err(unbalanced_leave());
            }
            if s == ONE | WAITERS {
                return self.leave_last();
            }
            match self
                .state
                .compare_exchange_weak(s, s - ONE, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(cur) => s = cur,
            }
        }
    }

    /// A leave that may empty a group someone waits on (or has notifications): it holds a
    /// reference until `emptied` is done, since the waiters may return and release the last one
    /// as soon as the count is zero.
    #[cold]
    fn leave_last(&self) -> Result<(), Error> {
        let _this = self.keep_alive();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s < ONE {
                return Err(unbalanced_leave());
            }
            match self
                .state
                .compare_exchange_weak(s, s - ONE, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(cur) => s = cur,
            }
        }
        if s == ONE | WAITERS {
            self.emptied();
        }
        Ok(())
    }

    #[cold]
    fn emptied(&self) {
        let notify = {
            let mut slow = self.slow.lock();
            // The count may have gone up again meanwhile: that zero has passed.
            if self.state.load(Ordering::Acquire) >> 1 != 0 {
                return;
            }
            self.state.fetch_and(!WAITERS, Ordering::AcqRel);
            slow.generation += 1;
            std::mem::take(&mut slow.notify)
        };
        // Notifications are enqueued before blocked waiters wake, as in libdispatch: a
        // waiter that then syncs onto a notification's queue finds the notification ahead.
        // Every leave happens before the notifications (their items were made earlier).
        crate::tsan::acquire(self);
        for n in notify {
            n.deliver();
        }
        self.slow.notify_all();
    }

    /// Waits until the count is zero or `deadline` passes.
    pub(crate) fn wait(&self, deadline: Time) -> Result<(), Error> {
        if self.state.load(Ordering::Acquire) >> 1 == 0 {
            crate::tsan::acquire(self);
            return Ok(());
        }
        if deadline.remaining_ns() == Some(0) {
            return Err(Error::timed_out());
        }
        let r = self.wait_slow(deadline);
        if r.is_ok() {
            crate::tsan::acquire(self);
        }
        r
    }

    #[cold]
    fn wait_slow(&self, deadline: Time) -> Result<(), Error> {
        // Our own reference, taken before we set WAITERS and held until we return: the last
        // release by another thread while we wait then frees nothing under us.
        let this = self.keep_alive();
        crate::pool::blocking(|| this.block(deadline))
    }

    fn block(&self, deadline: Time) -> Result<(), Error> {
        let mut slow = self.slow.lock();
        let prev = self.state.fetch_or(WAITERS, Ordering::AcqRel);
        if prev >> 1 == 0 {
            return Ok(());
        }
        let generation = slow.generation;
        loop {
            if slow.generation != generation {
                return Ok(());
            }
            match deadline.remaining_ns() {
                None => slow = self.slow.wait(slow, None),
                Some(0) => return Err(Error::timed_out()),
                Some(ns) => slow = self.slow.wait(slow, Some(Duration::from_nanos(ns))),
            }
        }
    }

    /// Runs `task` on `queue` once the count reaches zero (at once if it is zero).
    pub(crate) fn notify(&self, queue: QueueRef, task: NonNull<TaskHeader>) {
        let task = task::SendPtr(task.as_ptr() as *mut std::ffi::c_void);
        self.notify_with(Notify::Queue { queue, task });
    }

    /// Registers `n` to be delivered when the count reaches zero (now, if it is zero).
    fn notify_with(&self, n: Notify) {
        {
            let mut slow = self.slow.lock();
            let prev = self.state.fetch_or(WAITERS, Ordering::AcqRel);
            if prev >> 1 != 0 {
                slow.notify.push(n);
                return;
            }
        }
        // The group is empty: every leave happens before the notification.
        crate::tsan::acquire(self);
        n.deliver();
    }

    /// Enters, and enqueues `task` followed by a leave.
    pub(crate) fn exec_async_raw(
        self: &Arc<Self>,
        queue: &QueueInner,
        f: impl FnOnce() + Send + 'static,
    ) {
        self.enter();
        let g = self.clone();
        let t = task::boxed(
            move || {
                struct Leave(Arc<GroupInner>);
                impl Drop for Leave {
                    fn drop(&mut self) {
                        let _ = self.0.leave();
                    }
                }
                let _leave = Leave(g);
                f();
            },
            0,
        );
        // SAFETY: a fresh item.
        unsafe { queue.enqueue(t) };
    }
}

#[cold]
fn unbalanced_leave() -> Error {
    Error::new(
        ErrorKind::State,
        "group leave without a matching enter (unbalanced leave)",
    )
}

impl Drop for GroupInner {
    fn drop(&mut self) {
        self.obj.kill();
        for n in std::mem::take(&mut self.slow.get_mut().notify) {
            n.discard();
        }
        crate::semaphore::finalize_on_default(&self.extras);
        // SAFETY: built by `new_arc`, dropped now, tag killed.
        unsafe { crate::object::retire_arc(self) };
    }
}

/// A dispatch group: tracks work and lets you wait for it or be notified when it is done.
///
/// # Examples
///
/// ```
/// use rgcd::{Group, Queue, Time};
/// let g = Group::new();
/// g.exec_async(&Queue::global(rgcd::Qos::Default), || {});
/// g.wait(Time::FOREVER).unwrap();
/// ```
#[derive(Clone)]
pub struct Group {
    pub(crate) inner: Arc<GroupInner>,
}

impl Default for Group {
    fn default() -> Self {
        Self::new()
    }
}

impl Group {
    /// A new, empty group.
    pub fn new() -> Group {
        Group {
            inner: GroupInner::new(),
        }
    }

    /// Runs `f` on `queue` as part of the group.
    pub fn exec_async<F: FnOnce() + Send + 'static>(&self, queue: &Queue, f: F) {
        self.inner.exec_async_raw(&queue.inner, f);
    }

    /// Counts one more piece of outstanding work.
    pub fn enter(&self) {
        self.inner.enter();
    }

    /// Marks one piece of work done; fails on an unbalanced leave.
    pub fn leave(&self) -> Result<(), Error> {
        self.inner.leave()
    }

    /// Waits until the group is empty; `Err(TimedOut)` when `deadline` passes first.
    pub fn wait(&self, deadline: Time) -> Result<(), Error> {
        self.inner.wait(deadline)
    }

    /// Runs `f` on `queue` when the group becomes empty.
    pub fn notify<F: FnOnce() + Send + 'static>(&self, queue: &Queue, f: F) {
        self.inner.notify(queue.inner.clone(), task::boxed(f, 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group pointer lent to another thread, as a C handle is.
    struct Lent(*const GroupInner);
    // SAFETY: the test keeps the group alive while the pointer is used.
    unsafe impl Send for Lent {}

    #[test]
    fn last_release_while_waiting_then_timeout() {
        let g = GroupInner::new();
        g.enter();
        let w = Arc::downgrade(&g);
        let p = Lent(Arc::as_ptr(&g));
        let t = std::thread::spawn(move || {
            let p = p;
            // SAFETY: live when the call starts: the main thread keeps its reference until
            // WAITERS is set, which a waiter does only while it holds a reference of its own.
            unsafe { &*p.0 }.wait(Time::after(Duration::from_millis(200)))
        });
        while g.state.load(Ordering::Acquire) & WAITERS == 0 {
            std::thread::yield_now();
        }
        drop(g); // the last reference but the waiter's own
        assert_eq!(
            w.strong_count(),
            1,
            "a blocked waiter holds its own reference"
        );
        let r = t.join().unwrap();
        assert_eq!(r.unwrap_err().kind(), ErrorKind::TimedOut);
        assert_eq!(
            w.strong_count(),
            0,
            "the waiter dropped its reference on return"
        );
    }

    #[test]
    fn leave_that_empties_takes_no_reference_for_good() {
        let g = GroupInner::new();
        g.enter();
        g.enter();
        g.state.fetch_or(WAITERS, Ordering::AcqRel); // as a waiter or a notify would
        g.leave().unwrap();
        g.leave().unwrap(); // empties a flagged group: the slow leave
        assert_eq!(g.state.load(Ordering::Relaxed), 0);
        assert_eq!(Arc::strong_count(&g), 1);
        assert_eq!(g.leave().unwrap_err().kind(), ErrorKind::State);
        assert_eq!(Arc::strong_count(&g), 1);
    }
}

/// Model checks (`RUSTFLAGS="--cfg loom" cargo test --release --lib loom_model`): the real
/// `enter`, `leave`, `wait` and `notify` under loom, which runs every interleaving of their
/// atomics, mutex and condition variable up to `LOOM_MAX_PREEMPTIONS` preemptions. A lost
/// wake-up is a waiter that never returns, which loom reports as a deadlock.
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use loom::sync::atomic::AtomicUsize;
    use loom::thread;

    /// A notification that counts its runs and checks that the group was empty then.
    fn probe(g: &Arc<GroupInner>, runs: &Arc<AtomicUsize>) -> Notify {
        let g = g.clone();
        let runs = runs.clone();
        Notify::Probe(Box::new(move || {
            assert_eq!(
                g.state.load(Ordering::SeqCst) >> 1,
                0,
                "notified while not empty"
            );
            runs.fetch_add(1, Ordering::SeqCst);
        }))
    }

    /// Two leaves race a waiter: the waiter returns (once the count is zero) and the
    /// notification registered before runs exactly once.
    #[test]
    fn last_leave_wakes_waiter_and_notifies_once() {
        loom::model(|| {
            let g = GroupInner::new();
            let runs = Arc::new(AtomicUsize::new(0));
            g.enter();
            g.enter();
            g.notify_with(probe(&g, &runs));
            let leaves: Vec<_> = (0..2)
                .map(|_| {
                    let g = g.clone();
                    thread::spawn(move || g.leave().unwrap())
                })
                .collect();
            g.wait(Time::FOREVER).unwrap();
            assert_eq!(g.state.load(Ordering::SeqCst) >> 1, 0);
            for t in leaves {
                t.join().unwrap();
            }
            assert_eq!(runs.load(Ordering::SeqCst), 1);
        });
    }

    /// A notify races the last leave: it runs exactly once, after the count reached zero.
    #[test]
    fn notify_racing_the_last_leave() {
        loom::model(|| {
            let g = GroupInner::new();
            let runs = Arc::new(AtomicUsize::new(0));
            g.enter();
            let l = {
                let g = g.clone();
                thread::spawn(move || g.leave().unwrap())
            };
            g.notify_with(probe(&g, &runs));
            l.join().unwrap();
            assert_eq!(runs.load(Ordering::SeqCst), 1);
            assert_eq!(g.state.load(Ordering::SeqCst) >> 1, 0);
        });
    }
}
