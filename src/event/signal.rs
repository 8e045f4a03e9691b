//! Signal delivery for signal sources: a process-wide handler counts deliveries per signal and
//! writes a byte to a pipe the reactor watches; the reactor turns counts into source data.
//!
//! Installing the handler replaces any disposition, `SIG_IGN` included (so the source sees the
//! signal); the previous disposition is restored when the last source for the signal goes.

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

pub(crate) const MAX_SIGNAL: usize = 65;

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU32 = AtomicU32::new(0);
static COUNTS: [AtomicU32; MAX_SIGNAL] = [ZERO; MAX_SIGNAL];
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe operations: atomics and write(2); errno is preserved.
    // SAFETY: __errno_location is the thread's errno slot.
    let saved = unsafe { *libc::__errno_location() };
    if (sig as usize) < MAX_SIGNAL {
        COUNTS[sig as usize].fetch_add(1, Ordering::Relaxed);
    }
    let fd = PIPE_WRITE.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = sig as u8;
        // SAFETY: write from a valid byte; a full pipe (EAGAIN) is fine: a wake-up is pending.
        unsafe { libc::write(fd, &b as *const u8 as *const libc::c_void, 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Is `sig` a signal a source may watch?
pub(crate) fn valid(sig: usize) -> bool {
    // Signals between the standard ones and SIGRTMIN (32 and 33 with glibc) belong to the C
    // library (thread cancellation, setxid): taking them over would break it.
    sig > 0
        && sig < MAX_SIGNAL
        && sig != libc::SIGKILL as usize
        && sig != libc::SIGSTOP as usize
        && (sig < 32 || sig >= libc::SIGRTMIN() as usize)
}

pub(crate) struct Signals {
    pub(crate) read_fd: RawFd,
    saved: HashMap<i32, (libc::sigaction, usize)>,
}

impl Signals {
    pub(crate) fn new() -> io::Result<Signals> {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two fds.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        PIPE_WRITE.store(fds[1], Ordering::Release);
        Ok(Signals {
            read_fd: fds[0],
            saved: HashMap::new(),
        })
    }

    /// In a forked child, where the parent's signal sources do not fire: restores every
    /// disposition rgcd replaced (as the last cancel would) and closes the child's copies of
    /// the pipe, which is shared with the parent. A signal source made in the child sets up
    /// a new pipe.
    pub(crate) fn close_after_fork(mut self) {
        let sigs: Vec<i32> = self.saved.keys().copied().collect();
        for sig in sigs {
            if let Some((old, _)) = self.saved.remove(&sig) {
                // SAFETY: restoring the disposition saved by `install`.
                unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
            }
        }
        let w = PIPE_WRITE.swap(-1, Ordering::AcqRel);
        // SAFETY: the child's copies of the parent's pipe, used by nobody in the child now.
        unsafe {
            libc::close(self.read_fd);
            if w >= 0 {
                libc::close(w);
            }
        }
    }

    /// Installs the handler for `sig` (first user) and counts the user.
    pub(crate) fn install(&mut self, sig: i32) -> io::Result<()> {
        if let Some((_, users)) = self.saved.get_mut(&sig) {
            *users += 1;
            return Ok(());
        }
        // SAFETY: zeroed sigaction is a valid starting point; pointers are valid.
        unsafe {
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            // SA_ONSTACK: a signal that lands on a thread running Go code must not run on its
            // small goroutine stack (Go requires it of every non-Go handler).
            new.sa_flags = libc::SA_RESTART | libc::SA_ONSTACK;
            libc::sigemptyset(&mut new.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, &new, &mut old) < 0 {
                return Err(io::Error::last_os_error());
            }
            COUNTS[sig as usize].store(0, Ordering::Relaxed);
            self.saved.insert(sig, (old, 1));
        }
        Ok(())
    }

    /// Drops a user of `sig`; the last one restores the previous disposition.
    pub(crate) fn uninstall(&mut self, sig: i32) {
        let last = match self.saved.get_mut(&sig) {
            Some((_, users)) => {
                *users -= 1;
                *users == 0
            }
            None => false,
        };
        if last {
            let (old, _) = self.saved.remove(&sig).expect("present");
            // SAFETY: restoring the disposition saved by `install`.
            unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
        }
    }

    /// Empties the pipe and returns the deliveries counted per signal since the last call.
    pub(crate) fn take(&self) -> Vec<(i32, u32)> {
        let mut buf = [0u8; 256];
        // SAFETY: reading into a valid buffer from our non-blocking pipe.
        while unsafe {
            libc::read(
                self.read_fd,
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
            )
        } > 0
        {}
        (1..MAX_SIGNAL)
            .filter_map(|s| {
                let n = COUNTS[s].swap(0, Ordering::AcqRel);
                (n > 0).then_some((s as i32, n))
            })
            .collect()
    }
}
