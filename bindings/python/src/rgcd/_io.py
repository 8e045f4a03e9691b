"""``read_async`` / ``write_async`` (over ``rgcd_read_f`` / ``rgcd_write_f``) and
``IOChannel`` (over ``rgcd_io_*``)."""

from __future__ import annotations

from typing import Any, Callable, Optional

from . import _lib
from ._constants import IO_STREAM
from ._errors import error
from ._lib import NULL, as_ctx, check_callable, ffi, lib
from ._queue import Queue

_once = _lib._once
_kept = _lib._kept
SIZE_MAX = (1 << 64) - 1
INT64_MAX = (1 << 63) - 1


def _queue_handle(queue: Optional[Queue]) -> Any:
    if queue is None:
        return lib.rgcd_get_global_queue(0x15, 0)  # the default global queue
    if not isinstance(queue, Queue):
        raise TypeError(f"queue must be a Queue or None, not {type(queue).__name__}")
    return queue._h


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"data must be bytes, not {type(data).__name__}")


def _new_data(payload: bytes) -> Any:
    """A +1 ``rgcd_data_t`` holding a copy of ``payload``."""
    if not payload:
        return lib.rgcd_data_empty()
    h = lib.rgcd_data_create(ffi.from_buffer(payload), len(payload), 0)
    if h == NULL:
        raise error(-5, "data")
    return h


def _size(value: int, what: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise OverflowError(f"can't convert negative {what} to size_t")
    return min(value, SIZE_MAX)


def read_async(
    fd: int, length: int, handler: Callable[[bytes, int], Any], queue: Optional[Queue] = None
) -> None:
    """Reads from ``fd`` once, without blocking a worker: ``handler(data, 0)`` runs on
    ``queue`` (default: the default global queue) with up to ``length`` bytes — what had
    arrived (a pipe or socket waits for the first byte), or ``b""`` at end of file — or
    ``handler(b"", errno)`` on failure."""
    check_callable(handler, "handler")
    n = _size(length, "length")
    if not isinstance(fd, int):
        raise TypeError(f"fd must be an int, not {type(fd).__name__}")
    q = _queue_handle(queue)
    if fd < 0:
        raise ValueError(f"bad file descriptor {fd}")
    key = _lib.add_once(handler)
    rc = lib.rgcd_read_f(fd, n, q, as_ctx(key), lib.rgcdpy_io_data)
    if rc:
        _once.pop(key, None)
        raise error(rc, "read_async")


def write_async(
    fd: int, data: bytes, handler: Callable[[bytes, int], Any], queue: Optional[Queue] = None
) -> None:
    """Writes all of ``data`` to ``fd`` without blocking a worker, then runs
    ``handler(b"", 0)`` on ``queue`` — or ``handler(unwritten, errno)`` on failure. Writes
    to one fd land in the order they were submitted."""
    check_callable(handler, "handler")
    payload = _as_bytes(data)
    if not isinstance(fd, int):
        raise TypeError(f"fd must be an int, not {type(fd).__name__}")
    q = _queue_handle(queue)
    if fd < 0:
        raise ValueError(f"bad file descriptor {fd}")
    d = _new_data(payload)
    key = _lib.add_once(handler)
    try:
        rc = lib.rgcd_write_f(fd, d, q, as_ctx(key), lib.rgcdpy_io_data)
    finally:
        lib.rgcd_release(d)  # rgcd keeps its own reference until the write is done
    if rc:
        _once.pop(key, None)
        raise error(rc, "write_async")


IOHandler = Callable[[bool, bytes, int], Any]


class IOChannel:
    """An I/O channel (``dispatch_io``) over ``fd``: reads and writes in pieces, driven by
    rgcd's reactor and pool, ordered on the fd, with barriers.

    ``IOChannel(fd, io_type=IO_STREAM, queue=None, cleanup_handler=None)``:
    ``cleanup_handler(error)`` runs once on ``queue`` after the channel is closed and its
    operations finished (0, or the errno that made it give up the fd). The channel never
    closes ``fd``; closing it is the caller's job, after the cleanup handler ran. Collecting
    the object closes the channel.
    """

    __slots__ = ("_h", "_fd", "_closed", "__weakref__")

    def __init__(
        self,
        fd: int,
        io_type: int = IO_STREAM,
        queue: Optional[Queue] = None,
        cleanup_handler: Optional[Callable[[int], Any]] = None,
    ) -> None:
        self._h = NULL
        self._closed = True
        if cleanup_handler is not None:
            check_callable(cleanup_handler, "cleanup_handler")
        if not isinstance(fd, int):
            raise TypeError(f"fd must be an int, not {type(fd).__name__}")
        q = _queue_handle(queue)
        key = _lib.add_once(cleanup_handler) if cleanup_handler is not None else 0
        h = lib.rgcd_io_create(io_type, fd, q, as_ctx(key),
                               lib.rgcdpy_io_cleanup if key else NULL)
        if h == NULL:
            if key:
                _once.pop(key, None)
            raise RuntimeError(f"Failed to create I/O channel: {_lib.last_error()}")
        self._h = h
        self._fd = fd
        self._closed = False

    def __del__(self) -> None:
        h = getattr(self, "_h", NULL)
        if h == NULL:
            return
        self._h = NULL
        if not self._closed:
            self._closed = True
            lib.rgcd_io_close(h, 0)
        lib.rgcd_release(h)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<rgcd.IOChannel fd={getattr(self, '_fd', -1)} {state}>"

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("Channel is closed")

    def read(self, length: int, handler: IOHandler, offset: int = 0,
             queue: Optional[Queue] = None) -> None:
        """Reads up to ``length`` bytes (at ``offset`` for IO_RANDOM), calling
        ``handler(done, data, error)`` on ``queue`` for each piece; the last call has
        ``done`` True (at end of file with ``b""``)."""
        self._check_open()
        check_callable(handler, "handler")
        n = _size(length, "length")
        off = _offset(offset)
        q = _queue_handle(queue)
        key = _lib.add_kept(handler)
        rc = lib.rgcd_io_read_f(self._h, off, n, q, as_ctx(key), lib.rgcdpy_io_handler)
        if rc:
            _kept.pop(key, None)
            raise error(rc, "IOChannel.read")

    def write(self, data: bytes, handler: IOHandler, offset: int = 0,
              queue: Optional[Queue] = None) -> None:
        """Writes ``data`` (at ``offset`` for IO_RANDOM), calling
        ``handler(done, remaining, error)`` on ``queue`` as it progresses; ``remaining`` is
        what is not written yet (``b""`` on the last call when all was)."""
        payload = _as_bytes(data)
        self._check_open()
        check_callable(handler, "handler")
        off = _offset(offset)
        q = _queue_handle(queue)
        d = _new_data(payload)
        key = _lib.add_kept(handler)
        try:
            rc = lib.rgcd_io_write_f(self._h, off, d, q, as_ctx(key), lib.rgcdpy_io_handler)
        finally:
            lib.rgcd_release(d)
        if rc:
            _kept.pop(key, None)
            raise error(rc, "IOChannel.write")

    def barrier(self, handler: Callable[[], Any]) -> None:
        """Runs ``handler()`` once every operation submitted before it finished; later
        operations wait for it."""
        self._check_open()
        check_callable(handler, "handler")
        key = _lib.add_once(handler)
        rc = lib.rgcd_io_barrier_f(self._h, as_ctx(key), lib.rgcdpy_once)
        if rc:
            _once.pop(key, None)
            raise error(rc, "IOChannel.barrier")

    def close(self, stop: bool = False) -> None:
        """Closes the channel to new operations. With ``stop``, pending ones end with
        ``ECANCELED``; without, they run to completion. Idempotent."""
        if self._closed:
            return
        self._closed = True
        rc = lib.rgcd_io_close(self._h, 1 if stop else 0)
        if rc:
            raise error(rc, "IOChannel.close")

    def set_high_water(self, size: int) -> None:
        """At most ``size`` bytes per handler call (operations submitted from now on)."""
        self._check_open()
        rc = lib.rgcd_io_set_high_water(self._h, _size(size, "size"))
        if rc:
            raise error(rc, "IOChannel.set_high_water")

    def set_low_water(self, size: int) -> None:
        """At least ``size`` bytes per handler call, except the last."""
        self._check_open()
        rc = lib.rgcd_io_set_low_water(self._h, _size(size, "size"))
        if rc:
            raise error(rc, "IOChannel.set_low_water")

    def set_interval(self, interval_ns: int, flags: int = 0, *,
                     strict: Optional[bool] = None) -> None:
        """Deliver partial results every ``interval_ns`` nanoseconds; ``flags`` 1
        (``strict=True``): even below the low water mark."""
        self._check_open()
        if strict is not None:
            flags = 1 if strict else 0
        rc = lib.rgcd_io_set_interval(self._h, _size(interval_ns, "interval_ns"), flags)
        if rc:
            raise error(rc, "IOChannel.set_interval")

    @property
    def fd(self) -> int:
        """The file descriptor the channel was created on."""
        return self._fd

    @property
    def is_closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    def __enter__(self) -> "IOChannel":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _offset(offset: int) -> int:
    if not isinstance(offset, int):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")
    if not -(1 << 63) <= offset <= INT64_MAX:
        raise OverflowError("offset out of range")
    return offset
