//! What every rgcd object shares: a type tag at offset 0, and a context + finalizer.
//!
//! All objects are `Arc`-allocated `#[repr(C)]` structs whose first field is an `ObjHeader`,
//! so a C handle (the `Arc`'s data pointer) can be checked for its type before use. Groups and
//! semaphores embed their `ObjExtras`; queues allocate theirs on first use, which keeps an idle
//! queue small.
//!
//! **Stale handles.** A destroyed object's tag says "dead", so a handle used after its last
//! release fails the check — but only while its memory is not reused, and both allocators rgcd
//! uses (the queue block cache and `malloc`'s per-thread caches) hand the most recently freed
//! block out first. A C handle is just an address, so nothing in the handle can tell an old
//! object from a new one at the same address; instead the memory of a destroyed object is
//! kept out of reuse for a while: each thread keeps the last `QUARANTINE` objects it destroyed
//! (tag "dead", memory untouched) in a ring, and frees the oldest when a new one comes in.
//! A second release, or any call, through a handle released fewer than `QUARANTINE`
//! destructions ago on that thread is reported (`RGCD_ETYPE`) rather than acting on a new
//! object. Past that it is best effort, as the tag check always was. The cost is one
//! thread-local ring write per destruction and a few KiB per thread; creating objects and the
//! calls on live ones are unchanged. `Arc` objects are built by `new_arc`, which keeps one weak
//! reference for the ring, so the allocation outlives the value until the ring lets it go.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

/// A finalizer: called once with the object's context after the last reference is gone, and
/// only if that context is non-NULL (libdispatch's rule).
pub type Finalizer = unsafe extern "C" fn(*mut c_void);

const MAGIC: u32 = 0x7263_6400; // "rcd\0"
const DEAD: u32 = 0xdead_0000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Kind {
    Queue = 1,
    Group = 2,
    Semaphore = 3,
    Source = 4,
    Data = 5,
    Io = 6,
}

#[repr(C)]
pub(crate) struct ObjHeader {
    tag: AtomicU32,
    /// Type-specific small data (queues keep their flavour and QoS here).
    pub(crate) aux: u32,
}

/// Objects created and not yet destroyed, by kind (index `kind - 1`): global queues are not
/// counted. One cache line per kind, so creating queues does not contend with sources.
#[repr(align(64))]
struct LiveCount(AtomicUsize);

#[allow(clippy::declare_interior_mutable_const)]
const LIVE_ZERO: LiveCount = LiveCount(AtomicUsize::new(0));
static LIVE: [LiveCount; 6] = [LIVE_ZERO; 6];

/// How many rgcd objects (queues other than the global and main queues, groups, semaphores,
/// sources, data other than the empty one, I/O channels) are alive now: created and not yet destroyed. For tests: after a cancel or a
/// shutdown, a count back at its earlier value shows everything was freed.
pub fn live_objects() -> usize {
    LIVE.iter().map(|c| c.0.load(Ordering::Relaxed)).sum()
}

impl ObjHeader {
    /// A header for a new object, counted as live until `kill`.
    pub(crate) fn new(kind: Kind, aux: u32) -> Self {
        LIVE[kind as usize - 1].0.fetch_add(1, Ordering::Relaxed);
        ObjHeader {
            tag: AtomicU32::new(MAGIC | kind as u32),
            aux,
        }
    }

    /// Takes an object that lives forever (a global queue) out of the live count.
    pub(crate) fn immortal(&self) {
        if let Some(k) = self.kind() {
            LIVE[k as usize - 1].0.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// The kind, or `None` when the tag is not a live rgcd object's.
    #[inline]
    pub(crate) fn kind(&self) -> Option<Kind> {
        let t = self.tag.load(Ordering::Relaxed);
        if t & !0xff != MAGIC {
            return None;
        }
        match (t & 0xff) as u8 {
            1 => Some(Kind::Queue),
            2 => Some(Kind::Group),
            3 => Some(Kind::Semaphore),
            4 => Some(Kind::Source),
            5 => Some(Kind::Data),
            6 => Some(Kind::Io),
            _ => None,
        }
    }

    /// Is this a live object of `kind`? One load and one compare: the check of the C ABI's
    /// fast paths (anything else goes through `kind` on the checked path).
    #[inline(always)]
    pub(crate) fn is(&self, kind: Kind) -> bool {
        self.tag.load(Ordering::Relaxed) == MAGIC | kind as u32
    }

    /// Marks the object dead (a handle used after its last release then fails the tag check
    /// for as long as the memory is not reused: see the quarantine in the module notes).
    pub(crate) fn kill(&self) {
        if let Some(k) = self.kind() {
            LIVE[k as usize - 1].0.fetch_sub(1, Ordering::Relaxed);
        }
        self.tag.store(DEAD, Ordering::Relaxed);
    }
}

/// How many destroyed objects each thread keeps out of reuse (see the module notes).
pub(crate) const QUARANTINE: usize = 64;

/// Frees the memory of a destroyed object.
type Free = unsafe fn(*mut u8);

struct Ring {
    slots: [(usize, Option<Free>); QUARANTINE],
    next: usize,
}

impl Drop for Ring {
    fn drop(&mut self) {
        for (p, free) in self.slots.iter_mut().map(std::mem::take) {
            if let Some(free) = free {
                // SAFETY: every entry is a retired block that nothing else frees.
                unsafe { free(p as *mut u8) };
            }
        }
    }
}

thread_local! {
    static RING: UnsafeCell<Ring> = const {
        UnsafeCell::new(Ring { slots: [(0, None); QUARANTINE], next: 0 })
    };
}

/// Hands the memory of a destroyed object to this thread's quarantine; `free(p)` runs once
/// `QUARANTINE` more objects have been destroyed on this thread (or when it exits).
///
/// # Safety
/// `p` must be a destroyed object's memory (its tag killed), freed by nothing but `free(p)`.
#[inline]
pub(crate) unsafe fn retire(p: *mut u8, free: Free) {
    let evicted = RING.try_with(|r| {
        // SAFETY: only this thread touches its ring, and `free` (called below, outside this
        // closure) never re-enters it.
        let r = unsafe { &mut *r.get() };
        let i = r.next;
        r.next = if i + 1 == QUARANTINE { 0 } else { i + 1 };
        std::mem::replace(&mut r.slots[i], (p as usize, Some(free)))
    });
    match evicted {
        // SAFETY: an entry retired earlier; per the contract of the call that retired it.
        Ok((old, Some(f))) => unsafe { f(old as *mut u8) },
        Ok(_) => {}
        // The thread is exiting and its ring is gone: free at once.
        // SAFETY: per the contract.
        Err(_) => unsafe { free(p) },
    }
}

/// An `Arc` for a new object, with one extra weak reference owned by the quarantine: the
/// allocation then outlives the object until `retire_arc` lets it go.
///
/// The weak reference's pointer is *exposed* (cast to an integer): `retire_arc` and
/// `keep_alive` only have a reference to the object, whose provenance covers the object but
/// not the reference counts in front of it, so they turn its address back into a pointer
/// (integer to pointer), which may use the provenance exposed here (found by Miri: a pointer
/// derived from `&T` that reaches the counts is undefined behaviour under Stacked and Tree
/// Borrows).
pub(crate) fn new_arc<T>(value: T) -> Arc<T> {
    let a = Arc::new(value);
    let _exposed = Weak::into_raw(Arc::downgrade(&a)) as usize;
    a
}

/// The whole `Arc` allocation of an object built by `new_arc`, from a reference to the object
/// (see `new_arc`).
#[inline]
fn arc_ptr<T>(obj: &T) -> *const T {
    obj as *const T as usize as *const T
}

unsafe fn free_arc<T>(p: *mut u8) {
    // SAFETY: `p` is the weak reference `new_arc` leaked (see `retire_arc`).
    drop(unsafe { Weak::from_raw(p as *const T) });
}

/// From the `Drop` of an object built by `new_arc`: hands its allocation to the quarantine.
///
/// # Safety
/// `obj` must be an object built by `new_arc`, being dropped, whose tag was killed.
pub(crate) unsafe fn retire_arc<T>(obj: &T) {
    // SAFETY: the weak reference `new_arc` leaked keeps the allocation until `free_arc`.
    unsafe { retire(arc_ptr(obj) as *mut u8, free_arc::<T>) }
}

/// A new reference to an object the caller only borrows: a slow path that must not see the
/// object freed under it (a wait, or a wake-up that the woken thread may answer with the last
/// release) holds one until it is done.
///
/// # Safety
/// `obj` must be the data of an `Arc<T>` built by `new_arc` (groups and semaphores are), and
/// the caller must hold a reference to it for the duration of this call.
pub(crate) unsafe fn keep_alive<T>(obj: &T) -> Arc<T> {
    let p = arc_ptr(obj);
    // SAFETY: per the contract.
    unsafe {
        Arc::increment_strong_count(p);
        Arc::from_raw(p)
    }
}

/// Context pointer and finalizer.
#[derive(Default)]
pub(crate) struct ObjExtras {
    context: AtomicPtr<c_void>,
    finalizer: AtomicUsize,
}

impl ObjExtras {
    pub(crate) fn context(&self) -> *mut c_void {
        self.context.load(Ordering::Acquire)
    }

    pub(crate) fn set_context(&self, ctx: *mut c_void) {
        self.context.store(ctx, Ordering::Release);
    }

    pub(crate) fn set_finalizer(&self, f: Option<Finalizer>) {
        self.finalizer
            .store(f.map_or(0, |f| f as usize), Ordering::Release);
    }

    /// Takes the finalizer and context, so the finalizer can run only once. `None` when there
    /// is no finalizer, or when the context is NULL now: as in libdispatch, a finalizer is
    /// called only with a non-NULL context (every object kind destroys itself through here).
    pub(crate) fn take_finalizer(&self) -> Option<(Finalizer, *mut c_void)> {
        let f = self.finalizer.swap(0, Ordering::AcqRel);
        let ctx = self.context();
        if f == 0 || ctx.is_null() {
            return None;
        }
        // SAFETY: only values produced from a `Finalizer` are stored.
        let f: Finalizer = unsafe { std::mem::transmute::<usize, Finalizer>(f) };
        Some((f, ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static FREED: AtomicUsize = AtomicUsize::new(0);
    unsafe fn count_free(p: *mut u8) {
        FREED.fetch_add(p as usize, Ordering::Relaxed);
    }

    #[test]
    fn quarantine_delays_reuse() {
        // On a thread of its own: a fresh ring, flushed when the thread exits.
        std::thread::spawn(|| {
            for i in 1..=QUARANTINE {
                // SAFETY: fake blocks, only counted by `count_free`.
                unsafe { retire(i as *mut u8, count_free) };
            }
            assert_eq!(FREED.load(Ordering::Relaxed), 0, "all still quarantined");
            // SAFETY: as above.
            unsafe { retire(1000 as *mut u8, count_free) };
            assert_eq!(FREED.load(Ordering::Relaxed), 1, "the oldest went first");
        })
        .join()
        .unwrap();
        let all: usize = (1..=QUARANTINE).sum::<usize>() + 1000;
        assert_eq!(
            FREED.load(Ordering::Relaxed),
            all,
            "the exit freed the rest"
        );
    }

    unsafe extern "C" fn fin(_: *mut c_void) {}

    #[test]
    fn finalizer_needs_a_context() {
        let e = ObjExtras::default();
        e.set_finalizer(Some(fin));
        assert!(
            e.take_finalizer().is_none(),
            "a NULL context takes no finalizer"
        );
        assert!(e.take_finalizer().is_none());

        let mut x = 0u8;
        let ctx = &mut x as *mut u8 as *mut c_void;
        let e = ObjExtras::default();
        e.set_finalizer(Some(fin));
        e.set_context(ctx);
        assert_eq!(e.take_finalizer().map(|(_, c)| c), Some(ctx));
        assert!(e.take_finalizer().is_none(), "taken once");

        // The context at destruction time counts, not the one when the finalizer was set.
        let e = ObjExtras::default();
        e.set_context(ctx);
        e.set_finalizer(Some(fin));
        e.set_context(std::ptr::null_mut());
        assert!(e.take_finalizer().is_none());
    }
}
