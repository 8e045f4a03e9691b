//! `once`: run a function exactly once; concurrent callers wait until it has finished.
//!
//! The predicate is an `isize` (libdispatch's `dispatch_once_t`): 0 = not run, 1 = running,
//! `!0` = done. Waiters are rare, so they share one mutex and condvar, and the mutex guards a
//! short list of the runs in progress (predicate, thread). Every write to a predicate happens
//! under that mutex, so a caller that finds neither 0 nor `!0` can tell a run in progress on
//! another thread (wait), a run in progress on its own thread (a recursive call: it would wait
//! for itself forever) and a value rgcd never wrote (a predicate that was not zero-initialised).

use crate::error::{Error, ErrorKind};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

pub(crate) const DONE: isize = !0;
const RUNNING: isize = 1;

/// A run in progress: the predicate's address and the running thread.
struct Run {
    pred: usize,
    thread: usize,
}

static LOCK: Mutex<Vec<Run>> = Mutex::new(Vec::new());
static CV: Condvar = Condvar::new();

/// Before a fork (see `src/fork.rs`).
pub(crate) fn fork_lock(held: &mut crate::fork::Held) -> bool {
    held.lock(&LOCK)
}

thread_local! {
    static THREAD_ID: u8 = const { 0 };
}

/// An identity for the calling thread (the address of one of its thread-locals).
fn thread_id() -> usize {
    THREAD_ID.with(|t| t as *const u8 as usize)
}

fn runs() -> MutexGuard<'static, Vec<Run>> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` once for `pred`. If `f` panics, the predicate is reset (a later caller runs it)
/// and the panic continues in this caller.
///
/// Fails, without running `f`, with `Deadlock` when the caller is inside the run of `f` for
/// this same predicate (a recursive call), and with `InvalidArgument` when the predicate holds
/// a value rgcd never wrote.
#[inline]
pub(crate) fn once_raw(pred: &AtomicIsize, f: impl FnOnce()) -> Result<(), Error> {
    if pred.load(Ordering::Acquire) == DONE {
        crate::tsan::acquire(pred);
        return Ok(());
    }
    once_slow(pred, f)
}

#[cold]
fn once_slow(pred: &AtomicIsize, f: impl FnOnce()) -> Result<(), Error> {
    let key = pred.as_ptr() as usize;
    let me = thread_id();
    let mut g = runs();
    loop {
        match pred.load(Ordering::Acquire) {
            DONE => {
                crate::tsan::acquire(pred);
                return Ok(());
            }
            0 => {
                pred.store(RUNNING, Ordering::Relaxed);
                g.push(Run {
                    pred: key,
                    thread: me,
                });
                drop(g);
                run(pred, key, f);
                return Ok(());
            }
            v => match g.iter().find(|r| r.pred == key) {
                Some(r) if r.thread == me => {
                    return Err(Error::new(
                        ErrorKind::Deadlock,
                        "once: called again for the same predicate from inside its own \
                         function; it would wait for itself forever",
                    ))
                }
                Some(_) => {
                    g = crate::pool::blocking(|| CV.wait(g).unwrap_or_else(|e| e.into_inner()))
                }
                None => {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "once: the predicate holds {v:#x}, a value rgcd never wrote (it \
                             must be zero-initialised, static or global, and used only by once)"
                        ),
                    ))
                }
            },
        }
    }
}

/// Runs `f` for the run registered for `pred`, then publishes the outcome: `DONE`, or 0 if `f`
/// panicked (a later caller runs it).
fn run(pred: &AtomicIsize, key: usize, f: impl FnOnce()) {
    struct Finish<'a>(&'a AtomicIsize, usize, bool);
    impl Drop for Finish<'_> {
        fn drop(&mut self) {
            let mut g = runs();
            g.retain(|r| r.pred != self.1);
            crate::tsan::release(self.0);
            self.0
                .store(if self.2 { DONE } else { 0 }, Ordering::Release);
            drop(g);
            CV.notify_all();
        }
    }
    let mut finish = Finish(pred, key, false);
    f();
    finish.2 = true;
}

/// Runs a function exactly once, however many threads call it.
///
/// # Examples
///
/// ```
/// static INIT: rgcd::Once = rgcd::Once::new();
/// let mut n = 0;
/// INIT.call(|| n += 1);
/// INIT.call(|| n += 1);
/// assert_eq!(n, 1);
/// ```
pub struct Once(AtomicIsize);

impl Default for Once {
    fn default() -> Self {
        Self::new()
    }
}

impl Once {
    /// A predicate that has not run.
    pub const fn new() -> Once {
        Once(AtomicIsize::new(0))
    }

    /// Runs `f` unless this `Once` already ran; returns after it ran, here or elsewhere.
    ///
    /// # Panics
    ///
    /// When called from inside `f` itself (it would wait for itself forever).
    pub fn call(&self, f: impl FnOnce()) {
        if let Err(e) = once_raw(&self.0, f) {
            panic!("rgcd::Once::call: {e}");
        }
    }

    /// Has it run?
    pub fn is_done(&self) -> bool {
        self.0.load(Ordering::Acquire) == DONE
    }
}
