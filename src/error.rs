//! Errors of the safe API; `ffi` turns them into status codes and `rgcd_last_error()` text.

use std::borrow::Cow;
use std::fmt;

/// What went wrong, one variant per C status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A bad argument: NULL handle or function, negative count, unknown flags.
    InvalidArgument,
    /// The object is not of a type the call accepts.
    WrongType,
    /// An unbalanced call: leave without enter, resume without suspend.
    State,
    /// `sync` onto a queue the caller is already running on.
    Deadlock,
    /// The operation does not apply to this object.
    NotSupported,
    /// A wait's deadline passed (an outcome, not a failure, in the C ABI).
    TimedOut,
    /// A panic was caught (inside a callback or inside rgcd).
    Panic,
}

/// An error with a message saying what was wrong.
///
/// # Examples
///
/// ```
/// let s = rgcd::Semaphore::new(0).unwrap();
/// let e = s.wait(rgcd::Time::after_nanos(1_000)).unwrap_err();
/// assert_eq!(e.kind(), rgcd::ErrorKind::TimedOut);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn timed_out() -> Self {
        Error::new(ErrorKind::TimedOut, "the deadline passed")
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, in words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
