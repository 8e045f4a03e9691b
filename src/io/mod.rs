//! Dispatch I/O: asynchronous reads and writes of file descriptors, delivered as data objects
//! to handlers on queues — the convenience `read`/`write` and channels (STREAM or RANDOM, over
//! an fd, a path or another channel) with water marks, intervals, barriers and close.
//!
//! The design is in `README.md` next to this file: an fd entry per descriptor runs every
//! operation on it from one serial queue, non-blocking for pipes and sockets (the reactor's
//! read/write sources wake it), inside `pool::blocking` for regular files.

mod channel;
mod entry;
pub(crate) use entry::fork_lock;
mod op;

pub(crate) use channel::{submit_whole, ChannelInner, Cleanup};
pub(crate) use op::{Dir, IoHandler};

use crate::data::Data;
use crate::error::Error;
use crate::Queue;
use std::ffi::CString;
use std::os::fd::RawFd;
use std::sync::Arc;

/// The type of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoType {
    /// A stream of bytes: operations run in order per direction, at the current file
    /// position; offsets are ignored.
    Stream,
    /// Random access: each operation reads or writes at its offset, counted from the file
    /// position when the channel was created. Needs a seekable fd.
    Random,
}

/// An I/O channel: reads and writes on one fd, delivered in pieces to handlers on queues.
///
/// # Examples
///
/// ```
/// use rgcd::{Data, IoChannel, IoType, Queue};
/// use std::sync::mpsc;
/// let mut fds = [0; 2];
/// assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
/// let q = Queue::serial("io");
/// let (tx, rx) = mpsc::channel();
/// let reader = IoChannel::new(IoType::Stream, fds[0], &q, |_| {});
/// let writer = IoChannel::new(IoType::Stream, fds[1], &q, |_| {});
/// reader.read(0, 5, &q, move |done, data, err| {
///     if let Some(d) = data {
///         tx.send((done, d.to_vec(), err)).unwrap();
///     }
/// });
/// writer.write(0, &Data::copy_from(b"hello"), &q, |_, _, _| {});
/// let mut got = Vec::new();
/// while got.len() < 5 {
///     let (_, bytes, err) = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
///     assert_eq!(err, 0);
///     got.extend(bytes);
/// }
/// assert_eq!(got, b"hello");
/// reader.close(false);
/// writer.close(false);
/// ```
#[derive(Clone)]
pub struct IoChannel {
    pub(crate) inner: Arc<ChannelInner>,
}

fn cleanup_box(f: impl FnOnce(i32) + Send + 'static) -> Option<Cleanup> {
    Some(Box::new(f))
}

fn rust_handler(mut f: impl FnMut(bool, Option<Data>, i32) + Send + 'static) -> IoHandler {
    Box::new(move |done, d, err| f(done, d.map(|d| Data { inner: d.clone() }), err))
}

impl IoChannel {
    /// A channel on `fd`, which the caller keeps owning: close it in `cleanup`, which runs
    /// once (on `queue`, with 0 or the errno that made the channel give up) after the channel
    /// is closed (or dropped) and its operations finished.
    pub fn new(
        ty: IoType,
        fd: RawFd,
        queue: &Queue,
        cleanup: impl FnOnce(i32) + Send + 'static,
    ) -> IoChannel {
        IoChannel {
            inner: ChannelInner::with_fd(
                ty == IoType::Random,
                fd,
                queue.clone(),
                cleanup_box(cleanup),
            ),
        }
    }

    /// A channel on an absolute `path`, opened with `oflag` and `mode` when the first
    /// operation runs and closed by rgcd once the channel is done.
    pub fn with_path(
        ty: IoType,
        path: &str,
        oflag: i32,
        mode: u32,
        queue: &Queue,
        cleanup: impl FnOnce(i32) + Send + 'static,
    ) -> Result<IoChannel, Error> {
        let p = CString::new(path).map_err(|_| {
            Error::new(
                crate::ErrorKind::InvalidArgument,
                "path contains a NUL byte",
            )
        })?;
        ChannelInner::with_path(
            ty == IoType::Random,
            p,
            oflag,
            mode as libc::mode_t,
            queue.clone(),
            cleanup_box(cleanup),
        )
        .map(|inner| IoChannel { inner })
    }

    /// A channel on the fd or path of `other`, with its own type and policy.
    pub fn with_io(
        ty: IoType,
        other: &IoChannel,
        queue: &Queue,
        cleanup: impl FnOnce(i32) + Send + 'static,
    ) -> IoChannel {
        IoChannel {
            inner: ChannelInner::with_io(
                ty == IoType::Random,
                &other.inner,
                queue.clone(),
                cleanup_box(cleanup),
            ),
        }
    }

    /// Reads `length` bytes (`usize::MAX`: until end of file) at `offset` (RANDOM only).
    /// `handler(done, data, error)` runs on `queue` for each piece, never two at once; the
    /// last call has `done` set (empty data and error 0 at end of file).
    pub fn read(
        &self,
        offset: i64,
        length: usize,
        queue: &Queue,
        handler: impl FnMut(bool, Option<Data>, i32) + Send + 'static,
    ) {
        self.inner.submit(
            Dir::Read,
            offset,
            length,
            crate::data::empty().clone(),
            queue.clone(),
            rust_handler(handler),
        );
    }

    /// Writes `data` at `offset` (RANDOM only). `handler(done, remaining, error)` runs on
    /// `queue` as the write progresses; the last call has `done` set and `remaining` `None`
    /// when every byte was written.
    pub fn write(
        &self,
        offset: i64,
        data: &Data,
        queue: &Queue,
        handler: impl FnMut(bool, Option<Data>, i32) + Send + 'static,
    ) {
        self.inner.submit(
            Dir::Write,
            offset,
            0,
            data.inner.clone(),
            queue.clone(),
            rust_handler(handler),
        );
    }

    /// Closes the channel to new operations (they fail with ECANCELED). With `stop`,
    /// pending operations end with ECANCELED too; else they run to completion.
    pub fn close(&self, stop: bool) {
        self.inner.close(stop)
    }

    /// Runs `f` once every operation submitted before it on the fd finished; later
    /// operations wait for it.
    pub fn barrier(&self, f: impl FnOnce() + Send + 'static) {
        self.inner.barrier(Box::new(f))
    }

    /// The fd, or -1 when closed or not opened yet.
    pub fn descriptor(&self) -> RawFd {
        self.inner.descriptor()
    }

    /// Handlers get at most `bytes` at a time.
    pub fn set_high_water(&self, bytes: usize) {
        self.inner.set_high_water(bytes)
    }

    /// Partial results are delivered only once at least `bytes` are ready.
    pub fn set_low_water(&self, bytes: usize) {
        self.inner.set_low_water(bytes)
    }

    /// Delivers partial results every `nanos` ns (any amount when `strict`).
    pub fn set_interval(&self, nanos: u64, strict: bool) {
        self.inner.set_interval(nanos, strict)
    }
}

/// Reads from `fd` once: `handler(data, error)` runs on `queue` with up to `length` bytes —
/// what was available when the fd would have blocked, everything up to end of file, or
/// `length` bytes (empty data at end of file).
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// let mut fds = [0; 2];
/// assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
/// let q = rgcd::Queue::serial("read");
/// let (tx, rx) = mpsc::channel();
/// rgcd::read(fds[0], usize::MAX, &q, move |d, err| tx.send((d.to_vec(), err)).unwrap());
/// assert_eq!(unsafe { libc::write(fds[1], b"hi".as_ptr().cast(), 2) }, 2);
/// let got = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
/// assert_eq!(got, (b"hi".to_vec(), 0));
/// ```
pub fn read(
    fd: RawFd,
    length: usize,
    queue: &Queue,
    handler: impl FnOnce(Data, i32) + Send + 'static,
) {
    let mut h = Some(handler);
    submit_whole(
        fd,
        Dir::Read,
        length,
        crate::data::empty().clone(),
        queue.clone(),
        Box::new(move |_, d, err| {
            if let Some(f) = h.take() {
                let d = d.cloned().unwrap_or_else(|| crate::data::empty().clone());
                f(Data { inner: d }, err)
            }
        }),
    );
}

/// Writes all of `data` to `fd`: `handler(remaining, error)` runs on `queue` once, with
/// `None` when every byte was written. Writes to one fd land in the order submitted.
pub fn write(
    fd: RawFd,
    data: &Data,
    queue: &Queue,
    handler: impl FnOnce(Option<Data>, i32) + Send + 'static,
) {
    let mut h = Some(handler);
    submit_whole(
        fd,
        Dir::Write,
        0,
        data.inner.clone(),
        queue.clone(),
        Box::new(move |_, d, err| {
            if let Some(f) = h.take() {
                f(d.map(|d| Data { inner: d.clone() }), err)
            }
        }),
    );
}
