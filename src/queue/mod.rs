//! Queues: serial and concurrent queues, the root (global) queues, the main queue, target
//! hierarchies, suspend/resume, activation and queue-specific data.
//!
//! The state machine is explained in `README.md` beside this file.

mod drain;
mod label;
pub(crate) mod list;
mod main_queue;
mod qref;
pub(crate) mod state;
mod sync;

use crate::atomics::AtomicU64;
use crate::error::{Error, ErrorKind};
use crate::object::{Finalizer, Kind, ObjExtras, ObjHeader};
use crate::pool::{pool, Job, NUM_ROOTS};
use crate::task::{
    self, Action, CFunction, SendPtr, TaskHeader, BARRIER, QUEUE_LINK, RETARGET, SYNC_WAITER,
};
use label::Label;
use list::List;
use std::ffi::{c_void, CStr};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

pub(crate) use qref::QueueRef;

pub(crate) use drain::{execute, report_panic};
pub use main_queue::main;
pub(crate) use main_queue::{fork_lock as main_fork_lock, is_main_thread};
pub(crate) use sync::{
    current_label, current_queue_or_default, current_specific, fork_lock as frames_fork_lock,
    own_frame_queues, recover_all_dead_frames, register_worker_frames, runs_on, source_run_begin,
    source_run_end, sync_raw, sync_serial_f, with_frame,
};

// The state word (see README.md).
pub(crate) const LOCKED: u64 = 1;
pub(crate) const INACTIVE: u64 = 2;
pub(crate) const BARRIER_WAIT: u64 = 4;
pub(crate) const WIDTH_WAIT: u64 = 8;
pub(crate) const SUSPEND_ONE: u64 = 1 << 8;
pub(crate) const SUSPEND_MASK: u64 = 0xffff << 8;
pub(crate) const INFLIGHT_ONE: u64 = 1 << 32;
const WIDTH_SHIFT: u32 = 24;
const WIDTH_MASK: u64 = 0xff << WIDTH_SHIFT;
/// The largest width limit kept; wider settings mean no limit of the queue's own.
pub(crate) const MAX_WIDTH: u64 = 0xff;

#[inline]
pub(crate) fn inflight(s: u64) -> u64 {
    s >> 32
}

/// Is a wide queue in state `s` at its width limit (`dispatch_queue_set_width`)?
#[inline]
pub(crate) fn at_width(s: u64) -> bool {
    let w = (s & WIDTH_MASK) >> WIDTH_SHIFT;
    w != 0 && inflight(s) >= w
}

/// Quality-of-service classes, with libdispatch's values. Higher classes are served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Qos {
    /// Work the user is waiting on to interact (0x21).
    UserInteractive = 0x21,
    /// Work the user started and waits for (0x19).
    UserInitiated = 0x19,
    /// The default class (0x15).
    Default = 0x15,
    /// Long-running work with progress shown (0x11).
    Utility = 0x11,
    /// Work the user does not see (0x09).
    Background = 0x09,
    /// Maintenance work (0x05).
    Maintenance = 0x05,
    /// No class given: treated as default (0x00).
    Unspecified = 0x00,
}

impl Qos {
    /// The class for a raw value (a QoS class or a `DISPATCH_QUEUE_PRIORITY_*` value).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(rgcd::Qos::from_raw(0x19), Some(rgcd::Qos::UserInitiated));
    /// assert_eq!(rgcd::Qos::from_raw(2), Some(rgcd::Qos::UserInitiated));
    /// assert_eq!(rgcd::Qos::from_raw(7), None);
    /// ```
    pub fn from_raw(v: i64) -> Option<Qos> {
        Some(match v {
            0x21 => Qos::UserInteractive,
            0x19 | 2 => Qos::UserInitiated,
            0x15 | 0 => Qos::Default,
            0x11 | -2 => Qos::Utility,
            0x09 | -32768 => Qos::Background,
            0x05 => Qos::Maintenance,
            _ => return None,
        })
    }

    fn from_class(v: u32) -> Option<Qos> {
        match v {
            0 => Some(Qos::Unspecified),
            0x21 | 0x19 | 0x15 | 0x11 | 0x09 | 0x05 => Qos::from_raw(v as i64),
            _ => None,
        }
    }

    /// The index of this class's root (global) queue.
    pub(crate) fn root_index(self) -> usize {
        match self {
            Qos::UserInteractive => 0,
            Qos::UserInitiated => 1,
            Qos::Default | Qos::Unspecified => 2,
            Qos::Utility => 3,
            Qos::Background => 4,
            Qos::Maintenance => 5,
        }
    }
}

const ROOT_QOS: [Qos; NUM_ROOTS] = [
    Qos::UserInteractive,
    Qos::UserInitiated,
    Qos::Default,
    Qos::Utility,
    Qos::Background,
    Qos::Maintenance,
];
const ROOT_LABELS: [&str; NUM_ROOTS] = [
    "rgcd.root.user-interactive-qos",
    "rgcd.root.user-initiated-qos",
    "rgcd.root.default-qos",
    "rgcd.root.utility-qos",
    "rgcd.root.background-qos",
    "rgcd.root.maintenance-qos",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Flavor {
    /// A global queue: its items go straight to the pool.
    Root = 1,
    /// The main thread's root: its items run in `rgcd_main`.
    MainRoot = 2,
    Serial = 3,
    Concurrent = 4,
}

// `aux` layout: byte 0 flavor, byte 1 root index, byte 2 QoS, byte 3 flags.
const AUX_GLOBAL: u32 = 1 << 24;

fn aux(flavor: Flavor, root: usize, qos: Qos, global: bool) -> u32 {
    flavor as u32 | (root as u32) << 8 | (qos as u32) << 16 | if global { AUX_GLOBAL } else { 0 }
}

struct Specific {
    key: usize,
    value: SendPtr,
    destructor: Option<CFunction>,
}

#[derive(Default)]
struct QueueExtras {
    obj: ObjExtras,
    specific: Mutex<Vec<Specific>>,
}

/// A queue object. `#[repr(C)]` with the object header first (see `object.rs`); kept small:
/// an idle queue is one 96-byte block (see `qref.rs`).
#[repr(C)]
pub(crate) struct QueueInner {
    pub(crate) obj: ObjHeader,
    /// References (`QueueRef`).
    refs: AtomicUsize,
    /// This queue as an item of its target (its drain), enqueued while `LOCKED` is held.
    pub(crate) link: TaskHeader,
    pub(crate) state: AtomicU64,
    pub(crate) list: List,
    /// The target queue: one strong reference owned by this queue.
    target: AtomicPtr<QueueInner>,
    extras: AtomicPtr<QueueExtras>,
    label: Label,
}

// SAFETY: all shared fields are atomics or behind a mutex; raw pointers are owned references.
unsafe impl Send for QueueInner {}
unsafe impl Sync for QueueInner {}

static ROOTS: OnceLock<[usize; NUM_ROOTS]> = OnceLock::new();
static OVERCOMMIT_ROOTS: OnceLock<[usize; NUM_ROOTS]> = OnceLock::new();
const OVERCOMMIT_LABELS: [&str; NUM_ROOTS] = [
    "rgcd.root.user-interactive-qos.overcommit",
    "rgcd.root.user-initiated-qos.overcommit",
    "rgcd.root.default-qos.overcommit",
    "rgcd.root.utility-qos.overcommit",
    "rgcd.root.background-qos.overcommit",
    "rgcd.root.maintenance-qos.overcommit",
];
static MAIN_ROOT: OnceLock<usize> = OnceLock::new();
static MAIN_QUEUE: OnceLock<usize> = OnceLock::new();

fn leak(q: QueueInner) -> &'static QueueInner {
    // Global queues are never freed: one reference is leaked, so retain/release inside
    // rgcd (wake-ups) stay balanced and harmless.
    q.obj.immortal();
    // SAFETY: `into_raw` gives a valid pointer that lives forever.
    unsafe { &*QueueRef::into_raw(QueueRef::new(q)) }
}

/// The default-QoS global queue.
pub(crate) fn default_root() -> &'static QueueInner {
    root(Qos::Default.root_index())
}

pub(crate) fn root(index: usize) -> &'static QueueInner {
    let roots = ROOTS.get_or_init(|| {
        let mut r = [0usize; NUM_ROOTS];
        for (i, slot) in r.iter_mut().enumerate() {
            let q = QueueInner::raw(
                aux(Flavor::Root, i, ROOT_QOS[i], true),
                0,
                ptr::null(),
                Label::new(ROOT_LABELS[i].as_bytes()),
            );
            *slot = leak(q) as *const QueueInner as usize;
        }
        r
    });
    // SAFETY: the roots are leaked, hence 'static.
    unsafe { &*(roots[index] as *const QueueInner) }
}

/// The overcommit global queue of class `index` (`DISPATCH_QUEUE_OVERCOMMIT`): its work
/// gets a thread whenever it waits, whatever the CPU count (up to the pool's cap). Its
/// items wait in their own injector (`pool::overcommit_injector`).
pub(crate) fn overcommit_root(index: usize) -> &'static QueueInner {
    let roots = OVERCOMMIT_ROOTS.get_or_init(|| {
        pool().enable_overcommit();
        let mut r = [0usize; NUM_ROOTS];
        for (i, slot) in r.iter_mut().enumerate() {
            let q = QueueInner::raw(
                aux(
                    Flavor::Root,
                    crate::pool::overcommit_injector(i),
                    ROOT_QOS[i],
                    true,
                ),
                0,
                ptr::null(),
                Label::new(OVERCOMMIT_LABELS[i].as_bytes()),
            );
            *slot = leak(q) as *const QueueInner as usize;
        }
        r
    });
    // SAFETY: the roots are leaked, hence 'static.
    unsafe { &*(roots[index] as *const QueueInner) }
}

pub(crate) fn main_root() -> &'static QueueInner {
    let p = *MAIN_ROOT.get_or_init(|| {
        let q = QueueInner::raw(
            aux(Flavor::MainRoot, 2, Qos::UserInteractive, true),
            0,
            ptr::null(),
            Label::new(b"rgcd.main-root"),
        );
        leak(q) as *const QueueInner as usize
    });
    // SAFETY: leaked, hence 'static.
    unsafe { &*(p as *const QueueInner) }
}

pub(crate) fn main_queue() -> &'static QueueInner {
    let p = *MAIN_QUEUE.get_or_init(|| {
        let target = main_root();
        let q = QueueInner::raw(
            aux(Flavor::Serial, 0, Qos::UserInteractive, true),
            0,
            target,
            Label::new(b"rgcd.main-thread"),
        );
        leak(q) as *const QueueInner as usize
    });
    // SAFETY: leaked, hence 'static.
    unsafe { &*(p as *const QueueInner) }
}

/// # Safety
/// `q` must be a live queue.
#[inline]
pub(crate) unsafe fn retain_raw(q: *const QueueInner) {
    // SAFETY: per the contract.
    unsafe { QueueRef::increment_strong_count(q) }
}

/// # Safety
/// `q` must be a live queue and the caller must own the reference this drops.
#[inline]
pub(crate) unsafe fn release_raw(q: *const QueueInner) {
    // SAFETY: per the contract.
    unsafe { QueueRef::decrement_strong_count(q) }
}

impl QueueInner {
    fn raw(aux: u32, state: u64, target: *const QueueInner, label: Label) -> QueueInner {
        if !target.is_null() {
            // SAFETY: callers pass a live queue.
            unsafe { retain_raw(target) };
        }
        QueueInner {
            obj: ObjHeader::new(Kind::Queue, aux),
            refs: AtomicUsize::new(1),
            link: TaskHeader::new(drain::drain_link, QUEUE_LINK),
            state: AtomicU64::new(state),
            list: List::new(),
            target: AtomicPtr::new(target as *mut QueueInner),
            extras: AtomicPtr::new(ptr::null_mut()),
            label,
        }
    }

    /// Creates a queue. `target` defaults to the root of `qos`. `c_label` says the label
    /// bytes come from a C string (no NUL inside); others are cut at their first NUL.
    pub(crate) fn create(
        label: &[u8],
        c_label: bool,
        concurrent: bool,
        inactive: bool,
        qos: Qos,
        target: Option<&QueueInner>,
    ) -> Result<QueueRef, Error> {
        let t = match target {
            Some(t) => {
                if t.flavor() == Flavor::MainRoot {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        "invalid target queue",
                    ));
                }
                t
            }
            None => root(qos.root_index()),
        };
        let flavor = if concurrent {
            Flavor::Concurrent
        } else {
            Flavor::Serial
        };
        let state = if inactive { INACTIVE } else { 0 };
        let label = if c_label {
            Label::from_c(label)
        } else {
            Label::new(label)
        };
        Ok(QueueRef::new(QueueInner::raw(
            aux(flavor, 0, qos, false),
            state,
            t,
            label,
        )))
    }

    #[inline]
    pub(crate) fn flavor(&self) -> Flavor {
        match self.obj.aux & 0xff {
            1 => Flavor::Root,
            2 => Flavor::MainRoot,
            3 => Flavor::Serial,
            _ => Flavor::Concurrent,
        }
    }

    /// A root's injector in the pool (a root's class index, or its overcommit injector).
    #[inline]
    pub(crate) fn root_index(&self) -> usize {
        ((self.obj.aux >> 8) & 0xff) as usize
    }

    /// Global queues (roots, the main queue) ignore retain/release and cannot be reconfigured.
    #[inline]
    pub(crate) fn is_global(&self) -> bool {
        self.obj.aux & AUX_GLOBAL != 0
    }

    pub(crate) fn is_main(&self) -> bool {
        ptr::eq(self, main_queue())
    }

    pub(crate) fn qos(&self) -> Qos {
        Qos::from_class((self.obj.aux >> 16) & 0xff).unwrap_or(Qos::Default)
    }

    #[inline]
    pub(crate) fn target(&self) -> &QueueInner {
        // SAFETY: non-root queues always hold a strong reference to their target.
        unsafe { &*self.target.load(Ordering::Acquire) }
    }

    #[inline]
    fn target_ptr(&self) -> *const QueueInner {
        self.target.load(Ordering::Acquire)
    }

    /// Concurrent with a root target, or with a wide target: items run in parallel (inside
    /// the target's width). A concurrent queue that targets a serial queue runs its items one
    /// at a time inside it, like a serial queue.
    #[inline]
    pub(crate) fn is_wide(&self) -> bool {
        if self.flavor() != Flavor::Concurrent {
            return false;
        }
        let t = self.target();
        match t.flavor() {
            Flavor::Root => true,
            Flavor::Concurrent => t.is_wide_slow(),
            _ => false,
        }
    }

    #[inline(never)]
    fn is_wide_slow(&self) -> bool {
        self.is_wide()
    }

    pub(crate) fn label(&self) -> &CStr {
        self.label.as_cstr()
    }

    fn extras(&self) -> &QueueExtras {
        let p = self.extras.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: extras live as long as the queue.
            return unsafe { &*p };
        }
        let fresh = Box::into_raw(Box::<QueueExtras>::default());
        match self.extras.compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: just published; lives as long as the queue.
            Ok(_) => unsafe { &*fresh },
            Err(cur) => {
                // SAFETY: `fresh` was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: as above.
                unsafe { &*cur }
            }
        }
    }

    pub(crate) fn context(&self) -> *mut c_void {
        let p = self.extras.load(Ordering::Acquire);
        if p.is_null() {
            ptr::null_mut()
        } else {
            // SAFETY: extras live as long as the queue.
            unsafe { (*p).obj.context() }
        }
    }

    pub(crate) fn set_context(&self, ctx: *mut c_void) {
        self.extras().obj.set_context(ctx);
    }

    pub(crate) fn set_finalizer(&self, f: Option<Finalizer>) {
        self.extras().obj.set_finalizer(f);
    }

    pub(crate) fn set_specific(
        &self,
        key: usize,
        value: *mut c_void,
        destructor: Option<CFunction>,
    ) {
        let old = {
            let mut v = self.extras().specific.lock().unwrap();
            let pos = v.iter().position(|s| s.key == key);
            let old = pos.map(|p| v.swap_remove(p));
            if !value.is_null() {
                v.push(Specific {
                    key,
                    value: SendPtr(value),
                    destructor,
                });
            }
            old
        };
        if let Some(old) = old {
            run_destructor(old);
        }
    }

    pub(crate) fn get_specific(&self, key: usize) -> Option<*mut c_void> {
        let p = self.extras.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: extras live as long as the queue.
        let v = unsafe { (*p).specific.lock().unwrap() };
        v.iter().find(|s| s.key == key).map(|s| s.value.0)
    }

    /// Enqueues an item (the async path of every queue kind).
    ///
    /// # Safety
    /// `task` must be a live item in no list; ownership passes to the queue.
    #[inline(always)]
    pub(crate) unsafe fn enqueue(&self, task: NonNull<TaskHeader>) {
        // Serial queues, the usual target, inline: one swap, and a wake-up when the list was
        // empty. The other kinds are out of line, so that this stays small enough to inline.
        if self.flavor() == Flavor::Serial {
            // SAFETY: per the contract.
            if unsafe { self.list.push(task) } {
                self.wakeup();
            } else {
                // No wake-up: the queue's drain is queued or running. In a forked child that
                // drain may be one inherited from the parent, which no thread runs until
                // something starts the child's workers: this does (one relaxed load
                // otherwise; `wakeup` does the same when the queue is locked).
                crate::fork::start_inherited_work();
            }
            return;
        }
        // SAFETY: per the contract.
        unsafe { self.enqueue_other(task) }
    }

    /// `enqueue` onto a root, the main root or a concurrent queue.
    ///
    /// # Safety
    /// As for `enqueue`.
    #[inline(never)]
    unsafe fn enqueue_other(&self, task: NonNull<TaskHeader>) {
        match self.flavor() {
            Flavor::Root => {
                let job = Job { task, queue: self };
                // SAFETY: per the contract.
                if unsafe { (*task.as_ptr()).flags } & QUEUE_LINK != 0 {
                    // A serial queue woken by work on a worker: that worker runs it next.
                    pool().inject_link(self.root_index(), job)
                } else {
                    pool().inject(self.root_index(), job)
                }
            }
            Flavor::MainRoot => main_queue::push_main_root(task),
            Flavor::Concurrent => {
                // SAFETY: per the contract.
                let flags = unsafe { (*task.as_ptr()).flags };
                // Plain items may skip the list; a sync waiter must go through the drain,
                // which hands it its slot (forwarded to the pool it would never be woken).
                if flags & (BARRIER | SYNC_WAITER) == 0 && self.is_wide() && self.try_enter_reader()
                {
                    // SAFETY: the reader slot taken above is released by `execute`.
                    unsafe { self.forward(task) };
                    return;
                }
                // SAFETY: per the contract.
                if unsafe { self.list.push(task) } {
                    self.wakeup();
                } else {
                    crate::fork::start_inherited_work();
                }
            }
            Flavor::Serial => {
                // SAFETY: per the contract.
                if unsafe { self.list.push(task) } {
                    self.wakeup();
                } else {
                    crate::fork::start_inherited_work();
                }
            }
        }
    }

    /// Hands an item of this (wide) queue to the pool; the caller took its width slot.
    ///
    /// # Safety
    /// The caller incremented the in-flight count for this item.
    pub(crate) unsafe fn forward(&self, task: NonNull<TaskHeader>) {
        // SAFETY: the job owns a reference, released by `execute` (or by `Nested`).
        unsafe { retain_raw(self) };
        let t = self.target();
        if t.flavor() == Flavor::Root {
            pool().inject(t.root_index(), Job { task, queue: self });
            return;
        }
        // A wide queue on a wide queue: the item runs as an ordinary item of the target,
        // wrapped so that it gives this queue's slot back when it ends.
        let nested = Nested {
            task: Some(task),
            queue: self,
        };
        let w = task::boxed(move || nested.run(), 0);
        // SAFETY: a fresh item.
        unsafe { t.enqueue(w) };
    }

    /// Takes a reader slot on a wide queue if nothing is queued or exclusive and the queue
    /// is below its width limit.
    #[inline]
    pub(crate) fn try_enter_reader(&self) -> bool {
        let s = self.state.load(Ordering::SeqCst);
        if s & (LOCKED | INACTIVE | SUSPEND_MASK | BARRIER_WAIT) != 0
            || at_width(s)
            || !self.list.is_empty()
        {
            return false;
        }
        self.state
            .compare_exchange(s, s + INFLIGHT_ONE, Ordering::SeqCst, Ordering::Relaxed)
            .is_ok()
    }

    /// Releases a reader slot; the last one out restarts a drain waiting at a barrier, and
    /// the first one out a drain waiting at the width limit.
    #[inline]
    pub(crate) fn exit_reader(&self) {
        let prev = self.state.fetch_sub(INFLIGHT_ONE, Ordering::SeqCst);
        if prev & (BARRIER_WAIT | WIDTH_WAIT) != 0 {
            self.exit_reader_waiting(prev);
        }
    }

    #[cold]
    fn exit_reader_waiting(&self, prev: u64) {
        if prev & BARRIER_WAIT != 0 {
            if inflight(prev) == 1 {
                self.state.fetch_and(!BARRIER_WAIT, Ordering::SeqCst);
                // The waiting drain still holds LOCKED and its reference.
                self.schedule();
            }
        } else if self.state.fetch_and(!WIDTH_WAIT, Ordering::SeqCst) & WIDTH_WAIT != 0 {
            // One reader (the first to clear the flag) restarts the drain.
            self.schedule();
        }
    }

    /// Sets the width limit of a concurrent queue (`dispatch_queue_set_width`): at most
    /// `width` items run at once; 0 or above `MAX_WIDTH` means no limit of its own.
    pub(crate) fn set_width(&self, width: u64) -> Result<(), Error> {
        if self.flavor() != Flavor::Concurrent || self.is_global() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "only a concurrent queue created by the program has a width to set",
            ));
        }
        let w = if width > MAX_WIDTH { 0 } else { width };
        let mut s = self.state.load(Ordering::SeqCst);
        loop {
            let mut n = (s & !WIDTH_MASK) | w << WIDTH_SHIFT;
            // A drain waiting at the old limit starts again (it re-checks the new one).
            n &= !WIDTH_WAIT;
            match self
                .state
                .compare_exchange_weak(s, n, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(cur) => s = cur,
            }
        }
        if s & WIDTH_WAIT != 0 {
            self.schedule();
        }
        Ok(())
    }

    /// Makes a non-empty, unlocked, runnable queue drain on its target.
    pub(crate) fn wakeup(&self) {
        if !state::try_lock(&self.state) {
            // Locked: its drain is queued or running (see `enqueue`).
            crate::fork::start_inherited_work();
            return;
        }
        // SAFETY: the drain owns this reference until it unlocks.
        unsafe { retain_raw(self) };
        self.schedule();
    }

    /// Enqueues this queue's drain on its target (the caller holds LOCKED and a reference).
    pub(crate) fn schedule(&self) {
        // SAFETY: `link` is in no list while LOCKED is held by the caller.
        unsafe { self.target().enqueue(NonNull::from(&self.link)) }
    }

    /// Clears LOCKED, waking the queue again if items arrived meanwhile.
    #[inline]
    pub(crate) fn unlock(&self, release: bool) {
        if state::unlock(&self.state, &self.list) {
            self.wakeup();
        }
        if release {
            // SAFETY: the caller owned this reference (taken by `wakeup`).
            unsafe { release_raw(self) };
        }
    }

    pub(crate) fn suspend(&self) -> Result<(), Error> {
        if self.is_global() && !self.is_main() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "global queues cannot be suspended",
            ));
        }
        if !state::suspend(&self.state) {
            return Err(Error::new(ErrorKind::State, "suspend count overflow"));
        }
        Ok(())
    }

    pub(crate) fn resume(&self) -> Result<(), Error> {
        if self.is_global() && !self.is_main() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "global queues cannot be resumed",
            ));
        }
        match state::resume(&self.state, &self.list) {
            Ok(true) => self.wakeup(),
            Ok(false) => {}
            // libdispatch: resuming an inactive, unsuspended object activates it.
            Err(s) if s & INACTIVE != 0 => return self.activate(),
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::State,
                    "resume of a queue that is not suspended (over-resume)",
                ))
            }
        }
        Ok(())
    }

    pub(crate) fn activate(&self) -> Result<(), Error> {
        let prev = self.state.fetch_and(!INACTIVE, Ordering::SeqCst);
        if prev & INACTIVE != 0 && !self.list.is_empty() {
            self.wakeup();
        }
        Ok(())
    }

    /// Retargets the queue: at once when inactive or idle, else as a barrier on itself.
    pub(crate) fn set_target(&self, new: &QueueInner) -> Result<(), Error> {
        if self.is_global() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "global queues cannot be retargeted",
            ));
        }
        if new.flavor() == Flavor::MainRoot {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "invalid target queue",
            ));
        }
        // No cycles.
        let mut t: *const QueueInner = new;
        while !t.is_null() {
            if ptr::eq(t, self) {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "the target chain would contain the queue itself",
                ));
            }
            // SAFETY: targets are kept alive by the queues that name them.
            t = unsafe { (*t).target_ptr() };
        }
        let newp = new as *const QueueInner as usize;
        // SAFETY: `new` is alive; the reference taken here is owned by `self.target`.
        unsafe { retain_raw(new) };
        let s = self.state.load(Ordering::SeqCst);
        let idle = s & INACTIVE != 0
            || (s & (LOCKED | BARRIER_WAIT) == 0
                && inflight(s) == 0
                && self
                    .state
                    .compare_exchange(s, s | LOCKED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok());
        if idle {
            self.swap_target(newp as *const QueueInner);
            if s & INACTIVE == 0 {
                self.unlock(false);
            }
            return Ok(());
        }
        // SAFETY: the caller holds a reference; the item holds another until it ran.
        let me = unsafe {
            retain_raw(self);
            QueueRef::from_raw(self)
        };
        let t = task::boxed(
            move || me.swap_target(newp as *const QueueInner),
            BARRIER | RETARGET,
        );
        // SAFETY: a fresh item.
        unsafe { self.enqueue(t) };
        Ok(())
    }

    /// Drops a reference a C caller owns (`rgcd_release`). When it is the last one and the
    /// queue is suspended or inactive, the work still queued can never run: it is discarded
    /// (its functions are never called) and the caller is told, rather than only the stderr
    /// line of a drop that no caller sees.
    ///
    /// # Safety
    /// The caller must own a reference to this queue, which this consumes.
    #[inline]
    pub(crate) unsafe fn release_handle(&self) -> Result<(), Error> {
        // A queue that is running (the usual case) costs one load more than a plain release.
        if self.is_stopped() {
            // SAFETY: per the contract.
            return unsafe { self.release_stopped() };
        }
        // SAFETY: per the contract.
        unsafe { release_raw(self) };
        Ok(())
    }

    /// Suspended or inactive (one relaxed load): the check `release_handle` makes first.
    #[inline]
    pub(crate) fn is_stopped(&self) -> bool {
        self.state.load(Ordering::Relaxed) & (INACTIVE | SUSPEND_MASK) != 0
    }

    #[cold]
    unsafe fn release_stopped(&self) -> Result<(), Error> {
        if self.is_global() {
            return Ok(());
        }
        let s = self.state.load(Ordering::SeqCst);
        let mut discarded = 0usize;
        // `refs == 1`: ours is the only reference, so nobody else may enqueue (that needs a
        // reference) and no drain runs (a drain holds one).
        if s & (INACTIVE | SUSPEND_MASK) != 0 && self.refs.load(Ordering::Acquire) == 1 {
            while let Some(t) = self.list.pop() {
                discarded += 1;
                // SAFETY: popped items are owned here.
                unsafe { task::invoke(t, Action::Discard) };
            }
        }
        let label = (discarded > 0).then(|| self.label().to_string_lossy().into_owned());
        // SAFETY: the caller's reference.
        unsafe { release_raw(self) };
        match label {
            None => Ok(()),
            Some(label) => Err(Error::new(
                ErrorKind::State,
                format!(
                    "queue '{label}' was released while {} with {discarded} pending work \
                     item(s): they were discarded and will never run (resume or activate a \
                     queue before its last release; libdispatch crashes here)",
                    if s & INACTIVE != 0 {
                        "inactive"
                    } else {
                        "suspended"
                    }
                ),
            )),
        }
    }

    fn swap_target(&self, new: *const QueueInner) {
        let old = self.target.swap(new as *mut QueueInner, Ordering::AcqRel);
        // SAFETY: the reference owned by the old target pointer.
        unsafe { release_raw(old) };
    }
}

/// An item of a wide queue that targets another wide queue, running as an ordinary item
/// of the target. It owns the item's width slot on `queue` and a reference to it; both are
/// given back when it ends, run or discarded.
struct Nested {
    task: Option<NonNull<TaskHeader>>,
    queue: *const QueueInner,
}

// SAFETY: the item and the queue reference are owned; queues are Sync.
unsafe impl Send for Nested {}

impl Nested {
    fn run(mut self) {
        // SAFETY: the reference owned by `self`.
        let q = unsafe { &*self.queue };
        if let Some(t) = self.task.take() {
            sync::with_frame(q, || drain::run_task(t));
        }
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            // SAFETY: the item is owned here.
            unsafe { task::invoke(t, Action::Discard) };
        }
        // SAFETY: the reference owned by `self`.
        let q = unsafe { &*self.queue };
        q.exit_reader();
        // SAFETY: as above.
        unsafe { release_raw(self.queue) };
    }
}

fn run_destructor(s: Specific) {
    if let Some(d) = s.destructor {
        // libdispatch runs destructors on the default global queue.
        let t = task::c_task(d, s.value.0, 0);
        // SAFETY: a fresh item.
        unsafe { default_root().enqueue(t) };
    }
}

impl Drop for QueueInner {
    fn drop(&mut self) {
        self.obj.kill();
        let mut discarded = 0usize;
        while let Some(t) = self.list.pop() {
            discarded += 1;
            // SAFETY: popped items are owned here.
            unsafe { task::invoke(t, Action::Discard) };
        }
        if discarded > 0 {
            eprintln!(
                "rgcd: queue '{}' released while suspended or inactive with {discarded} pending item(s); they were discarded",
                self.label().to_string_lossy()
            );
        }
        let extras = self.extras.swap(ptr::null_mut(), Ordering::AcqRel);
        let target = self.target_ptr();
        if !extras.is_null() {
            // SAFETY: we own the extras now.
            let extras = unsafe { Box::from_raw(extras) };
            for s in extras.specific.into_inner().unwrap_or_default() {
                run_destructor(s);
            }
            if let Some((f, ctx)) = extras.obj.take_finalizer() {
                let t = task::c_task(f, ctx, 0);
                if target.is_null() {
                    // SAFETY: a fresh item.
                    unsafe { default_root().enqueue(t) };
                } else {
                    // SAFETY: we still own our reference to the target.
                    unsafe { (*target).enqueue(t) };
                }
            }
        }
        if !target.is_null() {
            // SAFETY: the reference owned by this queue.
            unsafe { release_raw(target) };
        }
    }
}

/// A dispatch queue: serial, concurrent, global or main. Cloning shares the queue.
///
/// # Examples
///
/// ```
/// use rgcd::Queue;
/// let q = Queue::serial("counter");
/// let mut n = 0;
/// q.exec_sync(|| n += 1).unwrap();
/// assert_eq!(n, 1);
/// ```
#[derive(Clone)]
pub struct Queue {
    pub(crate) inner: QueueRef,
}

/// Builds a queue with a label, flavour, QoS, target and initial state.
///
/// # Examples
///
/// ```
/// use rgcd::{Qos, QueueBuilder};
/// let q = QueueBuilder::new().label("io").concurrent().qos(Qos::Utility).build().unwrap();
/// assert_eq!(q.label(), "io");
/// ```
#[derive(Default)]
pub struct QueueBuilder {
    label: String,
    concurrent: bool,
    inactive: bool,
    qos: Option<Qos>,
    target: Option<Queue>,
}

impl QueueBuilder {
    /// A serial, active, default-QoS queue with no label.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the label.
    pub fn label(mut self, label: &str) -> Self {
        self.label = label.to_owned();
        self
    }
    /// Makes the queue concurrent.
    pub fn concurrent(mut self) -> Self {
        self.concurrent = true;
        self
    }
    /// Creates the queue inactive: nothing runs until [`Queue::activate`].
    pub fn inactive(mut self) -> Self {
        self.inactive = true;
        self
    }
    /// Sets the QoS class (which global queue it targets by default).
    pub fn qos(mut self, qos: Qos) -> Self {
        self.qos = Some(qos);
        self
    }
    /// Sets the target queue.
    pub fn target(mut self, target: &Queue) -> Self {
        self.target = Some(target.clone());
        self
    }
    /// Creates the queue.
    pub fn build(self) -> Result<Queue, Error> {
        QueueInner::create(
            self.label.as_bytes(),
            false,
            self.concurrent,
            self.inactive,
            self.qos.unwrap_or(Qos::Default),
            self.target.as_ref().map(|t| &*t.inner),
        )
        .map(|inner| Queue { inner })
    }
}

impl Queue {
    /// A new serial queue.
    pub fn serial(label: &str) -> Queue {
        QueueBuilder::new()
            .label(label)
            .build()
            .expect("valid queue")
    }

    /// A new concurrent queue.
    pub fn concurrent(label: &str) -> Queue {
        QueueBuilder::new()
            .label(label)
            .concurrent()
            .build()
            .expect("valid queue")
    }

    /// The global (root) queue of a QoS class.
    pub fn global(qos: Qos) -> Queue {
        Queue::from_static(root(qos.root_index()))
    }

    /// The overcommit global queue of a QoS class: work waiting on it gets a thread of its
    /// own whatever the CPU count (up to `RGCD_MAX_THREADS`), for work that spins or waits
    /// outside rgcd (libdispatch's private `DISPATCH_QUEUE_OVERCOMMIT`).
    ///
    /// # Examples
    ///
    /// ```
    /// use rgcd::{Qos, Queue};
    /// let q = Queue::global_overcommit(Qos::Default);
    /// assert_eq!(q.exec_sync(|| 7).unwrap(), 7);
    /// ```
    pub fn global_overcommit(qos: Qos) -> Queue {
        Queue::from_static(overcommit_root(qos.root_index()))
    }

    /// The main queue, drained by [`main`] on the main thread.
    pub fn main() -> Queue {
        Queue::from_static(main_queue())
    }

    fn from_static(q: &'static QueueInner) -> Queue {
        // SAFETY: static queues hold a leaked strong count; this adds one for the handle.
        unsafe {
            retain_raw(q);
            Queue {
                inner: QueueRef::from_raw(q),
            }
        }
    }

    /// Runs `f` asynchronously on the queue.
    pub fn exec_async<F: FnOnce() + Send + 'static>(&self, f: F) {
        // SAFETY: a fresh item.
        unsafe { self.inner.enqueue(task::boxed(f, 0)) }
    }

    /// Runs `f` as a barrier: alone on a concurrent queue, after earlier items.
    pub fn barrier_async<F: FnOnce() + Send + 'static>(&self, f: F) {
        // SAFETY: a fresh item.
        unsafe { self.inner.enqueue(task::boxed(f, BARRIER)) }
    }

    /// Runs `f` on the queue and returns its result, on the calling thread when the queue is
    /// free. Fails with [`ErrorKind::Deadlock`] when the caller is already running on it.
    pub fn exec_sync<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> Result<R, Error> {
        sync::sync_closure(&self.inner, false, f)
    }

    /// Like [`Queue::exec_sync`], as a barrier.
    pub fn barrier_sync<R: Send, F: FnOnce() -> R + Send>(&self, f: F) -> Result<R, Error> {
        sync::sync_closure(&self.inner, true, f)
    }

    /// Runs `f` on the queue at `when`.
    pub fn after<F: FnOnce() + Send + 'static>(&self, when: crate::Time, f: F) {
        crate::after::schedule(when, self.inner.clone(), task::boxed(f, 0));
    }

    /// The label ("" if none).
    pub fn label(&self) -> String {
        self.inner.label().to_string_lossy().into_owned()
    }

    /// Suspends the queue (nests).
    pub fn suspend(&self) -> Result<(), Error> {
        self.inner.suspend()
    }

    /// Resumes the queue; fails on over-resume.
    pub fn resume(&self) -> Result<(), Error> {
        self.inner.resume()
    }

    /// Activates an inactive queue.
    pub fn activate(&self) -> Result<(), Error> {
        self.inner.activate()
    }

    /// Changes the target queue.
    pub fn set_target(&self, target: &Queue) -> Result<(), Error> {
        self.inner.set_target(&target.inner)
    }

    /// Limits a concurrent queue to `width` items at once (at least 1; above 255: no limit
    /// of its own, the default). Fails with [`ErrorKind::NotSupported`] for a serial or
    /// global queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = rgcd::Queue::concurrent("io");
    /// q.set_width(4).unwrap();
    /// assert!(rgcd::Queue::serial("s").set_width(4).is_err());
    /// ```
    pub fn set_width(&self, width: usize) -> Result<(), Error> {
        self.inner.set_width((width as u64).max(1))
    }

    /// The QoS class the queue was created with.
    pub fn qos(&self) -> Qos {
        self.inner.qos()
    }
}

/// In a forked child, after the dead threads' frames were given back: a queue can still be
/// locked for a drain that no longer exists anywhere — its wake-up was being published by a
/// thread the fork caught half-way (typically blocked in `malloc`, whose locks `fork` holds,
/// while the root queue got a new block), or the job carrying its drain was being moved
/// between deques. Every queue block is looked at: a serial or concurrent queue on a root
/// queue that is locked, not waiting at a barrier, not held by the forking thread, and whose
/// drain is not queued on its root queue gets its drain queued again (with a reference of its
/// own: if the lost wake-up had taken one, that one leaks; an early free would be worse).
/// An unlocked queue with items (a wake-up the fork cut before it locked the queue) is woken.
///
/// # Safety
/// Only in a forked child, before any other thread exists, with the pool's pretend searcher
/// in place (nothing may run while the root queues are emptied and refilled).
pub(crate) unsafe fn repair_after_fork(pool: &crate::pool::Pool) {
    let mut jobs = pool.fork_take_roots();
    let queued: std::collections::HashSet<usize> =
        jobs.iter().map(|(_, j)| j.task.as_ptr() as usize).collect();
    let held: std::collections::HashSet<usize> =
        own_frame_queues().into_iter().map(|q| q as usize).collect();
    let drain = drain::drain_link as task::CallFn as usize;
    for a in crate::alloc::queue_blocks() {
        // SAFETY: queue blocks are QUEUE_BLOCK bytes of mapped memory; a live queue is
        // recognised by its tag and its link's function before anything else is read.
        let q = unsafe { &*(a as *const QueueInner) };
        if !q.obj.is(Kind::Queue) || q.link.call as usize != drain {
            continue;
        }
        // Any queue (whatever its target): a list left with a gap by a producer the fork
        // stopped half-way would stop its drain for good.
        // SAFETY: per the contract (one thread; the dead threads' waiters were moved to the
        // heap by `recover_all_dead_frames`, which runs first).
        unsafe { q.list.cut_gap_after_fork() };
        if !matches!(q.flavor(), Flavor::Serial | Flavor::Concurrent) {
            continue;
        }
        let s = q.state.load(Ordering::SeqCst);
        if s & LOCKED == 0 {
            // Items, and no drain will come for them: a producer the fork stopped between
            // its push onto the empty list and its wake-up (a thread merging into a busy
            // source, say), or a drain between its unlock and its look for more. Wake it
            // (a suspended or inactive queue stays asleep, as it should).
            if !q.list.is_empty() {
                q.wakeup();
            }
            continue;
        }
        if s & BARRIER_WAIT != 0 || held.contains(&a) {
            continue;
        }
        let t = q.target_ptr();
        // SAFETY: a live queue's target is alive.
        if t.is_null() || unsafe { (*t).flavor() } != Flavor::Root {
            continue;
        }
        let link = &q.link as *const TaskHeader as usize;
        if queued.contains(&link) {
            continue;
        }
        // SAFETY: the drain about to be queued owns this reference.
        unsafe { retain_raw(q) };
        // SAFETY: as above.
        let root = unsafe { (*t).root_index() };
        jobs.push((
            root,
            Job {
                task: NonNull::from(&q.link),
                queue: t,
            },
        ));
    }
    pool.fork_put_roots(jobs);
}
