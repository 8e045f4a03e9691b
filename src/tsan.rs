//! ThreadSanitizer annotations (cargo feature `tsan`): the happens-before edges rgcd creates
//! with atomics, fences and futexes, told to TSan so that C (or C++, Go) code that
//! synchronises only through rgcd is not reported as racing when rgcd itself is not built
//! with `-fsanitize=thread` (see `docs/sanitizers.md`).
//!
//! `release(a)` says "everything this thread did so far happens before whatever follows an
//! `acquire(a)` of the same address on another thread". The edges:
//!
//! - a work item: created (`task::boxed`) → run (`task::invoke`);
//! - a queue's exclusive hold (an item of a serial queue, a barrier, an inline `sync`) →
//!   the next hold of any kind; a reader's hold (an item of a concurrent queue) → the next
//!   exclusive hold (`excl` / `readers` below, two addresses inside the queue object);
//! - `sync`: the caller → the work run by a drain → the caller's return;
//! - semaphore signal → the wait that takes the permit;
//! - group leave → a wait that returns 0, and → the notifications;
//! - the end of a `once` function → every `once` that returns without running it;
//! - each `apply` iteration → the return of `apply`.
//!
//! Without the feature every function here is an empty inline function: the default build
//! pays nothing. With it, the annotation functions (`__tsan_acquire`, `__tsan_release`) are
//! looked up once with `dlsym` in the process: they exist when the program was linked with
//! the TSan runtime (`-fsanitize=thread`), and when they do not, each annotation costs one
//! load and a branch (the feature build still links into and runs in any program).

#[cfg(feature = "tsan")]
mod imp {
    use std::ffi::{c_void, CStr};
    use std::sync::atomic::{AtomicUsize, Ordering};

    type Annotation = unsafe extern "C" fn(*mut c_void);

    /// 0: not looked up yet; 1: not in this process; else the function's address.
    static ACQUIRE: AtomicUsize = AtomicUsize::new(0);
    static RELEASE: AtomicUsize = AtomicUsize::new(0);

    #[inline]
    fn resolve(cache: &AtomicUsize, name: &CStr) -> Option<Annotation> {
        let mut v = cache.load(Ordering::Relaxed);
        if v == 0 {
            // SAFETY: a symbol lookup in the process; the name is NUL-terminated.
            let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) } as usize;
            v = if p == 0 { 1 } else { p };
            cache.store(v, Ordering::Relaxed);
        }
        // SAFETY: a non-sentinel value is the address of the TSan runtime's function of
        // this name, whose signature is `void (void *)`.
        (v != 1).then(|| unsafe { std::mem::transmute::<usize, Annotation>(v) })
    }

    #[inline]
    pub(crate) fn acquire<T: ?Sized>(addr: *const T) {
        if let Some(f) = resolve(&ACQUIRE, c"__tsan_acquire") {
            // SAFETY: TSan only uses the address as a key.
            unsafe { f(addr as *const u8 as *mut c_void) }
        }
    }

    #[inline]
    pub(crate) fn release<T: ?Sized>(addr: *const T) {
        if let Some(f) = resolve(&RELEASE, c"__tsan_release") {
            // SAFETY: as above.
            unsafe { f(addr as *const u8 as *mut c_void) }
        }
    }
}

#[cfg(not(feature = "tsan"))]
mod imp {
    #[inline(always)]
    pub(crate) fn acquire<T: ?Sized>(_addr: *const T) {}

    #[inline(always)]
    pub(crate) fn release<T: ?Sized>(_addr: *const T) {}
}

pub(crate) use imp::{acquire, release};

/// The key of a queue's exclusive holds (serial items, barriers, inline `sync`).
#[inline(always)]
pub(crate) fn excl<T>(q: &T) -> *const u8 {
    q as *const T as *const u8
}

/// The key of a wide queue's reader holds (its non-barrier items).
#[inline(always)]
pub(crate) fn readers<T>(q: &T) -> *const u8 {
    excl(q).wrapping_add(1)
}

/// Taking a queue exclusively: after every earlier hold of either kind.
#[inline(always)]
pub(crate) fn enter_exclusive<T>(q: &T) {
    acquire(excl(q));
    acquire(readers(q));
}

/// Leaving an exclusive hold.
#[inline(always)]
pub(crate) fn exit_exclusive<T>(q: &T) {
    release(excl(q));
}

/// Taking a reader's hold of a wide queue: after the exclusive holds before it.
#[inline(always)]
pub(crate) fn enter_reader<T>(q: &T) {
    acquire(excl(q));
}

/// Leaving a reader's hold: before the next exclusive hold.
#[inline(always)]
pub(crate) fn exit_reader<T>(q: &T) {
    release(readers(q));
}
