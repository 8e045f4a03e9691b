//! The source's state-word transitions (see the state machine in `source.rs`), as functions
//! of the word alone, so that the loom model (`loom_model` below) runs exactly what
//! `SourceInner::merge`, `schedule`, `run` and `cancel` run.

use super::{CANCELED, CANCEL_DONE, ENQUEUED, INACTIVE, PENDING, REG_PENDING, SUSPEND_MASK};
use crate::atomics::AtomicU64;
use std::sync::atomic::Ordering;

/// What a run of the link delivers (`begin_run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// Suspended or inactive since the link was enqueued: nothing (delivered on resume).
    Stopped,
    /// Cancelled: pending data and registration are dropped; `first` says this run calls the
    /// cancel handler (it is the first since the cancel, which happens once).
    Cancel { first: bool },
    /// The registration handler (the event, if any, waits for the next run).
    Registration,
    /// The event handler, with the data taken from `pending`.
    Event,
    /// Nothing pending (an earlier run took it).
    Idle,
}

#[inline]
pub(crate) fn is_canceled(state: &AtomicU64) -> bool {
    state.load(Ordering::Acquire) & CANCELED != 0
}

/// `merge`, after it added its data to `pending`: there is something to deliver.
#[inline]
pub(crate) fn mark_pending(state: &AtomicU64) {
    state.fetch_or(PENDING, Ordering::AcqRel);
}

/// May the link be enqueued in state `s`? Once cancelled, only to run the cancel handler
/// (once); pending data and a pending registration are dropped then, never delivered.
#[inline]
pub(crate) fn runnable(s: u64) -> bool {
    if s & (ENQUEUED | INACTIVE | SUSPEND_MASK | CANCEL_DONE) != 0 {
        return false;
    }
    s & (CANCELED | PENDING | REG_PENDING) != 0
}

/// `schedule`: sets ENQUEUED if the source has something to deliver and may deliver it
/// (true: the caller enqueues the link, which nobody else can do until it ran).
#[inline]
pub(crate) fn try_enqueue(state: &AtomicU64) -> bool {
    let mut s = state.load(Ordering::Acquire);
    loop {
        if !runnable(s) {
            return false;
        }
        match state.compare_exchange_weak(s, s | ENQUEUED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(cur) => s = cur,
        }
    }
}

/// The state changes at the start of a run of the link, and what the run delivers.
#[inline]
pub(crate) fn begin_run(state: &AtomicU64) -> Run {
    let s = state.load(Ordering::Acquire);
    if s & (SUSPEND_MASK | INACTIVE) != 0 {
        Run::Stopped
    } else if s & CANCELED != 0 {
        let prev = state.fetch_or(CANCEL_DONE, Ordering::AcqRel);
        state.fetch_and(!(PENDING | REG_PENDING), Ordering::AcqRel);
        Run::Cancel {
            first: prev & CANCEL_DONE == 0,
        }
    } else if s & REG_PENDING != 0 {
        state.fetch_and(!REG_PENDING, Ordering::AcqRel);
        Run::Registration
    } else if state.fetch_and(!PENDING, Ordering::AcqRel) & PENDING != 0 {
        Run::Event
    } else {
        Run::Idle
    }
}

/// The end of a run: clears ENQUEUED (true: something arrived meanwhile, schedule again).
#[inline]
pub(crate) fn end_run(state: &AtomicU64) -> bool {
    let prev = state.fetch_and(!ENQUEUED, Ordering::AcqRel);
    runnable(prev & !ENQUEUED)
}

/// `activate`: clears INACTIVE and, unless cancelled, sets REG_PENDING, in one step (a merge
/// that finds the source active then finds the registration pending too, so the registration
/// handler runs first); the previous state when this call activated, `None` when the source
/// was active already.
#[inline]
pub(crate) fn activate(state: &AtomicU64) -> Option<u64> {
    let mut s = state.load(Ordering::Acquire);
    loop {
        if s & INACTIVE == 0 {
            return None;
        }
        let reg = if s & CANCELED == 0 { REG_PENDING } else { 0 };
        let new = (s & !INACTIVE) | reg;
        match state.compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Some(s),
            Err(cur) => s = cur,
        }
    }
}

/// Sets CANCELED; the previous state when this call cancelled, `None` when one before did.
#[inline]
pub(crate) fn cancel(state: &AtomicU64) -> Option<u64> {
    let prev = state.fetch_or(CANCELED, Ordering::AcqRel);
    (prev & CANCELED == 0).then_some(prev)
}

/// Model checks (`RUSTFLAGS="--cfg loom" cargo test --release --lib loom_model`): a cancel
/// racing merges and the handler runs they cause, with the transitions above in the order
/// `SourceInner::merge`, `cancel`, `schedule` and `run` make them (the link runs on the
/// thread that enqueued it instead of on a target queue, which one `ENQUEUED` link allows).
/// Loom runs every interleaving of their atomics up to `LOOM_MAX_PREEMPTIONS` preemptions.
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;
    use loom::thread;

    #[derive(Default)]
    struct Log {
        registrations: u64,
        events: u64,
        data: u64,
        cancels: u64,
    }

    struct Source {
        /// Created inactive, activated by the model (else active and registered).
        registers: bool,
        state: AtomicU64,
        pending: AtomicU64,
        /// Touched only by handlers, which the one link serialises: loom also checks that
        /// no two handler runs overlap.
        log: UnsafeCell<Log>,
    }

    // SAFETY: `log` is only touched by the link's run (see above).
    unsafe impl Sync for Source {}
    unsafe impl Send for Source {}

    fn handler(s: &Source, f: impl FnOnce(&mut Log)) {
        // SAFETY: only the link's run calls handlers.
        s.log.with_mut(|l| f(unsafe { &mut *l }));
    }

    /// `SourceInner::run` for a data-add source, looping where it would re-enqueue itself.
    fn run_link(s: &Source) {
        loop {
            match begin_run(&s.state) {
                Run::Stopped | Run::Idle => {}
                Run::Registration => handler(s, |l| {
                    assert_eq!(
                        l.cancels, 0,
                        "the registration handler after the cancel handler"
                    );
                    assert_eq!(
                        l.events, 0,
                        "the registration handler after an event handler"
                    );
                    l.registrations += 1;
                }),
                Run::Cancel { first } => {
                    s.pending.store(0, Ordering::Release);
                    if first {
                        handler(s, |l| l.cancels += 1);
                    }
                }
                Run::Event => {
                    let d = s.pending.swap(0, Ordering::AcqRel);
                    if d != 0 && !is_canceled(&s.state) {
                        handler(s, |l| {
                            assert_eq!(l.cancels, 0, "an event handler after the cancel handler");
                            if s.registers {
                                assert_eq!(l.registrations, 1, "an event before registration");
                            }
                            l.events += 1;
                            l.data += d;
                        });
                    }
                }
            }
            if !(end_run(&s.state) && try_enqueue(&s.state)) {
                return;
            }
        }
    }

    fn merge(s: &Source, value: u64) {
        if is_canceled(&s.state) {
            return;
        }
        s.pending.fetch_add(value, Ordering::AcqRel);
        mark_pending(&s.state);
        if try_enqueue(&s.state) {
            run_link(s);
        }
    }

    fn cancel_source(s: &Source) {
        if cancel(&s.state).is_some() && try_enqueue(&s.state) {
            run_link(s);
        }
    }

    /// Two merges (1 and 2) race a cancel: the cancel handler runs exactly once, no event
    /// handler runs after it, the data delivered is some of what was merged (each merge's
    /// data whole), and the link is never enqueued again.
    #[test]
    fn cancel_racing_merges_and_handler_runs() {
        loom::model(|| {
            let s = Arc::new(Source {
                registers: false,
                state: AtomicU64::new(0),
                pending: AtomicU64::new(0),
                log: UnsafeCell::new(Log::default()),
            });
            let merger = {
                let s = s.clone();
                thread::spawn(move || merge(&s, 1))
            };
            let canceller = {
                let s = s.clone();
                thread::spawn(move || cancel_source(&s))
            };
            merge(&s, 2);
            merger.join().unwrap();
            canceller.join().unwrap();
            let st = s.state.load(Ordering::SeqCst);
            assert_eq!(st & ENQUEUED, 0, "link left enqueued");
            assert_ne!(st & CANCEL_DONE, 0, "cancel never completed");
            assert!(!try_enqueue(&s.state), "runnable after the cancel handler");
            s.log.with(|l| {
                // SAFETY: every thread is done.
                let l = unsafe { &*l };
                assert_eq!(l.cancels, 1);
                assert!(l.events <= 2);
                assert!([0, 1, 2, 3].contains(&l.data), "data {}", l.data);
            });
        });
    }

    /// An activation races a merge and a cancel on a source created inactive: the
    /// registration handler runs at most once, before any event handler and never after the
    /// cancel handler, which runs exactly once.
    #[test]
    fn activate_racing_merge_and_cancel() {
        loom::model(|| {
            let s = Arc::new(Source {
                registers: true,
                state: AtomicU64::new(INACTIVE),
                pending: AtomicU64::new(0),
                log: UnsafeCell::new(Log::default()),
            });
            let activator = {
                let s = s.clone();
                thread::spawn(move || {
                    if activate(&s.state).is_some() && try_enqueue(&s.state) {
                        run_link(&s);
                    }
                })
            };
            let canceller = {
                let s = s.clone();
                thread::spawn(move || cancel_source(&s))
            };
            merge(&s, 1);
            activator.join().unwrap();
            canceller.join().unwrap();
            let st = s.state.load(Ordering::SeqCst);
            assert_eq!(st & (ENQUEUED | INACTIVE), 0);
            assert_ne!(st & CANCEL_DONE, 0, "cancel never completed");
            s.log.with(|l| {
                // SAFETY: every thread is done.
                let l = unsafe { &*l };
                assert_eq!(l.cancels, 1);
                assert!(l.registrations <= 1);
            });
        });
    }
}
