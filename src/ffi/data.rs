//! Dispatch data: immutable buffers made of regions.

use super::{header, pointer, queue_ref, rgcd_function_t, rgcd_queue_t, status};
use crate::data::{destructor_queue, DataInner, Owner};
use crate::error::{Error, ErrorKind};
use crate::object::Kind;
use crate::task::SendPtr;
use std::ffi::{c_int, c_void};
use std::mem::ManuallyDrop;
use std::sync::Arc;

/// An opaque data object.
pub struct rgcd_data_s {
    _private: [u8; 0],
}

/// A data handle: immutable bytes (also accepted by `rgcd_retain` / `rgcd_release`).
pub type rgcd_data_t = *mut rgcd_data_s;

/// How `rgcd_data_create` treats the buffer it is given (`RGCD_DATA_DESTRUCTOR_*`).
pub type rgcd_data_destructor_t = u32;

/// Copy the bytes now; the caller keeps its buffer (libdispatch's `DESTRUCTOR_DEFAULT`).
pub const RGCD_DATA_DESTRUCTOR_DEFAULT: rgcd_data_destructor_t = 0;
/// Take the buffer and `free()` it when no data object uses it any more.
pub const RGCD_DATA_DESTRUCTOR_FREE: rgcd_data_destructor_t = 1;
/// Take the buffer and `munmap()` it (`size` bytes) when no data object uses it any more.
pub const RGCD_DATA_DESTRUCTOR_MUNMAP: rgcd_data_destructor_t = 2;
/// Borrow the buffer: the caller keeps it readable and unchanged for as long as any data
/// object may use it (static memory, say); rgcd never frees it.
pub const RGCD_DATA_DESTRUCTOR_NONE: rgcd_data_destructor_t = 3;

/// Called by `rgcd_data_apply_f` for each contiguous region, in order: `region` is the data
/// object holding the bytes (borrowed for the call), `offset` the region's position in the
/// data applied over, `buffer`/`size` its bytes. Return false to stop.
pub type rgcd_data_applier_t = Option<
    unsafe extern "C" fn(
        context: *mut c_void,
        region: rgcd_data_t,
        offset: libc::size_t,
        buffer: *const c_void,
        size: libc::size_t,
    ) -> bool,
>;

pub(super) unsafe fn data_arc(
    d: rgcd_data_t,
    what: &'static str,
) -> Result<ManuallyDrop<Arc<DataInner>>, Error> {
    // SAFETY: a handle from the caller.
    match unsafe { header(d as *const c_void, what)? } {
        // SAFETY: the tag says this is a data object, an Arc allocation; borrowed.
        (_, Kind::Data) => Ok(ManuallyDrop::new(unsafe {
            Arc::from_raw(d as *const DataInner)
        })),
        _ => Err(Error::new(
            ErrorKind::WrongType,
            format!("{what} is not a data object"),
        )),
    }
}

fn into_handle(d: Arc<DataInner>) -> rgcd_data_t {
    Arc::into_raw(d) as rgcd_data_t
}

/// The empty data object (size 0). Borrowed: retaining and releasing it do nothing, as for the
/// global queues. Every way of making empty data (size 0, a subrange past the end, ...) gives
/// this object.
#[no_mangle]
pub extern "C" fn rgcd_data_empty() -> rgcd_data_t {
    Arc::as_ptr(crate::data::empty()) as rgcd_data_t
}

/// Creates a data object (+1) over `size` bytes at `buffer`, which is copied
/// (`RGCD_DATA_DESTRUCTOR_DEFAULT`), taken over (`_FREE`, `_MUNMAP`) or borrowed (`_NONE`).
/// Size 0 gives the empty object (a taken-over buffer is freed at once).
///
/// NULL with `RGCD_EINVAL` for a NULL `buffer` with a non-zero size or an unknown
/// `destructor`; then the caller keeps its buffer.
#[no_mangle]
pub unsafe extern "C" fn rgcd_data_create(
    buffer: *const c_void,
    size: libc::size_t,
    destructor: rgcd_data_destructor_t,
) -> rgcd_data_t {
    pointer(|| {
        let p = buffer as *const u8;
        let d = match destructor {
            RGCD_DATA_DESTRUCTOR_DEFAULT => {
                if p.is_null() && size != 0 {
                    return Err(Error::new(ErrorKind::InvalidArgument, "buffer is NULL"));
                }
                if size == 0 {
                    crate::data::empty().clone()
                } else {
                    // SAFETY: the caller's buffer of `size` readable bytes.
                    DataInner::copy_of(unsafe { std::slice::from_raw_parts(p, size) })
                }
            }
            // SAFETY: the caller hands over (or lends) `size` bytes at `buffer`.
            RGCD_DATA_DESTRUCTOR_FREE => unsafe { DataInner::create(p, size, Owner::Free)? },
            // SAFETY: as above.
            RGCD_DATA_DESTRUCTOR_MUNMAP => unsafe { DataInner::create(p, size, Owner::Munmap)? },
            // SAFETY: as above.
            RGCD_DATA_DESTRUCTOR_NONE => unsafe { DataInner::create(p, size, Owner::Borrowed)? },
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("unknown data destructor {destructor}"),
                ))
            }
        };
        Ok(into_handle(d))
    })
}

/// Creates a data object (+1) that borrows `size` bytes at `buffer` until no data object uses
/// them any more; then `destructor(context)` runs once, asynchronously, on `queue` (NULL: the
/// default global queue). Size 0 gives the empty object and runs the destructor at once (on
/// `queue`).
///
/// NULL with `RGCD_EINVAL` for a NULL `destructor`, or a NULL `buffer` with a non-zero size;
/// then the destructor is never called.
#[no_mangle]
pub unsafe extern "C" fn rgcd_data_create_f(
    buffer: *const c_void,
    size: libc::size_t,
    queue: rgcd_queue_t,
    context: *mut c_void,
    destructor: rgcd_function_t,
) -> rgcd_data_t {
    pointer(|| {
        let f = super::function(destructor, "destructor")?;
        if buffer.is_null() && size != 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "buffer is NULL"));
        }
        let q = if queue.is_null() {
            None
        } else {
            // SAFETY: a handle from the caller.
            Some(unsafe { queue_ref(queue as *const c_void, "queue")? })
        };
        let owner = Owner::Custom {
            f,
            ctx: SendPtr(context),
            queue: destructor_queue(q),
        };
        // A non-NULL pointer for size 0, so the destructor still runs.
        let p = if buffer.is_null() {
            std::ptr::NonNull::<u8>::dangling().as_ptr() as *const u8
        } else {
            buffer as *const u8
        };
        // SAFETY: the caller lends `size` bytes at `buffer` until the destructor runs.
        Ok(into_handle(unsafe { DataInner::create(p, size, owner)? }))
    })
}

/// The size of `data` in bytes (0 on error, with `rgcd_last_error()` set).
#[no_mangle]
pub unsafe extern "C" fn rgcd_data_get_size(data: rgcd_data_t) -> libc::size_t {
    let mut size = 0;
    status(|| {
        // SAFETY: a handle from the caller.
        size = unsafe { data_arc(data, "data")? }.size();
        Ok(0)
    });
    size
}

/// A new data object (+1): the bytes of `first` followed by those of `second`, sharing their
/// memory (nothing is copied). NULL with `RGCD_EINVAL`/`RGCD_ETYPE` for a bad handle.
#[no_mangle]
pub unsafe extern "C" fn rgcd_data_create_concat(
    first: rgcd_data_t,
    second: rgcd_data_t,
) -> rgcd_data_t {
    pointer(|| {
        // SAFETY: handles from the caller.
        let (a, b) = unsafe { (data_arc(first, "first")?, data_arc(second, "second")?) };
        Ok(into_handle(DataInner::concat(&a, &b)))
    })
}

/// A new data object (+1): `length` bytes of `data` from `offset`, clipped to its end (the empty
/// object when `offset` is past the end), sharing its memory.
#[no_mangle]
pub unsafe extern "C" fn rgcd_data_create_subrange(
    data: rgcd_data_t,
    offset: libc::size_t,
    length: libc::size_t,
) -> rgcd_data_t {
    pointer(|| {
        // SAFETY: a handle from the caller.
        let d = unsafe { data_arc(data, "data")? };
        Ok(into_handle(d.subrange(offset, length)))
    })
}

/// A contiguous view of `data`: returns a data object (+1) whose bytes are contiguous — `data`
/// itself when they already are, else a copy — and writes their address and size to
/// `buffer_ptr` and `size_ptr` (either may be NULL). The address stays valid while the
/// returned object lives. NULL on a bad handle (outputs untouched).
#[no_mangle]
pub unsafe extern "C" fn rgcd_data_create_map(
    data: rgcd_data_t,
    buffer_ptr: *mut *const c_void,
    size_ptr: *mut libc::size_t,
) -> rgcd_data_t {
    pointer(|| {
        // SAFETY: a handle from the caller.
        let d = unsafe { data_arc(data, "data")? };
        let (m, p) = d.map();
        let size = m.size();
        if !buffer_ptr.is_null() {
            // SAFETY: the caller's out-pointer.
            unsafe { *buffer_ptr = p as *const c_void };
        }
        if !size_ptr.is_null() {
            // SAFETY: the caller's out-pointer.
            unsafe { *size_ptr = size };
        }
        Ok(into_handle(m))
    })
}

/// The contiguous region of `data` that holds byte `location`: returns it as a data object
/// (+1) and writes its position in `data` to `offset_ptr` (may be NULL). NULL with
/// `RGCD_EINVAL` when `location` is not inside `data`.
#[no_mangle]
pub unsafe extern "C" fn rgcd_data_copy_region(
    data: rgcd_data_t,
    location: libc::size_t,
    offset_ptr: *mut libc::size_t,
) -> rgcd_data_t {
    pointer(|| {
        // SAFETY: a handle from the caller.
        let d = unsafe { data_arc(data, "data")? };
        let (r, off) = d.copy_region(location)?;
        if !offset_ptr.is_null() {
            // SAFETY: the caller's out-pointer.
            unsafe { *offset_ptr = off };
        }
        Ok(into_handle(r))
    })
}

/// Calls `applier(context, region, offset, buffer, size)` for each contiguous region of
/// `data`, in order, on this thread, until it returns false. Returns 1 when every region was
/// visited, 0 when the applier stopped early (the empty object has no regions: 1), or an
/// error (`RGCD_EINVAL` for a NULL applier).
#[no_mangle]
pub unsafe extern "C" fn rgcd_data_apply_f(
    data: rgcd_data_t,
    context: *mut c_void,
    applier: rgcd_data_applier_t,
) -> c_int {
    status(|| {
        let f = applier.ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "applier is NULL"))?;
        // SAFETY: a handle from the caller.
        let d = unsafe { data_arc(data, "data")? };
        let all = d.apply(|leaf, offset, bytes| {
            // SAFETY: the C contract; `leaf` is borrowed for the call.
            unsafe {
                f(
                    context,
                    Arc::as_ptr(leaf) as rgcd_data_t,
                    offset,
                    bytes.as_ptr() as *const c_void,
                    bytes.len(),
                )
            }
        });
        Ok(all as c_int)
    })
}
