//! The reactor: the poller, the timer heap and the registrations of fds, signals and
//! processes. It has no thread of its own: idle workers poll it (see README.md).

mod poller;
mod signal;
mod timers;

use crate::error::{Error, ErrorKind};
use crate::queue::{QueueInner, QueueRef};
use crate::source::{SourceInner, SourceKind, NO_TIMER, PROC_EXIT};
use crate::task::{SendPtr, TaskHeader};
use crate::time::{coarse_now_ns, now_ns, Time};
use poller::{Interest, Poller, Ready};
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub(crate) use signal::valid as signal_valid;
pub(crate) use timers::TimerId;

const SIGNAL_KEY: u64 = u64::MAX - 1;

/// The signal sources, by signal number.
type SignalTable = HashMap<i32, Vec<Arc<SourceInner>>>;
const EVENTS: usize = 256;

enum TimerTarget {
    After(SendPtr),
    Source {
        src: Arc<SourceInner>,
        interval: u64,
        leeway: u64,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Io,
    Proc,
    /// epoll refuses the fd (a regular file): it is always ready.
    AlwaysReady,
}

struct Member {
    src: Arc<SourceInner>,
    write: bool,
    armed: bool,
}

struct FdEntry {
    kind: EntryKind,
    generation: u32,
    members: Vec<Member>,
    /// What epoll has armed now.
    armed: Interest,
}

impl FdEntry {
    fn desired(&self) -> Interest {
        Interest {
            read: self.members.iter().any(|m| m.armed && !m.write),
            write: self.members.iter().any(|m| m.armed && m.write),
        }
    }
}

fn key(fd: RawFd, generation: u32) -> u64 {
    (generation as u64) << 32 | fd as u32 as u64
}

/// An `after`: one work-item block that is first a timer (pushed lock-free on `incoming` by
/// the caller through `header.next`, then moved into the heap by the thread that polls) and
/// then, once due, the work item itself, enqueued on `queue`.
#[repr(C)]
pub(crate) struct AfterNode {
    header: TaskHeader,
    deadline: u64,
    leeway: u64,
    queue: *const QueueInner,
    /// A C function and its context, or (`f` NULL) a boxed item in `ctx`.
    f: Option<crate::task::CFunction>,
    ctx: *mut libc::c_void,
}

// (Under loom the atomics are larger; no AfterNode is built there.)
#[cfg(not(all(loom, test)))]
const _: () = assert!(std::mem::size_of::<AfterNode>() <= crate::alloc::BLOCK);

unsafe fn after_call(t: NonNull<TaskHeader>, action: crate::task::Action) {
    // SAFETY: `t` heads an AfterNode block, consumed once here.
    let n = unsafe { (t.as_ptr() as *mut AfterNode).read() };
    // SAFETY: nothing refers to the block any more.
    unsafe { crate::alloc::free_block(t.as_ptr() as *mut u8) };
    match n.f {
        Some(f) if action == crate::task::Action::Run => {
            // SAFETY: the C caller's function and context.
            unsafe { f(n.ctx) }
        }
        Some(_) => {}
        None => {
            let inner = NonNull::new(n.ctx as *mut TaskHeader).expect("boxed item");
            // SAFETY: the boxed item owned by this node.
            unsafe { crate::task::invoke(inner, action) };
        }
    }
}

struct Scratch {
    buf: Vec<libc::epoll_event>,
    ready: Vec<Ready>,
    timers: Vec<(u64, TimerTarget)>,
}

pub(crate) struct Reactor {
    poller: Poller,
    /// A thread is polling (or about to).
    owner: AtomicBool,
    /// While the owner blocks: the monotonic time it wakes at (u64::MAX: none); 0 otherwise.
    blocked_until: AtomicU64,
    timers: Mutex<timers::TimerHeap<TimerTarget>>,
    /// `next_wake()` of the timer heap, readable without the lock (u64::MAX: no timers).
    next_timer: AtomicU64,
    /// `after`s not yet in the heap (a Treiber stack).
    incoming: AtomicPtr<AfterNode>,
    fds: Mutex<HashMap<RawFd, FdEntry>>,
    next_generation: AtomicU64,
    /// fd, signal and process registrations.
    io_count: AtomicUsize,
    /// The last turn delivered the one timer the reactor has (a source's, which stays in the
    /// heap) and nothing else is registered: until a registration, nothing can fall due that
    /// the handler's end does not deliver, so the poller may leave without a monitor look.
    sole_timer_delivered: AtomicBool,
    signals: Mutex<Option<(signal::Signals, SignalTable)>>,
    scratch: Mutex<Scratch>,
}

static REACTOR: OnceLock<Reactor> = OnceLock::new();

/// The reactor, created on first use.
pub(crate) fn reactor() -> &'static Reactor {
    REACTOR.get_or_init(|| {
        crate::fork::register();
        Reactor {
            poller: Poller::new().expect("rgcd: cannot create the epoll instance"),
            owner: AtomicBool::new(false),
            blocked_until: AtomicU64::new(0),
            timers: Mutex::new(timers::TimerHeap::new()),
            next_timer: AtomicU64::new(u64::MAX),
            incoming: AtomicPtr::new(std::ptr::null_mut()),
            fds: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            io_count: AtomicUsize::new(0),
            sole_timer_delivered: AtomicBool::new(false),
            signals: Mutex::new(None),
            scratch: Mutex::new(Scratch {
                buf: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS],
                ready: Vec::with_capacity(EVENTS),
                timers: Vec::new(),
            }),
        }
    })
}

/// The reactor if anything ever used it (the pool's idle path asks this).
#[inline]
pub(crate) fn reactor_if_started() -> Option<&'static Reactor> {
    REACTOR.get()
}

fn read_estimate(fd: RawFd, hup: bool) -> Option<u64> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes an int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    if r < 0 {
        return Some(1);
    }
    if n > 0 || hup {
        Some(n as u64)
    } else {
        // Readiness already consumed (a re-armed reader saw an older report): not an event.
        None
    }
}

fn write_estimate(fd: RawFd) -> u64 {
    let mut sndbuf: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid out-pointers for an int option.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            &mut sndbuf as *mut _ as *mut libc::c_void,
            &mut len,
        )
    };
    if r < 0 {
        return 1;
    }
    let mut queued: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes an int.
    unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut queued) };
    (sndbuf - queued).max(1) as u64
}

impl Reactor {
    /// Is there anything to poll for?
    #[inline]
    pub(crate) fn has_work(&self) -> bool {
        self.io_count.load(Ordering::Relaxed) != 0
            || self.next_timer.load(Ordering::Relaxed) != u64::MAX
            || !self.incoming.load(Ordering::Relaxed).is_null()
    }

    /// Moves the pushed `after`s into the heap (the caller owns the reactor).
    fn drain_incoming(&self) {
        if self.incoming.load(Ordering::Relaxed).is_null() {
            return;
        }
        let mut p = self.incoming.swap(std::ptr::null_mut(), Ordering::AcqRel);
        let mut t = self.timers.lock().unwrap();
        while !p.is_null() {
            // SAFETY: nodes on the stack are complete and owned by whoever swapped them out.
            let (next, deadline, leeway) = unsafe {
                (
                    (*p).header.next.load(Ordering::Relaxed) as *mut AfterNode,
                    (*p).deadline,
                    (*p).leeway,
                )
            };
            t.insert(
                deadline,
                leeway,
                TimerTarget::After(SendPtr(p as *mut libc::c_void)),
            );
            p = next;
        }
        self.next_timer.store(t.next_wake(), Ordering::SeqCst);
    }

    /// Is there fd/signal/process work (worth a non-blocking poll)?
    #[inline]
    pub(crate) fn has_io(&self) -> bool {
        self.io_count.load(Ordering::Relaxed) != 0
    }

    #[inline]
    pub(crate) fn try_own(&self) -> bool {
        !self.owner.load(Ordering::Relaxed) && !self.owner.swap(true, Ordering::Acquire)
    }

    pub(crate) fn release(&self) {
        self.owner.store(false, Ordering::Release);
    }

    pub(crate) fn is_owned(&self) -> bool {
        self.owner.load(Ordering::Acquire)
    }

    /// Interrupts the owner's blocking wait, or makes its next one return at once (the owner
    /// may be between its last check and the wait, so this cannot look at `blocked_until`).
    pub(crate) fn notify(&self) {
        self.poller.notify();
    }

    /// One turn (the caller owns the reactor): wait for I/O up to the next timer (`block`) or
    /// just look, then deliver what is ready and the due timers. Returns how many deliveries.
    pub(crate) fn turn(&self, block: bool) -> usize {
        let mut guard = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        let sc = &mut *guard;
        let timeout = if block {
            // Announce first, then read the next deadline: a timer armed meanwhile sees the
            // announcement and notifies (see `after_arm`).
            self.blocked_until.store(u64::MAX, Ordering::SeqCst);
            self.drain_incoming();
            let next = self.next_timer.load(Ordering::SeqCst);
            if next != u64::MAX {
                self.blocked_until.store(next, Ordering::SeqCst);
                Some(next.saturating_sub(now_ns()))
            } else {
                None
            }
        } else {
            Some(0)
        };
        if timeout != Some(0) || self.has_io() {
            self.poller.wait(&mut sc.buf, timeout, &mut sc.ready);
        }
        if block {
            self.blocked_until.store(0, Ordering::SeqCst);
        }
        let mut n = 0;
        for r in sc.ready.drain(..) {
            n += self.dispatch(r);
        }
        self.drain_incoming();
        let mut sole = false;
        if self.next_timer.load(Ordering::Acquire) <= now_ns() {
            let (fired, only) = self.fire_timers(&mut sc.timers);
            n += fired;
            sole = only && n == fired;
        }
        self.sole_timer_delivered.store(
            sole && !self.has_io() && self.incoming.load(Ordering::Relaxed).is_null(),
            Ordering::Relaxed,
        );
        n
    }

    /// Should a poller that leaves to run what it delivered leave a monitor look behind (see
    /// `pool/README.md`)? Not when the last turn delivered the reactor's only registration,
    /// a timer source that stays in the heap: its next fire, if due before the handler ends,
    /// is delivered when the handler ends. A new timer clears the flag (and, like any new
    /// registration, gets a poller itself).
    #[inline]
    pub(crate) fn look_needed(&self) -> bool {
        !self.sole_timer_delivered.load(Ordering::Relaxed)
            || self.has_io()
            || !self.incoming.load(Ordering::Relaxed).is_null()
    }

    fn dispatch(&self, r: Ready) -> usize {
        if r.key == SIGNAL_KEY {
            return self.dispatch_signals();
        }
        let fd = r.key as u32 as RawFd;
        let generation = (r.key >> 32) as u32;
        let mut fire: Vec<(Arc<SourceInner>, bool)> = Vec::new();
        {
            let mut fds = self.fds.lock().unwrap();
            let Some(e) = fds.get_mut(&fd) else { return 0 };
            if e.generation != generation {
                return 0;
            }
            e.armed = Interest::default(); // one-shot: the report disarmed the fd
            for m in e.members.iter_mut().filter(|m| m.armed) {
                // A peer's half-close ends the reading side only: a writer is not woken by
                // it (it would be woken again after every handler while its buffer is full).
                let hit = if m.write {
                    r.writable || r.hup
                } else {
                    r.readable || r.hup || r.rdhup
                };
                if hit {
                    m.armed = false;
                    fire.push((m.src.clone(), m.write));
                }
            }
            self.update(fd, e);
        }
        let mut n = 0;
        for (src, write) in fire {
            let data = match src.kind {
                SourceKind::Proc => Some(PROC_EXIT as u64),
                _ if write => Some(write_estimate(fd)),
                _ => read_estimate(fd, r.hup || r.rdhup),
            };
            match data {
                Some(d) => {
                    if d == 0 && !write {
                        // End of file: delivered once, then the reader stays unarmed.
                        src.set_at_eof();
                    }
                    src.merge(d);
                    n += 1;
                }
                None => self.rearm(&src),
            }
        }
        n
    }

    /// Brings epoll's interest for `fd` in line with its members.
    fn update(&self, fd: RawFd, e: &mut FdEntry) {
        if e.kind == EntryKind::AlwaysReady {
            return;
        }
        let want = e.desired();
        if want != e.armed && want.any() {
            if self.poller.modify(fd, key(fd, e.generation), want).is_ok() {
                e.armed = want;
            }
        } else if !want.any() {
            e.armed = want;
        }
    }

    fn add_member(
        &self,
        src: &Arc<SourceInner>,
        fd: RawFd,
        kind: EntryKind,
        write: bool,
    ) -> Result<(), Error> {
        let mut fds = self.fds.lock().unwrap();
        let always_ready;
        if fds.get(&fd).is_some_and(|e| self.is_stale(fd, e)) {
            // The fd was closed (and maybe its number reused) while sources still watched it:
            // their registration is gone with the old file. They never fire again (a report
            // for the old generation is ignored); the new source gets a fresh registration.
            let e = fds.remove(&fd).expect("checked above");
            self.io_count.fetch_sub(e.members.len(), Ordering::AcqRel);
        }
        if let Some(e) = fds.get_mut(&fd) {
            if e.kind != kind && !(e.kind == EntryKind::AlwaysReady && kind == EntryKind::Io) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "fd is already watched as another kind",
                ));
            }
            e.members.push(Member {
                src: src.clone(),
                write,
                armed: true,
            });
            always_ready = e.kind == EntryKind::AlwaysReady;
            self.update(fd, e);
        } else {
            let generation = self.next_generation.fetch_add(1, Ordering::Relaxed) as u32;
            let want = Interest {
                read: !write,
                write,
            };
            let mut e = FdEntry {
                kind,
                generation,
                members: vec![Member {
                    src: src.clone(),
                    write,
                    armed: true,
                }],
                armed: Interest::default(),
            };
            match self.poller.add(fd, key(fd, generation), want) {
                Ok(()) => e.armed = want,
                Err(err) if err.raw_os_error() == Some(libc::EPERM) => {
                    e.kind = EntryKind::AlwaysReady
                }
                Err(err) => {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!("cannot watch fd {fd}: {err}"),
                    ))
                }
            }
            always_ready = e.kind == EntryKind::AlwaysReady;
            fds.insert(fd, e);
        }
        drop(fds);
        self.io_count.fetch_add(1, Ordering::AcqRel);
        if always_ready {
            self.fire_always_ready(src, fd);
        }
        self.kick();
        Ok(())
    }

    /// Does `e` belong to a file that is no longer open as `fd`? epoll forgets an fd when its
    /// file is closed, so the entry's registration no longer exists (`ENOENT`, or `EBADF` for a
    /// number not reused); a number taken by something epoll accepts was a regular file before.
    fn is_stale(&self, fd: RawFd, e: &FdEntry) -> bool {
        match e.kind {
            EntryKind::AlwaysReady => {
                let probe = Interest {
                    read: true,
                    write: false,
                };
                if self.poller.add(fd, key(fd, 0), probe).is_ok() {
                    let _ = self.poller.delete(fd);
                    true
                } else {
                    // SAFETY: F_GETFD only inspects the descriptor.
                    unsafe { libc::fcntl(fd, libc::F_GETFD) < 0 }
                }
            }
            _ => match self.poller.modify(fd, key(fd, e.generation), e.armed) {
                Ok(()) => false,
                Err(err) => matches!(err.raw_os_error(), Some(libc::ENOENT | libc::EBADF)),
            },
        }
    }

    fn fire_always_ready(&self, src: &Arc<SourceInner>, fd: RawFd) {
        {
            let mut fds = self.fds.lock().unwrap();
            if let Some(m) = fds
                .get_mut(&fd)
                .and_then(|e| e.members.iter_mut().find(|m| Arc::ptr_eq(&m.src, src)))
            {
                m.armed = false;
            }
        }
        let d = if src.kind == SourceKind::Write {
            1
        } else {
            read_estimate(fd, true).unwrap_or(1)
        };
        if d == 0 {
            // At the end of the file: delivered once.
            src.set_at_eof();
        }
        src.merge(d);
    }

    pub(crate) fn register_fd(&self, src: &Arc<SourceInner>) -> Result<(), Error> {
        self.add_member(src, src.fd(), EntryKind::Io, src.kind == SourceKind::Write)
    }

    pub(crate) fn register_proc(&self, src: &Arc<SourceInner>) -> Result<(), Error> {
        // SAFETY: pidfd_open has no memory arguments.
        let fd =
            unsafe { libc::syscall(libc::SYS_pidfd_open, src.handle as libc::pid_t, 0) } as RawFd;
        if fd < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ESRCH) {
                // The process is gone already: report its exit at once.
                src.merge(PROC_EXIT as u64);
                return Ok(());
            }
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("cannot watch process {}: {err}", src.handle),
            ));
        }
        src.pidfd.store(fd, Ordering::Release);
        self.add_member(src, fd, EntryKind::Proc, false)
    }

    pub(crate) fn register_signal(&self, src: &Arc<SourceInner>) -> Result<(), Error> {
        let sig = src.handle as i32;
        {
            let mut g = self.signals.lock().unwrap();
            if g.is_none() {
                let s = signal::Signals::new().map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidArgument,
                        format!("cannot set up signals: {e}"),
                    )
                })?;
                self.poller
                    .add(
                        s.read_fd,
                        SIGNAL_KEY,
                        Interest {
                            read: true,
                            write: false,
                        },
                    )
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::InvalidArgument,
                            format!("cannot watch signals: {e}"),
                        )
                    })?;
                *g = Some((s, HashMap::new()));
            }
            let (sigs, table) = g.as_mut().expect("set up above");
            sigs.install(sig).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("cannot handle signal {sig}: {e}"),
                )
            })?;
            table.entry(sig).or_default().push(src.clone());
        }
        self.io_count.fetch_add(1, Ordering::AcqRel);
        self.kick();
        Ok(())
    }

    fn dispatch_signals(&self) -> usize {
        let fire: Vec<(Arc<SourceInner>, u32)> = {
            let g = self.signals.lock().unwrap();
            let Some((sigs, table)) = g.as_ref() else {
                return 0;
            };
            let counts = sigs.take();
            let _ = self.poller.modify(
                sigs.read_fd,
                SIGNAL_KEY,
                Interest {
                    read: true,
                    write: false,
                },
            );
            counts
                .into_iter()
                .flat_map(|(sig, n)| {
                    table
                        .get(&sig)
                        .into_iter()
                        .flatten()
                        .map(move |s| (s.clone(), n))
                })
                .collect()
        };
        let n = fire.len();
        for (s, count) in fire {
            s.merge(count as u64);
        }
        n
    }

    /// Re-arms an fd source after its handler ran.
    pub(crate) fn rearm(&self, src: &SourceInner) {
        let fd = if src.kind == SourceKind::Proc {
            return;
        } else {
            src.fd()
        };
        let mut fds = self.fds.lock().unwrap();
        let Some(e) = fds.get_mut(&fd) else { return };
        if src.is_canceled() || src.at_eof() {
            // A reader that was told of the end of file is not armed again: the condition
            // cannot change on a pipe or socket, and re-arming would report it in a loop.
            return;
        }
        let Some(m) = e.members.iter_mut().find(|m| std::ptr::eq(&*m.src, src)) else {
            return;
        };
        m.armed = true;
        if e.kind == EntryKind::AlwaysReady {
            let src = m.src.clone();
            drop(fds);
            self.fire_always_ready(&src, fd);
            return;
        }
        self.update(fd, e);
    }

    /// Removes a cancelled source from everything it is registered with.
    pub(crate) fn deregister(&self, src: &SourceInner) {
        match src.kind {
            SourceKind::Read | SourceKind::Write => self.remove_member(src, src.fd()),
            SourceKind::Proc => {
                let fd = src.pidfd.swap(-1, Ordering::AcqRel);
                if fd >= 0 {
                    self.remove_member(src, fd);
                    // SAFETY: our pidfd, no longer in the poller.
                    unsafe { libc::close(fd) };
                }
            }
            SourceKind::Signal => {
                let mut g = self.signals.lock().unwrap();
                if let Some((sigs, table)) = g.as_mut() {
                    let sig = src.handle as i32;
                    if let Some(v) = table.get_mut(&sig) {
                        let before = v.len();
                        v.retain(|s| !std::ptr::eq(&**s, src));
                        if v.len() != before {
                            sigs.uninstall(sig);
                            self.io_count.fetch_sub(1, Ordering::AcqRel);
                        }
                        if v.is_empty() {
                            table.remove(&sig);
                        }
                    }
                }
            }
            SourceKind::Timer => self.disarm_timer(src),
            _ => {}
        }
    }

    fn remove_member(&self, src: &SourceInner, fd: RawFd) {
        let mut fds = self.fds.lock().unwrap();
        let Some(e) = fds.get_mut(&fd) else { return };
        let before = e.members.len();
        e.members.retain(|m| !std::ptr::eq(&*m.src, src));
        if e.members.len() == before {
            return;
        }
        self.io_count.fetch_sub(1, Ordering::AcqRel);
        if e.members.is_empty() {
            if e.kind != EntryKind::AlwaysReady {
                let _ = self.poller.delete(fd);
            }
            fds.remove(&fd);
        } else {
            self.update(fd, e);
        }
    }

    /// After a timer change: wake the blocked owner if it sleeps past `wake`, or get a thread
    /// polling if nobody does.
    fn after_arm(&self, wake: u64) {
        let b = self.blocked_until.load(Ordering::SeqCst);
        if b != 0 {
            if wake < b {
                self.poller.notify();
            }
        } else if !self.owner.load(Ordering::SeqCst) {
            self.kick();
        }
    }

    fn kick(&self) {
        crate::pool::pool().reactor_needs_poller();
    }

    /// `after`: enqueue `task` on `queue` at `when` (FOREVER: never; the task is discarded).
    pub(crate) fn add_after(
        &self,
        when: Time,
        queue: QueueRef,
        f: Option<crate::task::CFunction>,
        ctx: *mut libc::c_void,
    ) {
        let deadline = when.to_monotonic();
        if deadline == u64::MAX {
            if f.is_none() {
                let t = NonNull::new(ctx as *mut TaskHeader).expect("boxed item");
                // SAFETY: never enqueued; discarded here.
                unsafe { crate::task::invoke(t, crate::task::Action::Discard) };
            }
            return;
        }
        // The coarse clock is enough to size the leeway (a deadline that already passed just
        // fires at the next turn, which this call makes happen).
        let now = coarse_now_ns();
        // libdispatch's rule of thumb (a tenth of the delay), capped at a millisecond.
        let leeway = (deadline.saturating_sub(now) / 10).min(1_000_000);
        let node = crate::alloc::alloc_block() as *mut AfterNode;
        // SAFETY: a fresh block, large enough (checked at compile time) and aligned.
        unsafe {
            node.write(AfterNode {
                header: TaskHeader::new(after_call, 0),
                deadline,
                leeway,
                queue: QueueRef::into_raw(queue),
                f,
                ctx,
            })
        };
        // The caller's past happens before the item runs (`task::invoke` acquires).
        crate::tsan::release(node);
        let mut head = self.incoming.load(Ordering::Relaxed);
        loop {
            // SAFETY: the node is ours until the CAS publishes it.
            unsafe {
                (*node)
                    .header
                    .next
                    .store(head as *mut TaskHeader, Ordering::Relaxed)
            };
            match self.incoming.compare_exchange_weak(
                head,
                node,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(cur) => head = cur,
            }
        }
        self.after_arm(deadline.saturating_add(leeway));
    }

    /// Arms (or re-arms) a timer source.
    pub(crate) fn arm_timer(
        &self,
        src: &Arc<SourceInner>,
        start: Time,
        interval: u64,
        leeway: u64,
    ) {
        let deadline = start.to_monotonic();
        self.sole_timer_delivered.store(false, Ordering::Relaxed);
        let old;
        let wake = {
            let mut t = self.timers.lock().unwrap();
            old = Self::unlink_timer(&mut t, src);
            if deadline == u64::MAX || src.is_canceled() {
                let w = t.next_wake();
                self.next_timer.store(w, Ordering::SeqCst);
                drop(t);
                // Outside the lock: the heap's reference may be the source's last.
                drop(old);
                return;
            }
            Self::insert_source_timer(&mut t, src.clone(), deadline, interval, leeway);
            let w = t.next_wake();
            self.next_timer.store(w, Ordering::SeqCst);
            w
        };
        drop(old);
        self.after_arm(wake);
    }

    /// Puts a timer source's next fire into the heap and records its id on the source (under
    /// the timer lock).
    fn insert_source_timer(
        t: &mut timers::TimerHeap<TimerTarget>,
        src: Arc<SourceInner>,
        deadline: u64,
        interval: u64,
        leeway: u64,
    ) {
        let raw = Arc::as_ptr(&src);
        let id = t.insert(
            deadline,
            leeway,
            TimerTarget::Source {
                src,
                interval,
                leeway,
            },
        );
        // SAFETY: the heap's entry owns the reference moved in, so the source is alive.
        unsafe { (*raw).timer.store(id.pack(), Ordering::Release) };
    }

    /// Takes `src`'s timer out of the heap and forgets a parked one (under the timer lock).
    /// The caller drops the result outside the lock.
    fn unlink_timer(
        t: &mut timers::TimerHeap<TimerTarget>,
        src: &SourceInner,
    ) -> Option<TimerTarget> {
        src.parked[0].store(NO_TIMER, Ordering::Relaxed);
        let old = src.timer.swap(NO_TIMER, Ordering::AcqRel);
        if old != NO_TIMER {
            t.remove(TimerId::unpack(old))
        } else {
            None
        }
    }

    fn disarm_timer(&self, src: &SourceInner) {
        let mut t = self.timers.lock().unwrap();
        let old = Self::unlink_timer(&mut t, src);
        self.next_timer.store(t.next_wake(), Ordering::SeqCst);
        drop(t);
        drop(old);
    }

    /// Before a parked timer's handler runs: counts the fires it missed meanwhile (its next
    /// deadline has passed: its queue or the source was suspended or busy) into `pending`, so
    /// one delivery reports them all, as libdispatch does, and moves the deadline past now.
    pub(crate) fn catch_up_timer(&self, src: &SourceInner, pending: &std::sync::atomic::AtomicU64) {
        let next = src.parked[0].load(Ordering::Relaxed);
        if next == NO_TIMER {
            return;
        }
        let now = now_ns();
        if next > now {
            return;
        }
        let _t = self.timers.lock().unwrap();
        let next = src.parked[0].load(Ordering::Relaxed);
        if next == NO_TIMER || next > now {
            return;
        }
        let step = src.parked[1].load(Ordering::Relaxed).max(1_000);
        let count = 1 + (now - next) / step;
        pending.fetch_add(count, Ordering::AcqRel);
        src.parked[0].store(
            next.saturating_add(count.saturating_mul(step)),
            Ordering::Relaxed,
        );
    }

    /// After a timer's handler ran: if a timer is due already (a short interval, or a handler
    /// that took longer than it), fire it now from this thread, which is awake anyway, or wake
    /// the thread blocked in the poller; nothing is due in the common case, and then this costs
    /// one load and a clock read.
    pub(crate) fn fire_due_timers(&self) {
        let next = self.next_timer.load(Ordering::Acquire);
        if next == u64::MAX || next > now_ns() {
            return;
        }
        if self.try_own() {
            {
                let mut g = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
                let sc = &mut *g;
                self.fire_timers(&mut sc.timers);
            }
            self.release();
        } else if self.blocked_until.load(Ordering::SeqCst) != 0 {
            self.poller.notify();
        }
    }

    /// Puts a repeating timer that fired back into the heap once its handler ran; its next
    /// deadline may have passed meanwhile, then it fires at the next turn with the fires missed.
    pub(crate) fn rearm_timer(&self, src: &SourceInner) {
        if src.parked[0].load(Ordering::Relaxed) == NO_TIMER {
            return;
        }
        let wake = {
            let mut t = self.timers.lock().unwrap();
            let next = src.parked[0].swap(NO_TIMER, Ordering::Relaxed);
            if next == NO_TIMER
                // Parked before a fork, and this is the child: it does not fire here.
                || src.parked_gen.load(Ordering::Relaxed) != crate::fork::generation()
                || src.is_canceled()
                || src.timer.load(Ordering::Acquire) != NO_TIMER
            {
                return;
            }
            // SAFETY: `src` is alive (the caller holds it) and is an `Arc` allocation.
            let arc = unsafe {
                Arc::increment_strong_count(src as *const SourceInner);
                Arc::from_raw(src as *const SourceInner)
            };
            let interval = src.parked[1].load(Ordering::Relaxed);
            let leeway = src.parked[2].load(Ordering::Relaxed);
            Self::insert_source_timer(&mut t, arc, next, interval, leeway);
            let w = t.next_wake();
            self.next_timer.store(w, Ordering::SeqCst);
            w
        };
        self.after_arm(wake);
    }

    /// Fires the due timers. Returns the deliveries and whether the heap now holds just
    /// one timer: the source timer fired here, delivered and back in the heap.
    fn fire_timers(&self, due: &mut Vec<(u64, TimerTarget)>) -> (usize, bool) {
        let now = now_ns();
        let mut kept = 0;
        let only;
        {
            let mut t = self.timers.lock().unwrap();
            t.expire(now, due);
            // A source's entry leaves this loop with its fire count in place of its deadline
            // (merged below, outside the lock; no list of its own to allocate per turn).
            for (deadline, target) in due.iter_mut() {
                if let TimerTarget::Source {
                    src,
                    interval,
                    leeway,
                } = target
                {
                    if *interval == u64::MAX {
                        src.timer.store(NO_TIMER, Ordering::Release);
                        *deadline = 1;
                        continue;
                    }
                    // A zero interval would fire without pause: use a microsecond.
                    let step = (*interval).max(1_000);
                    let count = 1 + (now - *deadline) / step;
                    let next = deadline.saturating_add(count.saturating_mul(step));
                    *deadline = count;
                    src.timer.store(NO_TIMER, Ordering::Release);
                    if src.is_canceled() {
                        continue;
                    }
                    if src.has_undelivered() {
                        // The previous fire is not delivered yet (target busy or suspended,
                        // source suspended): parked until its handler ran (`rearm_timer`), so
                        // it costs nothing meanwhile; the fires it misses are counted then.
                        // The merge below always follows, so a later delivery re-arms it.
                        src.parked[1].store(*interval, Ordering::Relaxed);
                        src.parked[2].store(*leeway, Ordering::Relaxed);
                        src.parked_gen
                            .store(crate::fork::generation(), Ordering::Relaxed);
                        src.parked[0].store(next, Ordering::Relaxed);
                    } else {
                        // Delivered: stays in the heap (no re-arm, hence no wake-up of the
                        // poller, after each handler).
                        Self::insert_source_timer(&mut t, src.clone(), next, *interval, *leeway);
                        kept += 1;
                    }
                }
            }
            only = kept == 1 && due.len() == 1 && t.len() == 1;
            self.next_timer.store(t.next_wake(), Ordering::SeqCst);
        }
        let mut n = 0;
        for (count, target) in due.drain(..) {
            match target {
                TimerTarget::After(node) => {
                    let node = node.0 as *mut AfterNode;
                    // SAFETY: the heap owned the node and the queue reference inside it.
                    unsafe {
                        let q = QueueRef::from_raw((*node).queue);
                        q.enqueue(NonNull::new_unchecked(node as *mut TaskHeader));
                    }
                }
                TimerTarget::Source { src, .. } => src.merge(count),
            }
            n += 1;
        }
        (n, only)
    }
}

// Fork support (see `src/fork.rs`).
impl Reactor {
    /// Before a fork: takes ownership of the poller (interrupting a blocking wait) so that no
    /// thread is inside a turn — the scratch buffers and the heap are then at rest — and tries
    /// the reactor's locks. Returns false (holding nothing it took) if the poller could not be
    /// taken by `deadline`; the caller retries or gives up.
    pub(crate) fn fork_own(&self, deadline: std::time::Instant) -> bool {
        loop {
            if self.try_own() {
                return true;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            self.poller.notify();
            std::thread::yield_now();
        }
    }

    pub(crate) fn fork_lock(&'static self, held: &mut crate::fork::Held) -> bool {
        held.lock(&self.signals) && held.lock(&self.fds) && held.lock(&self.timers)
    }

    /// In the parent after a fork: gives the poller back and makes sure somebody polls it
    /// (the worker that was in it left while `prepare` held it).
    pub(crate) fn fork_parent(&self) {
        self.release();
        if self.has_work() {
            self.kick();
        }
    }

    /// In a forked child (the forking thread is its only thread): a new epoll instance and
    /// eventfd; the inherited ones are the parent's too (registrations and reports shared) and
    /// are closed here (the parent keeps its own copies). No source registered before the
    /// fork fires in the child: fd and process registrations are dropped, signal handlers
    /// rgcd installed are restored to what they replaced and the signal pipe (shared too) is
    /// closed, timer sources leave the heap (re-arming one with `set_timer` in the child puts
    /// it back). The sources stay valid objects; cancelling one in the child runs its cancel
    /// handler. `after`s stay: like work queued at the fork, they run in the child too.
    pub(crate) fn fork_child(&self) {
        self.blocked_until.store(0, Ordering::SeqCst);
        // If the kernel refuses new fds, the old ones stay: the child then shares the
        // parent's reports, as before fork support (nothing better to do in a fork handler).
        let _ = self.poller.reset_after_fork();
        // Leaked, not dropped, below: dropping a source's last reference could run user code
        // (its finalizer) inside the fork handler. The user holds the sources anyway.
        {
            let mut fds = self.fds.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::forget(std::mem::take(&mut *fds));
        }
        {
            let mut g = self.signals.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((sigs, table)) = g.take() {
                sigs.close_after_fork();
                std::mem::forget(table);
            }
        }
        {
            let mut t = self.timers.lock().unwrap_or_else(|e| e.into_inner());
            let gone = t.remove_where(|v| matches!(v, TimerTarget::Source { .. }));
            for v in &gone {
                if let TimerTarget::Source { src, .. } = v {
                    src.timer.store(NO_TIMER, Ordering::Release);
                    src.parked[0].store(NO_TIMER, Ordering::Relaxed);
                }
            }
            std::mem::forget(gone);
            self.next_timer.store(t.next_wake(), Ordering::SeqCst);
        }
        self.io_count.store(0, Ordering::SeqCst);
        self.sole_timer_delivered.store(false, Ordering::Relaxed);
        self.release();
    }
}
