//! The injector gate: a fork never catches a thread inside an operation on a root queue.
//!
//! The root queues are crossbeam `Injector`s. A push claims a slot, then writes it; a steal
//! that reaches the claimed slot waits for the write, and a push or steal at the end of a
//! block waits for the thread that installs the next one. A forked child has only the
//! forking thread, so an operation another thread was in the middle of never ends there:
//! the child's next steal of that slot (the fork handler's own, or a worker's) would wait
//! forever.
//!
//! So every injector operation runs inside [`enter`] / [`Section::drop`] on the calling
//! thread's [`Mark`], and the fork's prepare handler [`close`]s the gate: it sets `closed`,
//! then waits until no mark is busy. An operation that starts after the gate closed waits in
//! [`enter`] until the parent or child handler opens it again.
//!
//! The handshake is Dekker's (the thread: store `busy`, load `closed`; the forker: store
//! `closed`, load every `busy`), which needs a store-load barrier on both sides. The hot
//! side pays none: the forker runs `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which puts
//! that barrier into every running thread of the process (an interprocessor interrupt;
//! a thread not running has passed a barrier when it was switched out). Where the kernel
//! refuses `membarrier`, `fenced` is set and each operation fences instead. What an
//! operation costs here: a thread-local read (workers pass their mark along instead), two
//! stores to the thread's own cache line and two loads of a line only forks write.
//!
//! Marks are never freed: a thread's mark goes back to a free list at its exit (a thread-local
//! destructor) and the next new thread reuses it, so a forker can read every mark without a
//! lock, and a program that makes threads without end makes marks only up to the most
//! threads it had at once.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicPtr, Ordering};
use std::time::{Duration, Instant};

/// The gate's state, alone on its cache line: read by every injector operation, written
/// only by forks.
#[repr(align(128))]
struct Gate {
    closed: AtomicBool,
    /// `membarrier` is not available: each operation fences itself.
    fenced: AtomicBool,
}

static GATE: Gate = Gate {
    closed: AtomicBool::new(false),
    fenced: AtomicBool::new(false),
};

/// One thread's record: is it inside an injector operation? On its own cache line (only its
/// thread writes it).
#[repr(align(128))]
pub(crate) struct Mark {
    busy: AtomicBool,
    /// Not owned by a thread: the next new thread may take it.
    free: AtomicBool,
    /// The list of every mark (see `MARKS`).
    next: *const Mark,
}

// SAFETY: `next` is written once, before the mark is published, and never again.
unsafe impl Sync for Mark {}

/// Every mark ever made, newest first; an append-only list of leaked marks.
static MARKS: AtomicPtr<Mark> = AtomicPtr::new(ptr::null_mut());

thread_local! {
    /// This thread's mark (null until its first injector operation).
    static MINE: Cell<*const Mark> = const { Cell::new(ptr::null()) };
    /// Gives the mark back at thread exit.
    static GIVE_BACK: GiveBack = const { GiveBack };
}

struct GiveBack;

impl Drop for GiveBack {
    fn drop(&mut self) {
        let m = MINE.with(|c| c.replace(ptr::null()));
        if !m.is_null() {
            // SAFETY: marks are leaked: they live for the process.
            let m = unsafe { &*m };
            m.busy.store(false, Ordering::Release);
            m.free.store(true, Ordering::Release);
        }
    }
}

/// The calling thread's mark, made (or taken from the free list) on first use.
#[inline]
pub(crate) fn mine() -> &'static Mark {
    let m = MINE.with(|c| c.get());
    if m.is_null() {
        return mine_slow();
    }
    // SAFETY: marks are leaked: they live for the process.
    unsafe { &*m }
}

#[cold]
fn mine_slow() -> &'static Mark {
    let m = take_free().unwrap_or_else(make);
    MINE.with(|c| c.set(m));
    // Give it back at exit; a thread already past its thread-local destructors keeps it.
    if GIVE_BACK.try_with(|_| ()).is_err() {
        MINE.with(|c| c.set(ptr::null()));
    }
    m
}

/// Every mark ever made, newest first.
fn marks() -> impl Iterator<Item = &'static Mark> {
    let mut p: *const Mark = MARKS.load(Ordering::Acquire);
    std::iter::from_fn(move || {
        // SAFETY: marks are leaked, and `next` is set before a mark is published.
        let m = unsafe { p.as_ref()? };
        p = m.next;
        Some(m)
    })
}

fn take_free() -> Option<&'static Mark> {
    marks().find(|m| {
        m.free.load(Ordering::Relaxed)
            && m.free
                .compare_exchange(true, false, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    })
}

fn make() -> &'static Mark {
    let mut head = MARKS.load(Ordering::Acquire);
    let m = Box::leak(Box::new(Mark {
        busy: AtomicBool::new(false),
        free: AtomicBool::new(false),
        next: head,
    }));
    loop {
        match MARKS.compare_exchange_weak(head, m, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return m,
            Err(h) => {
                head = h;
                m.next = h;
            }
        }
    }
}

/// An injector operation in progress on this thread's mark; ends when dropped.
pub(crate) struct Section<'a>(&'a Mark);

impl Drop for Section<'_> {
    #[inline]
    fn drop(&mut self) {
        // Release: a forker that sees the mark idle sees the operation's writes.
        self.0.busy.store(false, Ordering::Release);
    }
}

/// Marks `mark` busy for an injector operation; waits first while a fork is in progress.
#[inline]
pub(crate) fn enter(mark: &Mark) -> Section<'_> {
    mark.busy.store(true, Ordering::Relaxed);
    if GATE.fenced.load(Ordering::Relaxed) {
        fence(Ordering::SeqCst);
    } else {
        // The forker's membarrier orders the store above before the load below.
        compiler_fence(Ordering::SeqCst);
    }
    if GATE.closed.load(Ordering::Relaxed) {
        wait_open(mark);
    }
    Section(mark)
}

#[cold]
fn wait_open(mark: &Mark) {
    loop {
        mark.busy.store(false, Ordering::Release);
        let mut rounds = 0u32;
        while GATE.closed.load(Ordering::Acquire) {
            rounds += 1;
            if rounds < 100 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        mark.busy.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if !GATE.closed.load(Ordering::Relaxed) {
            return;
        }
    }
}

const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

fn membarrier(cmd: libc::c_long) -> bool {
    // SAFETY: membarrier takes integer arguments only.
    unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            cmd,
            0 as libc::c_long,
            0 as libc::c_long,
        ) == 0
    }
}

/// Once per process (and again in each forked child): lets `close` use `membarrier`, or
/// makes operations fence where the kernel refuses it.
pub(crate) fn register() {
    if !membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) {
        GATE.fenced.store(true, Ordering::SeqCst);
    }
}

/// Fork's prepare handler: closes the gate and waits until no thread is inside an injector
/// operation, or until `deadline`. Returns whether every operation ended.
pub(crate) fn close(deadline: Instant) -> bool {
    GATE.closed.store(true, Ordering::SeqCst);
    if !GATE.fenced.load(Ordering::Relaxed) && !membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) {
        // From now on operations fence; one that began just now may not have, and its
        // store reaches memory within microseconds.
        GATE.fenced.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1));
    }
    fence(Ordering::SeqCst);
    for m in marks() {
        while m.busy.load(Ordering::Acquire) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::yield_now();
        }
    }
    true
}

/// Fork's parent handler: operations go on.
pub(crate) fn open() {
    GATE.closed.store(false, Ordering::Release);
}

/// Fork's child handler: the marks of the threads the child does not have are free, and
/// operations go on (on the child's threads).
pub(crate) fn child() {
    let me = MINE.with(|c| c.get());
    for m in marks().filter(|m| !ptr::eq(*m, me)) {
        m.busy.store(false, Ordering::Relaxed);
        m.free.store(true, Ordering::Relaxed);
    }
    register();
    GATE.closed.store(false, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_reused_after_thread_exit() {
        // Other tests run threads meanwhile, and may take a freed mark first: the count may
        // grow a little, not by one per thread.
        let count = || marks().count();
        let before = count();
        for _ in 0..20 {
            std::thread::spawn(|| {
                let _ = mine();
            })
            .join()
            .unwrap();
        }
        assert!(count() < before + 20, "a mark per sequential thread");
    }

    #[test]
    fn close_waits_for_an_operation_and_open_lets_others_go() {
        register();
        let m = mine();
        let s = enter(m);
        assert!(
            !close(Instant::now() + Duration::from_millis(20)),
            "a busy mark holds it"
        );
        drop(s);
        assert!(close(Instant::now() + Duration::from_secs(5)));
        let t = std::thread::spawn(|| {
            let _s = enter(mine());
            Instant::now()
        });
        std::thread::sleep(Duration::from_millis(30));
        let opened = Instant::now();
        open();
        let entered = t.join().unwrap();
        assert!(
            entered >= opened,
            "an operation started while the gate was closed"
        );
    }
}
