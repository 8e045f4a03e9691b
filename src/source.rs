//! Dispatch sources: timers, fd readiness, signals, process exit and custom data, delivered
//! to a handler on a target queue.
//!
//! # State machine
//!
//! `state` holds flags and a suspend count. Events *merge* data into `pending` (add, or, or
//! replace, by source type) and set `PENDING`; then `schedule` enqueues the source's embedded
//! `link` on its target queue unless it is already there (`ENQUEUED`), or the source is
//! inactive or suspended. Running the link delivers: the cancel handler if `CANCELED` (exactly
//! once, guarded by `CANCEL_DONE`), else the registration handler once, then the event handler
//! with the data taken from `pending`. When the link finishes it clears `ENQUEUED` and
//! re-schedules itself if anything arrived meanwhile. One link per source means its handlers
//! never overlap, and an event that arrives while a handler is pending is merged into the next
//! delivery, never lost. An fd source is re-armed in the reactor only after its handler ran,
//! which makes delivery level-triggered without spinning; a repeating timer likewise goes back
//! into the timer heap only after its handler ran.
//!
//! The transitions of the state word are the functions of `source/state.rs`; its loom models
//! (`ctest -L loom`) race a cancel against merges and the handler runs they cause, and an
//! activation against a merge and a cancel (`activate` clears INACTIVE and sets REG_PENDING
//! in one step, so the registration handler always runs before the first event handler).
//!
//! Cancellation is final: once `CANCELED` is set, `merge` drops data, and the link is runnable
//! only to run the cancel handler; that run also clears `PENDING` and `REG_PENDING` and sets
//! `CANCEL_DONE`, after which the link is never enqueued again, so the last reference (the
//! user's) frees the source. (Before, a pending flag left set after the cancel made the link
//! re-enqueue itself forever.)

pub(crate) mod state;

use crate::atomics;
use crate::error::{Error, ErrorKind};
use crate::event;
use crate::object::{Kind, ObjExtras, ObjHeader};
use crate::objlock::ObjLock;
use crate::queue::{self, release_raw, retain_raw, QueueInner};
use crate::task::{Action, CFunction, TaskHeader};
use crate::time::Time;
use std::mem::offset_of;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The kinds of source, with the C ABI's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum SourceKind {
    /// Custom data, summed.
    DataAdd = 1,
    /// Custom data, OR-ed.
    DataOr = 2,
    /// Custom data, the last value wins.
    DataReplace = 3,
    /// An fd is readable; data = bytes available.
    Read = 4,
    /// An fd is writable; data = estimated buffer space.
    Write = 5,
    /// A signal was delivered; data = deliveries since the last handler.
    Signal = 6,
    /// A process event; data = the `PROC_*` flags seen.
    Proc = 7,
    /// A timer; data = fires since the last handler.
    Timer = 8,
}

impl SourceKind {
    /// The kind for a C ABI number.
    pub fn from_raw(v: u32) -> Option<SourceKind> {
        use SourceKind::*;
        Some(match v {
            1 => DataAdd,
            2 => DataOr,
            3 => DataReplace,
            4 => Read,
            5 => Write,
            6 => Signal,
            7 => Proc,
            8 => Timer,
            _ => return None,
        })
    }
}

/// Process exit (delivered through a pidfd on Linux).
pub const PROC_EXIT: usize = 0x8000_0000;
/// Process fork (accepted, not delivered).
pub const PROC_FORK: usize = 0x4000_0000;
/// Process exec (accepted, not delivered).
pub const PROC_EXEC: usize = 0x2000_0000;
/// Process signalled (accepted, not delivered).
pub const PROC_SIGNAL: usize = 0x0800_0000;
/// Timer flag: no coalescing with other timers.
pub const TIMER_STRICT: usize = 1;

const ENQUEUED: u64 = 1;
const PENDING: u64 = 2;
const CANCELED: u64 = 4;
const CANCEL_DONE: u64 = 8;
const INACTIVE: u64 = 16;
const REG_PENDING: u64 = 32;
const SUSPEND_ONE: u64 = 1 << 8;
const SUSPEND_MASK: u64 = 0xffff << 8;

/// No timer armed.
pub(crate) const NO_TIMER: u64 = u64::MAX;

#[derive(Clone)]
enum Handler {
    None,
    /// Called with the source's context.
    C(CFunction),
    /// Called with its own context, released when the handler goes (see `CtxHandler`).
    Ctx(Arc<CtxHandler>),
    Rust(Arc<Mutex<Box<dyn FnMut() + Send>>>),
}

/// A C handler with its own context and a function that releases it. The release runs once,
/// when the last `Arc` goes: after the handler was replaced (and any call in flight returned),
/// after the cancel handler ran, or when the source is destroyed.
pub(crate) struct CtxHandler {
    f: CFunction,
    ctx: crate::task::SendPtr,
    release: Option<CFunction>,
}

impl Drop for CtxHandler {
    fn drop(&mut self) {
        if let Some(r) = self.release {
            // SAFETY: the C contract: called once with the handler's context.
            unsafe { r(self.ctx.0) };
        }
    }
}

struct Handlers {
    event: Handler,
    cancel: Handler,
    registration: Handler,
}

#[derive(Clone, Copy)]
enum Which {
    Event,
    Cancel,
    Registration,
}

#[derive(Clone, Copy)]
struct TimerSpec {
    start: Time,
    interval: u64,
    leeway: u64,
}

#[repr(C)]
pub(crate) struct SourceInner {
    pub(crate) obj: ObjHeader,
    pub(crate) extras: ObjExtras,
    link: TaskHeader,
    /// The state word (`state.rs` holds its transitions).
    state: atomics::AtomicU64,
    pending: AtomicU64,
    data: AtomicU64,
    pub(crate) kind: SourceKind,
    pub(crate) handle: usize,
    pub(crate) mask: usize,
    target: AtomicPtr<QueueInner>,
    /// Taken for a few instructions by each handler call and change; a fork never cuts a
    /// holder (`objlock.rs`), so a child can still cancel an inherited source that fired
    /// often in the parent.
    handlers: ObjLock<Handlers>,
    spec: Mutex<Option<TimerSpec>>,
    /// The armed timer (`TimerId::pack`) or `NO_TIMER`; changed under the reactor's timer lock.
    pub(crate) timer: AtomicU64,
    /// A repeating timer that fired and waits for its handler: its next deadline (`NO_TIMER`:
    /// none), interval and leeway. Changed under the reactor's timer lock.
    pub(crate) parked: [AtomicU64; 3],
    /// `fork::generation()` when `parked` was set: a timer parked before a fork is not put
    /// back in a forked child (sources made before a fork do not fire there).
    pub(crate) parked_gen: AtomicU32,
    /// A process source's pidfd (-1 if none).
    pub(crate) pidfd: AtomicI32,
    /// A reader was told of the end of file (data 0): it is not re-armed.
    eof: AtomicBool,
}

// SAFETY: shared state is atomic or behind mutexes; the target pointer is an owned reference.
unsafe impl Send for SourceInner {}
unsafe impl Sync for SourceInner {}

fn bad(msg: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

impl SourceInner {
    /// Creates an inactive source after checking `handle` and `mask` for `kind`.
    pub(crate) fn new(
        kind: SourceKind,
        handle: usize,
        mask: usize,
        target: Option<&QueueInner>,
    ) -> Result<Arc<SourceInner>, Error> {
        use SourceKind::*;
        match kind {
            DataAdd | DataOr | DataReplace => {
                if handle != 0 || mask != 0 {
                    return Err(bad("data sources take handle 0 and mask 0"));
                }
            }
            Read | Write => {
                if mask != 0 {
                    return Err(bad("read/write sources take mask 0"));
                }
                let fd = i32::try_from(handle).map_err(|_| bad("invalid file descriptor"))?;
                // SAFETY: F_GETFD only inspects the descriptor.
                if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                    return Err(bad(format!("invalid file descriptor {handle}")));
                }
            }
            Signal => {
                if mask != 0 {
                    return Err(bad("signal sources take mask 0"));
                }
                if !event::signal_valid(handle) {
                    return Err(bad(format!("signal {handle} cannot be watched")));
                }
            }
            Proc => {
                if mask & !(PROC_EXIT | PROC_FORK | PROC_EXEC | PROC_SIGNAL) != 0 {
                    return Err(bad(format!("unknown process event flags {mask:#x}")));
                }
                if handle == 0 || i32::try_from(handle).is_err() {
                    return Err(bad(format!("invalid process id {handle}")));
                }
            }
            Timer => {
                if handle != 0 || mask & !TIMER_STRICT != 0 {
                    return Err(bad(
                        "timer sources take handle 0 and mask 0 or TIMER_STRICT",
                    ));
                }
            }
        }
        let t: &QueueInner = match target {
            Some(t) => t,
            None => queue::default_root(),
        };
        // SAFETY: `t` is alive; this reference is owned by `target`.
        unsafe { retain_raw(t) };
        Ok(crate::object::new_arc(SourceInner {
            obj: ObjHeader::new(Kind::Source, 0),
            extras: ObjExtras::default(),
            link: TaskHeader::new(source_link, 0),
            state: atomics::AtomicU64::new(INACTIVE),
            pending: AtomicU64::new(0),
            data: AtomicU64::new(0),
            kind,
            handle,
            mask,
            target: AtomicPtr::new(t as *const QueueInner as *mut QueueInner),
            handlers: ObjLock::new(Handlers {
                event: Handler::None,
                cancel: Handler::None,
                registration: Handler::None,
            }),
            spec: Mutex::new(None),
            timer: AtomicU64::new(NO_TIMER),
            parked: [
                AtomicU64::new(NO_TIMER),
                AtomicU64::new(0),
                AtomicU64::new(0),
            ],
            parked_gen: AtomicU32::new(0),
            pidfd: AtomicI32::new(-1),
            eof: AtomicBool::new(false),
        }))
    }

    pub(crate) fn fd(&self) -> i32 {
        self.handle as i32
    }

    pub(crate) fn set_at_eof(&self) {
        self.eof.store(true, Ordering::Release);
    }

    pub(crate) fn at_eof(&self) -> bool {
        self.eof.load(Ordering::Acquire)
    }

    /// Has data been merged that no handler took yet?
    pub(crate) fn has_undelivered(&self) -> bool {
        self.state.load(Ordering::Acquire) & PENDING != 0
    }

    pub(crate) fn is_canceled(&self) -> bool {
        state::is_canceled(&self.state)
    }

    fn target(&self) -> &QueueInner {
        // SAFETY: the source owns a reference to its target.
        unsafe { &*self.target.load(Ordering::Acquire) }
    }

    fn set_handler(&self, which: Which, h: Handler) {
        // Setting a handler (and its context) happens before the handler runs.
        crate::tsan::release(self);
        let old = {
            let mut hs = self.handlers.lock();
            let slot = match which {
                Which::Event => &mut hs.event,
                Which::Cancel => &mut hs.cancel,
                Which::Registration => &mut hs.registration,
            };
            std::mem::replace(slot, h)
        };
        // Dropped outside the lock: a release function may call back into rgcd.
        drop(old);
    }

    /// Drops every handler (after cancellation completed), releasing their contexts.
    fn clear_handlers(&self) {
        let old = {
            let mut hs = self.handlers.lock();
            (
                std::mem::replace(&mut hs.event, Handler::None),
                std::mem::replace(&mut hs.cancel, Handler::None),
                std::mem::replace(&mut hs.registration, Handler::None),
            )
        };
        drop(old);
    }

    pub(crate) fn set_c_handler(&self, which: u8, f: Option<CFunction>) {
        let which = match which {
            0 => Which::Event,
            1 => Which::Cancel,
            _ => Which::Registration,
        };
        self.set_handler(which, f.map_or(Handler::None, Handler::C));
    }

    /// Sets a handler called with its own context; `release(ctx)` runs once it is gone.
    pub(crate) fn set_ctx_handler(
        &self,
        which: u8,
        f: CFunction,
        ctx: *mut std::ffi::c_void,
        release: Option<CFunction>,
    ) {
        let which = match which {
            0 => Which::Event,
            1 => Which::Cancel,
            _ => Which::Registration,
        };
        let h = CtxHandler {
            f,
            ctx: crate::task::SendPtr(ctx),
            release,
        };
        self.set_handler(which, Handler::Ctx(Arc::new(h)));
    }

    fn call(&self, which: Which) {
        crate::tsan::acquire(self);
        let h = {
            let hs = self.handlers.lock();
            match which {
                Which::Event => hs.event.clone(),
                Which::Cancel => hs.cancel.clone(),
                Which::Registration => hs.registration.clone(),
            }
        };
        let r = catch_unwind(AssertUnwindSafe(|| match h {
            Handler::None => {}
            // SAFETY: the C contract: called with the source's context.
            Handler::C(f) => unsafe { f(self.extras.context()) },
            // SAFETY: the C contract: called with the handler's own context.
            Handler::Ctx(h) => unsafe { (h.f)(h.ctx.0) },
            Handler::Rust(f) => (f.lock().unwrap_or_else(|e| e.into_inner()))(),
        }));
        // Handlers of one source never overlap: each is before the next.
        crate::tsan::release(self);
        if let Err(p) = r {
            crate::queue::report_panic(&*p);
        }
    }

    /// Merges event data and schedules delivery. A cancelled source takes no more data.
    pub(crate) fn merge(&self, value: u64) {
        use SourceKind::*;
        // A merge (its caller's past) happens before the handler that delivers its data.
        crate::tsan::release(self);
        if self.is_canceled() {
            return;
        }
        match self.kind {
            DataAdd | Signal | Timer => {
                if value == 0 {
                    return;
                }
                self.pending.fetch_add(value, Ordering::AcqRel);
            }
            DataOr | Proc => {
                if value == 0 {
                    return;
                }
                self.pending.fetch_or(value, Ordering::AcqRel);
            }
            DataReplace => {
                if value == 0 {
                    return;
                }
                self.pending.store(value, Ordering::Release);
            }
            Read | Write => self.pending.store(value, Ordering::Release),
        }
        state::mark_pending(&self.state);
        self.schedule();
    }

    /// Enqueues the link if the source has something to deliver and may deliver it.
    fn schedule(&self) {
        // Activate, resume, cancel: before the handlers they let run.
        crate::tsan::release(self);
        if !state::try_enqueue(&self.state) {
            return;
        }
        // SAFETY: the link owns this reference until it ran.
        unsafe { Arc::increment_strong_count(self as *const SourceInner) };
        // SAFETY: ENQUEUED guarantees the link is in no list.
        unsafe { self.target().enqueue(NonNull::from(&self.link)) };
    }

    fn run(&self) {
        let rec = crate::queue::source_run_begin(self as *const Self as *const libc::c_void);
        match state::begin_run(&self.state) {
            // Suspended after the link was enqueued: deliver on resume.
            state::Run::Stopped | state::Run::Idle => {}
            state::Run::Cancel { first } => {
                // Drop what was pending: a cancelled source delivers nothing but its cancel.
                self.pending.store(0, Ordering::Release);
                if first {
                    self.call(Which::Cancel);
                    // Nothing can run any more: let the handlers (and their contexts) go.
                    self.clear_handlers();
                }
            }
            // The first event is a separate run of the link, enqueued again below: if the
            // registration handler suspended the source (or its target queue got suspended
            // meanwhile), the event waits, as in libdispatch, instead of running in this run
            // after a resume that raced it.
            state::Run::Registration => self.call(Which::Registration),
            state::Run::Event => {
                if self.kind == SourceKind::Timer {
                    event::reactor().catch_up_timer(self, &self.pending);
                }
                let d = self.pending.swap(0, Ordering::AcqRel);
                // `merge` adds its data before it sets PENDING, so a delivery can find the data
                // already taken by the previous one: nothing to deliver then (0 is only an
                // event for a reader at end of file).
                if (d != 0 || self.kind == SourceKind::Read) && !self.is_canceled() {
                    self.data.store(d, Ordering::Release);
                    self.call(Which::Event);
                }
                if !self.is_canceled() {
                    match self.kind {
                        SourceKind::Read | SourceKind::Write => event::reactor().rearm(self),
                        // A repeating timer left the heap when it fired; it goes back now that
                        // its handler ran (fires missed meanwhile are counted then).
                        SourceKind::Timer => {
                            let r = event::reactor();
                            r.rearm_timer(self);
                            r.fire_due_timers();
                        }
                        _ => {}
                    }
                }
            }
        }
        crate::queue::source_run_end(rec);
        if state::end_run(&self.state) {
            self.schedule();
        }
    }

    /// Starts the source: registers it with the reactor and lets it deliver.
    pub(crate) fn activate(self: &Arc<Self>) -> Result<(), Error> {
        // Our own reference until we return: once registered, the source can deliver, and a
        // handler may cancel and release it (a one-shot timer that lets itself go) while this
        // call still looks at it. Seen under valgrind in `c_source_timer_short`, where the
        // measured timer is released a second after its first fire.
        let _this = Arc::clone(self);
        let Some(prev) = state::activate(&self.state) else {
            return Ok(());
        };
        if prev & CANCELED == 0 {
            if let Err(e) = self.register() {
                // As libdispatch: a source that cannot be registered is cancelled (its cancel
                // handler runs once, its registration handler never).
                self.cancel();
                return Err(e);
            }
            if self.is_canceled() {
                // Cancelled while registering: `cancel` may have looked before the
                // registration existed.
                event::reactor().deregister(self);
            }
        }
        self.schedule();
        Ok(())
    }

    fn register(self: &Arc<Self>) -> Result<(), Error> {
        use SourceKind::*;
        let r = event::reactor();
        match self.kind {
            DataAdd | DataOr | DataReplace => Ok(()),
            Read | Write => r.register_fd(self),
            Signal => r.register_signal(self),
            Proc => r.register_proc(self),
            Timer => {
                let spec = *self.spec.lock().unwrap();
                if let Some(spec) = spec {
                    r.arm_timer(self, spec.start, spec.interval, spec.leeway);
                }
                Ok(())
            }
        }
    }

    pub(crate) fn suspend(&self) -> Result<(), Error> {
        let prev = self.state.fetch_add(SUSPEND_ONE, Ordering::AcqRel);
        if prev & SUSPEND_MASK == SUSPEND_MASK {
            self.state.fetch_sub(SUSPEND_ONE, Ordering::AcqRel);
            return Err(Error::new(ErrorKind::State, "suspend count overflow"));
        }
        Ok(())
    }

    pub(crate) fn resume(self: &Arc<Self>) -> Result<(), Error> {
        // As in `activate`: once resumed, a handler may run and release the source before
        // this call has scheduled it.
        let _this = Arc::clone(self);
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & SUSPEND_MASK == 0 {
                if s & INACTIVE != 0 {
                    return self.activate();
                }
                return Err(Error::new(
                    ErrorKind::State,
                    "resume of a source that is not suspended (over-resume)",
                ));
            }
            match self.state.compare_exchange_weak(
                s,
                s - SUSPEND_ONE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(cur) => s = cur,
            }
        }
        self.schedule();
        Ok(())
    }

    /// Cancels: no event handler starts after this returns; the cancel handler runs once.
    pub(crate) fn cancel(&self) {
        let Some(prev) = state::cancel(&self.state) else {
            return;
        };
        if prev & INACTIVE == 0 {
            if let Some(r) = event::reactor_if_started() {
                r.deregister(self);
            }
        }
        self.schedule();
    }

    /// The data of the event being handled.
    pub(crate) fn data(&self) -> u64 {
        self.data.load(Ordering::Acquire)
    }

    /// Sets (or re-arms) a timer source.
    pub(crate) fn set_timer(
        self: &Arc<Self>,
        start: Time,
        interval: u64,
        leeway: u64,
    ) -> Result<(), Error> {
        if self.kind != SourceKind::Timer {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "set_timer needs a timer source",
            ));
        }
        if interval > i64::MAX as u64 && interval != u64::MAX {
            return Err(bad("negative timer interval"));
        }
        if leeway > i64::MAX as u64 && leeway != u64::MAX {
            return Err(bad("negative timer leeway"));
        }
        let leeway = if self.mask & TIMER_STRICT != 0 {
            0
        } else {
            leeway.min(i64::MAX as u64)
        };
        let mut spec = self.spec.lock().unwrap();
        *spec = Some(TimerSpec {
            start,
            interval,
            leeway,
        });
        let s = self.state.load(Ordering::Acquire);
        if s & (INACTIVE | CANCELED) == 0 {
            event::reactor().arm_timer(self, start, interval, leeway);
        }
        Ok(())
    }

    pub(crate) fn set_target(&self, t: &QueueInner) {
        // SAFETY: `t` is alive; the new reference is owned by `target`.
        unsafe { retain_raw(t) };
        let old = self
            .target
            .swap(t as *const QueueInner as *mut QueueInner, Ordering::AcqRel);
        // SAFETY: the reference owned by the old pointer.
        unsafe { release_raw(old) };
    }
}

unsafe fn source_link(t: NonNull<TaskHeader>, action: Action) {
    // SAFETY: `link` is embedded in a SourceInner at this offset.
    let s = unsafe {
        &*((t.as_ptr() as *const u8).sub(offset_of!(SourceInner, link)) as *const SourceInner)
    };
    if action == Action::Run {
        s.run();
    } else {
        s.state.fetch_and(!ENQUEUED, Ordering::AcqRel);
    }
    // SAFETY: the reference taken by `schedule`.
    unsafe { Arc::decrement_strong_count(s as *const SourceInner) };
}

impl Drop for SourceInner {
    fn drop(&mut self) {
        self.obj.kill();
        let fd = self.pidfd.swap(-1, Ordering::AcqRel);
        if fd >= 0 {
            // SAFETY: our pidfd.
            unsafe { libc::close(fd) };
        }
        let target = *self.target.get_mut();
        if let Some((f, ctx)) = self.extras.take_finalizer() {
            // On the target queue, as libdispatch does; the item keeps the queue alive.
            // SAFETY: the source still owns its reference to `target`; a fresh item.
            unsafe { (*target).enqueue(crate::task::c_task(f, ctx, 0)) };
        }
        // SAFETY: the reference owned by `target`.
        unsafe { release_raw(target) };
        // SAFETY: built by `new_arc`, dropped now, tag killed.
        unsafe { crate::object::retire_arc(self) };
    }
}

/// A dispatch source: a handler on a queue, run when an event happens.
///
/// # Examples
///
/// ```
/// use rgcd::{Queue, Source, SourceKind, Time};
/// use std::sync::mpsc;
/// let (tx, rx) = mpsc::channel();
/// let s = Source::new(SourceKind::DataAdd, 0, 0, &Queue::serial("src")).unwrap();
/// let s2 = s.clone();
/// s.set_event_handler(move || tx.send(s2.data()).unwrap());
/// s.activate().unwrap();
/// s.merge_data(2).unwrap();
/// assert!(rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap() >= 2);
/// s.cancel();
/// ```
#[derive(Clone)]
pub struct Source {
    pub(crate) inner: Arc<SourceInner>,
}

impl Source {
    /// Creates an inactive source of `kind` on `handle` (fd, signal, pid; 0 otherwise) with
    /// `mask`, delivering on `queue`.
    pub fn new(
        kind: SourceKind,
        handle: usize,
        mask: usize,
        queue: &crate::Queue,
    ) -> Result<Source, Error> {
        SourceInner::new(kind, handle, mask, Some(&queue.inner)).map(|inner| Source { inner })
    }

    /// Sets the event handler.
    pub fn set_event_handler<F: FnMut() + Send + 'static>(&self, f: F) {
        self.inner.set_handler(
            Which::Event,
            Handler::Rust(Arc::new(Mutex::new(Box::new(f)))),
        );
    }

    /// Sets the cancel handler (runs once, after the last event handler).
    pub fn set_cancel_handler<F: FnMut() + Send + 'static>(&self, f: F) {
        self.inner.set_handler(
            Which::Cancel,
            Handler::Rust(Arc::new(Mutex::new(Box::new(f)))),
        );
    }

    /// Sets the registration handler (runs once, when the source starts).
    pub fn set_registration_handler<F: FnMut() + Send + 'static>(&self, f: F) {
        self.inner.set_handler(
            Which::Registration,
            Handler::Rust(Arc::new(Mutex::new(Box::new(f)))),
        );
    }

    /// Starts delivering events. A registration that fails (an fd closed since the source
    /// was created, say) is an error, and the source is then cancelled: its cancel handler
    /// runs once.
    pub fn activate(&self) -> Result<(), Error> {
        self.inner.activate()
    }

    /// Suspends delivery (events merge meanwhile).
    pub fn suspend(&self) -> Result<(), Error> {
        self.inner.suspend()
    }

    /// Resumes delivery.
    pub fn resume(&self) -> Result<(), Error> {
        self.inner.resume()
    }

    /// Cancels the source (asynchronously; see the module docs).
    pub fn cancel(&self) {
        self.inner.cancel()
    }

    /// Has the source been cancelled?
    pub fn is_canceled(&self) -> bool {
        self.inner.is_canceled()
    }

    /// The data of the event being handled.
    pub fn data(&self) -> u64 {
        self.inner.data()
    }

    /// Merges `value` into a data source.
    pub fn merge_data(&self, value: u64) -> Result<(), Error> {
        if !matches!(
            self.inner.kind,
            SourceKind::DataAdd | SourceKind::DataOr | SourceKind::DataReplace
        ) {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "merge_data needs a data source",
            ));
        }
        self.inner.merge(value);
        Ok(())
    }

    /// Arms a timer source: first fire at `start`, then every `interval` ns (`u64::MAX`: once),
    /// each fire allowed `leeway` ns late.
    pub fn set_timer(&self, start: Time, interval: u64, leeway: u64) -> Result<(), Error> {
        self.inner.set_timer(start, interval, leeway)
    }
}

/// In a forked child: the link of `source` was running on a thread that did not survive the
/// fork (`queue::source_run_begin`). Its ENQUEUED flag is given back, and the link enqueued
/// again if the source has something to deliver; otherwise the source would never deliver in
/// the child. The run's own reference is leaked (its thread is gone).
///
/// # Safety
/// Only in a forked child, before any other thread exists; `source` is a live `SourceInner`.
pub(crate) unsafe fn recover_after_fork(source: *const libc::c_void) {
    // SAFETY: per the contract.
    let s = unsafe { &*(source as *const SourceInner) };
    if state::end_run(&s.state) {
        s.schedule();
    }
}
