//! `once`: run a function exactly once; concurrent callers wait until it has finished.
//!
//! The predicate is an `isize` (libdispatch's `dispatch_once_t`): 0 = not run, 1 = running,
//! `!0` = done. Waiters are rare, so they share one mutex and condvar.

use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub(crate) const DONE: isize = !0;
const RUNNING: isize = 1;

static LOCK: Mutex<()> = Mutex::new(());
static CV: Condvar = Condvar::new();

/// Runs `f` once for `pred`. If `f` panics, the predicate is reset (a later caller runs it)
/// and the panic continues in this caller.
pub(crate) fn once_raw(pred: &AtomicIsize, f: impl FnOnce()) {
    if pred.load(Ordering::Acquire) == DONE {
        return;
    }
    once_slow(pred, f)
}

#[cold]
fn once_slow(pred: &AtomicIsize, f: impl FnOnce()) {
    match pred.compare_exchange(0, RUNNING, Ordering::Acquire, Ordering::Acquire) {
        Ok(_) => {
            struct Reset<'a>(&'a AtomicIsize, bool);
            impl Drop for Reset<'_> {
                fn drop(&mut self) {
                    self.0
                        .store(if self.1 { DONE } else { 0 }, Ordering::Release);
                    drop(LOCK.lock().unwrap());
                    CV.notify_all();
                }
            }
            let mut guard = Reset(pred, false);
            f();
            guard.1 = true;
        }
        Err(_) => crate::pool::blocking(|| {
            let mut g = LOCK.lock().unwrap();
            loop {
                match pred.load(Ordering::Acquire) {
                    DONE => return,
                    // The runner panicked: try to run it ourselves.
                    0 => {
                        drop(g);
                        return once_slow(pred, f);
                    }
                    _ => {}
                }
                g = CV.wait_timeout(g, Duration::from_millis(100)).unwrap().0;
            }
        }),
    }
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
    pub fn call(&self, f: impl FnOnce()) {
        once_raw(&self.0, f)
    }

    /// Has it run?
    pub fn is_done(&self) -> bool {
        self.0.load(Ordering::Acquire) == DONE
    }
}
