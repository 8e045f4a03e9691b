//! Dispatch sources.

use super::{
    function, header, pointer, queue_ref, rgcd_function_t, rgcd_queue_t, rgcd_time_t, status,
};
use crate::error::{Error, ErrorKind};
use crate::object::Kind;
use crate::source::{SourceInner, SourceKind};
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// An opaque source object.
pub struct rgcd_source_s {
    _private: [u8; 0],
}

/// A source handle (also accepted by the generic object API).
pub type rgcd_source_t = *mut rgcd_source_s;

/// The kind of a source (`RGCD_SOURCE_TYPE_*`).
pub type rgcd_source_type_t = u32;

/// Custom data, summed: handle 0, mask 0; data = the sum merged since the last handler.
pub const RGCD_SOURCE_TYPE_DATA_ADD: rgcd_source_type_t = 1;
/// Custom data, OR-ed: handle 0, mask 0; data = the OR of the values merged.
pub const RGCD_SOURCE_TYPE_DATA_OR: rgcd_source_type_t = 2;
/// Custom data, replaced: handle 0, mask 0; data = the last value merged.
pub const RGCD_SOURCE_TYPE_DATA_REPLACE: rgcd_source_type_t = 3;
/// fd readable: handle = fd, mask 0; data = bytes available. End of file (a pipe whose writers
/// closed, a socket whose peer shut down writing) comes after the unread bytes, as one event
/// with data 0; the source is then quiet until cancelled.
pub const RGCD_SOURCE_TYPE_READ: rgcd_source_type_t = 4;
/// fd writable: handle = fd, mask 0; data = estimated buffer space (at least 1).
pub const RGCD_SOURCE_TYPE_WRITE: rgcd_source_type_t = 5;
/// Signal delivered: handle = signal number, mask 0; data = deliveries since the last handler.
pub const RGCD_SOURCE_TYPE_SIGNAL: rgcd_source_type_t = 6;
/// Process events: handle = pid, mask = `RGCD_PROC_*`; data = the events seen.
pub const RGCD_SOURCE_TYPE_PROC: rgcd_source_type_t = 7;
/// Timer: handle 0, mask 0 or `RGCD_TIMER_STRICT`; data = fires since the last handler.
pub const RGCD_SOURCE_TYPE_TIMER: rgcd_source_type_t = 8;

/// The process exited (delivered, through a pidfd on Linux).
pub const RGCD_PROC_EXIT: usize = 0x8000_0000;
/// The process forked (accepted; not delivered on Linux).
pub const RGCD_PROC_FORK: usize = 0x4000_0000;
/// The process exec'ed (accepted; not delivered on Linux).
pub const RGCD_PROC_EXEC: usize = 0x2000_0000;
/// The process was signalled (accepted; not delivered on Linux).
pub const RGCD_PROC_SIGNAL: usize = 0x0800_0000;
/// Timer flag: never coalesce this timer with others (its leeway is ignored).
pub const RGCD_TIMER_STRICT: usize = 1;

unsafe fn source_ref<'a>(s: rgcd_source_t) -> Result<&'a SourceInner, Error> {
    // SAFETY: a handle from the caller.
    match unsafe { header(s as *const c_void, "source")? } {
        // SAFETY: the tag says this is a source.
        (_, Kind::Source) => Ok(unsafe { &*(s as *const SourceInner) }),
        _ => Err(Error::new(ErrorKind::WrongType, "source is not a source")),
    }
}

unsafe fn source_arc(s: rgcd_source_t) -> Result<std::mem::ManuallyDrop<Arc<SourceInner>>, Error> {
    // SAFETY: per the caller.
    let r = unsafe { source_ref(s)? };
    // SAFETY: `r` is an Arc data pointer; borrowed without taking a reference.
    Ok(std::mem::ManuallyDrop::new(unsafe {
        Arc::from_raw(r as *const SourceInner)
    }))
}

/// Creates a source (+1 reference), **inactive**: set its handlers, then `rgcd_activate` (or
/// `rgcd_resume`) it. Handlers run on `queue` (NULL: the default global queue), with the
/// source's context (`rgcd_set_context`).
///
/// NULL with `RGCD_EINVAL` for an unknown type, a handle or mask the type does not take, an fd
/// that is not open, a signal that cannot be caught (0, SIGKILL, SIGSTOP, > 64) or that the C
/// library keeps for itself (32 and 33 with glibc: those below `SIGRTMIN`).
/// A source stays registered until it is cancelled, even after its last release.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_create(
    type_: rgcd_source_type_t,
    handle: usize,
    mask: usize,
    queue: rgcd_queue_t,
) -> rgcd_source_t {
    pointer(|| {
        let kind = SourceKind::from_raw(type_).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown source type {type_}"),
            )
        })?;
        let q = if queue.is_null() {
            None
        } else {
            // SAFETY: a handle from the caller.
            Some(unsafe { queue_ref(queue as *const c_void, "queue")? })
        };
        let s = SourceInner::new(kind, handle, mask, q)?;
        Ok(Arc::into_raw(s) as rgcd_source_t)
    })
}

/// Sets the event handler, called as `handler(context)` for each (merged) event. Handlers of
/// one source never overlap. `RGCD_EINVAL` for a NULL handler.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_set_event_handler_f(
    source: rgcd_source_t,
    handler: rgcd_function_t,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let s = unsafe { source_ref(source)? };
        let f = function(handler, "event handler")?;
        s.set_c_handler(0, Some(f));
        Ok(0)
    })
}

/// Sets the cancel handler: runs exactly once after `rgcd_source_cancel`, after the last event
/// handler returned; close the source's fd there. NULL removes it.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_set_cancel_handler_f(
    source: rgcd_source_t,
    handler: rgcd_function_t,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        unsafe { source_ref(source)? }.set_c_handler(1, handler);
        Ok(0)
    })
}

/// Sets the registration handler: runs once, on the target queue, when the source starts,
/// before any event handler. NULL removes it.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_set_registration_handler_f(
    source: rgcd_source_t,
    handler: rgcd_function_t,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        unsafe { source_ref(source)? }.set_c_handler(2, handler);
        Ok(0)
    })
}

/// Which handler `rgcd_source_set_handler_ctx_f` sets (`RGCD_SOURCE_HANDLER_*`).
pub type rgcd_source_handler_t = u32;
/// The event handler.
pub const RGCD_SOURCE_HANDLER_EVENT: rgcd_source_handler_t = 0;
/// The cancel handler.
pub const RGCD_SOURCE_HANDLER_CANCEL: rgcd_source_handler_t = 1;
/// The registration handler.
pub const RGCD_SOURCE_HANDLER_REGISTRATION: rgcd_source_handler_t = 2;

/// Sets a handler that is called as `handler(handler_context)` — its own context rather than
/// the source's — for bindings and block wrappers that must keep something alive per handler.
/// `release(handler_context)` (if not NULL) runs exactly once when the handler is gone: replaced
/// by another `rgcd_source_set_*handler*` call (after a call in flight returned), dropped after
/// the cancel handler ran, or when the source is destroyed. NULL `handler` -> `RGCD_EINVAL`;
/// an unknown `which` -> `RGCD_EINVAL`. On failure `release` is never called and the caller
/// keeps `handler_context`.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_set_handler_ctx_f(
    source: rgcd_source_t,
    which: rgcd_source_handler_t,
    handler: rgcd_function_t,
    handler_context: *mut c_void,
    release: rgcd_function_t,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let s = unsafe { source_ref(source)? };
        let f = function(handler, "handler")?;
        if which > RGCD_SOURCE_HANDLER_REGISTRATION {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown handler kind {which}"),
            ));
        }
        s.set_ctx_handler(which as u8, f, handler_context, release);
        Ok(0)
    })
}

/// Cancels the source, asynchronously: no event handler starts after this returns (one that
/// is running finishes), then the cancel handler runs exactly once. Cancelling twice is fine;
/// an inactive source runs its cancel handler once activated, a suspended one once resumed.
/// From the cancel on, the source drops its registration and any pending data, takes no more
/// merges, costs no CPU, and is freed (its finalizer runs) after its last release.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_cancel(source: rgcd_source_t) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        unsafe { source_ref(source)? }.cancel();
        Ok(0)
    })
}

/// 1 if the source was cancelled, 0 if not, or an error.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_testcancel(source: rgcd_source_t) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        Ok(unsafe { source_ref(source)? }.is_canceled() as c_int)
    })
}

fn value(r: Result<usize, Error>) -> usize {
    match r {
        Ok(v) => v,
        Err(e) => {
            super::error::fail(&e);
            0
        }
    }
}

/// Inside the event handler: the data of this delivery (see the source types). 0 on error.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_get_data(source: rgcd_source_t) -> usize {
    // SAFETY: a handle from the caller.
    value(unsafe { source_ref(source) }.map(|s| s.data() as usize))
}

/// The handle the source was created with. 0 on error.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_get_handle(source: rgcd_source_t) -> usize {
    // SAFETY: a handle from the caller.
    value(unsafe { source_ref(source) }.map(|s| s.handle))
}

/// The mask the source was created with. 0 on error.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_get_mask(source: rgcd_source_t) -> usize {
    // SAFETY: a handle from the caller.
    value(unsafe { source_ref(source) }.map(|s| s.mask))
}

/// Merges `value` into a DATA_ADD/OR/REPLACE source and schedules its handler (merges before
/// the handler runs combine). `RGCD_ENOTSUP` for other source types.
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_merge_data(source: rgcd_source_t, value: usize) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let s = unsafe { source_ref(source)? };
        if !matches!(
            s.kind,
            SourceKind::DataAdd | SourceKind::DataOr | SourceKind::DataReplace
        ) {
            return Err(Error::new(
                ErrorKind::NotSupported,
                "merge_data needs a DATA_ADD, DATA_OR or DATA_REPLACE source",
            ));
        }
        s.merge(value as u64);
        Ok(0)
    })
}

/// Arms a timer source: first fire at `start` (`rgcd_time` or `rgcd_walltime`;
/// `RGCD_TIME_FOREVER` disarms), then every `interval` ns (`RGCD_TIME_FOREVER`: one-shot); each
/// fire may come up to `leeway` ns late so that timers whose windows overlap fire together.
/// May be called again (also from the handler) to re-arm. `RGCD_ENOTSUP` for other source
/// types, `RGCD_EINVAL` for an interval or leeway above `INT64_MAX` (a negative value cast).
#[no_mangle]
pub unsafe extern "C" fn rgcd_source_set_timer(
    source: rgcd_source_t,
    start: rgcd_time_t,
    interval: u64,
    leeway: u64,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        let s = unsafe { source_arc(source)? };
        s.set_timer(crate::Time::from_raw(start), interval, leeway)
            .map(|_| 0)
    })
}
