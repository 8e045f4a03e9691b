//! Draining: how a locked queue runs its items (see README.md).

use super::sync::{with_frame_holding, FrameHold, SyncWaiter};
use super::{
    at_width, inflight, release_raw, Flavor, QueueInner, BARRIER_WAIT, INACTIVE, LOCKED,
    SUSPEND_MASK, WIDTH_WAIT,
};
use crate::pool::{pool, Job};
use crate::task::{self, Action, TaskHeader, BARRIER, RETARGET, SYNC_WAITER};
use std::mem::offset_of;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

/// Items a queue runs per turn before it lets other queues have the thread.
const BATCH: u32 = 256;

/// Runs one item, reporting a panic instead of letting it unwind into the pool.
#[inline]
pub(crate) fn run_task(t: NonNull<TaskHeader>) {
    // SAFETY: callers pass an item they own.
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| unsafe { task::invoke(t, Action::Run) })) {
        report_panic(&*p);
    }
}

pub(crate) fn report_panic(p: &(dyn std::any::Any + Send)) {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic)".into());
    eprintln!("rgcd: a work item panicked: {msg} (the queue carries on)");
}

/// Runs a job taken from the pool: an item of a root queue, or a forwarded item of a wide
/// concurrent queue (whose width slot and reference the job owns).
pub(crate) fn execute(job: Job) {
    // SAFETY: the job keeps its queue alive.
    let q = unsafe { &*job.queue };
    let reader = q.flavor() == Flavor::Concurrent;
    if reader {
        crate::tsan::enter_reader(q);
    }
    let hold = if reader {
        FrameHold::Reader
    } else {
        FrameHold::Other
    };
    with_frame_holding(q, hold, || run_task(job.task));
    if reader {
        crate::tsan::exit_reader(q);
        q.exit_reader();
        // SAFETY: the reference taken by `forward`.
        unsafe { release_raw(q) };
    }
}

/// `link.call` of every queue: drain it.
pub(super) unsafe fn drain_link(t: NonNull<TaskHeader>, action: Action) {
    // SAFETY: `link` is embedded in a QueueInner at this offset.
    let q = unsafe {
        &*((t.as_ptr() as *const u8).sub(offset_of!(QueueInner, link)) as *const QueueInner)
    };
    match action {
        Action::Run => {
            if q.is_wide() {
                q.drain_wide()
            } else {
                q.drain_serial()
            }
        }
        // The target went away with this queue still enqueued: give the reference back.
        Action::Discard => {
            q.state.fetch_and(!LOCKED, Ordering::SeqCst);
            // SAFETY: the reference taken by `wakeup`.
            unsafe { release_raw(q) }
        }
    }
}

impl QueueInner {
    /// Should a drain that ran a full batch give the thread up?
    fn should_yield(&self) -> bool {
        let t = self.target();
        match t.flavor() {
            Flavor::Root => pool().has_pending(),
            Flavor::MainRoot => false,
            _ => true,
        }
    }

    /// Serial drain: runs items one at a time on this thread (the caller holds LOCKED and a
    /// reference, both passed on or released when the drain ends).
    fn drain_serial(&self) {
        enum End {
            Unlock,
            Handoff(NonNull<TaskHeader>),
            Yield,
        }
        let end = with_frame_holding(self, FrameHold::Drain, || {
            let mut n = 0u32;
            loop {
                let Some(t) = super::state::next_serial(&self.state, &self.list) else {
                    return End::Unlock;
                };
                // SAFETY: popped items are owned here.
                let flags = unsafe { (*t.as_ptr()).flags };
                if flags & SYNC_WAITER != 0 {
                    if self.target().flavor() == Flavor::Root {
                        return End::Handoff(t);
                    }
                    crate::tsan::enter_exclusive(self);
                    // SAFETY: a waiter popped from this queue.
                    unsafe { SyncWaiter::run_here(t, self) };
                    crate::tsan::exit_exclusive(self);
                } else {
                    crate::tsan::enter_exclusive(self);
                    run_task(t);
                    crate::tsan::exit_exclusive(self);
                    if flags & RETARGET != 0 {
                        return End::Yield;
                    }
                }
                n += 1;
                if n >= BATCH {
                    if self.should_yield() {
                        return End::Yield;
                    }
                    n = 0;
                }
            }
        });
        match end {
            End::Unlock => self.unlock(true),
            // SAFETY: a waiter popped from this queue; LOCKED and our reference pass to it.
            End::Handoff(t) => unsafe { SyncWaiter::hand_off(t, self) },
            End::Yield => self.schedule(),
        }
    }

    /// Wide drain: forwards items to the pool in order, stopping at a barrier until the items
    /// in flight have finished, then running the barrier itself.
    fn drain_wide(&self) {
        let mut n = 0u32;
        loop {
            let mut s = self.state.load(Ordering::SeqCst);
            if s & (SUSPEND_MASK | INACTIVE) != 0 {
                break;
            }
            let Some(t) = self.list.peek() else {
                break;
            };
            // SAFETY: the head item is owned by the consumer (us).
            let flags = unsafe { (*t.as_ptr()).flags };
            if flags & BARRIER != 0 {
                loop {
                    if inflight(s) == 0 {
                        break;
                    }
                    match self.state.compare_exchange(
                        s,
                        s | BARRIER_WAIT,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    ) {
                        // The last item in flight reschedules us (`exit_reader`).
                        Ok(_) => return,
                        Err(cur) => s = cur,
                    }
                }
                self.list.pop();
                if flags & SYNC_WAITER != 0 {
                    if self.target().flavor() == Flavor::Root {
                        // SAFETY: a waiter popped from this queue; LOCKED and our reference
                        // pass to it.
                        unsafe { SyncWaiter::hand_off(t, self) };
                        return;
                    }
                    // Inside a wide target, the work must run inside this drain (which
                    // holds the target's slot).
                    // SAFETY: a waiter popped from this queue.
                    unsafe { SyncWaiter::run_here(t, self) };
                } else {
                    crate::tsan::enter_exclusive(self);
                    with_frame_holding(self, FrameHold::Drain, || run_task(t));
                    crate::tsan::exit_exclusive(self);
                    if flags & RETARGET != 0 {
                        self.schedule();
                        return;
                    }
                }
            } else {
                if at_width(s) {
                    loop {
                        if !at_width(s) {
                            break;
                        }
                        match self.state.compare_exchange(
                            s,
                            s | WIDTH_WAIT,
                            Ordering::SeqCst,
                            Ordering::SeqCst,
                        ) {
                            // The next item to end reschedules us (`exit_reader`).
                            Ok(_) => return,
                            Err(cur) => s = cur,
                        }
                    }
                }
                self.list.pop();
                self.state.fetch_add(super::INFLIGHT_ONE, Ordering::SeqCst);
                if flags & SYNC_WAITER != 0 {
                    // SAFETY: a waiter popped from this queue; it exits the reader slot.
                    unsafe { SyncWaiter::admit_reader(t, self) };
                } else {
                    // SAFETY: the in-flight slot was taken above.
                    unsafe { self.forward(t) };
                }
            }
            n += 1;
            if n >= BATCH && self.should_yield() {
                self.schedule();
                return;
            }
        }
        self.unlock(true);
    }
}
