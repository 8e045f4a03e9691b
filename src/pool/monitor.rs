//! The watchdog that adds a worker when every worker is stuck inside user code, and the
//! fallback poller of the reactor while nobody else polls it.
//!
//! rgcd's own waits announce themselves (`pool::blocking`); a task that blocks in `sleep` or
//! `read` does not. The monitor runs only while the pool is saturated (work queued, nobody
//! idle) or the reactor is unwatched: every millisecond it checks whether any worker started
//! a job since the last tick, and if none did, counts the busy workers the kernel sees as
//! runnable. Fewer runnable workers than CPUs means some are blocked, so it starts one more
//! (up to the cap).
//!
//! While it is not needed the monitor thread blocks reading a timerfd. A `poke` arms that
//! timer one tick ahead: the monitor's first look comes a tick after the poke, as it would
//! after a sleep. A `look_later` (the reactor just lost its poller to a job) arms it the
//! same way (further ahead when only timers are registered) but can be taken back with
//! `look_cancel` (the reactor has a poller again) before it expires, without waking the
//! monitor: a worker that runs a short job (a timer's handler) and goes back into the poller
//! costs the monitor nothing.

use super::Pool;
use std::os::fd::RawFd;
use std::sync::atomic::{fence, AtomicU8, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(1);
/// Quiet ticks before the monitor parks again.
const QUIET_TICKS: u32 = 200;
/// How long a `look_later` waits when only timers are registered. A look due within the
/// next scheduler tick is the CPU's earliest timer: arming and then taking it back each
/// reprogram the timer hardware, which a VM traps (about 10 us per fire on the project's
/// VMs, half of what the fire itself costs). Past the tick (4 ms at HZ=250) both are cheap.
/// The price: a timer due while the poller worker runs a long job is delivered up to this
/// late. With fds registered the look comes after a tick, as a poke's does.
const LOOK_TIMERS_ONLY: Duration = Duration::from_millis(5);

/// Blocked on the timerfd, which is disarmed (or holds a stale expiry).
const PARKED: u8 = 0;
/// Blocked on the timerfd, armed by `look_later`: a look that `look_cancel` may take back.
const ARMED: u8 = 1;
/// Ticking, or committed to start ticking when the armed timerfd expires.
const RUNNING: u8 = 2;

pub(super) struct Monitor {
    /// PARKED, ARMED or RUNNING. Read without the lock on the fast paths; changed only under
    /// `timer` together with the timerfd's setting, so a disarm never undoes a poke's arm.
    state: AtomicU8,
    /// The timerfd the parked monitor blocks on (-1 until the thread exists).
    timer: Mutex<RawFd>,
}

/// Sets `fd` to expire once `after` from now (`None`: disarm).
fn set_timer(fd: RawFd, after: Option<Duration>) {
    let d = after.unwrap_or(Duration::ZERO);
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        },
    };
    // SAFETY: a valid itimerspec; the old value is not wanted (NULL).
    unsafe { libc::timerfd_settime(fd, 0, &spec, std::ptr::null_mut()) };
}

impl Monitor {
    pub(super) fn new() -> Self {
        Monitor {
            state: AtomicU8::new(PARKED),
            timer: Mutex::new(-1),
        }
    }

    pub(super) fn fork_lock(&'static self, held: &mut crate::fork::Held) -> bool {
        held.lock(&self.timer)
    }

    /// In a forked child: the monitor thread is gone. Parked with no timerfd, so the next
    /// poke starts a new monitor thread with its own timerfd; the inherited one is closed.
    pub(super) fn fork_child(&self) {
        let mut fd = self.timer.lock().unwrap_or_else(|e| e.into_inner());
        if *fd >= 0 {
            // SAFETY: the child's copy of the dead monitor's timerfd.
            unsafe { libc::close(*fd) };
        }
        *fd = -1;
        self.state.store(PARKED, Ordering::SeqCst);
    }

    /// Called when work is queued and no worker is free: make sure the monitor is ticking.
    pub(super) fn poke(&self, pool: &'static Pool) {
        if self.state.load(Ordering::Relaxed) == RUNNING {
            return;
        }
        let mut fd = self.timer.lock().unwrap();
        let was = self.state.swap(RUNNING, Ordering::SeqCst);
        match was {
            RUNNING => {}
            // A pending look, armed up to `LOOK_TIMERS_ONLY` ahead: bring it to a tick.
            ARMED => set_timer(*fd, Some(TICK)),
            _ => self.arm_or_start(&mut fd, pool, TICK),
        }
    }

    /// The reactor has work and nobody polls it (its poller went to run a job): look at it
    /// in a tick (`timers_only`: in `LOOK_TIMERS_ONLY`) unless `look_cancel` comes first.
    /// Does nothing while the monitor runs.
    pub(super) fn look_later(&self, pool: &'static Pool, timers_only: bool) {
        fence(Ordering::SeqCst); // pairs with the fence in `park`
        if self.state.load(Ordering::SeqCst) != PARKED {
            return;
        }
        let mut fd = self.timer.lock().unwrap();
        if self.state.load(Ordering::SeqCst) == PARKED {
            self.state.store(ARMED, Ordering::SeqCst);
            let after = if timers_only { LOOK_TIMERS_ONLY } else { TICK };
            self.arm_or_start(&mut fd, pool, after);
        }
    }

    /// The reactor has a poller again: take back a `look_later` that has not expired yet.
    #[inline]
    pub(super) fn look_cancel(&self) {
        if self.state.load(Ordering::Relaxed) != ARMED {
            return;
        }
        let fd = self.timer.lock().unwrap();
        if self.state.load(Ordering::SeqCst) == ARMED {
            self.state.store(PARKED, Ordering::SeqCst);
            set_timer(*fd, None);
        }
    }

    /// Arms the timerfd `after` from now, or (first use) creates it and starts the monitor
    /// thread.
    fn arm_or_start(&self, fd: &mut RawFd, pool: &'static Pool, after: Duration) {
        if *fd >= 0 {
            set_timer(*fd, Some(after));
            return;
        }
        // SAFETY: timerfd_create has no memory arguments.
        let t = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_CLOEXEC) };
        if t < 0 {
            self.state.store(PARKED, Ordering::SeqCst);
            return;
        }
        set_timer(t, Some(after));
        let spawned = thread::Builder::new()
            .name("rgcd-monitor".into())
            .spawn(move || run(pool));
        if spawned.is_err() {
            // SAFETY: our timerfd, used by nobody else.
            unsafe { libc::close(t) };
            self.state.store(PARKED, Ordering::SeqCst);
            return;
        }
        *fd = t;
    }

    /// Blocks until the monitor is to run: a poke, or a `look_later` that was not taken back.
    fn wait(&self) {
        loop {
            let fd = *self.timer.lock().unwrap();
            let mut expirations = 0u64;
            // SAFETY: reading the 8-byte expiration count into a valid u64.
            let r = unsafe {
                libc::read(
                    fd,
                    &mut expirations as *mut u64 as *mut libc::c_void,
                    std::mem::size_of::<u64>(),
                )
            };
            if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                // Cannot happen with a valid timerfd; do not spin if it does.
                thread::sleep(TICK);
            }
            let _guard = self.timer.lock().unwrap();
            match self.state.load(Ordering::SeqCst) {
                RUNNING => return,
                ARMED => {
                    self.state.store(RUNNING, Ordering::SeqCst);
                    return;
                }
                _ => {} // a look taken back after its timer expired: block again
            }
        }
    }

    /// Announces that the monitor parks; returns false (and keeps it running) when `again`,
    /// re-checked after the announcement, says there is a reason to run.
    fn park(&self, again: impl Fn() -> bool) -> bool {
        {
            let _guard = self.timer.lock().unwrap();
            self.state.store(PARKED, Ordering::SeqCst);
        }
        // Re-check after announcing, so a poke or look that saw us running is not lost.
        fence(Ordering::SeqCst);
        if again() {
            let _guard = self.timer.lock().unwrap();
            if self.state.load(Ordering::SeqCst) == PARKED {
                self.state.store(RUNNING, Ordering::SeqCst);
            }
            return false;
        }
        true
    }
}

fn thread_runnable(tid: i32) -> bool {
    let path = format!("/proc/self/task/{tid}/stat");
    match std::fs::read_to_string(path) {
        // The state follows the parenthesised command name.
        Ok(s) => s
            .rfind(')')
            .and_then(|i| s[i + 1..].trim_start().chars().next())
            .is_some_and(|c| c == 'R'),
        Err(_) => true,
    }
}

/// Is the reactor waiting for a poller that nobody provides?
fn reactor_unwatched(pool: &Pool) -> bool {
    crate::event::reactor_if_started().is_some_and(|r| {
        r.has_work() && !r.is_owned() && pool.searching.load(Ordering::SeqCst) == 0
    })
}

fn run(pool: &'static Pool) {
    let m = &pool.monitor;
    let mut last_progress = 0u64;
    let mut quiet = 0u32;
    // Started by a poke or a look, whose timer is armed: the first look is a tick later.
    m.wait();
    loop {
        // Fallback poller: keep events and timers flowing while every worker is busy.
        let reactor = crate::event::reactor_if_started();
        let mut reactor_unwatched_now = false;
        if let Some(r) = reactor {
            if r.has_work() && r.try_own() {
                r.turn(false);
                r.release();
                reactor_unwatched_now = pool.searching.load(Ordering::SeqCst) == 0;
            }
        }
        let pending = pool.any_stealable();
        let searching = pool.searching.load(Ordering::SeqCst);
        let sleeping = pool.sleeping.load(Ordering::SeqCst);
        if pending && searching == 0 && sleeping != 0 {
            // Work queued in a busy worker's deque with nobody looking: wake a sleeper.
            pool.notify_slow();
        }
        let saturated = pending && sleeping == 0 && searching == 0;
        if !saturated {
            if reactor_unwatched_now {
                quiet = 0;
            } else {
                quiet += 1;
                if quiet >= QUIET_TICKS {
                    quiet = 0;
                    let again = || {
                        (pool.any_stealable()
                            && pool.sleeping.load(Ordering::SeqCst) == 0
                            && pool.searching.load(Ordering::SeqCst) == 0)
                            || reactor_unwatched(pool)
                    };
                    if m.park(again) {
                        m.wait();
                        continue;
                    }
                }
            }
            thread::sleep(TICK);
            continue;
        }
        quiet = 0;
        let workers = pool.workers.lock().unwrap().clone();
        let progress: u64 = workers
            .iter()
            .map(|w| w.progress.load(Ordering::Relaxed))
            .sum();
        if progress != last_progress {
            last_progress = progress;
            thread::sleep(TICK);
            continue;
        }
        let runnable = workers
            .iter()
            .filter(|w| w.busy.load(Ordering::Relaxed))
            .filter(|w| {
                w.lock_wait.load(Ordering::Relaxed)
                    || thread_runnable(w.tid.load(Ordering::Relaxed))
            })
            .count();
        if runnable < pool.ncpu {
            pool.spawn_worker();
        }
        thread::sleep(TICK);
    }
}
