"""Timers and event sources (signal, read, write, process)."""

from __future__ import annotations

from typing import Any, Callable, Optional

from . import _lib
from ._constants import PROC_EXIT
from ._errors import error
from ._lib import FOREVER, NULL, as_ctx, check_callable, deadline, lib, seconds_to_ns
from ._queue import Queue

TYPE_READ = 4
TYPE_WRITE = 5
TYPE_SIGNAL = 6
TYPE_PROC = 7
TYPE_TIMER = 8
HANDLER_EVENT = 0


class _Source:
    """Shared lifecycle: created suspended; ``start()``, ``cancel()``, ``is_cancelled``.
    Collecting the object (or leaving its ``with`` block) cancels it."""

    __slots__ = ("_h", "_started", "_cancelled", "_queue", "__weakref__")
    _what = "source"

    def _create(
        self, kind: int, handle: int, mask: int, handler: Callable[[], Any], queue: Optional[Queue]
    ) -> None:
        self._h = None
        check_callable(handler, "handler")
        if queue is not None and not isinstance(queue, Queue):
            raise TypeError(f"queue must be a Queue or None, not {type(queue).__name__}")
        if handle < 0:
            raise ValueError(f"{self._what}: negative handle {handle}")
        h = lib.rgcd_source_create(kind, handle, mask, queue._h if queue is not None else NULL)
        if h == NULL:
            raise error(-1, type(self).__name__)
        key = _lib.add_kept(handler)
        rc = lib.rgcd_source_set_handler_ctx_f(h, HANDLER_EVENT, lib.rgcdpy_kept, as_ctx(key),
                                               lib.rgcdpy_drop)
        if rc:
            _lib._kept.pop(key, None)
            lib.rgcd_release(h)
            raise error(rc, type(self).__name__)
        self._h = h
        self._started = False
        self._cancelled = False
        self._queue = queue

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h is None:
            return
        self._h = None
        lib.rgcd_source_cancel(h)
        if not self._started:
            lib.rgcd_activate(h)  # an inactive source runs its cancellation once activated
        lib.rgcd_release(h)

    def start(self) -> None:
        """Starts delivering events (a second call does nothing)."""
        if self._cancelled:
            raise RuntimeError(f"Cannot start a cancelled {self._what}")
        if self._started:
            return
        self._started = True
        rc = lib.rgcd_activate(self._h)
        if rc:
            self._cancelled = True
            raise error(rc, "start")

    def cancel(self) -> None:
        """Stops the source: no handler call starts after this. Idempotent."""
        if self._cancelled:
            return
        self._cancelled = True
        lib.rgcd_source_cancel(self._h)

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled or lib.rgcd_source_testcancel(self._h) == 1

    def _data(self) -> int:
        return int(lib.rgcd_source_get_data(self._h))

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cancel()


def _timer_args(interval: float, leeway: float, repeating: bool) -> "tuple[int, int]":
    if interval < 0:
        raise ValueError(f"interval must be >= 0, not {interval}")
    if leeway < 0:
        raise ValueError(f"leeway must be >= 0, not {leeway}")
    period = max(seconds_to_ns(interval), 1) if repeating else FOREVER
    return period, seconds_to_ns(leeway)


class Timer(_Source):
    """``Timer(interval, handler, queue=None, start_delay=0.0, leeway=0.0, repeating=True)``:
    calls ``handler()`` at construction time + ``start_delay``, then every ``interval``
    seconds (once if not ``repeating``), after ``start()``."""

    __slots__ = ()
    _what = "timer"

    def __init__(
        self,
        interval: float,
        handler: Callable[[], Any],
        queue: Optional[Queue] = None,
        start_delay: float = 0.0,
        leeway: float = 0.0,
        repeating: bool = True,
    ) -> None:
        check_callable(handler, "handler")
        period, slack = _timer_args(interval, leeway, repeating)
        self._create(TYPE_TIMER, 0, 0, handler, queue)
        lib.rgcd_source_set_timer(self._h, deadline(max(start_delay, 0.0)), period, slack)

    def set_timer(
        self, interval: float, start_delay: float = 0.0, leeway: float = 0.0,
        repeating: bool = True,
    ) -> None:
        """Re-arms the timer from now (ignored once cancelled)."""
        period, slack = _timer_args(interval, leeway, repeating)
        if self._cancelled:
            return
        lib.rgcd_source_set_timer(self._h, deadline(max(start_delay, 0.0)), period, slack)

    @property
    def data(self) -> int:
        """Fires delivered by the current handler call (missed fires coalesce)."""
        return self._data()


class SignalSource(_Source):
    """Calls ``handler()`` when signal ``signum`` arrives (even if it is set to SIG_IGN)."""

    __slots__ = ("_signum",)
    _what = "signal source"

    def __init__(self, signum: int, handler: Callable[[], Any], queue: Optional[Queue] = None):
        self._signum = signum
        self._create(TYPE_SIGNAL, signum, 0, handler, queue)

    @property
    def signal(self) -> int:
        return self._signum

    @property
    def count(self) -> int:
        """Signals coalesced into this handler call."""
        return self._data()


class ReadSource(_Source):
    """Calls ``handler()`` while ``fd`` is readable (level-triggered). Does not close fd."""

    __slots__ = ("_fd",)
    _what = "read source"

    def __init__(self, fd: int, handler: Callable[[], Any], queue: Optional[Queue] = None):
        self._fd = fd
        self._create(TYPE_READ, fd, 0, handler, queue)

    @property
    def fd(self) -> int:
        return self._fd

    @property
    def bytes_available(self) -> int:
        """Estimated bytes readable (0 at end of file)."""
        return self._data()


class WriteSource(_Source):
    """Calls ``handler()`` while ``fd`` is writable. Does not close fd."""

    __slots__ = ("_fd",)
    _what = "write source"

    def __init__(self, fd: int, handler: Callable[[], Any], queue: Optional[Queue] = None):
        self._fd = fd
        self._create(TYPE_WRITE, fd, 0, handler, queue)

    @property
    def fd(self) -> int:
        return self._fd

    @property
    def buffer_space(self) -> int:
        """Estimated free space in the write buffer."""
        return self._data()


class ProcessSource(_Source):
    """Calls ``handler()`` on events of process ``pid`` (exit is delivered on Linux)."""

    __slots__ = ("_pid",)
    _what = "process source"

    def __init__(
        self, pid: int, handler: Callable[[], Any], events: int = PROC_EXIT,
        queue: Optional[Queue] = None,
    ) -> None:
        self._pid = pid
        self._create(TYPE_PROC, pid, events, handler, queue)

    @property
    def pid(self) -> int:
        return self._pid

    @property
    def events_pending(self) -> int:
        """The PROC_* events seen (bitmask)."""
        return self._data()
