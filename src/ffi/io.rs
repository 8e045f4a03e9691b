//! Dispatch I/O: the convenience read/write and I/O channels.

use super::data::{data_arc, rgcd_data_t};
use super::{function, header, pointer, queue_ref, rgcd_function_t, rgcd_queue_t, status};
use crate::data::DataInner;
use crate::error::{Error, ErrorKind};
use crate::io::{submit_whole, ChannelInner, Cleanup, Dir, IoHandler};
use crate::object::Kind;
use crate::task::SendPtr;
use crate::Queue;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::mem::ManuallyDrop;
use std::sync::Arc;

/// An opaque I/O channel.
pub struct rgcd_io_s {
    _private: [u8; 0],
}

/// An I/O channel handle (also accepted by `rgcd_retain` / `rgcd_release`, `rgcd_set_context`
/// and `rgcd_set_finalizer_f`).
pub type rgcd_io_t = *mut rgcd_io_s;

/// The type of a channel: `RGCD_IO_STREAM` or `RGCD_IO_RANDOM`.
pub type rgcd_io_type_t = libc::c_ulong;
/// A stream: operations run in order per direction at the current file position; offsets are
/// ignored. Reads and writes may run at the same time.
pub const RGCD_IO_STREAM: rgcd_io_type_t = 0;
/// Random access: each operation works at its offset, counted from the file position when
/// the channel was created. The fd must be seekable.
pub const RGCD_IO_RANDOM: rgcd_io_type_t = 1;

/// Flags of `rgcd_io_close`.
pub type rgcd_io_close_flags_t = libc::c_ulong;
/// Stop pending operations: each ends with a last call of its handler with `ECANCELED`.
pub const RGCD_IO_STOP: rgcd_io_close_flags_t = 1;

/// Flags of `rgcd_io_set_interval`.
pub type rgcd_io_interval_flags_t = libc::c_ulong;
/// Call the handlers at every interval, even with less than the low water mark ready (or
/// nothing).
pub const RGCD_IO_STRICT_INTERVAL: rgcd_io_interval_flags_t = 1;

/// The handler of a channel operation, called on its queue one or more times, never two at
/// once: `done` is true on the last call; `data` is borrowed for the call (retain it to keep
/// it). Reads pass the bytes read (the last call at end of file: empty data, error 0); writes
/// pass the bytes not yet written (NULL on the last call when all were). `error` is 0 or an
/// errno value (`ECANCELED` after a close with `RGCD_IO_STOP`).
pub type rgcd_io_handler_function_t =
    Option<unsafe extern "C" fn(context: *mut c_void, done: bool, data: rgcd_data_t, error: c_int)>;

/// The handler of `rgcd_read_f` / `rgcd_write_f`, called once: `data` (borrowed for the call)
/// is the bytes read, or for a write the bytes not written (NULL when all were); `error` is 0
/// or an errno value.
pub type rgcd_io_data_function_t =
    Option<unsafe extern "C" fn(context: *mut c_void, data: rgcd_data_t, error: c_int)>;

/// A channel's cleanup handler: called once, with 0 or the errno that made the channel give
/// up the fd (a bad or non-seekable fd, a path that could not be opened).
pub type rgcd_io_cleanup_function_t =
    Option<unsafe extern "C" fn(context: *mut c_void, error: c_int)>;

fn bad(msg: &'static str) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

unsafe fn channel_arc(
    io: rgcd_io_t,
    what: &'static str,
) -> Result<ManuallyDrop<Arc<ChannelInner>>, Error> {
    // SAFETY: a handle from the caller.
    match unsafe { header(io as *const c_void, what)? } {
        // SAFETY: the tag says this is a channel, an Arc allocation; borrowed.
        (_, Kind::Io) => Ok(ManuallyDrop::new(unsafe {
            Arc::from_raw(io as *const ChannelInner)
        })),
        _ => Err(Error::new(
            ErrorKind::WrongType,
            format!("{what} is not an I/O channel"),
        )),
    }
}

/// A queue handle as an owned `Queue` (NULL: `default`, or an error when `None`).
unsafe fn owned_queue(q: rgcd_queue_t, default_ok: bool) -> Result<Queue, Error> {
    let qi = if q.is_null() {
        if !default_ok {
            return Err(bad("queue is NULL"));
        }
        crate::queue::default_root()
    } else {
        // SAFETY: a handle from the caller.
        unsafe { queue_ref(q as *const c_void, "queue")? }
    };
    Ok(Queue {
        inner: crate::data::destructor_queue(Some(qi)).expect("a queue"),
    })
}

fn io_type(t: rgcd_io_type_t) -> Result<bool, Error> {
    match t {
        RGCD_IO_STREAM => Ok(false),
        RGCD_IO_RANDOM => Ok(true),
        _ => Err(bad("unknown I/O channel type")),
    }
}

fn c_cleanup(f: rgcd_io_cleanup_function_t, ctx: *mut c_void) -> Option<Cleanup> {
    let f = f?;
    let ctx = SendPtr(ctx);
    Some(Box::new(move |err| {
        let c = ctx;
        // SAFETY: the C contract: called once with its context.
        unsafe { f(c.0, err) }
    }))
}

fn data_ptr(d: Option<&Arc<DataInner>>) -> rgcd_data_t {
    d.map_or(std::ptr::null_mut(), |d| Arc::as_ptr(d) as rgcd_data_t)
}

fn into_handle(c: Arc<ChannelInner>) -> rgcd_io_t {
    Arc::into_raw(c) as rgcd_io_t
}

/// Reads from `fd` once, asynchronously: `handler(context, data, error)` runs once on `queue`
/// with up to `length` bytes (`SIZE_MAX`: no limit) — what had arrived when the fd would have
/// blocked (a pipe or socket waits for the first byte), everything up to end of file, or
/// `length` bytes; empty data with error 0 means end of file. Pipes and sockets are made
/// non-blocking while rgcd uses them (as in libdispatch); no thread blocks on them.
///
/// Returns 0, or `RGCD_EINVAL` for a negative fd, a NULL queue or handler (then the handler
/// is never called). A bad fd is reported to the handler (`EBADF`).
#[no_mangle]
pub unsafe extern "C" fn rgcd_read_f(
    fd: c_int,
    length: libc::size_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    handler: rgcd_io_data_function_t,
) -> c_int {
    status(|| {
        let f = handler.ok_or_else(|| bad("handler is NULL"))?;
        if fd < 0 {
            return Err(bad("negative file descriptor"));
        }
        // SAFETY: a handle from the caller.
        let q = unsafe { owned_queue(queue, false)? };
        let ctx = SendPtr(context);
        let h: IoHandler = Box::new(move |_, d, err| {
            let c = ctx;
            let empty = crate::data::empty();
            // SAFETY: the C contract; the data is borrowed for the call.
            unsafe { f(c.0, data_ptr(Some(d.unwrap_or(empty))), err) }
        });
        submit_whole(fd, Dir::Read, length, crate::data::empty().clone(), q, h);
        Ok(0)
    })
}

/// Writes all of `data` to `fd`, asynchronously: `handler(context, data_remaining, error)`
/// runs once on `queue`, with NULL and 0 when every byte was written, else the bytes not
/// written and an errno value. Writes to one fd (through this call or channels) land in the
/// order they were submitted. `data` is retained until the write is done.
///
/// Returns 0, or `RGCD_EINVAL`/`RGCD_ETYPE` for a negative fd, a bad `data`, a NULL queue or
/// handler (then the handler is never called).
#[no_mangle]
pub unsafe extern "C" fn rgcd_write_f(
    fd: c_int,
    data: rgcd_data_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    handler: rgcd_io_data_function_t,
) -> c_int {
    status(|| {
        let f = handler.ok_or_else(|| bad("handler is NULL"))?;
        if fd < 0 {
            return Err(bad("negative file descriptor"));
        }
        // SAFETY: handles from the caller.
        let d = unsafe { data_arc(data, "data")? };
        // SAFETY: as above.
        let q = unsafe { owned_queue(queue, false)? };
        let ctx = SendPtr(context);
        let h: IoHandler = Box::new(move |_, d, err| {
            let c = ctx;
            // SAFETY: the C contract; the data is borrowed for the call.
            unsafe { f(c.0, data_ptr(d), err) }
        });
        submit_whole(fd, Dir::Write, 0, (*d).clone(), q, h);
        Ok(0)
    })
}

/// Creates a channel (+1) of `type` on `fd`. The caller keeps owning `fd`: close it in the
/// cleanup handler, which runs once on `queue` (NULL: the default global queue) with
/// `context` after the channel was closed (`rgcd_io_close`) or released for the last time
/// and its operations finished — or at once, with the errno, when `fd` is bad (`EBADF`) or
/// not seekable for `RGCD_IO_RANDOM` (`ESPIPE`). `cleanup_handler` may be NULL.
///
/// NULL with `RGCD_EINVAL` for an unknown type or a negative fd (the cleanup never runs).
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_create(
    r#type: rgcd_io_type_t,
    fd: c_int,
    queue: rgcd_queue_t,
    context: *mut c_void,
    cleanup_handler: rgcd_io_cleanup_function_t,
) -> rgcd_io_t {
    pointer(|| {
        let random = io_type(r#type)?;
        if fd < 0 {
            return Err(bad("negative file descriptor"));
        }
        // SAFETY: a handle from the caller.
        let q = unsafe { owned_queue(queue, true)? };
        Ok(into_handle(ChannelInner::with_fd(
            random,
            fd,
            q,
            c_cleanup(cleanup_handler, context),
        )))
    })
}

/// Creates a channel (+1) of `type` on the absolute `path`, opened with `oflag` and `mode`
/// (see open(2); `mode` is a `mode_t`) when its first operation or barrier runs, and closed by rgcd before the
/// cleanup handler runs (once, on `queue`, with 0 or the errno of a failed open).
///
/// NULL with `RGCD_EINVAL` for an unknown type or a NULL or relative path.
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_create_with_path(
    r#type: rgcd_io_type_t,
    path: *const c_char,
    oflag: c_int,
    mode: u32,
    queue: rgcd_queue_t,
    context: *mut c_void,
    cleanup_handler: rgcd_io_cleanup_function_t,
) -> rgcd_io_t {
    pointer(|| {
        let random = io_type(r#type)?;
        if path.is_null() {
            return Err(bad("path is NULL"));
        }
        // SAFETY: a NUL-terminated string from the caller.
        let p = unsafe { CStr::from_ptr(path) }.to_owned();
        // SAFETY: a handle from the caller.
        let q = unsafe { owned_queue(queue, true)? };
        let c = ChannelInner::with_path(
            random,
            p,
            oflag,
            mode as libc::mode_t,
            q,
            c_cleanup(cleanup_handler, context),
        )?;
        Ok(into_handle(c))
    })
}

/// Creates a channel (+1) of `type` on the fd or path of `io` (sharing its ordering and
/// barriers, not its type or policy). Its cleanup handler runs once, on `queue`, when this
/// channel is done; the fd of a path stays open until every channel on it is. A closed `io`
/// gives a channel whose cleanup runs at once with `ECANCELED`.
///
/// NULL with `RGCD_EINVAL`/`RGCD_ETYPE` for an unknown type or a bad `io`.
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_create_with_io(
    r#type: rgcd_io_type_t,
    io: rgcd_io_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    cleanup_handler: rgcd_io_cleanup_function_t,
) -> rgcd_io_t {
    pointer(|| {
        let random = io_type(r#type)?;
        // SAFETY: handles from the caller.
        let other = unsafe { channel_arc(io, "io")? };
        // SAFETY: as above.
        let q = unsafe { owned_queue(queue, true)? };
        Ok(into_handle(ChannelInner::with_io(
            random,
            &other,
            q,
            c_cleanup(cleanup_handler, context),
        )))
    })
}

/// Reads `length` bytes (`SIZE_MAX`: until end of file) from `channel` at `offset` (RANDOM
/// channels only), calling `handler(context, done, data, error)` on `queue` for each piece:
/// at most the high water mark, at least the low water mark except for the last, or whatever
/// is ready at each interval. On a closed channel the handler is called once, with
/// `ECANCELED`.
///
/// Returns 0, or `RGCD_EINVAL`/`RGCD_ETYPE` for a bad channel, a NULL queue or handler (then
/// the handler is never called).
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_read_f(
    channel: rgcd_io_t,
    offset: i64,
    length: libc::size_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    handler: rgcd_io_handler_function_t,
) -> c_int {
    status(|| {
        let f = handler.ok_or_else(|| bad("handler is NULL"))?;
        // SAFETY: handles from the caller.
        let c = unsafe { channel_arc(channel, "channel")? };
        // SAFETY: as above.
        let q = unsafe { owned_queue(queue, false)? };
        c.submit(
            Dir::Read,
            offset,
            length,
            crate::data::empty().clone(),
            q,
            c_handler(f, context),
        );
        Ok(0)
    })
}

fn c_handler(
    f: unsafe extern "C" fn(*mut c_void, bool, rgcd_data_t, c_int),
    ctx: *mut c_void,
) -> IoHandler {
    let ctx = SendPtr(ctx);
    Box::new(move |done, d, err| {
        let c = ctx;
        // SAFETY: the C contract; the data is borrowed for the call.
        unsafe { f(c.0, done, data_ptr(d), err) }
    })
}

/// Writes `data` to `channel` at `offset` (RANDOM channels only), calling
/// `handler(context, done, data_remaining, error)` on `queue` as it progresses (the last call
/// has `done` set, and NULL data when every byte was written). `data` is retained until the
/// write is done. On a closed channel the handler is called once, with `ECANCELED`.
///
/// Returns 0, or `RGCD_EINVAL`/`RGCD_ETYPE` for a bad channel or data, a NULL queue or
/// handler (then the handler is never called).
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_write_f(
    channel: rgcd_io_t,
    offset: i64,
    data: rgcd_data_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    handler: rgcd_io_handler_function_t,
) -> c_int {
    status(|| {
        let f = handler.ok_or_else(|| bad("handler is NULL"))?;
        // SAFETY: handles from the caller.
        let c = unsafe { channel_arc(channel, "channel")? };
        // SAFETY: as above.
        let d = unsafe { data_arc(data, "data")? };
        // SAFETY: as above.
        let q = unsafe { owned_queue(queue, false)? };
        c.submit(
            Dir::Write,
            offset,
            0,
            (*d).clone(),
            q,
            c_handler(f, context),
        );
        Ok(0)
    })
}

/// Closes `channel` to new operations (their handlers get `ECANCELED`). With `RGCD_IO_STOP`,
/// pending operations end with a last call with `ECANCELED` (after any partial results);
/// without it they run to completion. The cleanup handler runs once they all finished.
/// Closing twice is fine. Returns 0, or `RGCD_EINVAL`/`RGCD_ETYPE` for a bad channel or
/// unknown flags.
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_close(channel: rgcd_io_t, flags: rgcd_io_close_flags_t) -> c_int {
    status(|| {
        if flags & !RGCD_IO_STOP != 0 {
            return Err(bad("unknown close flags"));
        }
        // SAFETY: a handle from the caller.
        let c = unsafe { channel_arc(channel, "channel")? };
        c.close(flags & RGCD_IO_STOP != 0);
        Ok(0)
    })
}

/// Runs `barrier(context)` once every operation submitted before it on the channel's fd (by
/// any channel on it) finished; operations submitted after wait until it returned. It may use
/// the fd (`rgcd_io_get_descriptor`: fsync, lseek, ...) but not close it. Returns 0, or an
/// error for a bad channel or a NULL function (then it is never called).
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_barrier_f(
    channel: rgcd_io_t,
    context: *mut c_void,
    barrier: rgcd_function_t,
) -> c_int {
    status(|| {
        let f = function(barrier, "barrier")?;
        // SAFETY: a handle from the caller.
        let c = unsafe { channel_arc(channel, "channel")? };
        let ctx = SendPtr(context);
        c.barrier(Box::new(move || {
            let c = ctx;
            // SAFETY: the C contract: called once with its context.
            unsafe { f(c.0) }
        }));
        Ok(0)
    })
}

/// The fd of `channel`, or -1 when it is closed, its path is not opened yet (it is inside a
/// barrier), or on error (then `rgcd_last_error()` says why).
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_get_descriptor(channel: rgcd_io_t) -> c_int {
    let mut fd = -1;
    let r = status(|| {
        // SAFETY: a handle from the caller.
        fd = unsafe { channel_arc(channel, "channel")? }.descriptor();
        Ok(0)
    });
    if r != 0 {
        -1
    } else {
        fd
    }
}

/// Handlers of operations submitted from now on get at most `high_water` bytes at a time
/// (default `SIZE_MAX`; 0 counts as 1). Lowers the low water mark to it if needed.
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_set_high_water(
    channel: rgcd_io_t,
    high_water: libc::size_t,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        unsafe { channel_arc(channel, "channel")? }.set_high_water(high_water);
        Ok(0)
    })
}

/// Partial results of operations submitted from now on are delivered only once at least
/// `low_water` bytes are ready (default 0: as soon as anything is; `SIZE_MAX`: no partial
/// results below the high water mark). Raises the high water mark to it if needed.
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_set_low_water(
    channel: rgcd_io_t,
    low_water: libc::size_t,
) -> c_int {
    status(|| {
        // SAFETY: a handle from the caller.
        unsafe { channel_arc(channel, "channel")? }.set_low_water(low_water);
        Ok(0)
    })
}

/// Operations submitted from now on deliver their partial results every `interval` ns (0:
/// no interval) — if at least the low water mark is ready, or always with
/// `RGCD_IO_STRICT_INTERVAL` — instead of as soon as they are ready.
#[no_mangle]
pub unsafe extern "C" fn rgcd_io_set_interval(
    channel: rgcd_io_t,
    interval: u64,
    flags: rgcd_io_interval_flags_t,
) -> c_int {
    status(|| {
        if flags & !RGCD_IO_STRICT_INTERVAL != 0 {
            return Err(bad("unknown interval flags"));
        }
        // SAFETY: a handle from the caller.
        unsafe { channel_arc(channel, "channel")? }
            .set_interval(interval, flags & RGCD_IO_STRICT_INTERVAL != 0);
        Ok(0)
    })
}
