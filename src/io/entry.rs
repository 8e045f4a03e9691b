//! The fd entry: one per file descriptor (or per path channel), shared by every channel and
//! convenience call on it. It owns a serial queue on which all I/O for the fd runs, the FIFO
//! of submitted operations and barriers, and — for pipes, sockets and other pollable fds — a
//! read and a write source that wake it when the fd is ready (see `README.md`).

use super::op::{Dir, Op, Progress, MAX_BACKLOG};
use crate::data::{BoxedBytes, DataInner, Owner};
use crate::source::{Source, SourceKind};
use crate::{Queue, Time};
use std::collections::{HashMap, VecDeque};
use std::ffi::{c_int, CString};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Bytes per read or write of a regular file.
const FILE_CHUNK: usize = 1 << 20;
/// Bytes per read of a pipe or socket (reads go on until the fd would block).
const STREAM_CHUNK: usize = 64 << 10;
/// A stream read that keeps finding data delivers (low water permitting) every this many bytes.
const STREAM_FLUSH: usize = 1 << 20;
/// System calls per turn of the pump before it yields its queue.
const BUDGET: usize = 64;
/// Regions per writev.
const MAX_IOV: usize = 64;

/// The opened descriptor.
#[derive(Clone, Copy)]
pub(crate) struct Opened {
    pub(crate) fd: c_int,
    /// A regular file or block device: always "ready", so reads and writes may block on the
    /// disk; they run inside `pool::blocking`.
    pub(crate) file: bool,
}

enum Item {
    Op(Arc<Op>),
    Barrier(Box<dyn FnOnce() + Send>),
}

struct State {
    /// `None` until a path is opened; `Err(errno)` when opening (or checking) it failed.
    opened: Option<Result<Opened, i32>>,
    items: VecDeque<Item>,
    /// The read source is active and the first read waits for it (else it is suspended).
    read_wait: bool,
    write_wait: bool,
    read_src: Option<Source>,
    write_src: Option<Source>,
}

pub(crate) struct FdEntry {
    q: Queue,
    st: Mutex<State>,
    pump_scheduled: AtomicBool,
    path: Option<(CString, c_int, libc::mode_t)>,
    /// In the fd table (entries for descriptors the caller owns; not path entries).
    shared_fd: Option<c_int>,
    /// The open file status flags to restore when the entry goes (O_NONBLOCK was added).
    restore: Mutex<Option<c_int>>,
    /// The `EntryUse`s alive (changed under the table lock).
    users: AtomicUsize,
    /// The last user left and the entry let the fd go (set under the table lock; see
    /// `EntryUse`).
    retired: AtomicBool,
    /// `preadv2(RWF_NOWAIT)` is not supported on this fd (see `read_cached`).
    no_nowait: AtomicBool,
    /// The file the shared fd referred to when the entry was made (device, inode), and
    /// whether it is a stream (made non-blocking), to tell a reused number from the same
    /// file (see `for_fd`).
    ident: Option<(u64, u64, bool)>,
}

/// A user's share of an entry: a channel holds one until its cleanup, a convenience call
/// until its result is final. When the last share goes, the entry lets the fd go at once —
/// out of the fd table, sources cancelled, flags restored (a path entry's fd closed) — even
/// while its queue still holds references (a pump turn that is finishing, an operation not yet
/// taken off the list). The user may then close the fd, and a new fd with the same number
/// gets a new entry: finding the old one would skip the switch to `O_NONBLOCK` (a read would
/// block the entry's queue for good) and watch the fd through sources of a closed file.
pub(crate) struct EntryUse(Arc<FdEntry>);

impl EntryUse {
    /// The entry itself (for its queue; not a share).
    pub(crate) fn entry(&self) -> Arc<FdEntry> {
        self.0.clone()
    }

    /// One more share of the same entry.
    pub(crate) fn share(&self) -> EntryUse {
        let _t = table().lock().unwrap();
        self.0.users.fetch_add(1, Ordering::Relaxed);
        EntryUse(self.0.clone())
    }
}

impl std::ops::Deref for EntryUse {
    type Target = FdEntry;
    fn deref(&self) -> &FdEntry {
        &self.0
    }
}

impl Drop for EntryUse {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Entries by fd, so that every channel and convenience call on one fd shares its ordering.
struct Slot {
    entry: Weak<FdEntry>,
    /// The flags to restore, handed on when a dying entry is replaced by one for the same
    /// file.
    restore: Option<c_int>,
    /// The file (device, inode) the entry was made for.
    ident: Option<(u64, u64)>,
}

fn table() -> &'static Mutex<HashMap<c_int, Slot>> {
    static T: OnceLock<Mutex<HashMap<c_int, Slot>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Before a fork (see `src/fork.rs`): the fd table and the buffer pool.
pub(crate) fn fork_lock(held: &mut crate::fork::Held) -> bool {
    held.lock(table()) && held.lock(&POOL)
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The (device, inode) of the file `fd` refers to.
fn file_ident(fd: c_int) -> Option<(u64, u64)> {
    // SAFETY: fstat writes into a local struct.
    let mut stbuf: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut stbuf) } != 0 {
        return None;
    }
    Some((stbuf.st_dev, stbuf.st_ino))
}

/// Classifies `fd`: a regular file (or block device), or a stream made non-blocking (the
/// flags to restore are returned).
fn classify(fd: c_int) -> Result<(Opened, Option<c_int>), i32> {
    // SAFETY: fstat writes into a local struct.
    let mut stbuf: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut stbuf) } != 0 {
        return Err(errno());
    }
    let fmt = stbuf.st_mode & libc::S_IFMT;
    if fmt == libc::S_IFREG || fmt == libc::S_IFBLK {
        return Ok((Opened { fd, file: true }, None));
    }
    // SAFETY: F_GETFL/F_SETFL only change the fd's status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(errno());
    }
    let mut restore = None;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } != 0 {
            return Err(errno());
        }
        restore = Some(flags);
    }
    Ok((Opened { fd, file: false }, restore))
}

impl FdEntry {
    fn new(
        opened: Option<Result<Opened, i32>>,
        path: Option<(CString, c_int, libc::mode_t)>,
        shared_fd: Option<c_int>,
        restore: Option<c_int>,
    ) -> Arc<FdEntry> {
        Arc::new(FdEntry {
            q: Queue::serial("rgcd.io"),
            st: Mutex::new(State {
                opened,
                items: VecDeque::new(),
                read_wait: false,
                write_wait: false,
                read_src: None,
                write_src: None,
            }),
            pump_scheduled: AtomicBool::new(false),
            path,
            shared_fd,
            restore: Mutex::new(restore),
            users: AtomicUsize::new(1),
            retired: AtomicBool::new(false),
            no_nowait: AtomicBool::new(false),
            ident: None,
        })
    }

    /// A share of the entry of `fd` (shared with every other user of it). A descriptor that
    /// cannot be used gives an entry whose operations fail with its errno.
    pub(crate) fn for_fd(fd: c_int) -> EntryUse {
        let mut t = table().lock().unwrap();
        let ident = file_ident(fd);
        let inherited = match t.get(&fd) {
            Some(slot) => match slot.entry.upgrade() {
                // Listed, so not retired (retiring unlists it under this lock) — but the
                // number may have been closed and reused while a user still held the entry
                // (a program that closes the fd after its last handler and before the cleanup
                // handler): then the entry belongs to the old file. Sharing it would skip making
                // the new file non-blocking; it is left to its users, and unlisted, so that it
                // never restores its flags onto the new file.
                Some(e) if e.is_same_file(fd, ident) => {
                    e.users.fetch_add(1, Ordering::Relaxed);
                    return EntryUse(e);
                }
                Some(_) => {
                    t.remove(&fd);
                    None
                }
                // Dying: it will not restore the flags; whoever takes its place does (if it
                // is for the same file: a reused number's new file keeps its own flags).
                None if slot.ident == ident => Some(slot.restore),
                None => None,
            },
            None => None,
        };
        let (opened, restore) = match classify(fd) {
            Ok((o, r)) => (Ok(o), inherited.unwrap_or(r)),
            Err(e) => (Err(e), None),
        };
        if opened.is_err() {
            return EntryUse(FdEntry::new(Some(opened), None, None, None));
        }
        let stream = matches!(opened, Ok(o) if !o.file);
        let mut e = FdEntry::new(Some(opened), None, Some(fd), None);
        Arc::get_mut(&mut e).expect("new").ident = ident.map(|(d, i)| (d, i, stream));
        t.insert(
            fd,
            Slot {
                entry: Arc::downgrade(&e),
                restore,
                ident,
            },
        );
        EntryUse(e)
    }

    /// Does the shared fd still refer to the file this entry was made for? (A stream entry
    /// also made it non-blocking: a number reused by a file opened anew, even the same
    /// pipe or FIFO, lacks the flag.)
    fn is_same_file(&self, fd: c_int, now: Option<(u64, u64)>) -> bool {
        let Some((dev, ino, stream)) = self.ident else {
            return false;
        };
        if now != Some((dev, ino)) {
            return false;
        }
        // SAFETY: F_GETFL only reads the fd's status flags.
        !stream || unsafe { libc::fcntl(fd, libc::F_GETFL) } & libc::O_NONBLOCK != 0
    }

    /// An entry for a path, opened when its first operation or barrier runs.
    pub(crate) fn for_path(path: CString, oflag: c_int, mode: libc::mode_t) -> EntryUse {
        EntryUse(FdEntry::new(None, Some((path, oflag, mode)), None, None))
    }

    /// An `EntryUse` went: the last one retires the entry.
    fn release(&self) {
        {
            let mut t = table().lock().unwrap();
            if self.users.fetch_sub(1, Ordering::AcqRel) != 1 {
                return;
            }
            self.retired.store(true, Ordering::Release);
            self.unlist(&mut t);
        }
        self.let_go();
    }

    /// Takes a shared fd's entry out of the table (if it is still the one listed) and
    /// restores the fd's flags.
    fn unlist(&self, t: &mut HashMap<c_int, Slot>) {
        let Some(shared) = self.shared_fd else { return };
        let mine = t
            .get(&shared)
            .is_some_and(|s| std::ptr::eq(s.entry.as_ptr(), self as *const FdEntry));
        if mine {
            let slot = t.remove(&shared).expect("present");
            if let Some(flags) = slot.restore {
                // SAFETY: restores the flags this entry changed.
                unsafe { libc::fcntl(shared, libc::F_SETFL, flags) };
            }
        }
    }

    /// Stops using the fd (once no user is left): cancelling the sources takes it out of the
    /// reactor at once, so the user may close it after; a path entry restores the flags of
    /// its own fd and closes it. The entry reports `ECANCELED` from then on instead of an fd,
    /// so nothing left on its queue touches the number again (nor opens the path).
    fn let_go(&self) {
        let (srcs, fd) = {
            let mut st = self.st.lock().unwrap();
            let srcs = [st.read_src.take(), st.write_src.take()];
            st.read_wait = false;
            st.write_wait = false;
            let fd = match st.opened {
                Some(Ok(o)) => o.fd,
                _ => -1,
            };
            if !matches!(st.opened, Some(Err(_))) {
                st.opened = Some(Err(libc::ECANCELED));
            }
            (srcs, fd)
        };
        for s in srcs.into_iter().flatten() {
            s.cancel();
        }
        if self.shared_fd.is_none() && fd >= 0 {
            if let Some(flags) = self.restore.lock().unwrap().take() {
                // SAFETY: our own fd (a path entry).
                unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
            }
            // SAFETY: a path entry opened this fd and owns it.
            unsafe { libc::close(fd) };
        }
    }

    /// The descriptor, if opened.
    pub(crate) fn opened(&self) -> Option<Result<Opened, i32>> {
        self.st.lock().unwrap().opened
    }

    /// Opens a path entry (on the entry's queue; open may block).
    fn ensure_open(&self) -> Result<Opened, i32> {
        if let Some(o) = self.st.lock().unwrap().opened {
            return o;
        }
        let (path, oflag, mode) = self.path.as_ref().expect("an unopened entry has a path");
        // Blocks outside the lock; the entry may retire meanwhile (then the fd is closed).
        let r = crate::pool::blocking(|| {
            // SAFETY: a NUL-terminated path.
            let fd = unsafe { libc::open(path.as_ptr(), *oflag | libc::O_CLOEXEC, *mode as c_int) };
            if fd < 0 {
                return Err(errno());
            }
            match classify(fd) {
                Ok((o, r)) => {
                    *self.restore.lock().unwrap() = r;
                    Ok(o)
                }
                Err(e) => {
                    // SAFETY: our own fd.
                    unsafe { libc::close(fd) };
                    Err(e)
                }
            }
        });
        let mut st = self.st.lock().unwrap();
        if let Some(o) = st.opened {
            // Retired while opening: the fd is not wanted any more.
            if let Ok(mine) = r {
                // SAFETY: our own fd, just opened.
                unsafe { libc::close(mine.fd) };
            }
            return o;
        }
        st.opened = Some(r);
        r
    }

    /// Adds an operation; it starts after every earlier barrier and every earlier operation
    /// in its direction.
    pub(crate) fn submit(self: &Arc<Self>, op: Arc<Op>) {
        *op.entry.lock().unwrap() = Some(self.clone());
        self.st.lock().unwrap().items.push_back(Item::Op(op));
        self.schedule_pump();
    }

    /// Adds a barrier: runs once every earlier item finished; later items wait for it.
    pub(crate) fn barrier(self: &Arc<Self>, f: Box<dyn FnOnce() + Send>) {
        self.st.lock().unwrap().items.push_back(Item::Barrier(f));
        self.schedule_pump();
    }

    pub(crate) fn schedule_pump(self: &Arc<Self>) {
        // SeqCst: a pump clears the flag and then looks at the items (and whether their
        // channels stopped); a state change made before this call is seen by a pump that
        // starts after the swap, or the swap finds the flag clear and queues one.
        if !self.pump_scheduled.swap(true, Ordering::SeqCst) {
            let e = self.clone();
            self.q.exec_async(move || e.pump());
        }
    }

    /// Runs on the entry's queue: starts barriers and steps the first operation of each
    /// direction until both wait for the fd (or are done), or the budget is spent.
    fn pump(self: &Arc<Self>) {
        self.pump_scheduled.store(false, Ordering::SeqCst);
        let mut budget = BUDGET;
        loop {
            enum Next {
                Barrier(Box<dyn FnOnce() + Send>),
                Ops(Vec<Arc<Op>>),
            }
            let (next, opened) = {
                let mut st = self.st.lock().unwrap();
                if st.items.is_empty() {
                    return;
                }
                let opened = st.opened;
                if let Some(Item::Barrier(_)) = st.items.front() {
                    let Some(Item::Barrier(f)) = st.items.pop_front() else {
                        unreachable!()
                    };
                    (Next::Barrier(f), opened)
                } else {
                    let mut ops = Vec::with_capacity(2);
                    let (mut seen_r, mut seen_w) = (false, false);
                    for it in st.items.iter() {
                        match it {
                            Item::Barrier(_) => break,
                            Item::Op(op) => {
                                let (seen, wait) = match op.dir {
                                    Dir::Read => (&mut seen_r, st.read_wait),
                                    Dir::Write => (&mut seen_w, st.write_wait),
                                };
                                if !*seen {
                                    *seen = true;
                                    // A stopped op ends now even while it waits for the fd.
                                    if !wait || op.is_stopped() {
                                        ops.push(op.clone());
                                    }
                                }
                            }
                        }
                    }
                    (Next::Ops(ops), opened)
                }
            };
            let opened = match opened {
                Some(o) => o,
                None => self.ensure_open(),
            };
            match next {
                Next::Barrier(f) => {
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
                    if let Err(p) = r {
                        crate::queue::report_panic(&*p);
                    }
                }
                Next::Ops(ops) => {
                    let mut progressed = false;
                    for op in ops {
                        if op.dir == Dir::Read && self.throttle(&op) {
                            continue;
                        }
                        match self.step(&op, opened) {
                            Step::Again => progressed = true,
                            Step::Done => {
                                self.remove(&op);
                                progressed = true;
                            }
                            Step::Blocked => self.wait_ready(op.dir),
                        }
                    }
                    if !progressed {
                        return;
                    }
                }
            }
            budget -= 1;
            if budget == 0 {
                self.schedule_pump();
                return;
            }
        }
    }

    /// Should a read pause because its handler lags behind? The drain restarts the pump once
    /// it caught up (`throttled` is set before the backlog is looked at again, and the drain
    /// looks at `throttled` after it took a call off the backlog, so one of them sees the
    /// other).
    fn throttle(&self, op: &Op) -> bool {
        if op.whole || op.backlog() < MAX_BACKLOG || op.is_stopped() {
            return false;
        }
        op.throttled.store(true, Ordering::SeqCst);
        if op.backlog() < MAX_BACKLOG {
            op.throttled.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    fn remove(&self, op: &Arc<Op>) {
        let removed = {
            let mut st = self.st.lock().unwrap();
            st.items
                .iter()
                .position(|it| matches!(it, Item::Op(o) if Arc::ptr_eq(o, op)))
                .and_then(|i| st.items.remove(i))
        };
        let held = op.entry.lock().unwrap().take();
        drop(removed);
        drop(held);
    }

    /// One system call of `op`.
    fn step(self: &Arc<Self>, op: &Arc<Op>, opened: Result<Opened, i32>) -> Step {
        let mut p = op.progress.lock().unwrap();
        if p.done {
            return Step::Done;
        }
        let o = match opened {
            Ok(o) => o,
            Err(e) => {
                op.finish(&mut p, e);
                return Step::Done;
            }
        };
        if op.is_stopped() {
            op.finish(&mut p, libc::ECANCELED);
            return Step::Done;
        }
        if !p.started {
            p.started = true;
            self.start_interval(op, &mut p);
        }
        match op.dir {
            Dir::Read => self.step_read(op, &mut p, o),
            Dir::Write => self.step_write(op, &mut p, o),
        }
    }

    fn step_read(&self, op: &Arc<Op>, p: &mut Progress, o: Opened) -> Step {
        if p.remaining == 0 {
            op.finish(p, 0);
            return Step::Done;
        }
        let chunk = if o.file { FILE_CHUNK } else { STREAM_CHUNK };
        let want = p.remaining.min(chunk);
        // Reads go into pooled chunk buffers that return when their data object is released,
        // so a long read reuses a few warm buffers instead of faulting in fresh memory (and
        // allocating) for every chunk.
        let mut b = take_buffer(chunk);
        let buf = b.as_mut_ptr() as *mut libc::c_void;
        let call = || loop {
            // SAFETY: `buf` has room for `want` bytes.
            let n = unsafe {
                if op.positional {
                    libc::pread(o.fd, buf, want, p.offset)
                } else {
                    libc::read(o.fd, buf, want)
                }
            };
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            return if n < 0 { Err(errno()) } else { Ok(n as usize) };
        };
        let r = if o.file {
            let at = if op.positional { p.offset } else { -1 };
            match self.read_cached(o.fd, buf, want, at) {
                Some(n) => Ok(n),
                None => crate::pool::blocking(call),
            }
        } else {
            call()
        };
        match r {
            Ok(0) => {
                give_back(b);
                op.finish(p, 0);
                Step::Done
            }
            Ok(n) => {
                let d = if n >= chunk / KEEP_FRACTION {
                    let buf = BoxedBytes::new(b);
                    let ptr = buf.as_ptr();
                    let owner = Owner::Recycle { buf, to: give_back };
                    // SAFETY: `n` bytes of the buffer, which the owner keeps alive.
                    unsafe { DataInner::create(ptr, n, owner) }.expect("non-null buffer")
                } else {
                    // A small read would pin a whole chunk buffer for a few bytes (for as long
                    // as the caller keeps the data): copy it out and reuse the buffer now.
                    let d = DataInner::copy_of(&b[..n]);
                    give_back(b);
                    d
                };
                p.buf = DataInner::concat(&p.buf, &d);
                p.offset += n as i64;
                if p.remaining != usize::MAX {
                    p.remaining -= n;
                }
                op.deliver_high_pieces(p);
                if p.remaining == 0 {
                    op.finish(p, 0);
                    return Step::Done;
                }
                if !o.file && n < want {
                    // A pipe or socket gave less than asked: it is empty now, so go straight
                    // to waiting for it (armed level-triggered, the source fires at once if
                    // more came meanwhile) instead of a read that would fail with EAGAIN.
                    return read_would_block(op, p);
                }
                if (o.file || p.buf.size() >= STREAM_FLUSH) && partial_ok(op, p.buf.size()) {
                    op.deliver_buffered(p);
                }
                Step::Again
            }
            Err(e) if e == libc::EAGAIN || e == libc::EWOULDBLOCK => {
                give_back(b);
                read_would_block(op, p)
            }
            Err(e) => {
                give_back(b);
                op.finish(p, e);
                Step::Done
            }
        }
    }

    /// A file read served from the page cache, if all or part of the range is cached:
    /// `preadv2(RWF_NOWAIT)` reads without waiting for the disk, so it needs no
    /// `pool::blocking` (which would wake another worker for whatever is queued). `None`: the
    /// read would block (or the kernel cannot say, or end of file): do the ordinary read.
    fn read_cached(
        &self,
        fd: c_int,
        buf: *mut libc::c_void,
        want: usize,
        at: i64,
    ) -> Option<usize> {
        if self.no_nowait.load(Ordering::Relaxed) {
            return None;
        }
        let iov = libc::iovec {
            iov_base: buf,
            iov_len: want,
        };
        // SAFETY: `buf` has room for `want` bytes; `at` is -1 (the file position) or an offset.
        let n = unsafe { libc::preadv2(fd, &iov, 1, at, libc::RWF_NOWAIT) };
        if n > 0 {
            return Some(n as usize);
        }
        if n < 0 && matches!(errno(), libc::EOPNOTSUPP | libc::ENOSYS) {
            // This file (system) does not do non-blocking reads: do not ask again.
            self.no_nowait.store(true, Ordering::Relaxed);
        }
        None
    }

    fn step_write(&self, op: &Arc<Op>, p: &mut Progress, o: Opened) -> Step {
        if p.buf.size() == 0 {
            op.finish(p, 0);
            return Step::Done;
        }
        let limit = if o.file { FILE_CHUNK } else { usize::MAX };
        let mut iov: Vec<libc::iovec> = Vec::with_capacity(4);
        let mut total = 0usize;
        p.buf.apply(|_, _, b| {
            let take = b.len().min(limit - total);
            iov.push(libc::iovec {
                iov_base: b.as_ptr() as *mut libc::c_void,
                iov_len: take,
            });
            total += take;
            iov.len() < MAX_IOV && total < limit
        });
        let call = || loop {
            // SAFETY: the iovecs point into `p.buf`, alive for the call.
            let n = unsafe {
                if op.positional {
                    libc::pwritev(o.fd, iov.as_ptr(), iov.len() as c_int, p.offset)
                } else {
                    libc::writev(o.fd, iov.as_ptr(), iov.len() as c_int)
                }
            };
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            return if n < 0 { Err(errno()) } else { Ok(n as usize) };
        };
        let r = if o.file {
            crate::pool::blocking(call)
        } else {
            call()
        };
        match r {
            Ok(n) => {
                p.buf = p.buf.subrange(n, usize::MAX);
                p.offset += n as i64;
                p.since += n;
                if p.buf.size() == 0 {
                    op.finish(p, 0);
                    return Step::Done;
                }
                let high = op.policy.high.max(1);
                let high_reached = !op.whole && high != usize::MAX && p.since >= high;
                if high_reached || (o.file && partial_ok(op, p.since)) {
                    op.deliver_progress(p);
                }
                if !o.file && n < total {
                    // A pipe or socket took less than offered: it is full now, so wait for
                    // room instead of a write that would fail with EAGAIN.
                    if partial_ok(op, p.since) {
                        op.deliver_progress(p);
                    }
                    return Step::Blocked;
                }
                Step::Again
            }
            Err(e) if e == libc::EAGAIN || e == libc::EWOULDBLOCK => {
                if partial_ok(op, p.since) {
                    op.deliver_progress(p);
                }
                Step::Blocked
            }
            Err(e) => {
                op.finish(p, e);
                Step::Done
            }
        }
    }

    /// Arms the fd's source for `dir` (its handler runs the pump when the fd is ready).
    fn wait_ready(self: &Arc<Self>, dir: Dir) {
        let mut st = self.st.lock().unwrap();
        let Some(Ok(o)) = st.opened else { return };
        let wait = match dir {
            Dir::Read => st.read_wait,
            Dir::Write => st.write_wait,
        };
        if wait {
            return;
        }
        let has = match dir {
            Dir::Read => st.read_src.is_some(),
            Dir::Write => st.write_src.is_some(),
        };
        let r = if has {
            let s = match dir {
                Dir::Read => st.read_src.as_ref(),
                Dir::Write => st.write_src.as_ref(),
            };
            s.expect("source").resume()
        } else {
            let kind = match dir {
                Dir::Read => SourceKind::Read,
                Dir::Write => SourceKind::Write,
            };
            match Source::new(kind, o.fd as usize, 0, &self.q) {
                Ok(s) => {
                    let w = Arc::downgrade(self);
                    s.set_event_handler(move || {
                        if let Some(e) = w.upgrade() {
                            e.on_ready(dir);
                        }
                    });
                    let r = s.activate();
                    match dir {
                        Dir::Read => st.read_src = Some(s),
                        Dir::Write => st.write_src = Some(s),
                    }
                    r
                }
                Err(e) => Err(e),
            }
        };
        match r {
            Ok(()) => match dir {
                Dir::Read => st.read_wait = true,
                Dir::Write => st.write_wait = true,
            },
            Err(_) => {
                // The fd cannot be watched (closed under us?): fail the waiting operation.
                drop(st);
                self.fail_first(dir, libc::EBADF);
            }
        }
    }

    fn fail_first(self: &Arc<Self>, dir: Dir, err: i32) {
        let op = {
            let st = self.st.lock().unwrap();
            st.items.iter().find_map(|it| match it {
                Item::Op(o) if o.dir == dir => Some(o.clone()),
                _ => None,
            })
        };
        if let Some(op) = op {
            op.finish(&mut op.progress.lock().unwrap(), err);
            self.remove(&op);
            self.schedule_pump();
        }
    }

    /// The fd is ready for `dir` (on the entry's queue): stop watching, run the pump.
    fn on_ready(self: &Arc<Self>, dir: Dir) {
        {
            let mut guard = self.st.lock().unwrap();
            let st = &mut *guard;
            let (wait, src) = match dir {
                Dir::Read => (&mut st.read_wait, st.read_src.as_ref()),
                Dir::Write => (&mut st.write_wait, st.write_src.as_ref()),
            };
            if *wait {
                *wait = false;
                if let Some(s) = src {
                    let _ = s.suspend();
                }
            }
        }
        self.pump();
    }

    /// Starts the interval timer of `op`, if its policy has one.
    fn start_interval(self: &Arc<Self>, op: &Arc<Op>, p: &mut Progress) {
        let interval = op.policy.interval;
        if interval == 0 || op.whole {
            return;
        }
        let Ok(t) = Source::new(SourceKind::Timer, 0, 0, &self.q) else {
            return;
        };
        let wo = Arc::downgrade(op);
        t.set_event_handler(move || {
            if let Some(op) = wo.upgrade() {
                interval_tick(&op);
            }
        });
        if t.set_timer(
            Time::after_nanos(interval.min(i64::MAX as u64) as i64),
            interval,
            interval / 10,
        )
        .is_ok()
            && t.activate().is_ok()
        {
            p.timer = Some(t);
        }
    }
}

/// A read found its pipe or socket empty: a convenience read that has bytes ends, other reads
/// deliver what is buffered (low water permitting) and wait for the fd.
fn read_would_block(op: &Arc<Op>, p: &mut Progress) -> Step {
    if op.whole && p.buf.size() > 0 {
        op.finish(p, 0);
        return Step::Done;
    }
    if partial_ok(op, p.buf.size()) {
        op.deliver_buffered(p);
    }
    Step::Blocked
}

/// An interval passed: deliver what is ready (any amount under STRICT, else at least the low
/// water mark).
fn interval_tick(op: &Arc<Op>) {
    let mut p = op.progress.lock().unwrap();
    if p.done {
        return;
    }
    match op.dir {
        Dir::Read => {
            let n = p.buf.size();
            if op.policy.strict || (n > 0 && n >= op.policy.low) {
                op.deliver_buffered(&mut p);
            }
        }
        Dir::Write => {
            let n = p.since;
            if op.policy.strict || (n > 0 && n >= op.policy.low) {
                op.deliver_progress(&mut p);
            }
        }
    }
}

/// Chunk buffers not in use, per size (file and stream chunks), at most `POOL_MAX` each.
static POOL: Mutex<[Vec<Box<[u8]>>; 2]> = Mutex::new([Vec::new(), Vec::new()]);
const POOL_MAX: usize = 8;
/// A read of less than `1 / KEEP_FRACTION` of its buffer is copied out (see `step_read`).
const KEEP_FRACTION: usize = 4;

fn pool_index(size: usize) -> usize {
    usize::from(size == FILE_CHUNK)
}

fn take_buffer(size: usize) -> Box<[u8]> {
    if let Some(b) = POOL.lock().unwrap()[pool_index(size)].pop() {
        return b;
    }
    vec![0u8; size].into_boxed_slice()
}

fn give_back(b: Box<[u8]>) {
    let mut pool = POOL.lock().unwrap();
    let list = &mut pool[pool_index(b.len())];
    if list.len() < POOL_MAX {
        list.push(b);
    }
}

/// May `n` bytes be delivered as a partial result now? Not for the convenience calls, not
/// with an interval (that delivers on its ticks), not below the low water mark.
fn partial_ok(op: &Op, n: usize) -> bool {
    !op.whole && op.policy.interval == 0 && n > 0 && n >= op.policy.low
}

enum Step {
    Again,
    Blocked,
    Done,
}

impl Drop for FdEntry {
    fn drop(&mut self) {
        // Normally the last `EntryUse` retired the entry already.
        if !self.retired.load(Ordering::Acquire) {
            let mut t = table().lock().unwrap();
            self.unlist(&mut t);
        }
        self.let_go();
    }
}
