//! Status codes and the thread-local error message.

use crate::error::{Error, ErrorKind};
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};

/// Success.
pub const RGCD_OK: c_int = 0;
/// A wait's deadline passed (an outcome, not an error).
pub const RGCD_TIMED_OUT: c_int = 1;
/// A bad argument: a NULL handle or function, a negative count, unknown flags.
pub const RGCD_EINVAL: c_int = -1;
/// The handle is not of a type this call accepts (or not a live rgcd object).
pub const RGCD_ETYPE: c_int = -2;
/// An unbalanced call: leave without enter, resume without suspend.
pub const RGCD_ESTATE: c_int = -3;
/// The call would wait for the calling thread itself: `sync` onto a queue the caller is
/// already running on (directly or through its targets), or `once` from inside its own
/// function.
pub const RGCD_EDEADLK: c_int = -4;
/// Out of memory or threads.
pub const RGCD_ENOMEM: c_int = -5;
/// A panic was caught at the boundary (a bug in rgcd: please report it).
pub const RGCD_EPANIC: c_int = -6;
/// The operation does not apply to this object (e.g. suspending a group).
pub const RGCD_ENOTSUP: c_int = -7;

/// The last failure's message: a static string where the message is fixed (a timed-out wait
/// sets one without allocating), else an owned copy.
enum Message {
    Static(&'static CStr),
    Owned(CString),
}

thread_local! {
    static LAST: RefCell<Message> = const { RefCell::new(Message::Static(c"")) };
}

pub(crate) fn code(kind: ErrorKind) -> c_int {
    match kind {
        ErrorKind::InvalidArgument => RGCD_EINVAL,
        ErrorKind::WrongType => RGCD_ETYPE,
        ErrorKind::State => RGCD_ESTATE,
        ErrorKind::Deadlock => RGCD_EDEADLK,
        ErrorKind::NotSupported => RGCD_ENOTSUP,
        ErrorKind::TimedOut => RGCD_TIMED_OUT,
        ErrorKind::Panic => RGCD_EPANIC,
    }
}

/// Records `e` as this thread's last error and returns its status code.
pub(crate) fn fail(e: &Error) -> c_int {
    let msg = CString::new(e.message().replace('\0', " ")).unwrap_or_default();
    LAST.with(|l| *l.borrow_mut() = Message::Owned(msg));
    code(e.kind())
}

/// Records a fixed message as this thread's last error and returns `status` (for outcomes
/// that are not errors but still say something, such as a timed-out wait).
#[cold]
pub(crate) fn outcome(status: c_int, msg: &'static CStr) -> c_int {
    LAST.with(|l| *l.borrow_mut() = Message::Static(msg));
    status
}

/// The message of the last call on this thread that failed ("" if none has).
///
/// The string stays valid until the next failing rgcd call on this thread. A wait that times
/// out (`rgcd_semaphore_wait` or `rgcd_group_wait` returning `RGCD_TIMED_OUT`) also sets it, to
/// a message naming the call. Successful calls leave it unchanged.
#[no_mangle]
pub extern "C" fn rgcd_last_error() -> *const c_char {
    LAST.with(|l| match &*l.borrow() {
        Message::Static(m) => m.as_ptr(),
        Message::Owned(m) => m.as_ptr(),
    })
}

/// A static description of a status code ("unknown status" for codes rgcd does not use).
#[no_mangle]
pub extern "C" fn rgcd_strerror(status: c_int) -> *const c_char {
    let s: &'static std::ffi::CStr = match status {
        RGCD_OK => c"success",
        RGCD_TIMED_OUT => c"timed out",
        RGCD_EINVAL => c"invalid argument",
        RGCD_ETYPE => c"wrong object type",
        RGCD_ESTATE => c"unbalanced call",
        RGCD_EDEADLK => c"deadlock: the call would wait for the calling thread itself",
        RGCD_ENOMEM => c"out of memory",
        RGCD_EPANIC => c"internal panic",
        RGCD_ENOTSUP => c"operation not supported by this object",
        _ => c"unknown status",
    };
    s.as_ptr()
}
