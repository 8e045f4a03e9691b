//! The C ABI: the only `extern "C"` code. It converts handles, checks arguments, catches
//! panics and turns errors into status codes plus a thread-local message; the logic lives in
//! the core. One file per family of C types, mirroring the core.
//!
//! The hottest calls (retain/release of a queue, semaphore signal/wait, `async_f`, `sync_f`)
//! have a fast path: the handle check is `is_live` (a load and a compare, no `Error` built),
//! and code that could panic runs under `guarded` (a landing pad, no `Result`). Everything else
//! (bad handles, waiting, destroying) goes to out-of-line functions that report through
//! `status`. Those are declared `extern "C"`: such a function cannot unwind, so the fast path
//! reaches it with a tail call and needs no stack frame of its own.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod data;
mod error;
mod group;
mod io;
mod object;
mod queue;
mod semaphore;
mod source;
mod time;

#[cfg(test)]
mod tests;

pub use data::*;
pub use error::*;
pub use group::*;
pub use io::*;
pub use object::*;
pub use queue::*;
pub use semaphore::*;
pub use source::*;
pub use time::*;

use crate::error::{Error, ErrorKind};
use crate::group::GroupInner;
use crate::object::{Kind, ObjHeader};
use crate::queue::QueueInner;
use crate::semaphore::SemaphoreInner;
use std::any::Any;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A function called with a context pointer (`void (*)(void *)`).
pub type rgcd_function_t = Option<unsafe extern "C" fn(context: *mut c_void)>;

/// An `apply` body: called with the context and the iteration index.
pub type rgcd_apply_function_t =
    Option<unsafe extern "C" fn(context: *mut c_void, iteration: libc::size_t)>;

/// Any rgcd handle, for the generic object API (`rgcd_retain`, `rgcd_release`, ...).
pub type rgcd_object_t = *mut c_void;

/// Runs `f`, turning an error or a panic into a status code and `rgcd_last_error()`.
#[inline]
pub(crate) fn status(f: impl FnOnce() -> Result<c_int, Error>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => error::fail(&e),
        Err(p) => panicked(p),
    }
}

/// The panic boundary of a fast path: `f`'s result, or `RGCD_EPANIC` (reported) if it
/// panicked. Unlike `status` it carries no `Error`, so a fast path that cannot fail costs
/// nothing here: the boundary is a landing pad, off the straight-line code.
#[inline(always)]
pub(crate) fn guarded(f: impl FnOnce() -> c_int) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => panicked(p),
    }
}

/// Reports a panic caught at the boundary. Out of line and taking the payload, so that the
/// landing pads of the fast paths are one call and need no stack frame of their own.
#[cold]
#[inline(never)]
fn panicked(payload: Box<dyn Any + Send>) -> c_int {
    drop(payload);
    error::fail(&Error::new(
        ErrorKind::Panic,
        "internal panic caught at the C boundary",
    ))
}

/// Like `status`, for functions that return a pointer (NULL on failure).
#[inline]
pub(crate) fn pointer<T>(f: impl FnOnce() -> Result<*mut T, Error>) -> *mut T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            error::fail(&e);
            std::ptr::null_mut()
        }
        Err(p) => {
            panicked(p);
            std::ptr::null_mut()
        }
    }
}

pub(crate) fn invalid(msg: &'static str) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

/// Is `p` a live rgcd object of `kind`? The whole handle check of a fast path: a NULL test,
/// one load and one compare. Anything else (NULL, another kind, a released or foreign
/// pointer) takes the checked path, which says what is wrong.
///
/// # Safety
/// `p` must be NULL or a pointer the caller passed as a handle (as for `header`).
#[inline(always)]
pub(crate) unsafe fn is_live(p: *const c_void, kind: Kind) -> bool {
    // SAFETY: per the contract; every rgcd object starts with an ObjHeader.
    !p.is_null() && unsafe { &*(p as *const ObjHeader) }.is(kind)
}

/// The object header behind a handle.
#[inline]
pub(crate) unsafe fn header<'a>(
    p: *const c_void,
    what: &'static str,
) -> Result<(&'a ObjHeader, Kind), Error> {
    if p.is_null() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("{what} is NULL"),
        ));
    }
    // SAFETY: the caller passes a handle; every rgcd object starts with an ObjHeader.
    let h = unsafe { &*(p as *const ObjHeader) };
    match h.kind() {
        Some(k) => Ok((h, k)),
        None => Err(Error::new(
            ErrorKind::WrongType,
            format!("{what} is not a live rgcd object (released already?)"),
        )),
    }
}

#[cold]
fn wrong_type(what: &'static str, want: &'static str) -> Error {
    Error::new(ErrorKind::WrongType, format!("{what} is not a {want}"))
}

#[inline]
pub(crate) unsafe fn queue_ref<'a>(
    p: *const c_void,
    what: &'static str,
) -> Result<&'a QueueInner, Error> {
    // SAFETY: per the caller.
    match unsafe { header(p, what)? } {
        (_, Kind::Queue) => Ok(unsafe { &*(p as *const QueueInner) }),
        _ => Err(wrong_type(what, "queue")),
    }
}

#[inline]
pub(crate) unsafe fn group_ref<'a>(
    p: *const c_void,
    what: &'static str,
) -> Result<&'a GroupInner, Error> {
    // SAFETY: per the caller.
    match unsafe { header(p, what)? } {
        (_, Kind::Group) => Ok(unsafe { &*(p as *const GroupInner) }),
        _ => Err(wrong_type(what, "group")),
    }
}

#[inline]
pub(crate) unsafe fn semaphore_ref<'a>(
    p: *const c_void,
    what: &'static str,
) -> Result<&'a SemaphoreInner, Error> {
    // SAFETY: per the caller.
    match unsafe { header(p, what)? } {
        (_, Kind::Semaphore) => Ok(unsafe { &*(p as *const SemaphoreInner) }),
        _ => Err(wrong_type(what, "semaphore")),
    }
}

#[inline]
pub(crate) fn function(
    f: rgcd_function_t,
    what: &'static str,
) -> Result<unsafe extern "C" fn(*mut c_void), Error> {
    f.ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("{what} is NULL")))
}
