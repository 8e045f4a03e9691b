//! A thin epoll wrapper: one system call per wait.
//!
//! The `polling` crate was the first choice, but its `wait` re-arms a timerfd and its notifier
//! on every call (five system calls per wait); at one event per wait that doubled the cost of
//! an fd hand-off. This wrapper uses `epoll_pwait2` (nanosecond timeouts, Linux 5.11+; it falls
//! back to `epoll_wait` with the timeout rounded up to a millisecond) and an eventfd to
//! interrupt a wait. Registrations are one-shot: an fd reports once and is re-armed with
//! `modify` when its handlers are ready for more (level-triggered delivery without spinning).

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Key of the wake-up eventfd.
pub(crate) const NOTIFY_KEY: u64 = u64::MAX;

pub(crate) struct Poller {
    /// The epoll instance and the wake-up eventfd. Atomics only so that a forked child can
    /// put its own in (`reset_after_fork`); read with plain (relaxed) loads.
    epfd: AtomicI32,
    efd: AtomicI32,
    notified: AtomicBool,
    has_pwait2: AtomicBool,
}

/// Interest in readability and/or writability.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub(crate) struct Interest {
    pub(crate) read: bool,
    pub(crate) write: bool,
}

impl Interest {
    fn bits(self) -> u32 {
        let mut b = libc::EPOLLONESHOT as u32;
        if self.read {
            b |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        }
        if self.write {
            b |= libc::EPOLLOUT as u32;
        }
        b
    }

    pub(crate) fn any(self) -> bool {
        self.read || self.write
    }
}

/// One readiness report.
#[derive(Clone, Copy)]
pub(crate) struct Ready {
    pub(crate) key: u64,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// Hang-up or error (`EPOLLHUP`, `EPOLLERR`): readers and writers must be told.
    pub(crate) hup: bool,
    /// The peer shut down its writing side (`EPOLLRDHUP`): readers must be told (end of
    /// file); writers may still write.
    pub(crate) rdhup: bool,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A new epoll instance watching a new eventfd.
fn create() -> io::Result<(RawFd, RawFd)> {
    // SAFETY: plain system calls; the fds are returned to the caller, who owns them.
    unsafe {
        let epfd = cvt(libc::epoll_create1(libc::EPOLL_CLOEXEC))?;
        let efd = match cvt(libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK)) {
            Ok(fd) => fd,
            Err(e) => {
                libc::close(epfd);
                return Err(e);
            }
        };
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: NOTIFY_KEY,
        };
        if let Err(e) = cvt(libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, efd, &mut ev)) {
            libc::close(efd);
            libc::close(epfd);
            return Err(e);
        }
        Ok((epfd, efd))
    }
}

impl Poller {
    pub(crate) fn new() -> io::Result<Poller> {
        let (epfd, efd) = create()?;
        Ok(Poller {
            epfd: AtomicI32::new(epfd),
            efd: AtomicI32::new(efd),
            notified: AtomicBool::new(false),
            has_pwait2: AtomicBool::new(true),
        })
    }

    /// In a forked child (one thread, nobody polling): the inherited epoll instance is the
    /// parent's too — its registrations and reports are shared — so the child gets a new one
    /// (and a new eventfd) and closes its copies of the old ones, which the parent keeps
    /// using. Nothing is registered in the new instance but the eventfd. If the kernel
    /// refuses new fds the old ones stay (the child then shares the parent's reports).
    pub(crate) fn reset_after_fork(&self) -> io::Result<()> {
        let (epfd, efd) = create()?;
        let old_ep = self.epfd.swap(epfd, Ordering::Relaxed);
        let old_e = self.efd.swap(efd, Ordering::Relaxed);
        self.notified.store(false, Ordering::Relaxed);
        // SAFETY: the child's copies of the parent's fds, used by nobody now.
        unsafe {
            libc::close(old_e);
            libc::close(old_ep);
        }
        Ok(())
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, key: u64, interest: Interest) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: interest.bits(),
            u64: key,
        };
        // SAFETY: `ev` is a valid epoll_event; a bad fd is reported as an error.
        cvt(unsafe { libc::epoll_ctl(self.epfd.load(Ordering::Relaxed), op, fd, &mut ev) })
            .map(|_| ())
    }

    pub(crate) fn add(&self, fd: RawFd, key: u64, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, key, interest)
    }

    pub(crate) fn modify(&self, fd: RawFd, key: u64, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, key, interest)
    }

    pub(crate) fn delete(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, Interest::default())
    }

    /// Interrupts a wait (once until the next wait returns).
    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writing 8 bytes from a valid u64 to our eventfd.
            unsafe {
                libc::write(
                    self.efd.load(Ordering::Relaxed),
                    &one as *const u64 as *const libc::c_void,
                    8,
                )
            };
        }
    }

    /// Waits up to `timeout_ns` (None: forever; Some(0): just looks) and appends readiness
    /// reports to `out` (the eventfd's is consumed here). Returns how many were appended.
    pub(crate) fn wait(
        &self,
        buf: &mut [libc::epoll_event],
        timeout_ns: Option<u64>,
        out: &mut Vec<Ready>,
    ) -> usize {
        let n = self.wait_raw(buf, timeout_ns);
        let before = out.len();
        for ev in &buf[..n] {
            let key = ev.u64;
            if key == NOTIFY_KEY {
                let mut v: u64 = 0;
                // SAFETY: reading 8 bytes into a valid u64 from our eventfd.
                unsafe {
                    libc::read(
                        self.efd.load(Ordering::Relaxed),
                        &mut v as *mut u64 as *mut libc::c_void,
                        8,
                    )
                };
                self.notified.store(false, Ordering::Release);
                continue;
            }
            let e = ev.events;
            out.push(Ready {
                key,
                readable: e & (libc::EPOLLIN | libc::EPOLLPRI) as u32 != 0,
                writable: e & libc::EPOLLOUT as u32 != 0,
                hup: e & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0,
                rdhup: e & libc::EPOLLRDHUP as u32 != 0,
            });
        }
        out.len() - before
    }

    fn wait_raw(&self, buf: &mut [libc::epoll_event], timeout_ns: Option<u64>) -> usize {
        let max = buf.len() as libc::c_int;
        if self.has_pwait2.load(Ordering::Relaxed) {
            let ts = timeout_ns.map(|ns| libc::timespec {
                tv_sec: (ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (ns % 1_000_000_000) as libc::c_long,
            });
            let tsp = ts
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: `buf` has room for `max` events; `tsp` is NULL or a valid timespec.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_epoll_pwait2,
                    self.epfd.load(Ordering::Relaxed),
                    buf.as_mut_ptr(),
                    max,
                    tsp,
                    std::ptr::null::<libc::sigset_t>(),
                    0usize,
                )
            };
            if r >= 0 {
                return r as usize;
            }
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::ENOSYS) => self.has_pwait2.store(false, Ordering::Relaxed),
                _ => return 0, // EINTR and friends: a spurious wake-up
            }
        }
        let ms = match timeout_ns {
            None => -1,
            Some(ns) => ns.div_ceil(1_000_000).min(i32::MAX as u64) as libc::c_int,
        };
        // SAFETY: as above.
        let r = unsafe {
            libc::epoll_wait(self.epfd.load(Ordering::Relaxed), buf.as_mut_ptr(), max, ms)
        };
        r.max(0) as usize
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        // SAFETY: the fds are ours.
        unsafe {
            libc::close(*self.efd.get_mut());
            libc::close(*self.epfd.get_mut());
        }
    }
}
