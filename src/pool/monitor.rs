//! The watchdog that adds a worker when every worker is stuck inside user code.
//!
//! rgcd's own waits announce themselves (`pool::blocking`); a task that blocks in `sleep` or
//! `read` does not. The monitor runs only while the pool is saturated (work queued, nobody
//! idle): every millisecond it checks whether any worker started a job since the last tick,
//! and if none did, counts the busy workers the kernel sees as runnable. Fewer runnable
//! workers than CPUs means some are blocked, so it starts one more (up to the cap).

use super::Pool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::thread::{self, Thread};
use std::time::Duration;

const TICK: Duration = Duration::from_millis(1);
/// Quiet ticks before the monitor parks again.
const QUIET_TICKS: u32 = 200;

pub(super) struct Monitor {
    parked: AtomicBool,
    thread: Mutex<Option<Thread>>,
}

impl Monitor {
    pub(super) fn new() -> Self {
        Monitor {
            parked: AtomicBool::new(true),
            thread: Mutex::new(None),
        }
    }

    /// Called when work is queued and no worker is free: make sure the monitor is ticking.
    pub(super) fn poke(&self, pool: &'static Pool) {
        if !self.parked.load(Ordering::Relaxed) {
            return;
        }
        if !self.parked.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut t = self.thread.lock().unwrap();
        match &*t {
            Some(th) => th.unpark(),
            None => {
                if let Ok(h) = thread::Builder::new()
                    .name("rgcd-monitor".into())
                    .spawn(move || run(pool))
                {
                    *t = Some(h.thread().clone());
                }
            }
        }
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

fn run(pool: &'static Pool) {
    let mut last_progress = 0u64;
    let mut quiet = 0u32;
    loop {
        thread::sleep(TICK);
        // Fallback poller: keep events and timers flowing while every worker is busy.
        let reactor = crate::event::reactor_if_started();
        let mut reactor_unwatched = false;
        if let Some(r) = reactor {
            if r.has_work() && r.try_own() {
                r.turn(false);
                r.release();
                reactor_unwatched = pool.searching.load(Ordering::SeqCst) == 0;
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
            if reactor_unwatched {
                quiet = 0;
                continue;
            }
            quiet += 1;
            if quiet >= QUIET_TICKS {
                quiet = 0;
                pool.monitor.parked.store(true, Ordering::SeqCst);
                // Re-check after announcing, so a poke that saw us running is not lost.
                let again = pool.any_stealable()
                    && pool.sleeping.load(Ordering::SeqCst) == 0
                    && pool.searching.load(Ordering::SeqCst) == 0;
                if again && pool.monitor.parked.swap(false, Ordering::AcqRel) {
                    continue;
                }
                while pool.monitor.parked.load(Ordering::Acquire) {
                    thread::park();
                }
            }
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
    }
}
