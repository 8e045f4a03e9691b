//! The lock and wake-up of an object's slow side (a group's waiters and notifications, a
//! semaphore's posted permits), which a fork never cuts.
//!
//! With a plain `Mutex` and `Condvar`, a fork that caught another thread holding the lock
//! (for the few instructions of a slow path) left it held forever in the child, and the
//! child's next wait on, or emptying of, that object hung (3 of 3,000 children in a stress
//! of one group; see `docs/fork.md`). So a holder of an [`ObjLock`] is inside a section of
//! the injector gate (`pool/gate.rs`): the fork's prepare handler waits until no thread holds
//! or is taking such a lock, and a thread that starts taking one meanwhile waits for the
//! fork to end. The wait for a wake-up is not inside the section: a waiter lets the lock go,
//! sleeps on a futex word (`seq`, bumped by every notification), and takes the lock again
//! through [`ObjLock::lock`]. A `Condvar` would take the lock again inside the standard
//! library, where no section can begin before it.
//!
//! Nothing done under the lock may take one of the global locks that the prepare handler
//! holds while it waits (rgcd's allocator, the pool's, the reactor's), nor block: the
//! holders are the slow paths of `group.rs` and `semaphore.rs` and a source's handler table
//! (`source.rs`), which only update their state or copy a handler there. Under loom (`atomics.rs`), the same API is loom's `Mutex` and `Condvar`.

#[cfg(not(all(loom, test)))]
pub(crate) use imp::*;
#[cfg(all(loom, test))]
pub(crate) use model::*;

/// cbindgen:ignore
#[cfg(not(all(loom, test)))]
mod imp {
    use crate::pool::gate::{self, Section};
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Mutex, MutexGuard};
    use std::time::Duration;

    pub(crate) struct ObjLock<T> {
        data: Mutex<T>,
        /// Bumped by every notification; waiters sleep on it (a futex word).
        seq: AtomicU32,
    }

    /// The lock held; dropping it lets the lock go, then ends the gate section.
    pub(crate) struct ObjGuard<'a, T> {
        // Field order is drop order: the lock is let go before the section ends.
        guard: MutexGuard<'a, T>,
        _section: Section<'static>,
    }

    impl<T> Deref for ObjGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.guard
        }
    }

    impl<T> DerefMut for ObjGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            &mut self.guard
        }
    }

    impl<T> ObjLock<T> {
        pub(crate) fn new(value: T) -> Self {
            ObjLock {
                data: Mutex::new(value),
                seq: AtomicU32::new(0),
            }
        }

        /// The value, without locking (no other reference exists).
        pub(crate) fn get_mut(&mut self) -> &mut T {
            self.data.get_mut().unwrap_or_else(|e| e.into_inner())
        }

        /// Takes the lock (waiting first while a fork is in progress).
        #[inline]
        pub(crate) fn lock(&self) -> ObjGuard<'_, T> {
            let section = gate::enter(gate::mine());
            // A panic under the lock (none is expected) leaves consistent state: the slow
            // paths update plain counters and lists.
            let guard = self.data.lock().unwrap_or_else(|e| e.into_inner());
            ObjGuard {
                guard,
                _section: section,
            }
        }

        /// Lets the lock go, sleeps until a notification after this call (or a spurious
        /// wake-up, or `timeout`), and takes the lock again. Callers re-check their
        /// condition.
        pub(crate) fn wait<'a>(
            &'a self,
            guard: ObjGuard<'a, T>,
            timeout: Option<Duration>,
        ) -> ObjGuard<'a, T> {
            // Read under the lock: a notification after the caller's check bumps it, and the
            // futex then returns at once.
            let seen = self.seq.load(Ordering::Acquire);
            drop(guard);
            futex_wait(&self.seq, seen, timeout);
            self.lock()
        }

        /// Wakes one waiter (at least one, if any sleeps).
        pub(crate) fn notify_one(&self) {
            self.seq.fetch_add(1, Ordering::Release);
            futex_wake(&self.seq, 1);
        }

        /// Wakes every waiter.
        pub(crate) fn notify_all(&self) {
            self.seq.fetch_add(1, Ordering::Release);
            futex_wake(&self.seq, i32::MAX);
        }
    }

    fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let ts = timeout.map(|d| libc::timespec {
            tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let ts_ptr = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: `word` is a live u32; the timeout, if any, lives across the call. The result
        // (woken, EAGAIN when the word changed, ETIMEDOUT, EINTR) needs no handling: the
        // caller re-checks its condition and its deadline.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
            );
        }
    }

    fn futex_wake(word: &AtomicU32, n: i32) {
        // SAFETY: `word` is a live u32.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                n,
            );
        }
    }
}

/// cbindgen:ignore
#[cfg(all(loom, test))]
mod model {
    use loom::sync::{Condvar, Mutex, MutexGuard};
    use std::time::Duration;

    pub(crate) struct ObjLock<T> {
        data: Mutex<T>,
        cv: Condvar,
    }

    pub(crate) type ObjGuard<'a, T> = MutexGuard<'a, T>;

    impl<T> ObjLock<T> {
        pub(crate) fn new(value: T) -> Self {
            ObjLock {
                data: Mutex::new(value),
                cv: Condvar::new(),
            }
        }

        pub(crate) fn get_mut(&mut self) -> &mut T {
            self.data.get_mut().unwrap()
        }

        pub(crate) fn lock(&self) -> ObjGuard<'_, T> {
            self.data.lock().unwrap()
        }

        /// Loom has no timed wait: a timed wait is an untimed one here.
        pub(crate) fn wait<'a>(
            &'a self,
            guard: ObjGuard<'a, T>,
            _timeout: Option<Duration>,
        ) -> ObjGuard<'a, T> {
            self.cv.wait(guard).unwrap()
        }

        pub(crate) fn notify_one(&self) {
            self.cv.notify_one();
        }

        pub(crate) fn notify_all(&self) {
            self.cv.notify_all();
        }
    }
}
