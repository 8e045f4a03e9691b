//! The generic object API: works on any rgcd handle.

use super::{header, is_live, pointer, queue_ref, rgcd_function_t, rgcd_object_t, status};
use crate::data::DataInner;
use crate::error::{Error, ErrorKind};
use crate::group::GroupInner;
use crate::io::ChannelInner;
use crate::object::Kind;
use crate::queue::{QueueInner, QueueRef};
use crate::semaphore::SemaphoreInner;
use crate::source::SourceInner;
use std::ffi::{c_int, c_void};
use std::sync::Arc;

fn not_supported(what: &'static str) -> Error {
    Error::new(ErrorKind::NotSupported, what)
}

/// Adds a reference to `object` (any rgcd handle).
///
/// Global queues and the main queue are not reference counted: retaining them does nothing.
/// Returns 0, or `RGCD_EINVAL` for NULL, `RGCD_ETYPE` for something that is not an rgcd object.
#[no_mangle]
pub unsafe extern "C" fn rgcd_retain(object: rgcd_object_t) -> c_int {
    // Fast path: a live queue, the object retained most. One atomic, nothing that can panic.
    // SAFETY: a handle from the caller.
    if unsafe { is_live(object, Kind::Queue) } {
        // SAFETY: the caller owns a reference, so the queue is live.
        unsafe { QueueRef::increment_strong_count(object as *const QueueInner) };
        return 0;
    }
    // SAFETY: per the contract.
    unsafe { retain_checked(object) }
}

/// `rgcd_retain` of anything but a live queue: the other kinds, and bad handles (reported).
#[inline(never)]
unsafe extern "C" fn retain_checked(object: rgcd_object_t) -> c_int {
    status(|| {
        // SAFETY: the caller passes a handle it owns a reference to.
        let (_, kind) = unsafe { header(object, "object")? };
        // SAFETY: handles are `Arc` data pointers of the type their tag names.
        unsafe {
            match kind {
                Kind::Queue => QueueRef::increment_strong_count(object as *const QueueInner),
                Kind::Group => Arc::increment_strong_count(object as *const GroupInner),
                Kind::Semaphore => Arc::increment_strong_count(object as *const SemaphoreInner),
                Kind::Source => Arc::increment_strong_count(object as *const SourceInner),
                Kind::Data => {
                    let d = &*(object as *const DataInner);
                    if !d.is_static() {
                        Arc::increment_strong_count(object as *const DataInner);
                    }
                }
                Kind::Io => Arc::increment_strong_count(object as *const ChannelInner),
            }
        }
        Ok(0)
    })
}

/// Drops a reference to `object`. After the last one the object is destroyed and its
/// finalizer (if any, and only if its context is non-NULL) runs asynchronously on its target
/// queue with its context.
///
/// Global queues and the main queue ignore release. Returns 0, or `RGCD_EINVAL` for NULL,
/// `RGCD_ETYPE` for something that is not a live rgcd object — among them a handle released
/// already: each thread keeps the memory of the last 64 objects it destroyed out of reuse, so
/// a second release (or any other call) through a handle whose object was destroyed since is
/// reported instead of acting on a new object created at the same address. (Detection is
/// best effort past those 64; libdispatch detects none of it.) Releasing an active, unsuspended
/// queue that still has work pending is fine: the work keeps the queue alive until it has run.
///
/// A queue that is **suspended or inactive** cannot run its work, so its last release
/// destroys it and discards the work still queued on it: those functions are never called
/// (the caller keeps their contexts), and the call returns `RGCD_ESTATE` with the queue's
/// label and the number of items discarded in `rgcd_last_error()` (the queue is released all
/// the same). Resume or activate a queue before releasing it. If the last reference is
/// dropped inside rgcd instead (by a drain that ends after the release), the same is
/// reported as one line on stderr. libdispatch crashes on the release of a suspended or
/// inactive object ("Release of a suspended object"), pending work or not.
///
/// Likewise a thread
/// blocked in `rgcd_semaphore_wait` or `rgcd_group_wait` holds its own reference: releasing
/// the last reference while it waits is safe, and the object is destroyed when the wait
/// returns (so is a signal or leave that has just woken a waiter that releases at once).
#[no_mangle]
pub unsafe extern "C" fn rgcd_release(object: rgcd_object_t) -> c_int {
    // Fast path: a live queue that is neither suspended nor inactive (those go through
    // `release_handle`, which reports work its last release discards). One load and one
    // atomic, nothing that can panic; destroying the queue after its last reference goes
    // through the panic boundary.
    // SAFETY: a handle from the caller.
    if unsafe { is_live(object, Kind::Queue) } {
        let q = object as *const QueueInner;
        // SAFETY: the tag says this is a live queue.
        if !unsafe { &*q }.is_stopped() {
            // SAFETY: the caller gives up the reference it owns.
            if unsafe { QueueRef::release_is_last(q) } {
                // SAFETY: that was the last reference.
                return unsafe { destroy_queue(q) };
            }
            return 0;
        }
    }
    // SAFETY: per the contract.
    unsafe { release_checked(object) }
}

/// Destroys a queue after its last release, inside the panic boundary.
///
/// # Safety
/// As for `QueueRef::drop_slow`.
#[cold]
#[inline(never)]
unsafe extern "C" fn destroy_queue(q: *const QueueInner) -> c_int {
    status(|| {
        // SAFETY: per the contract.
        unsafe { QueueRef::drop_slow(q) };
        Ok(0)
    })
}

/// `rgcd_release` of anything but a live, running queue: suspended or inactive queues, the
/// other kinds, and bad handles (reported).
#[inline(never)]
unsafe extern "C" fn release_checked(object: rgcd_object_t) -> c_int {
    status(|| {
        // SAFETY: as in `rgcd_retain`.
        let (_, kind) = unsafe { header(object, "object")? };
        // SAFETY: the caller gives up the reference it owns.
        unsafe {
            match kind {
                Kind::Queue => (*(object as *const QueueInner)).release_handle()?,
                Kind::Group => Arc::decrement_strong_count(object as *const GroupInner),
                Kind::Semaphore => Arc::decrement_strong_count(object as *const SemaphoreInner),
                Kind::Source => Arc::decrement_strong_count(object as *const SourceInner),
                Kind::Data => {
                    let d = &*(object as *const DataInner);
                    if !d.is_static() {
                        Arc::decrement_strong_count(object as *const DataInner);
                    }
                }
                Kind::Io => Arc::decrement_strong_count(object as *const ChannelInner),
            }
        }
        Ok(0)
    })
}

/// Suspends a queue or source: no new work item (or handler) starts until a matching
/// `rgcd_resume`. Nests. Events that reach a suspended source are merged meanwhile.
///
/// The item running now (if any) finishes. Returns 0, `RGCD_ENOTSUP` for global queues,
/// groups and semaphores, `RGCD_EINVAL`/`RGCD_ETYPE` for bad handles.
#[no_mangle]
pub unsafe extern "C" fn rgcd_suspend(object: rgcd_object_t) -> c_int {
    status(|| {
        // SAFETY: as in `rgcd_retain`.
        match unsafe { header(object, "object")? }.1 {
            Kind::Queue => unsafe { queue_ref(object, "object")? }.suspend().map(|_| 0),
            // SAFETY: the tag says this is a source.
            Kind::Source => unsafe { &*(object as *const SourceInner) }
                .suspend()
                .map(|_| 0),
            _ => Err(not_supported("only queues and sources can be suspended")),
        }
    })
}

/// Undoes one `rgcd_suspend`. Resuming an inactive object that is not suspended activates it
/// (as libdispatch does). Returns 0, or `RGCD_ESTATE` when the object is not suspended
/// (over-resume), `RGCD_ENOTSUP` for global queues, groups and semaphores.
#[no_mangle]
pub unsafe extern "C" fn rgcd_resume(object: rgcd_object_t) -> c_int {
    status(|| {
        // SAFETY: as in `rgcd_retain`.
        match unsafe { header(object, "object")? }.1 {
            Kind::Queue => unsafe { queue_ref(object, "object")? }.resume().map(|_| 0),
            // SAFETY: the tag says this is a source.
            Kind::Source => unsafe { source_arc(object) }.resume().map(|_| 0),
            _ => Err(not_supported("only queues and sources can be resumed")),
        }
    })
}

/// Activates an object created inactive (`RGCD_QUEUE_INACTIVE`); work queued meanwhile then
/// runs. Activating an active object does nothing and returns 0. `RGCD_ENOTSUP` for groups
/// and semaphores.
///
/// For a source this registers it (fd, signal, process, timer). A registration that fails —
/// an fd closed since the source was created, say — returns `RGCD_EINVAL` with the reason in
/// `rgcd_last_error()`, and the source is then cancelled, as in libdispatch: its cancel
/// handler runs once, its registration and event handlers never.
#[no_mangle]
pub unsafe extern "C" fn rgcd_activate(object: rgcd_object_t) -> c_int {
    status(|| {
        // SAFETY: as in `rgcd_retain`.
        match unsafe { header(object, "object")? }.1 {
            Kind::Queue => unsafe { queue_ref(object, "object")? }
                .activate()
                .map(|_| 0),
            // SAFETY: the tag says this is a source.
            Kind::Source => unsafe { source_arc(object) }.activate().map(|_| 0),
            _ => Err(not_supported("only queues and sources can be activated")),
        }
    })
}

/// Sets the application context of `object`: its finalizer receives it, and is not called at
/// all if the context is NULL when the object is destroyed. Global queues refuse
/// (`RGCD_ENOTSUP`).
#[no_mangle]
pub unsafe extern "C" fn rgcd_set_context(object: rgcd_object_t, context: *mut c_void) -> c_int {
    status(|| {
        // SAFETY: as in `rgcd_retain`.
        unsafe {
            match header(object, "object")?.1 {
                Kind::Queue => {
                    let q = &*(object as *const QueueInner);
                    if q.is_global() {
                        return Err(not_supported("global queues have no settable context"));
                    }
                    q.set_context(context)
                }
                Kind::Group => (*(object as *const GroupInner)).extras.set_context(context),
                Kind::Semaphore => (*(object as *const SemaphoreInner))
                    .extras
                    .set_context(context),
                Kind::Source => (*(object as *const SourceInner))
                    .extras
                    .set_context(context),
                Kind::Data => return Err(not_supported("data objects have no context")),
                Kind::Io => (*(object as *const ChannelInner))
                    .extras
                    .set_context(context),
            }
        }
        Ok(0)
    })
}

/// The application context of `object` (NULL if none was set, or on error: then
/// `rgcd_last_error()` says why).
#[no_mangle]
pub unsafe extern "C" fn rgcd_get_context(object: rgcd_object_t) -> *mut c_void {
    pointer(|| {
        // SAFETY: as in `rgcd_retain`.
        unsafe {
            Ok(match header(object, "object")?.1 {
                Kind::Queue => (*(object as *const QueueInner)).context(),
                Kind::Group => (*(object as *const GroupInner)).extras.context(),
                Kind::Semaphore => (*(object as *const SemaphoreInner)).extras.context(),
                Kind::Source => (*(object as *const SourceInner)).extras.context(),
                Kind::Data => return Err(not_supported("data objects have no context")),
                Kind::Io => (*(object as *const ChannelInner)).extras.context(),
            })
        }
    })
}

/// Sets the finalizer of `object`: called once, asynchronously, with the object's context,
/// after its last reference is released — on the object's target queue (queues, sources) or the
/// default global queue (groups, semaphores). NULL removes it. Global queues refuse.
///
/// As in libdispatch, the finalizer is called only if the object's context
/// (`rgcd_set_context`) is non-NULL when the object is destroyed: what counts is the context
/// at that time, not when the finalizer was set.
#[no_mangle]
pub unsafe extern "C" fn rgcd_set_finalizer_f(
    object: rgcd_object_t,
    finalizer: rgcd_function_t,
) -> c_int {
    status(|| {
        // SAFETY: as in `rgcd_retain`.
        unsafe {
            match header(object, "object")?.1 {
                Kind::Queue => {
                    let q = &*(object as *const QueueInner);
                    if q.is_global() {
                        return Err(not_supported("global queues are never finalized"));
                    }
                    q.set_finalizer(finalizer)
                }
                Kind::Group => (*(object as *const GroupInner))
                    .extras
                    .set_finalizer(finalizer),
                Kind::Semaphore => (*(object as *const SemaphoreInner))
                    .extras
                    .set_finalizer(finalizer),
                Kind::Source => (*(object as *const SourceInner))
                    .extras
                    .set_finalizer(finalizer),
                Kind::Data => return Err(not_supported("data objects have no finalizer")),
                Kind::Io => (*(object as *const ChannelInner))
                    .extras
                    .set_finalizer(finalizer),
            }
        }
        Ok(0)
    })
}

/// Sets the target queue of `object` (a queue or a source): its work (handlers) then runs as
/// part of `target`.
/// NULL means the default global queue. Takes effect at once when the queue is inactive or
/// idle, else after the work queued before this call (as a barrier).
///
/// `RGCD_EINVAL` when the change would make a cycle, `RGCD_ENOTSUP` for global queues.
#[no_mangle]
pub unsafe extern "C" fn rgcd_set_target_queue(
    object: rgcd_object_t,
    target: super::rgcd_queue_t,
) -> c_int {
    status(|| {
        let t: &QueueInner = if target.is_null() {
            crate::queue::default_root()
        } else {
            // SAFETY: as above.
            unsafe { queue_ref(target as *const c_void, "target")? }
        };
        // SAFETY: a handle from the caller.
        if let (_, Kind::Source) = unsafe { header(object, "object")? } {
            // SAFETY: the tag says this is a source.
            unsafe { &*(object as *const SourceInner) }.set_target(t);
            return Ok(0);
        }
        // SAFETY: as above.
        let q = unsafe { queue_ref(object, "object")? };
        q.set_target(t).map(|_| 0)
    })
}

/// Borrows a source handle as an `Arc` (without taking a reference).
///
/// # Safety
/// `object` must be a live source handle.
unsafe fn source_arc(object: rgcd_object_t) -> std::mem::ManuallyDrop<Arc<SourceInner>> {
    // SAFETY: per the contract.
    std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(object as *const SourceInner) })
}
