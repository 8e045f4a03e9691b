//! Counting semaphores: one atomic on the fast path, a mutex + condvar for waiters.
//!
//! `value` goes negative by the number of waiters. `signal` that finds it negative posts a
//! permit to the slow side; a waiter that times out gives its claim back by incrementing
//! `value` if it is still negative, else consumes the permit a racing signal posted for it.
//!
//! **Lifetime.** A C caller may release the last reference while another thread waits (the
//! waiter borrowed it), or as soon as its own wait returns while the signal that woke it is
//! still on its way out. So the slow paths hold references of their own: a waiter takes one
//! *before* it counts itself in `value` (the fast path only takes a permit that is there, it
//! never counts itself), so whoever sees it counted sees a waiter that keeps the semaphore
//! alive; a signal that found a waiter takes one before it posts the permit (the waiter cannot
//! return before that) and drops it after its last touch.

use crate::atomics::AtomicIsize;
use crate::error::{Error, ErrorKind};
use crate::object::{Kind, ObjExtras, ObjHeader};
use crate::objlock::ObjLock;
use crate::task;
use crate::time::Time;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[repr(C)]
pub(crate) struct SemaphoreInner {
    pub(crate) obj: ObjHeader,
    pub(crate) extras: ObjExtras,
    value: AtomicIsize,
    /// Permits posted for counted waiters (a fork never cuts a holder: `objlock.rs`).
    permits: ObjLock<usize>,
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
        Ok(crate::object::new_arc(SemaphoreInner {
            obj: ObjHeader::new(Kind::Semaphore, 0),
            extras: ObjExtras::default(),
            value: AtomicIsize::new(value),
            permits: ObjLock::new(0),
        }))
    }

    /// A new reference to this semaphore, dropped at the end of the caller's slow path.
    fn keep_alive(&self) -> Arc<SemaphoreInner> {
        // SAFETY: every `SemaphoreInner` lives in an `Arc` (`new` is its only constructor), and
        // our caller holds a reference while it calls this.
        unsafe { crate::object::keep_alive(self) }
    }

    #[inline]
    pub(crate) fn wait(&self, deadline: Time) -> Result<(), Error> {
        if self.try_take() {
            return Ok(());
        }
        self.wait_slow(deadline)
    }

    /// The fast path of `wait`: takes a permit that is there (true), else changes nothing and
    /// the caller goes on with `wait_slow`. It never counts the caller as a waiter (see the
    /// module notes: only a waiter that holds its own reference does).
    #[inline]
    pub(crate) fn try_take(&self) -> bool {
        let mut v = self.value.load(Ordering::Relaxed);
        while v > 0 {
            match self
                .value
                .compare_exchange_weak(v, v - 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => {
                    // The signals before this permit happen before the wait returns.
                    crate::tsan::acquire(self);
                    return true;
                }
                Err(cur) => v = cur,
            }
        }
        false
    }

    #[cold]
    pub(crate) fn wait_slow(&self, deadline: Time) -> Result<(), Error> {
        // Our own reference, held until we return: the last release by another thread while
        // we wait then frees nothing under us.
        let this = self.keep_alive();
        if this.value.fetch_sub(1, Ordering::Acquire) > 0 {
            crate::tsan::acquire(self);
            return Ok(());
        }
        let r = crate::pool::blocking(|| this.block(deadline));
        if r.is_ok() {
            crate::tsan::acquire(self);
        }
        r
    }

    /// Waits for the permit of a claim already counted in `value`.
    fn block(&self, deadline: Time) -> Result<(), Error> {
        let mut permits = self.permits.lock();
        loop {
            if *permits > 0 {
                *permits -= 1;
                return Ok(());
            }
            match deadline.remaining_ns() {
                None => permits = self.permits.wait(permits, None),
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
                        permits = self.permits.wait(permits, None);
                    }
                    *permits -= 1;
                    return Ok(());
                }
                Some(ns) => permits = self.permits.wait(permits, Some(Duration::from_nanos(ns))),
            }
        }
    }

    /// Returns whether a waiter was woken. Fails, changing nothing, when the count is at
    /// `isize::MAX` already (an increment would wrap it to "`isize::MAX` waiters").
    #[inline]
    pub(crate) fn signal(&self) -> Result<bool, Error> {
        match self.begin_signal() {
            None => Err(overflow()),
            Some(false) => Ok(false),
            Some(true) => {
                self.signal_slow();
                Ok(true)
            }
        }
    }

    /// The first half of `signal`, its one atomic: `Some(false)` when it added a permit nobody
    /// waited for (done), `Some(true)` when the permit is for a counted waiter (finish with
    /// `signal_slow`), `None` when it changed nothing because the count is at `isize::MAX`.
    #[inline]
    pub(crate) fn begin_signal(&self) -> Option<bool> {
        crate::tsan::release(self);
        let mut v = self.value.load(Ordering::Relaxed);
        loop {
            if v == isize::MAX {
                return None;
            }
            match self
                .value
                .compare_exchange_weak(v, v + 1, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return Some(v < 0),
                Err(cur) => v = cur,
            }
        }
    }

    /// Posts a permit for a counted waiter.
    #[cold]
    pub(crate) fn signal_slow(&self) {
        // The waiter cannot return before the permit is posted, so its reference keeps us alive
        // until this one is taken; ours then covers the rest, even if the waiter releases the
        // last reference as soon as it wakes.
        let _this = self.keep_alive();
        *self.permits.lock() += 1;
        self.permits.notify_one();
    }
}

#[cold]
fn overflow() -> Error {
    Error::new(
        ErrorKind::State,
        "semaphore signal: the count is at INTPTR_MAX already (unbalanced signals?); unchanged",
    )
}

impl Drop for SemaphoreInner {
    fn drop(&mut self) {
        self.obj.kill();
        finalize_on_default(&self.extras);
        // SAFETY: built by `new_arc`, dropped now, tag killed.
        unsafe { crate::object::retire_arc(self) };
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
    ///
    /// # Panics
    ///
    /// When the count is at `isize::MAX` already.
    pub fn signal(&self) -> bool {
        match self.inner.signal() {
            Ok(woke) => woke,
            Err(e) => panic!("rgcd::Semaphore::signal: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Weak;

    /// A semaphore pointer lent to another thread, as a C handle is.
    struct Lent(*const SemaphoreInner);
    // SAFETY: the tests below keep the semaphore alive while the pointer is used.
    unsafe impl Send for Lent {}

    /// Starts a thread that waits on `s` (until `deadline`) through a borrowed pointer, and
    /// returns once that thread is counted as a waiter.
    fn borrowed_waiter(
        s: &Arc<SemaphoreInner>,
        deadline: Time,
    ) -> std::thread::JoinHandle<Result<(), Error>> {
        let p = Lent(Arc::as_ptr(s));
        let t = std::thread::spawn(move || {
            let p = p;
            // SAFETY: live when the call starts: the spawner holds its reference until the
            // waiter is counted in `value`, and a counted waiter holds its own.
            unsafe { &*p.0 }.wait(deadline)
        });
        while s.value.load(Ordering::Acquire) >= 0 {
            std::thread::yield_now();
        }
        t
    }

    fn strong(w: &Weak<SemaphoreInner>) -> usize {
        w.strong_count()
    }

    #[test]
    fn last_release_while_waiting_then_timeout() {
        let s = SemaphoreInner::new(0).unwrap();
        let w = Arc::downgrade(&s);
        let t = borrowed_waiter(&s, Time::after(Duration::from_millis(200)));
        drop(s); // the last reference but the waiter's own
        assert_eq!(strong(&w), 1, "a counted waiter holds its own reference");
        let r = t.join().unwrap();
        assert_eq!(r.unwrap_err().kind(), ErrorKind::TimedOut);
        assert_eq!(strong(&w), 0, "the waiter dropped its reference on return");
    }

    #[test]
    fn signal_then_last_release_while_waiting() {
        let s = SemaphoreInner::new(0).unwrap();
        let w = Arc::downgrade(&s);
        let t = borrowed_waiter(&s, Time::FOREVER);
        assert!(s.signal().unwrap(), "the signal found the waiter");
        drop(s);
        t.join().unwrap().unwrap();
        assert_eq!(strong(&w), 0);
    }

    #[test]
    fn fast_path_counts_no_waiter() {
        let s = SemaphoreInner::new(2).unwrap();
        s.wait(Time::FOREVER).unwrap();
        s.wait(Time::FOREVER).unwrap();
        assert_eq!(s.value.load(Ordering::Relaxed), 0);
        assert_eq!(
            s.wait(Time::after_nanos(0)).unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        assert_eq!(
            s.value.load(Ordering::Relaxed),
            0,
            "a timed-out wait gave its claim back"
        );
        assert_eq!(Arc::strong_count(&s), 1, "no reference left behind");
        assert!(!s.signal().unwrap());
        s.wait(Time::FOREVER).unwrap();
    }

    #[test]
    fn signal_at_max_is_refused() {
        let s = SemaphoreInner::new(isize::MAX - 1).unwrap();
        assert!(!s.signal().unwrap());
        assert_eq!(s.signal().unwrap_err().kind(), ErrorKind::State);
        assert_eq!(s.value.load(Ordering::Relaxed), isize::MAX, "unchanged");
        s.wait(Time::after_nanos(0)).unwrap();
        assert!(!s.signal().unwrap());
    }
}

/// Model checks (`RUSTFLAGS="--cfg loom" cargo test --release --lib loom_model`): the real
/// `wait` and `signal` under loom, which runs every interleaving of their atomics, mutex and
/// condition variable up to `LOOM_MAX_PREEMPTIONS` preemptions. A lost wake-up is a thread
/// that never returns, which loom reports as a deadlock.
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use loom::thread;

    /// The count and the slow side once every thread is done.
    fn settled(s: &SemaphoreInner) -> (isize, usize) {
        (s.value.load(Ordering::SeqCst), *s.permits.lock())
    }

    #[test]
    fn signal_wakes_a_waiter() {
        loom::model(|| {
            let s = SemaphoreInner::new(0).unwrap();
            let w = s.clone();
            let t = thread::spawn(move || w.wait(Time::FOREVER).unwrap());
            s.signal().unwrap();
            t.join().unwrap();
            assert_eq!(settled(&s), (0, 0));
        });
    }

    #[test]
    fn two_waiters_two_signals() {
        loom::model(|| {
            let s = SemaphoreInner::new(0).unwrap();
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let w = s.clone();
                    thread::spawn(move || w.wait(Time::FOREVER).unwrap())
                })
                .collect();
            s.signal().unwrap();
            s.signal().unwrap();
            for t in waiters {
                t.join().unwrap();
            }
            assert_eq!(settled(&s), (0, 0));
        });
    }

    /// A wait that times out at once races a signal: either it took the signal's permit, or
    /// it gave its claim back and the permit stays for the next wait. Never both, never none.
    #[test]
    fn timed_out_wait_racing_a_signal() {
        loom::model(|| {
            let s = SemaphoreInner::new(0).unwrap();
            let w = s.clone();
            let t = thread::spawn(move || w.wait(Time::NOW).is_ok());
            s.signal().unwrap();
            let took = t.join().unwrap();
            assert_eq!(settled(&s), (if took { 0 } else { 1 }, 0));
        });
    }
}
