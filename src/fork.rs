//! `fork()` support: `pthread_atfork` handlers that leave a forked child a working rgcd.
//!
//! A child of a multithreaded process has one thread, the one that called `fork`; every lock
//! another thread held at that instant stays held forever, and the pool's workers, the
//! monitor and whoever was polling the reactor are gone. So:
//!
//! - **prepare** (in the forking thread, before the fork) takes the poller of the reactor
//!   (waking a worker blocked in it), so no thread is in a reactor turn, then every global
//!   lock rgcd has — once, the block allocator, the I/O fd table and buffer pool, the main
//!   queue, the pool (stealers, workers, idle list, monitor), the reactor (signals, fds,
//!   timers). It tries them all and, if one is busy, lets them all go and tries again a
//!   moment later, so the order in which other code nests them does not matter (no
//!   deadlock). After two seconds it forks with what it has (a thread that holds a lock for
//!   that long is stuck, or is the forking thread itself). Then it closes the injector gate
//!   (`pool/gate.rs`): it waits until no thread is inside a push or steal on a root queue,
//!   which the child could not finish.
//! - **parent** lets them go and makes sure the reactor is polled again.
//! - **child** lets them go, then resets the pool (no workers; jobs from the dead workers'
//!   deques move to a root queue) and the reactor (new epoll, eventfd and signal pipe; the
//!   inherited ones are shared with the parent and are closed). It starts no thread: the
//!   child's first use of rgcd (a wait, a submission) does (`start_inherited_work`), so that a language runtime
//!   that repairs itself after `fork` (CPython reinitialises its GIL) has done so before an
//!   rgcd thread can call into it.
//!
//! What the child gets and loses is documented in `docs/fork.md`.

use std::any::Any;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, Once, RwLock, TryLockError};
use std::time::{Duration, Instant};

/// How long `prepare` keeps trying for the locks before it lets the fork go on without them.
const PREPARE_PATIENCE: Duration = Duration::from_secs(2);

/// Guards taken by `prepare`, released by `parent` / `child`.
#[derive(Default)]
pub(crate) struct Held {
    guards: Vec<Box<dyn Any>>,
}

impl Held {
    /// Takes `m` if it is free (a poisoned lock counts as taken: the data is still there).
    pub(crate) fn lock<T: 'static>(&mut self, m: &'static Mutex<T>) -> bool {
        match m.try_lock() {
            Ok(g) => self.guards.push(Box::new(g)),
            Err(TryLockError::Poisoned(p)) => self.guards.push(Box::new(p.into_inner())),
            Err(TryLockError::WouldBlock) => return false,
        }
        true
    }

    /// Takes `l` for writing if nobody reads or writes it.
    pub(crate) fn write<T: 'static>(&mut self, l: &'static RwLock<T>) -> bool {
        match l.try_write() {
            Ok(g) => self.guards.push(Box::new(g)),
            Err(TryLockError::Poisoned(p)) => self.guards.push(Box::new(p.into_inner())),
            Err(TryLockError::WouldBlock) => return false,
        }
        true
    }

    fn release(&mut self) {
        // Last taken, first released.
        while let Some(g) = self.guards.pop() {
            drop(g);
        }
    }
}

/// What a fork in progress holds, from `prepare` to `parent` / `child`.
struct InFlight {
    held: Held,
    reactor_owned: bool,
    /// Last: one fork at a time goes through the handlers.
    _serial: MutexGuard<'static, ()>,
}

/// One fork at a time: a second thread forking meanwhile waits in `prepare`.
static SERIAL: Mutex<()> = Mutex::new(());

struct Slot(UnsafeCell<Option<InFlight>>);
// SAFETY: written by `prepare` while it holds `SERIAL`, taken by `parent` or `child` in the
// same thread before `SERIAL` is released (the guard lives inside).
unsafe impl Sync for Slot {}
static IN_FLIGHT: Slot = Slot(UnsafeCell::new(None));

/// Forks survived by this process (bumped in each child): see `generation`.
static GENERATION: AtomicU32 = AtomicU32::new(0);

/// How many forks separate this process from the first one: a record stamped with an older
/// value (a `sync` waiter) belongs to a thread that does not exist here.
#[inline]
pub(crate) fn generation() -> u32 {
    GENERATION.load(Ordering::Relaxed)
}

/// Set in a forked child until its first use of rgcd has started threads for what it
/// inherited.
/// Alone on its cache line: every submission reads it.
#[repr(align(128))]
struct Inherited(AtomicBool);
static INHERITED: Inherited = Inherited(AtomicBool::new(false));

/// Registers the handlers, once per process: when the library is loaded (`REGISTER_AT_LOAD`),
/// and again (a no-op then) when the pool or the reactor starts or a thread enters its first
/// section of the injector gate.
pub(crate) fn register() {
    // Miri has neither `pthread_atfork` nor `membarrier`; its tests do not fork.
    if cfg!(miri) {
        return;
    }
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        crate::pool::gate::register();
        // SAFETY: three `extern "C"` functions without arguments, which never unwind.
        unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    });
}

/// Registers the handlers when the library is loaded, before the program has threads: a
/// fork racing the first registration (another thread inside `register`'s `Once`) would
/// leave the `Once` running forever in the child.
#[cfg(all(target_os = "linux", not(miri)))]
#[used]
#[link_section = ".init_array"]
static REGISTER_AT_LOAD: extern "C" fn() = register_at_load;

#[cfg(all(target_os = "linux", not(miri)))]
extern "C" fn register_at_load() {
    register();
}

fn take_all(held: &mut Held) -> bool {
    crate::once::fork_lock(held)
        && crate::alloc::fork_lock(held)
        && crate::io::fork_lock(held)
        && crate::queue::main_fork_lock(held)
        && crate::queue::frames_fork_lock(held)
        && crate::pool::pool_if_started().is_none_or(|p| p.fork_lock(held))
        && crate::event::reactor_if_started().is_none_or(|r| r.fork_lock(held))
}

extern "C" fn prepare() {
    let _ = std::panic::catch_unwind(|| {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + PREPARE_PATIENCE;
        let reactor = crate::event::reactor_if_started();
        let (held, reactor_owned) = loop {
            let owned = reactor.is_some_and(|r| r.fork_own(deadline));
            let mut held = Held::default();
            let all = take_all(&mut held);
            if all || Instant::now() >= deadline {
                break (held, owned);
            }
            held.release();
            if owned {
                if let Some(r) = reactor {
                    r.release();
                }
            }
            std::thread::sleep(Duration::from_micros(50));
        };
        // With the locks held (a thread waiting at the gate may hold one of them): no thread
        // is left inside an operation on a root queue (see `pool/gate.rs`).
        crate::pool::gate::close(deadline);
        // SAFETY: see `Slot`.
        unsafe {
            *IN_FLIGHT.0.get() = Some(InFlight {
                held,
                reactor_owned,
                _serial: serial,
            })
        };
    });
}

fn take_in_flight() -> Option<InFlight> {
    // SAFETY: see `Slot`.
    unsafe { (*IN_FLIGHT.0.get()).take() }
}

extern "C" fn parent() {
    let _ = std::panic::catch_unwind(|| {
        let Some(mut f) = take_in_flight() else {
            return;
        };
        crate::pool::gate::open();
        f.held.release();
        if f.reactor_owned {
            if let Some(r) = crate::event::reactor_if_started() {
                r.fork_parent();
            }
        }
    });
}

extern "C" fn child() {
    let _ = std::panic::catch_unwind(|| {
        let Some(mut f) = take_in_flight() else {
            return;
        };
        let _ = f.reactor_owned; // the child resets the reactor either way
        GENERATION.fetch_add(1, Ordering::Relaxed);
        crate::pool::gate::child();
        // One thread now: nobody else can take these locks; the resets below take them again.
        f.held.release();
        // The handlers exist because the pool or the reactor started; `pool()` here only
        // creates the pool if the reactor alone did (no registration, no thread).
        let p = crate::pool::pool();
        p.fork_child();
        // SAFETY: a forked child, one thread.
        unsafe { crate::queue::recover_all_dead_frames() };
        // SAFETY: as above; `fork_child` put the pretend searcher in place.
        unsafe { crate::queue::repair_after_fork(p) };
        let mut waiting = p.fork_child_done();
        if let Some(r) = crate::event::reactor_if_started() {
            // Even without the poller (prepare gave up on it): the epoll instance must not
            // stay shared with the parent.
            r.fork_child();
            waiting |= r.has_work();
        }
        INHERITED.0.store(waiting, Ordering::SeqCst);
    });
}

/// In a forked child, the first time it waits on rgcd, or submits to a queue whose drain is
/// already queued (an inherited one, maybe, which no thread would run otherwise): starts
/// threads for the work and timers it inherited. (Submitting work that wakes a queue starts
/// a worker by itself, and that worker finds the inherited work too.) One relaxed load
/// otherwise.
#[inline]
pub(crate) fn start_inherited_work() {
    if INHERITED.0.load(Ordering::Relaxed) {
        start_slow();
    }
}

#[cold]
fn start_slow() {
    if INHERITED.0.swap(false, Ordering::SeqCst) {
        if let Some(p) = crate::pool::pool_if_started() {
            p.start_after_fork();
        }
    }
}
