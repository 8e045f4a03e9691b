//! Counting semaphores: one atomic on the fast path, a mutex + condvar for waiters.
//!
//! `value` goes negative by the number of waiters. `signal` that finds it negative posts a
//! permit to the slow side; a waiter that times out gives its claim back by incrementing
//! `value` if it is still negative, else consumes the permit a racing signal posted for it.

use crate::error::{Error, ErrorKind};
use crate::object::{Kind, ObjExtras, ObjHeader};
use crate::task;
use crate::time::Time;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

#[repr(C)]
pub(crate) struct SemaphoreInner {
    pub(crate) obj: ObjHeader,
    pub(crate) extras: ObjExtras,
    value: AtomicIsize,
    permits: Mutex<usize>,
    cv: Condvar,
}

/// Runs an object's finalizer on the default global queue.
pub(crate) fn finalize_on_default(extras: &ObjExtras) {
    if let Some((f, ctx)) = extras.take_finalizer() {
        let t = task::c_task(f, ctx, 0);
        // SAFETY: a fresh item.
        unsafe { crate::queue::default_root().enqueue(t) };
    }
}

impl SemaphoreInner {
    pub(crate) fn new(value: isize) -> Result<Arc<SemaphoreInner>, Error> {
        if value < 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a semaphore's initial value must not be negative",
            ));
        }
        Ok(Arc::new(SemaphoreInner {
            obj: ObjHeader::new(Kind::Semaphore, 0),
            extras: ObjExtras::default(),
            value: AtomicIsize::new(value),
            permits: Mutex::new(0),
            cv: Condvar::new(),
        }))
    }

    #[inline]
    pub(crate) fn wait(&self, deadline: Time) -> Result<(), Error> {
        if self.value.fetch_sub(1, Ordering::Acquire) > 0 {
            return Ok(());
        }
        self.wait_slow(deadline)
    }

    #[cold]
    fn wait_slow(&self, deadline: Time) -> Result<(), Error> {
        crate::pool::blocking(|| {
            let mut permits = self.permits.lock().unwrap();
            loop {
                if *permits > 0 {
                    *permits -= 1;
                    return Ok(());
                }
                match deadline.remaining_ns() {
                    None => permits = self.cv.wait(permits).unwrap(),
                    Some(0) => {
                        // Give our claim back, unless a signal already counted us.
                        let mut v = self.value.load(Ordering::Relaxed);
                        while v < 0 {
                            match self.value.compare_exchange_weak(
                                v,
                                v + 1,
                                Ordering::AcqRel,
                                Ordering::Relaxed,
                            ) {
                                Ok(_) => return Err(Error::timed_out()),
                                Err(cur) => v = cur,
                            }
                        }
                        // A signal is posting a permit for us: take it.
                        while *permits == 0 {
                            permits = self.cv.wait(permits).unwrap();
                        }
                        *permits -= 1;
                        return Ok(());
                    }
                    Some(ns) => {
                        permits = self
                            .cv
                            .wait_timeout(permits, Duration::from_nanos(ns))
                            .unwrap()
                            .0
                    }
                }
            }
        })
    }

    /// Returns whether a waiter was woken.
    #[inline]
    pub(crate) fn signal(&self) -> bool {
        if self.value.fetch_add(1, Ordering::Release) >= 0 {
            return false;
        }
        *self.permits.lock().unwrap() += 1;
        self.cv.notify_one();
        true
    }
}

impl Drop for SemaphoreInner {
    fn drop(&mut self) {
        self.obj.kill();
        finalize_on_default(&self.extras);
    }
}

/// A counting semaphore.
///
/// # Examples
///
/// ```
/// use rgcd::{Semaphore, Time};
/// let s = Semaphore::new(1).unwrap();
/// s.wait(Time::FOREVER).unwrap();
/// assert!(!s.signal());
/// ```
#[derive(Clone)]
pub struct Semaphore {
    pub(crate) inner: Arc<SemaphoreInner>,
}

impl Semaphore {
    /// A semaphore with `value` permits; fails when `value` is negative.
    pub fn new(value: isize) -> Result<Semaphore, Error> {
        SemaphoreInner::new(value).map(|inner| Semaphore { inner })
    }

    /// Takes a permit, waiting until `deadline`; `Err(TimedOut)` if it passed.
    pub fn wait(&self, deadline: Time) -> Result<(), Error> {
        self.inner.wait(deadline)
    }

    /// Returns a permit; true when that woke a waiter.
    pub fn signal(&self) -> bool {
        self.inner.signal()
    }
}
