//! The injector gate: a fork never catches a thread inside an operation on a root queue, nor
//! holding an object's lock.
//!
//! The root queues are crossbeam `Injector`s. A push claims a slot, then writes it; a steal
//! that reaches the claimed slot waits for the write, and a push or steal at the end of a
//! block waits for the thread that installs the next one. A forked child has only the
//! forking thread, so an operation another thread was in the middle of never ends there:
//! the child's next steal of that slot (the fork handler's own, or a worker's) would wait
//! forever. The same holds for the lock of a group's or a semaphore's slow side
//! (`objlock.rs`): held by a thread the child does not have, it stays held there.
//!
//! So every injector operation, and every hold of an object lock, is a *section*: it runs
//! between [`enter`] and [`Section::drop`] on the calling thread's [`Mark`], and the fork's
//! prepare handler [`close`]s the gate: it sets `closed`, then waits until no mark has a
//! section open. The outermost section that starts after the gate closed waits in [`enter`]
//! until the parent or child handler opens it again (a section inside another does not
//! wait: the fork already waits for the outer one).
//!
//! The handshake is Dekker's (the thread: store its depth, load `closed`; the forker: store
//! `closed`, load every depth), which needs a store-load barrier on both sides. The hot
//! side pays none: the forker runs `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which puts
//! that barrier into every running thread of the process (an interprocessor interrupt;
//! a thread not running has passed a barrier when it was switched out). Where the kernel
//! refuses `membarrier`, `fenced` is set and each outermost section fences instead. What a
//! section costs here: a thread-local read (workers pass their mark along instead), a load
//! and two stores on the thread's own cache line and two loads of a line only forks write.
//! Nothing in a section may block on a thread outside one, nor take a lock the prepare
//! handler holds while it waits (it waits at most until its deadline, then forks anyway).
//!
//! Marks are never freed: a thread's mark goes back to a free list at its exit (a thread-local
//! destructor) and the next new thread reuses it, so a forker can read every mark without a
//! lock, and a program that makes threads without end makes marks only up to the most
//! threads it had at once.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicPtr, AtomicU32, Ordering};
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

/// One thread's record: how many sections (injector operations, object locks held) it is
/// inside. On its own cache line (only its thread writes it).
#[repr(align(128))]
pub(crate) struct Mark {
    depth: AtomicU32,
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
    /// This thread's mark (null until its first section).
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
            m.depth.store(0, Ordering::Release);
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
    // The fork handlers close the gate, so they must exist once a section can. They are
    // registered when the library is loaded (`fork::REGISTER_AT_LOAD`); this covers a link
    // that left that constructor out (a static library whose linker kept only the objects it
    // needed), at the cost of a `Once` check per new thread.
    crate::fork::register();
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
        depth: AtomicU32::new(0),
        free: AtomicBool::new(false),
        next: head,
    }));
    loop {
        match MARKS.compare_exchange_weak(head, m, Ordering::SeqCst, Ordering::Acquire) {
            Ok(_) => {
                // Against `close`, which looks at `MARKS` after closing the gate: either it
                // sees this mark, or this thread's first section sees the gate closed.
                fence(Ordering::SeqCst);
                return m;
            }
            Err(h) => {
                head = h;
                m.next = h;
            }
        }
    }
}

/// A section in progress on this thread's mark; ends when dropped.
pub(crate) struct Section<'a>(&'a Mark);

impl Drop for Section<'_> {
    #[inline]
    fn drop(&mut self) {
        // Release: a forker that sees the mark idle sees the section's writes.
        let d = self.0.depth.load(Ordering::Relaxed);
        self.0.depth.store(d - 1, Ordering::Release);
    }
}

/// Begins a section on `mark` (an injector operation, an object lock held); the outermost
/// one waits first while a fork is in progress. A section inside another never waits: the
/// fork is already waiting for the outer one to end.
#[inline]
pub(crate) fn enter(mark: &Mark) -> Section<'_> {
    let d = mark.depth.load(Ordering::Relaxed);
    mark.depth.store(d + 1, Ordering::Relaxed);
    if d == 0 {
        if GATE.fenced.load(Ordering::Relaxed) {
            fence(Ordering::SeqCst);
        } else {
            // The forker's membarrier orders the store above before the load below.
            compiler_fence(Ordering::SeqCst);
        }
        if GATE.closed.load(Ordering::Relaxed) {
            wait_open(mark);
        }
    }
    Section(mark)
}

#[cold]
fn wait_open(mark: &Mark) {
    loop {
        mark.depth.store(0, Ordering::Release);
        let mut rounds = 0u32;
        while GATE.closed.load(Ordering::Acquire) {
            rounds += 1;
            if rounds < 100 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        mark.depth.store(1, Ordering::Relaxed);
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
    fence(Ordering::SeqCst);
    if MARKS.load(Ordering::SeqCst).is_null() {
        // No thread has ever had a section (and one publishing its first mark now sees the
        // gate closed: see `make`): nothing to wait for, and no barrier needed.
        return true;
    }
    if !GATE.fenced.load(Ordering::Relaxed) && !membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) {
        // From now on operations fence; one that began just now may not have, and its
        // store reaches memory within microseconds.
        GATE.fenced.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(1));
    }
    fence(Ordering::SeqCst);
    for m in marks() {
        while m.depth.load(Ordering::Acquire) != 0 {
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
        m.depth.store(0, Ordering::Relaxed);
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
