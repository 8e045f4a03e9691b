//! The worker pool shared by every queue. See `README.md` beside this file for the protocol.

pub(crate) mod gate;
mod lock_wait;
mod monitor;

pub use lock_wait::{lock_wait_begin, lock_wait_end};

use crate::queue::QueueInner;
use crate::task::TaskHeader;
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::atomic::{
    fence, AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Number of root (global) queues: one per QoS class, highest first.
pub(crate) const NUM_ROOTS: usize = 6;
/// Injectors: one per root, then one per overcommit root (`overcommit_injector`).
const NUM_INJECTORS: usize = 2 * NUM_ROOTS;

/// The injector of the overcommit root of class `index`.
pub(crate) const fn overcommit_injector(index: usize) -> usize {
    NUM_ROOTS + index
}

/// How long an idle worker keeps looking for work before it sleeps. A thread wake-up costs
/// tens of microseconds on a loaded machine, so spinning a little longer than that keeps
/// hand-offs (ping-pong between queues) free of system calls.
const SPIN: Duration = Duration::from_micros(50);
/// How long an extra worker (above one per CPU) stays parked before it retires.
const RETIRE_AFTER: Duration = Duration::from_secs(5);
/// How many next jobs (`WorkerShared::next`) a worker runs in a row before it looks at the
/// queued work again.
const NEXT_RUNS: u32 = 32;

/// A unit of work for the pool: an item plus the queue it runs as part of (a root queue, or
/// a concurrent queue whose width it occupies).
#[derive(Clone, Copy)]
pub(crate) struct Job {
    pub(crate) task: NonNull<TaskHeader>,
    pub(crate) queue: *const QueueInner,
}
// SAFETY: a job is owned by exactly one list or thread at a time; what it points to is
// either 'static (roots) or kept alive by a reference the job owns.
unsafe impl Send for Job {}

pub(crate) struct WorkerShared {
    id: usize,
    thread: Thread,
    notified: AtomicBool,
    /// Jobs started, for the monitor's stall detection.
    progress: AtomicU64,
    /// Running a job right now.
    busy: AtomicBool,
    /// Kernel thread id, for the monitor's runnable check.
    tid: AtomicI32,
    /// Parked in the reactor's poller (woken through it) rather than on its thread handle.
    in_poller: AtomicBool,
    /// Waiting for a lock held by a running thread (`lock_wait.rs`): runnable for the monitor.
    lock_wait: AtomicBool,
    /// A job this worker holds while it wakes others (null otherwise), for a forked child.
    hand_task: AtomicPtr<TaskHeader>,
    hand_queue: AtomicPtr<QueueInner>,
    /// The next job: the drain of a serial queue this worker woke, which it runs as soon as
    /// its current job ends (see "The next slot" in README.md). Packed: `slot::pack`.
    next: AtomicU64,
    /// This worker thread's mark for the injector gate (`gate.rs`).
    mark: &'static gate::Mark,
}

/// Packing of `WorkerShared::next`: the link's address (8-byte aligned) with the index of the
/// root it runs on in its low 3 bits; 0 is empty.
mod slot {
    use super::Job;
    use std::ptr::NonNull;

    #[inline]
    pub(super) fn pack(job: Job, root: usize) -> u64 {
        let addr = job.task.as_ptr() as u64;
        debug_assert!(addr & 7 == 0 && root < 8);
        addr | root as u64
    }

    /// The job and its root index.
    #[inline]
    pub(super) fn unpack(word: u64) -> Option<(Job, usize)> {
        let task = NonNull::new((word & !7) as *mut crate::task::TaskHeader)?;
        let root = (word & 7) as usize;
        let queue = crate::queue::root(root) as *const _;
        Some((Job { task, queue }, root))
    }
}

/// What other workers see of a worker: its id, its deque's stealer, its shared state (for
/// its next slot).
type Peer = (usize, Stealer<Job>, Arc<WorkerShared>);

pub(crate) struct Pool {
    injectors: [Injector<Job>; NUM_INJECTORS],
    stealers: RwLock<Vec<Peer>>,
    workers: Mutex<Vec<Arc<WorkerShared>>>,
    /// Parked workers, most recent last.
    idle: Mutex<Vec<Arc<WorkerShared>>>,
    sleeping: AtomicUsize,
    searching: AtomicUsize,
    threads: AtomicUsize,
    blocked: AtomicUsize,
    ncpu: usize,
    max_threads: usize,
    next_id: AtomicUsize,
    monitor: monitor::Monitor,
}

static POOL: OnceLock<Pool> = OnceLock::new();

/// An overcommit root exists: only then are their injectors looked at. Read by every search
/// and written once, so it sits alone on its cache line (not beside the pool's busy
/// counters).
#[repr(align(128))]
struct OvercommitUsed(AtomicBool);
static OVERCOMMIT_USED: OvercommitUsed = OvercommitUsed(AtomicBool::new(false));

thread_local! {
    static LOCAL: Cell<*const Worker<Job>> = const { Cell::new(std::ptr::null()) };
    /// While this worker is in a blocking reactor turn: its id + 1 (0 otherwise). Work it
    /// delivers then wakes this worker itself, not another one (see `wake_one`).
    static IN_BLOCKING_TURN: Cell<usize> = const { Cell::new(0) };
}

#[inline]
pub(crate) fn pool() -> &'static Pool {
    POOL.get_or_init(|| {
        crate::fork::register();
        Pool::new()
    })
}

/// Worker threads alive now.
///
/// # Examples
///
/// ```
/// let _ = rgcd::thread_count();
/// ```
pub fn thread_count() -> usize {
    POOL.get().map_or(0, |p| p.threads.load(Ordering::Relaxed))
}

/// `RGCD_MAX_THREADS` (a positive integer), else 255.
fn max_threads_from_env() -> usize {
    std::env::var("RGCD_MAX_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(255)
}

impl Pool {
    fn new() -> Pool {
        let ncpu = thread::available_parallelism().map_or(2, |n| n.get());
        Pool {
            injectors: Default::default(),
            stealers: RwLock::new(Vec::new()),
            workers: Mutex::new(Vec::new()),
            idle: Mutex::new(Vec::new()),
            sleeping: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
            threads: AtomicUsize::new(0),
            blocked: AtomicUsize::new(0),
            ncpu,
            max_threads: max_threads_from_env(),
            next_id: AtomicUsize::new(0),
            monitor: monitor::Monitor::new(),
        }
    }

    pub(crate) fn ncpu(&self) -> usize {
        self.ncpu
    }

    /// Enqueues a job on root `root` and makes sure a worker will take it.
    #[inline]
    pub(crate) fn inject(&'static self, root: usize, job: Job) {
        let section = gate::enter(gate::mine());
        self.injectors[root].push(job);
        drop(section);
        self.notify_work();
    }

    /// Enqueues the drain of a serial queue that became runnable. On a worker, it goes into
    /// the worker's next slot (the previous occupant, if any, onto its root): the worker runs
    /// it when its current job ends, without handing it to another thread. Elsewhere, as
    /// `inject`.
    #[inline]
    pub(crate) fn inject_link(&'static self, root: usize, job: Job) {
        // An overcommit root's queue needs a thread of its own, not a place behind this
        // worker's current job (and the slot's packing holds the ordinary roots only).
        let Some(me) = lock_wait::current().filter(|_| root < NUM_ROOTS) else {
            return self.inject(root, job);
        };
        let old = me.next.swap(slot::pack(job, root), Ordering::AcqRel);
        if let Some((old, old_root)) = slot::unpack(old) {
            let _section = gate::enter(me.mark);
            self.injectors[old_root].push(old);
        }
        // Someone must take the job if this worker does not come back for it soon (it may
        // block): the same wake-up rule as for a pushed job.
        self.notify_work();
    }

    /// Is any root queue non-empty?
    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        self.injectors[..NUM_ROOTS].iter().any(|i| !i.is_empty()) || self.overcommit_pending()
    }

    /// The overcommit roots were created: from now on their injectors are looked at.
    pub(crate) fn enable_overcommit(&self) {
        OVERCOMMIT_USED.0.store(true, Ordering::SeqCst);
    }

    /// Is work waiting on an overcommit root? Such work gets a thread whatever the CPU
    /// count (`notify_slow`).
    #[inline]
    fn overcommit_pending(&self) -> bool {
        OVERCOMMIT_USED.0.load(Ordering::Relaxed)
            && self.injectors[NUM_ROOTS..].iter().any(|i| !i.is_empty())
    }

    /// Called after work became available: wake a sleeper unless someone is already looking,
    /// or start a worker while fewer than one per CPU are active (or overcommit work waits).
    #[inline]
    pub(crate) fn notify_work(&'static self) {
        fence(Ordering::SeqCst);
        if self.searching.load(Ordering::SeqCst) != 0 {
            return;
        }
        self.notify_slow();
    }

    #[cold]
    fn notify_slow(&'static self) {
        if self.sleeping.load(Ordering::SeqCst) != 0 && self.wake_one() {
            return;
        }
        let threads = self.threads.load(Ordering::SeqCst);
        let blocked = self.blocked.load(Ordering::SeqCst);
        if threads.saturating_sub(blocked) < self.ncpu || self.overcommit_pending() {
            self.spawn_worker();
        } else {
            self.monitor.poke(self);
        }
    }

    fn wake_one(&self) -> bool {
        let me = IN_BLOCKING_TURN.with(|t| t.get()).checked_sub(1);
        let w = {
            let mut idle = self.idle.lock().unwrap();
            // The poller delivering work is awake already and runs it after its turn: it
            // "wakes" itself, at no cost. Otherwise prefer a parked worker: the one in the
            // poller keeps watching fds and timers.
            let pos = me
                .and_then(|id| idle.iter().position(|w| w.id == id))
                .or_else(|| {
                    idle.iter()
                        .rposition(|w| !w.in_poller.load(Ordering::Relaxed))
                })
                .or_else(|| idle.len().checked_sub(1));
            let w = pos.map(|p| idle.remove(p));
            if w.is_some() {
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
                // The woken worker searches; counting it now stops other wakers piling on.
                self.searching.fetch_add(1, Ordering::SeqCst);
            }
            w
        };
        match w {
            Some(w) => {
                w.notified.store(true, Ordering::Release);
                if Some(w.id) == me {
                    return true;
                }
                if w.in_poller.load(Ordering::Relaxed) {
                    if let Some(r) = crate::event::reactor_if_started() {
                        r.notify();
                    }
                }
                w.thread.unpark();
                true
            }
            None => false,
        }
    }

    /// The reactor has something to watch and nobody polls it: get a thread on it.
    pub(crate) fn reactor_needs_poller(&'static self) {
        fence(Ordering::SeqCst);
        // A searching worker polls while it spins and takes the poller when it goes idle.
        if self.searching.load(Ordering::SeqCst) != 0 {
            return;
        }
        if self.sleeping.load(Ordering::SeqCst) != 0 && self.wake_one() {
            return;
        }
        if self.threads.load(Ordering::SeqCst) < self.ncpu && self.spawn_worker() {
            return;
        }
        self.monitor.poke(self);
    }

    /// Starts one more worker unless the cap is reached. Returns whether it did.
    pub(crate) fn spawn_worker(&'static self) -> bool {
        let mut n = self.threads.load(Ordering::SeqCst);
        loop {
            if n >= self.max_threads {
                self.cap_reached();
                return false;
            }
            match self
                .threads
                .compare_exchange(n, n + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(cur) => n = cur,
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // A spawned worker starts out searching.
        self.searching.fetch_add(1, Ordering::SeqCst);
        let spawned = thread::Builder::new()
            .name(format!("rgcd-worker-{id}"))
            .spawn(move || worker_main(self, id));
        if spawned.is_err() {
            self.searching.fetch_sub(1, Ordering::SeqCst);
            self.threads.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    fn find_work(&self, local: &Worker<Job>, me: usize, mark: &gate::Mark) -> Option<Job> {
        if let Some(j) = local.pop() {
            return Some(j);
        }
        if let Some(j) = self.steal_roots(local, mark) {
            return Some(j);
        }
        let stealers = self.stealers.read().unwrap();
        let n = stealers.len();
        if n > 1 {
            let start = me % n;
            for k in 0..n {
                let (id, s, _) = &stealers[(start + k) % n];
                if *id == me {
                    continue;
                }
                loop {
                    match s.steal_batch_and_pop(local) {
                        Steal::Success(j) => return Some(j),
                        Steal::Empty => break,
                        Steal::Retry => continue,
                    }
                }
            }
        }
        None
    }

    /// A job from the root queues, best class first (the rest of a batch into `local`).
    #[inline]
    fn steal_roots(&self, local: &Worker<Job>, mark: &gate::Mark) -> Option<Job> {
        let _section = gate::enter(mark);
        let overcommit = OVERCOMMIT_USED.0.load(Ordering::Relaxed);
        for class in 0..NUM_ROOTS {
            // Overcommit work first within a class, one job at a time: a job taken in a
            // batch would wait in this worker's deque, where nobody counts it as waiting
            // for a thread of its own. (`is_empty` first: a `steal` from an empty injector
            // costs a SeqCst fence.)
            let oc = &self.injectors[overcommit_injector(class)];
            while overcommit && !oc.is_empty() {
                match oc.steal() {
                    Steal::Success(j) => return Some(j),
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
            loop {
                match self.injectors[class].steal_batch_and_pop(local) {
                    Steal::Success(j) => return Some(j),
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        None
    }

    /// Is any work queued anywhere (roots or workers' deques)?
    /// The pool wanted another thread (work waits while workers are blocked) but is at its
    /// cap: say so once per process, on stderr, with the figures that explain a stall; the
    /// work runs when the blocked workers return.
    #[cold]
    fn cap_reached(&self) {
        static SAID: AtomicBool = AtomicBool::new(false);
        // Only a real stall: work waits and no worker is free to take it.
        if !self.any_stealable()
            || self.sleeping.load(Ordering::SeqCst) != 0
            || self.searching.load(Ordering::SeqCst) != 0
            || SAID.swap(true, Ordering::Relaxed)
        {
            return;
        }
        let waiting: usize = self.injectors.iter().map(|i| i.len()).sum::<usize>()
            + self
                .stealers
                .read()
                .unwrap()
                .iter()
                .map(|(_, s, w)| s.len() + usize::from(w.next.load(Ordering::Relaxed) != 0))
                .sum::<usize>();
        let threads = self.threads.load(Ordering::SeqCst);
        let busy = self
            .workers
            .lock()
            .unwrap()
            .iter()
            .filter(|w| w.busy.load(Ordering::Relaxed))
            .count();
        eprintln!(
            "rgcd: the pool is at its cap of {} threads (RGCD_MAX_THREADS) with {waiting} work \
             item(s) waiting while {busy} of its {threads} workers are busy or blocked \
             (rgcd waits: {}); the waiting work runs when a worker is free (said once)",
            self.max_threads,
            self.blocked.load(Ordering::SeqCst)
        );
    }

    /// Is any work queued anywhere: roots, workers' deques, workers' next slots?
    pub(crate) fn any_stealable(&self) -> bool {
        self.any_work(true)
    }

    /// As `any_stealable`, without the next slots: what a spinning worker looks at (it
    /// leaves a busy worker's next job to that worker, see README.md).
    fn any_queued(&self) -> bool {
        self.any_work(false)
    }

    #[inline]
    fn any_work(&self, next_slots: bool) -> bool {
        self.has_pending()
            || self.stealers.read().unwrap().iter().any(|(_, s, w)| {
                !s.is_empty() || (next_slots && w.next.load(Ordering::Relaxed) != 0)
            })
    }

    /// Takes another worker's next job (a worker about to sleep: nobody else may come for
    /// it soon).
    fn steal_next(&self, me: usize) -> Option<Job> {
        let stealers = self.stealers.read().unwrap();
        stealers
            .iter()
            .filter(|(id, _, w)| *id != me && w.next.load(Ordering::Relaxed) != 0)
            .find_map(|(_, _, w)| slot::unpack(w.next.swap(0, Ordering::Acquire)))
            .map(|(job, _)| job)
    }
}

/// Moves this worker's next job (if any) onto its root, where any worker can take it.
fn flush_next(pool: &Pool, me: &WorkerShared) {
    if let Some((job, root)) = slot::unpack(me.next.swap(0, Ordering::Acquire)) {
        let _section = gate::enter(me.mark);
        pool.injectors[root].push(job);
    }
}

/// Runs `f`, a wait that may block the calling thread, telling the pool so that pending work
/// gets another thread meanwhile.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    crate::fork::start_inherited_work();
    let local = LOCAL.with(|l| l.get());
    if local.is_null() {
        return f();
    }
    let p = pool();
    // A next job would wait for this thread: let another take it.
    if let Some(me) = lock_wait::current() {
        flush_next(p, me);
    }
    p.blocked.fetch_add(1, Ordering::SeqCst);
    if p.any_stealable() {
        p.notify_slow();
    }
    let r = f();
    p.blocked.fetch_sub(1, Ordering::SeqCst);
    r
}

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

fn worker_main(pool: &'static Pool, id: usize) {
    // Workers sleep in the poller with timeouts at timer deadlines and apply the timers'
    // leeway themselves: the kernel's default 50 us timer slack would only add lateness.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong) };
    // A write to a pipe or socket whose reader is gone (rgcd's I/O, or user work) fails with
    // EPIPE on a worker instead of raising SIGPIPE, whose default action would kill the
    // process from a thread the program does not know about (Go's threads do the same).
    // SAFETY: a local signal set, filled before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let local = Worker::new_fifo();
    let me = Arc::new(WorkerShared {
        id,
        thread: thread::current(),
        notified: AtomicBool::new(false),
        progress: AtomicU64::new(0),
        busy: AtomicBool::new(false),
        tid: AtomicI32::new(gettid()),
        in_poller: AtomicBool::new(false),
        lock_wait: AtomicBool::new(false),
        hand_task: AtomicPtr::new(std::ptr::null_mut()),
        hand_queue: AtomicPtr::new(std::ptr::null_mut()),
        next: AtomicU64::new(0),
        mark: gate::mine(),
    });
    crate::queue::register_worker_frames();
    pool.stealers
        .write()
        .unwrap()
        .push((id, local.stealer(), me.clone()));
    pool.workers.lock().unwrap().push(me.clone());
    LOCAL.with(|l| l.set(&local as *const _));
    lock_wait::CURRENT.with(|c| c.set(Arc::as_ptr(&me)));

    // The last blocking turn delivered timer fires only: when this worker next runs out of
    // work, it goes back to sleep without spinning (nothing suggests more work is coming).
    let mut timer_wake = false;
    let mut searching = true; // spawn_worker counted us

    // Next jobs run in a row: after NEXT_RUNS the next job goes onto its root instead, so a
    // chain of hand-offs cannot keep this worker from queued work.
    let mut next_runs = 0u32;
    'outer: loop {
        let mut job = None;
        if me.next.load(Ordering::Relaxed) != 0 {
            if next_runs < NEXT_RUNS {
                job = slot::unpack(me.next.swap(0, Ordering::Acquire)).map(|(j, _)| j);
                next_runs += 1;
            } else {
                flush_next(pool, &me);
                next_runs = 0;
            }
        } else {
            next_runs = 0;
        }
        if let Some(job) = job.or_else(|| pool.find_work(&local, id, me.mark)) {
            if searching {
                searching = false;
                let was = pool.searching.fetch_sub(1, Ordering::SeqCst);
                if was == 1 {
                    // The last searcher found work: if more is queued, get another thread
                    // on it; if nobody watches the reactor now, let the monitor do it.
                    // (Other workers' deques count: the batch this worker just stole may
                    // sit behind a job that blocks.)
                    let more = pool.any_stealable();
                    let unwatched = crate::event::reactor_if_started()
                        .filter(|r| r.has_work() && !r.is_owned() && r.look_needed());
                    if more || unwatched.is_some() {
                        // Waking a thread or arming the monitor takes system calls: meanwhile
                        // the job is recorded where a child forked in that window finds it (a
                        // job only in a local variable would be lost there, and with it the
                        // serial queue it drains). Not in this worker's deque: the thread
                        // woken would take it from there.
                        // Release, and a compiler barrier after the clear below: a child
                        // sees the pair whole, and never both this record and the frames of
                        // the job's run.
                        me.hand_queue
                            .store(job.queue as *mut QueueInner, Ordering::Relaxed);
                        me.hand_task.store(job.task.as_ptr(), Ordering::Release);
                        if more {
                            pool.notify_slow();
                        }
                        if let Some(r) = unwatched {
                            pool.monitor.look_later(pool, !r.has_io());
                        }
                        me.hand_task.store(std::ptr::null_mut(), Ordering::Release);
                        std::sync::atomic::compiler_fence(Ordering::SeqCst);
                    }
                }
            }
            me.busy.store(true, Ordering::Relaxed);
            me.progress.fetch_add(1, Ordering::Relaxed);
            crate::queue::execute(job);
            me.busy.store(false, Ordering::Relaxed);
            continue;
        }
        if !searching {
            searching = true;
            pool.searching.fetch_add(1, Ordering::SeqCst);
        }
        // Spin a little: work often arrives within microseconds. Meanwhile look at the
        // reactor without blocking, so fd events reach this thread with no wake-up. Not
        // after a wake-up for timers only: a timer's work does not come in hand-offs.
        // After the first few microseconds each round yields the CPU: a spinner must not
        // take time from a runnable thread (often the one about to hand it work) when the
        // CPUs are busy; with a CPU to itself the yield returns at once. The first rounds
        // do not: a quick hand-off (an fd ping-pong) would pay a system call per round.
        let start = Instant::now();
        let spin = if std::mem::take(&mut timer_wake) {
            Duration::ZERO
        } else {
            SPIN
        };
        let mut i = 0u32;
        while start.elapsed() < spin {
            for _ in 0..(1 << i.min(6)) {
                std::hint::spin_loop();
            }
            i += 1;
            if i > 6 {
                thread::yield_now();
            }
            if pool.any_queued() {
                continue 'outer;
            }
            if let Some(r) = crate::event::reactor_if_started() {
                if r.has_work() && r.try_own() {
                    let n = r.turn(false);
                    r.release();
                    if n > 0 {
                        continue 'outer;
                    }
                }
            }
        }
        // Sleep: in the reactor's poller if nobody is in it, else parked. Announce it,
        // re-check, then block.
        let poller = crate::event::reactor_if_started().filter(|r| r.try_own());
        {
            let mut idle = pool.idle.lock().unwrap();
            pool.searching.fetch_sub(1, Ordering::SeqCst);
            pool.sleeping.fetch_add(1, Ordering::SeqCst);
            me.in_poller.store(poller.is_some(), Ordering::Relaxed);
            idle.push(me.clone());
        }
        fence(Ordering::SeqCst);
        if pool.any_stealable() && unpark_self(pool, &me) {
            if let Some(r) = poller {
                r.release();
            }
            // A busy worker's next job: this worker was the one left to take it.
            if let Some(job) = pool.steal_next(id) {
                local.push(job);
            }
            searching = true;
            continue;
        }
        if let Some(r) = poller {
            // The reactor has a poller again: a pending monitor look is not needed.
            pool.monitor.look_cancel();
            if !me.notified.load(Ordering::Acquire) {
                IN_BLOCKING_TURN.with(|t| t.set(id + 1));
                let delivered = r.turn(true);
                IN_BLOCKING_TURN.with(|t| t.set(0));
                // Without fds, signals or processes registered, only timers can have fired.
                timer_wake = delivered > 0 && !r.has_io();
            }
            r.release();
            // Off the idle list, unless a waker took us off (and counted us searching).
            if !unpark_self(pool, &me) {
                while !me.notified.swap(false, Ordering::AcqRel) {
                    std::hint::spin_loop();
                }
            }
            me.notified.store(false, Ordering::Relaxed);
            me.in_poller.store(false, Ordering::Relaxed);
            searching = true;
            continue;
        }
        loop {
            if me.notified.swap(false, Ordering::AcqRel) {
                searching = true; // the waker counted us as searching
                continue 'outer;
            }
            let extra = pool.threads.load(Ordering::Relaxed) > pool.ncpu;
            if extra {
                let t = Instant::now();
                thread::park_timeout(RETIRE_AFTER);
                if t.elapsed() >= RETIRE_AFTER && retire(pool, &me) {
                    break 'outer;
                }
            } else {
                thread::park();
            }
        }
    }
    LOCAL.with(|l| l.set(std::ptr::null()));
}

/// Takes `me` off the idle list if nobody woke it meanwhile; it then searches again.
fn unpark_self(pool: &Pool, me: &Arc<WorkerShared>) -> bool {
    let mut idle = pool.idle.lock().unwrap();
    if let Some(pos) = idle.iter().position(|w| Arc::ptr_eq(w, me)) {
        idle.remove(pos);
        pool.sleeping.fetch_sub(1, Ordering::SeqCst);
        pool.searching.fetch_add(1, Ordering::SeqCst);
        true
    } else {
        false
    }
}

/// An extra worker idle for `RETIRE_AFTER` exits, unless it was woken meanwhile.
fn retire(pool: &Pool, me: &Arc<WorkerShared>) -> bool {
    {
        let mut idle = pool.idle.lock().unwrap();
        if pool.threads.load(Ordering::SeqCst) <= pool.ncpu {
            return false;
        }
        let Some(pos) = idle.iter().position(|w| Arc::ptr_eq(w, me)) else {
            return false;
        };
        idle.remove(pos);
        pool.sleeping.fetch_sub(1, Ordering::SeqCst);
        pool.threads.fetch_sub(1, Ordering::SeqCst);
    }
    pool.stealers
        .write()
        .unwrap()
        .retain(|(id, _, _)| *id != me.id);
    pool.workers.lock().unwrap().retain(|w| !Arc::ptr_eq(w, me));
    true
}

// Fork support (see `src/fork.rs`).

/// The pool if it was ever used.
pub(crate) fn pool_if_started() -> Option<&'static Pool> {
    POOL.get()
}

impl Pool {
    /// Before a fork: the pool's locks (the caller retries if one is busy).
    pub(crate) fn fork_lock(&'static self, held: &mut crate::fork::Held) -> bool {
        held.write(&self.stealers)
            && held.lock(&self.workers)
            && held.lock(&self.idle)
            && self.monitor.fork_lock(held)
    }

    /// In a forked child, whose only thread is the one that forked: the workers and the
    /// monitor are gone. Jobs waiting in the dead workers' deques move to the default root
    /// queue (their own root is not recorded; only their priority changes), jobs in next
    /// slots (every worker's) to the root the slot records; the counters say
    /// no thread exists (or one: the forking thread, if it is a worker — its deque is emptied
    /// into the root queue too — it goes on running
    /// its job, then works as a worker of the child), so the next work wakes new workers.
    /// No thread is started here: that waits until the child uses rgcd (see `fork.rs`);
    /// until `fork_child_done`, a pretend searcher keeps enqueues from starting one.
    pub(crate) fn fork_child(&'static self) {
        let current = lock_wait::current();
        let me = current.map_or(std::ptr::null(), |w| w as *const WorkerShared);
        let my_id = current.map(|w| w.id);
        {
            let mut stealers = self.stealers.write().unwrap_or_else(|e| e.into_inner());
            let default = &self.injectors[crate::queue::Qos::Default.root_index()];
            // The forking worker's own deque too: `queue::repair_after_fork` must see every
            // queued job in the root queues.
            for (_, s, w) in stealers.iter() {
                // The next slots too, the forking worker's included: a job there is the
                // drain of a serial queue, and `repair_after_fork` would queue a second drain
                // of a locked queue whose link it does not find on a root queue. The slot
                // records its root.
                if let Some((job, root)) = slot::unpack(w.next.swap(0, Ordering::Acquire)) {
                    self.injectors[root].push(job);
                }
                // One thread: a steal cannot race, so Retry does not come; bounded anyway.
                let mut retries = 0;
                loop {
                    match s.steal() {
                        Steal::Success(j) => default.push(j),
                        Steal::Empty => break,
                        Steal::Retry if retries < 1000 => retries += 1,
                        Steal::Retry => break,
                    }
                }
            }
            stealers.retain(|(id, _, _)| Some(*id) == my_id);
        }
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        // Jobs the dead workers held while waking others.
        let default = &self.injectors[crate::queue::Qos::Default.root_index()];
        for w in self
            .workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|w| !std::ptr::eq(Arc::as_ptr(w), me))
        {
            if let Some(task) = NonNull::new(w.hand_task.load(Ordering::Acquire)) {
                let queue = w.hand_queue.load(Ordering::Relaxed);
                default.push(Job { task, queue });
            }
        }
        self.threads
            .store(usize::from(my_id.is_some()), Ordering::SeqCst);
        self.sleeping.store(0, Ordering::SeqCst);
        self.blocked.store(0, Ordering::SeqCst);
        // A pretend searcher while the dead workers' drains are put back: an enqueue then
        // starts no thread (nothing does until the child uses rgcd).
        self.searching.store(1, Ordering::SeqCst);
        self.workers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|w| std::ptr::eq(Arc::as_ptr(w), me));

        if let Some(w) = current {
            w.tid.store(gettid(), Ordering::Relaxed);
            w.in_poller.store(false, Ordering::Relaxed);
            w.notified.store(false, Ordering::Relaxed);
        }
        self.monitor.fork_child();
    }

    /// In a forked child (one thread): every job of the root queues, with its root index.
    pub(crate) fn fork_take_roots(&self) -> Vec<(usize, Job)> {
        let mut v = Vec::new();
        for (i, inj) in self.injectors.iter().enumerate() {
            let mut retries = 0;
            loop {
                match inj.steal() {
                    Steal::Success(j) => v.push((i, j)),
                    Steal::Empty => break,
                    Steal::Retry if retries < 1000 => retries += 1,
                    Steal::Retry => break,
                }
            }
        }
        v
    }

    /// Puts jobs back on the root queues (in a forked child, with the pretend searcher).
    pub(crate) fn fork_put_roots(&self, jobs: Vec<(usize, Job)>) {
        for (i, j) in jobs {
            self.injectors[i].push(j);
        }
    }

    /// In a forked child, after `fork_child` and after the queues the dead threads held were
    /// given back: enqueues start threads again. Returns whether work is waiting.
    pub(crate) fn fork_child_done(&self) -> bool {
        self.searching.store(0, Ordering::SeqCst);
        self.any_stealable()
    }

    /// In the child, when it first uses rgcd: get threads on the work inherited from the
    /// parent and on the reactor.
    pub(crate) fn start_after_fork(&'static self) {
        if self.any_stealable() {
            self.notify_slow();
        }
        if crate::event::reactor_if_started().is_some_and(|r| r.has_work()) {
            self.reactor_needs_poller();
        }
    }
}
