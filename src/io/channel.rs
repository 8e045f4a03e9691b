//! The channel object: a policy (water marks, interval), a type (STREAM or RANDOM), a share of
//! an fd entry, and the cleanup handler that runs once when the channel lets the fd go.

use super::entry::{EntryUse, FdEntry};
use super::op::{Dir, IoHandler, Op, Policy};
use crate::data::{self, DataInner};
use crate::error::{Error, ErrorKind};
use crate::object::{Kind, ObjExtras, ObjHeader};
use crate::Queue;
use std::ffi::{c_int, CString};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The cleanup handler: called once with 0, or the errno that made the channel give up.
pub(crate) type Cleanup = Box<dyn FnOnce(i32) + Send>;

#[repr(C)]
pub(crate) struct ChannelInner {
    pub(crate) obj: ObjHeader,
    pub(crate) extras: ObjExtras,
    random: bool,
    /// RANDOM: the file position when the channel was created (offsets count from it).
    base: i64,
    /// The channel's share of its fd entry, given up when the cleanup runs.
    entry: Mutex<Option<EntryUse>>,
    high: AtomicUsize,
    low: AtomicUsize,
    interval: AtomicU64,
    strict: AtomicBool,
    closed: AtomicBool,
    stopped: AtomicBool,
    /// Operations submitted whose last handler has not returned yet.
    ops: AtomicUsize,
    cleanup: Mutex<Option<Cleanup>>,
    /// Why the channel could not be set up (errno), or 0.
    err: AtomicI32,
    queue: Queue,
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

impl ChannelInner {
    fn build(
        random: bool,
        entry: Option<EntryUse>,
        base: i64,
        err: i32,
        queue: Queue,
        cleanup: Option<Cleanup>,
    ) -> Arc<ChannelInner> {
        let c = crate::object::new_arc(ChannelInner {
            obj: ObjHeader::new(Kind::Io, 0),
            extras: ObjExtras::default(),
            random,
            base,
            entry: Mutex::new(if err == 0 { entry } else { None }),
            high: AtomicUsize::new(usize::MAX),
            low: AtomicUsize::new(0),
            interval: AtomicU64::new(0),
            strict: AtomicBool::new(false),
            closed: AtomicBool::new(err != 0),
            stopped: AtomicBool::new(false),
            ops: AtomicUsize::new(0),
            cleanup: Mutex::new(cleanup),
            err: AtomicI32::new(err),
            queue,
        });
        if err != 0 {
            // Control of the fd is given up at once: the cleanup handler says why.
            c.maybe_cleanup();
        }
        c
    }

    /// The file position to count RANDOM offsets from, or the errno of a non-seekable fd.
    fn base_of(entry: &FdEntry) -> Result<i64, i32> {
        match entry.opened() {
            Some(Ok(o)) => {
                // SAFETY: lseek with SEEK_CUR does not move the position.
                let pos = unsafe { libc::lseek(o.fd, 0, libc::SEEK_CUR) };
                if pos < 0 {
                    Err(errno())
                } else {
                    Ok(pos)
                }
            }
            Some(Err(e)) => Err(e),
            None => Ok(0),
        }
    }

    /// A channel on `fd` (the caller keeps owning the fd).
    pub(crate) fn with_fd(
        random: bool,
        fd: c_int,
        queue: Queue,
        cleanup: Option<Cleanup>,
    ) -> Arc<ChannelInner> {
        let entry = FdEntry::for_fd(fd);
        let (base, err) = match entry.opened() {
            Some(Err(e)) => (0, e),
            _ if random => match Self::base_of(&entry) {
                Ok(b) => (b, 0),
                Err(e) => (0, e),
            },
            _ => (0, 0),
        };
        Self::build(random, Some(entry), base, err, queue, cleanup)
    }

    /// A channel on a path, opened (with `oflag`, `mode`) when its first operation runs and
    /// closed when every channel using it is done.
    pub(crate) fn with_path(
        random: bool,
        path: CString,
        oflag: c_int,
        mode: libc::mode_t,
        queue: Queue,
        cleanup: Option<Cleanup>,
    ) -> Result<Arc<ChannelInner>, Error> {
        if path.as_bytes().first() != Some(&b'/') {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the path of an I/O channel must be absolute",
            ));
        }
        let entry = FdEntry::for_path(path, oflag, mode);
        Ok(Self::build(random, Some(entry), 0, 0, queue, cleanup))
    }

    /// A channel sharing `other`'s fd or path (not its type or policy).
    pub(crate) fn with_io(
        random: bool,
        other: &ChannelInner,
        queue: Queue,
        cleanup: Option<Cleanup>,
    ) -> Arc<ChannelInner> {
        let entry = other.entry.lock().unwrap().as_ref().map(EntryUse::share);
        let (base, err) = match &entry {
            None => (0, libc::ECANCELED),
            Some(e) if random => match Self::base_of(e) {
                Ok(b) => (b, 0),
                Err(e) => (0, e),
            },
            Some(_) => (0, 0),
        };
        Self::build(random, entry, base, err, queue, cleanup)
    }

    pub(crate) fn is_stopped(&self) -> bool {
        // SeqCst: pairs with `close` (see there).
        self.stopped.load(Ordering::SeqCst)
    }

    fn policy(&self) -> Policy {
        Policy {
            high: self.high.load(Ordering::Relaxed),
            low: self.low.load(Ordering::Relaxed),
            interval: self.interval.load(Ordering::Relaxed),
            strict: self.strict.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn set_high_water(&self, high: usize) {
        let high = high.max(1);
        self.high.store(high, Ordering::Relaxed);
        if self.low.load(Ordering::Relaxed) > high {
            self.low.store(high, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_low_water(&self, low: usize) {
        self.low.store(low, Ordering::Relaxed);
        if self.high.load(Ordering::Relaxed) < low {
            self.high.store(low.max(1), Ordering::Relaxed);
        }
    }

    pub(crate) fn set_interval(&self, interval: u64, strict: bool) {
        self.interval.store(interval, Ordering::Relaxed);
        self.strict.store(strict, Ordering::Relaxed);
    }

    /// The fd, or -1 when closed or not opened yet.
    pub(crate) fn descriptor(&self) -> c_int {
        if self.closed.load(Ordering::Acquire) {
            return -1;
        }
        match self.entry.lock().unwrap().as_ref().and_then(|e| e.opened()) {
            Some(Ok(o)) => o.fd,
            _ => -1,
        }
    }

    /// Counts a new operation, unless the channel is closed: then `None`.
    fn begin_op(&self) -> Option<Arc<FdEntry>> {
        self.ops.fetch_add(1, Ordering::SeqCst);
        let entry = if self.closed.load(Ordering::SeqCst) {
            None
        } else {
            self.entry.lock().unwrap().as_ref().map(EntryUse::entry)
        };
        if entry.is_none() {
            self.op_finished();
        }
        entry
    }

    /// The last handler of an operation returned.
    pub(crate) fn op_finished(&self) {
        self.ops.fetch_sub(1, Ordering::SeqCst);
        self.maybe_cleanup();
    }

    fn maybe_cleanup(&self) {
        if self.closed.load(Ordering::SeqCst) && self.ops.load(Ordering::SeqCst) == 0 {
            self.run_cleanup();
        }
    }

    /// Lets the fd go and queues the cleanup handler (once).
    fn run_cleanup(&self) {
        let Some(f) = self.cleanup.lock().unwrap().take() else {
            // Still give up the entry (a channel without a cleanup handler).
            let e = self.entry.lock().unwrap().take();
            drop(e);
            return;
        };
        // This channel's share of the entry: when it is the last one, dropping it lets the fd
        // go at once (even if the entry's queue still holds the entry).
        let entry = self.entry.lock().unwrap().take();
        // A path that could not be opened is reported to the operations (their handlers get
        // its errno); the cleanup handler is told only of the channel's own errors, as in
        // libdispatch (its dispatch_io test expects 0 there).
        let err = self.err.load(Ordering::Acquire);
        // The share goes first: its sources leave the reactor and the flags are restored (unless
        // another user still has the fd), so the handler may close the fd.
        drop(entry);
        self.queue.exec_async(move || f(err));
    }

    /// Submits a read (`dir` Read) or write operation.
    pub(crate) fn submit(
        self: &Arc<Self>,
        dir: Dir,
        offset: i64,
        length: usize,
        data: Arc<DataInner>,
        queue: Queue,
        handler: IoHandler,
    ) {
        let Some(entry) = self.begin_op() else {
            // Closed: the handler is told at once (done, ECANCELED).
            let op = Op::new(
                dir,
                false,
                false,
                self.policy(),
                None,
                data::empty().clone(),
                0,
                0,
                queue,
                handler,
            );
            op.deliver(true, None, libc::ECANCELED);
            return;
        };
        let offset = if self.random { self.base + offset } else { 0 };
        let buf = match dir {
            Dir::Read => data::empty().clone(),
            Dir::Write => data,
        };
        let op = Op::new(
            dir,
            false,
            self.random,
            self.policy(),
            Some(self.clone()),
            buf,
            length,
            offset,
            queue,
            handler,
        );
        entry.submit(op);
    }

    /// Runs `f` once every operation submitted before (on any channel of the fd) finished;
    /// later ones wait for it.
    pub(crate) fn barrier(&self, f: Box<dyn FnOnce() + Send>) {
        let entry = self.entry.lock().unwrap().as_ref().map(EntryUse::entry);
        match entry {
            Some(e) => e.barrier(f),
            None => self.queue.exec_async(f),
        }
    }

    /// Closes the channel to new operations; with `stop`, pending ones end with ECANCELED.
    pub(crate) fn close(&self, stop: bool) {
        if stop {
            // SeqCst, as `schedule_pump` and the start of a pump: either the pump that is
            // starting sees `stopped`, or this schedules another one.
            self.stopped.store(true, Ordering::SeqCst);
            let e = self.entry.lock().unwrap().as_ref().map(EntryUse::entry);
            if let Some(e) = e {
                e.schedule_pump();
            }
        }
        self.closed.store(true, Ordering::SeqCst);
        self.maybe_cleanup();
    }
}

impl Drop for ChannelInner {
    fn drop(&mut self) {
        self.obj.kill();
        // The last reference went without a close: the channel is done with the fd now.
        self.run_cleanup();
        if let Some((f, ctx)) = self.extras.take_finalizer() {
            // SAFETY: a fresh item onto a live queue.
            unsafe { self.queue.inner.enqueue(crate::task::c_task(f, ctx, 0)) };
        }
        // SAFETY: built by `new_arc`, dropped now, tag killed.
        unsafe { crate::object::retire_arc(self) };
    }
}

/// The convenience read and write: one operation on `fd`'s entry, delivered once.
pub(crate) fn submit_whole(
    fd: c_int,
    dir: Dir,
    length: usize,
    data: Arc<DataInner>,
    queue: Queue,
    handler: IoHandler,
) {
    let user = FdEntry::for_fd(fd);
    let entry = user.entry();
    let buf = match dir {
        Dir::Read => data::empty().clone(),
        Dir::Write => data,
    };
    let op = Op::new(
        dir,
        true,
        false,
        Policy::WHOLE,
        None,
        buf,
        length,
        0,
        queue,
        handler,
    );
    // Held until the result is final: the handler may close the fd.
    op.progress.lock().unwrap().user = Some(user);
    entry.submit(op);
}
