"""Queues, groups, semaphores, once and apply."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Optional, Tuple

from . import _lib
from ._batch import global_batch, new_batch
from ._errors import EDEADLK, error
from ._lib import NULL, as_ctx, check_callable, deadline, ffi, lib, report

_once = _lib._once
_kept = _lib._kept
_next = _lib._counter.__next__
_cast = ffi.cast
_ONCE = lib.rgcdpy_once
_DROP = lib.rgcdpy_drop
_APPLY = lib.rgcdpy_apply
_async_f = lib.rgcd_async_f
_group_async_f = lib.rgcd_group_async_f

_QOS_CLASSES = (0x21, 0x19, 0x15, 0x11, 0x09)
_GLOBAL_LABELS = {
    0x21: "com.apple.root.user-interactive-qos",
    0x19: "com.apple.root.user-initiated-qos",
    0x15: "com.apple.root.default-qos",
    0x11: "com.apple.root.utility-qos",
    0x09: "com.apple.root.background-qos",
}
_PRIORITY_TO_QOS = {2: 0x19, 0: 0x15, -2: 0x11, -32768: 0x09}
QUEUE_SERIAL = 0
QUEUE_CONCURRENT = 1
QUEUE_INACTIVE = 2
QOS_SHIFT = 8


def _submit_failed(key: int, rc: int, what: str) -> Exception:
    _once.pop(key, None)
    return error(rc, what)


class Queue:
    """A dispatch queue: serial (FIFO, one item at a time) or concurrent.

    ``Queue(label=None, concurrent=False, qos=0, relative_priority=0, target=None,
    inactive=False)``. Work submitted to a queue runs even when the ``Queue`` object is
    collected first.
    """

    __slots__ = ("_h", "_owned", "_label", "_inactive", "_context", "_ctx_key", "_target",
                 "_batch", "__weakref__")

    def __init__(
        self,
        label: Optional[str] = None,
        concurrent: bool = False,
        qos: int = 0,
        relative_priority: int = 0,
        target: Optional["Queue"] = None,
        inactive: bool = False,
    ) -> None:
        self._owned = False
        self._batch = None
        if label is not None and not isinstance(label, str):
            raise TypeError(f"label must be str or None, not {type(label).__name__}")
        if target is not None and not isinstance(target, Queue):
            raise TypeError(f"target must be a Queue or None, not {type(target).__name__}")
        attr = QUEUE_CONCURRENT if concurrent else QUEUE_SERIAL
        if inactive:
            attr |= QUEUE_INACTIVE
        # libdispatch ignores an unknown class or a relative priority outside [-15, 0].
        if qos in _QOS_CLASSES and -15 <= relative_priority <= 0:
            attr |= qos << QOS_SHIFT
        h = lib.rgcd_queue_create(label.encode() if label is not None else NULL, attr)
        if h == NULL:
            raise error(-1, "Queue")
        self._h = h
        self._owned = True
        self._label = label if label is not None else ""
        self._inactive = bool(inactive)
        self._context: Any = None
        self._ctx_key = 0
        self._target: Optional[Queue] = None
        # A concurrent queue batches run_async (see _batch.py); a serial one never does.
        self._batch = new_batch(h) if concurrent else None
        if target is not None:
            self.set_target_queue(target)

    @classmethod
    def _borrowed(cls, h: Any, label: str, batch: Any = None) -> "Queue":
        q = cls.__new__(cls)
        q._h = h
        q._owned = False
        q._label = label
        q._inactive = False
        q._context = None
        q._ctx_key = 0
        q._target = None
        q._batch = batch
        return q

    def __del__(self) -> None:
        if getattr(self, "_owned", False):
            self._owned = False
            if self._batch is not None:
                self._batch.release_owner()
            if self._inactive:
                # cygcd: an inactive queue is activated when its wrapper goes away.
                lib.rgcd_activate(self._h)
            lib.rgcd_release(self._h)

    def __repr__(self) -> str:
        return f"<rgcd.Queue {self._label!r}>"

    @staticmethod
    def global_queue(priority: int = 0) -> "Queue":
        """The global concurrent queue for a ``QUEUE_PRIORITY_*`` or ``QOS_CLASS_*`` value."""
        qos = _PRIORITY_TO_QOS.get(priority, priority)
        if qos not in _GLOBAL_LABELS:
            raise ValueError(f"unknown queue priority or QoS class: {priority!r}")
        h = lib.rgcd_get_global_queue(qos, 0)
        if h == NULL:
            raise error(-1, "global_queue")
        return Queue._borrowed(h, _GLOBAL_LABELS[qos], global_batch(h))

    @staticmethod
    def main_queue() -> "Queue":
        """The main queue (serial; drained only by a run loop, which Python lacks)."""
        return Queue._borrowed(lib.rgcd_get_main_queue(), "com.apple.main-thread")

    @property
    def label(self) -> str:
        return self._label

    # --- work -------------------------------------------------------------------------

    def run_async(self, func: Callable[[], Any]) -> None:
        """Submits ``func()`` to run on this queue and returns at once."""
        if not callable(func):
            check_callable(func)
        b = self._batch
        if b is not None and b.enabled:
            b.dq.append((func, None))
            if not b.pending:
                b.kick()
            return
        key = _next()
        _once[key] = func
        rc = _async_f(self._h, _cast("void *", key), _ONCE)
        if rc:
            raise _submit_failed(key, rc, "run_async")

    def run_sync(self, func: Callable[[], Any]) -> None:
        """Runs ``func()`` on this queue and returns after it ran. An exception in ``func``
        is reported, not raised. ``RuntimeError`` when called from this serial queue."""
        check_callable(func)
        key = _next()
        _once[key] = func
        rc = lib.rgcd_sync_f(self._h, _cast("void *", key), _ONCE)
        if rc:
            if rc == EDEADLK:
                _once.pop(key, None)
                raise RuntimeError(
                    f"run_sync onto queue {self._label!r} from work running on it would deadlock"
                )
            raise _submit_failed(key, rc, "run_sync")

    def barrier_async(self, func: Callable[[], Any]) -> None:
        """Like ``run_async``; on a concurrent queue ``func`` runs alone."""
        check_callable(func)
        self._unbatch()
        key = _next()
        _once[key] = func
        rc = lib.rgcd_barrier_async_f(self._h, _cast("void *", key), _ONCE)
        if rc:
            raise _submit_failed(key, rc, "barrier_async")

    def barrier_sync(self, func: Callable[[], Any]) -> None:
        """Like ``run_sync``; on a concurrent queue ``func`` runs alone."""
        check_callable(func)
        self._unbatch()
        key = _next()
        _once[key] = func
        rc = lib.rgcd_barrier_sync_f(self._h, _cast("void *", key), _ONCE)
        if rc:
            if rc == EDEADLK:
                _once.pop(key, None)
                raise RuntimeError(
                    f"barrier_sync onto queue {self._label!r} from work running on it "
                    "would deadlock"
                )
            raise _submit_failed(key, rc, "barrier_sync")

    def after(self, delay_seconds: float, func: Callable[[], Any]) -> None:
        """Submits ``func()`` to run on this queue after ``delay_seconds``."""
        check_callable(func)
        when = deadline(max(float(delay_seconds), 0.0))
        key = _next()
        _once[key] = func
        rc = lib.rgcd_after_f(when, self._h, _cast("void *", key), _ONCE)
        if rc:
            raise _submit_failed(key, rc, "after")

    def _unbatch(self) -> None:
        # Before a barrier or a suspension: a queue of our own stops batching (its queued
        # callables become rgcd items first; see _batch.py). A global queue keeps batching:
        # rgcd runs barriers there as plain items
        # (as libdispatch does) and refuses suspend.
        b = self._batch
        if b is not None and b.owned and b.enabled:
            b.disable()

    # --- state ------------------------------------------------------------------------

    def suspend(self) -> None:
        """Stops new items from starting until a matching ``resume()``. Nests."""
        self._unbatch()
        rc = lib.rgcd_suspend(self._h)
        if rc:
            raise error(rc, "suspend")

    def resume(self) -> None:
        """Undoes one ``suspend()``; ``RuntimeError`` when the queue is not suspended."""
        rc = lib.rgcd_resume(self._h)
        if rc:
            raise error(rc, "resume")

    def activate(self) -> None:
        """Activates a queue created with ``inactive=True``."""
        if not self._inactive:
            raise RuntimeError("Queue is not inactive (or already activated)")
        rc = lib.rgcd_activate(self._h)
        if rc:
            raise error(rc, "activate")
        self._inactive = False

    @property
    def is_inactive(self) -> bool:
        return self._inactive

    def set_target_queue(self, queue: Optional["Queue"]) -> None:
        """Makes this queue's items run as part of ``queue`` (None: the default)."""
        if queue is not None and not isinstance(queue, Queue):
            raise TypeError(f"queue must be a Queue or None, not {type(queue).__name__}")
        rc = lib.rgcd_set_target_queue(self._h, queue._h if queue is not None else NULL)
        if rc:
            raise error(rc, "set_target_queue")
        self._target = queue

    # --- context and specific data ----------------------------------------------------

    def set_context(self, value: Any, finalizer: Optional[Callable[[], Any]] = None) -> None:
        """Attaches ``value``; ``finalizer()`` (no arguments, as in cygcd) runs when the
        context is replaced (at once, in the caller) or when the queue is destroyed (on its
        target queue)."""
        if finalizer is not None:
            check_callable(finalizer, "finalizer")
        old_key = self._ctx_key
        if finalizer is not None:
            key = _next()
            _once[key] = finalizer
            lib.rgcd_set_context(self._h, as_ctx(key))
            lib.rgcd_set_finalizer_f(self._h, _ONCE)
        else:
            key = 0
            lib.rgcd_set_finalizer_f(self._h, NULL)
            lib.rgcd_set_context(self._h, NULL)
        self._context = value
        self._ctx_key = key
        if old_key:
            old = _once.pop(old_key, None)
            if old is not None:
                try:
                    old()
                except BaseException as exc:
                    report(exc, old)

    def get_context(self) -> Any:
        return self._context

    def set_specific(self, key: object, value: Any) -> None:
        """Stores ``value`` on this queue under ``key`` (matched by identity); None removes."""
        ckey = _specific_key(key, create=True)
        if value is None:
            rc = lib.rgcd_queue_set_specific(self._h, as_ctx(ckey), NULL, NULL)
        else:
            vkey = _lib.add_kept(value)
            rc = lib.rgcd_queue_set_specific(self._h, as_ctx(ckey), as_ctx(vkey), _DROP)
            if rc:
                _kept.pop(vkey, None)
        if rc:
            raise error(rc, "set_specific")

    def get_specific(self, key: object) -> Any:
        """The value this queue holds under ``key`` (None if none)."""
        ckey = _specific_key(key, create=False)
        if ckey is None:
            return None
        return _kept_value(lib.rgcd_queue_get_specific(self._h, as_ctx(ckey)))


# id(key) -> (key, C key). Keys stay alive forever, so their ids are never reused.
_specific_keys: Dict[int, Tuple[object, int]] = {}


def _specific_key(key: object, create: bool) -> Optional[int]:
    entry = _specific_keys.get(id(key))
    if entry is None:
        if not create:
            return None
        entry = (key, _next())
        _specific_keys[id(key)] = entry
    return entry[1]


def _kept_value(ptr: Any) -> Any:
    if ptr == NULL:
        return None
    return _kept.get(int(_cast("uintptr_t", ptr)))


def get_specific(key: object) -> Any:
    """The value under ``key`` for the queue running the caller (or its targets), or None."""
    ckey = _specific_key(key, create=False)
    if ckey is None:
        return None
    return _kept_value(lib.rgcd_get_specific(as_ctx(ckey)))


class Group:
    """A group of work items to wait for or be notified about."""

    __slots__ = ("_h", "_lock", "_refs", "__weakref__")

    def __init__(self) -> None:
        h = lib.rgcd_group_create()
        if h == NULL:
            raise error(-5, "Group")
        self._h = h
        # Batched callables of this group not finished yet (_batch.py); while above zero,
        # the group holds one rgcd enter.
        self._lock = threading.Lock()
        self._refs = 0

    def _hold(self) -> None:
        with self._lock:
            if self._refs == 0:
                # Under the lock: no run_async of this group returns before the enter.
                lib.rgcd_group_enter(self._h)
            self._refs += 1

    def _unhold(self, k: int) -> None:
        with self._lock:
            self._refs -= k
            last = self._refs == 0
        if last:
            lib.rgcd_group_leave(self._h)

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h is not None:
            self._h = None
            lib.rgcd_release(h)

    def run_async(self, queue: Queue, func: Callable[[], Any]) -> None:
        """Submits ``func()`` to ``queue`` as part of this group."""
        if not isinstance(queue, Queue):
            raise TypeError(f"queue must be a Queue, not {type(queue).__name__}")
        if not callable(func):
            check_callable(func)
        b = queue._batch
        if b is not None and b.enabled:
            self._hold()
            b.dq.append((func, self))
            if not b.pending:
                b.kick()
            return
        key = _next()
        _once[key] = func
        rc = _group_async_f(self._h, queue._h, _cast("void *", key), _ONCE)
        if rc:
            raise _submit_failed(key, rc, "Group.run_async")

    def wait(self, timeout_seconds: float = -1.0, *, timeout: Optional[float] = None) -> bool:
        """Waits until every item finished: True, or False when ``timeout_seconds`` passed
        first (negative: wait forever)."""
        if timeout is not None:
            timeout_seconds = timeout
        return lib.rgcd_group_wait(self._h, deadline(timeout_seconds)) == 0

    def notify(self, queue: Queue, func: Callable[[], Any]) -> None:
        """Submits ``func()`` to ``queue`` once the group is empty."""
        if not isinstance(queue, Queue):
            raise TypeError(f"queue must be a Queue, not {type(queue).__name__}")
        check_callable(func)
        key = _next()
        _once[key] = func
        rc = lib.rgcd_group_notify_f(self._h, queue._h, _cast("void *", key), _ONCE)
        if rc:
            raise _submit_failed(key, rc, "Group.notify")

    def enter(self) -> None:
        """Counts one more piece of outstanding work."""
        rc = lib.rgcd_group_enter(self._h)
        if rc:
            raise error(rc, "Group.enter")

    def leave(self) -> None:
        """Marks one piece of work done; ``RuntimeError`` without a matching ``enter()``."""
        rc = lib.rgcd_group_leave(self._h)
        if rc:
            raise error(rc, "Group.leave")

    def __enter__(self) -> "Group":
        self.enter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.leave()


class Semaphore:
    """A counting semaphore. ``with sem:`` takes a slot and gives it back."""

    __slots__ = ("_h", "__weakref__")

    def __init__(self, value: int = 0) -> None:
        if value < 0:
            raise ValueError(f"Semaphore value must be >= 0, not {value}")
        h = lib.rgcd_semaphore_create(value)
        if h == NULL:
            raise error(-1, "Semaphore")
        self._h = h

    def __del__(self) -> None:
        h = getattr(self, "_h", None)
        if h is not None:
            self._h = None
            lib.rgcd_release(h)

    def wait(self, timeout_seconds: float = -1.0, *, timeout: Optional[float] = None) -> bool:
        """Takes a permit: True, or False when ``timeout_seconds`` passed first."""
        if timeout is not None:
            timeout_seconds = timeout
        return lib.rgcd_semaphore_wait(self._h, deadline(timeout_seconds)) == 0

    def signal(self) -> bool:
        """Returns a permit; True when that woke a waiting thread."""
        rc = lib.rgcd_semaphore_signal(self._h)
        if rc < 0:
            raise error(rc, "Semaphore.signal")
        return rc == 1

    def __enter__(self) -> "Semaphore":
        self.wait()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.signal()


class Once:
    """Runs a function once; concurrent callers wait until it finished."""

    __slots__ = ("_pred", "__weakref__")

    def __init__(self) -> None:
        self._pred = ffi.new("rgcd_once_t *")

    def once(self, func: Callable[[], Any]) -> None:
        """Calls ``func()`` the first time only. An exception in it is reported and the
        Once still counts as done."""
        check_callable(func)
        if self._pred[0] == -1:  # done (~0); other values mean running
            return None
        key = _next()
        _once[key] = func
        try:
            rc = lib.rgcd_once_f(self._pred, _cast("void *", key), _ONCE)
        finally:
            _once.pop(key, None)
        if rc:
            raise error(rc, "Once.once")
        return None

    __call__ = once


def apply(iterations: int, func: Callable[[int], Any], queue: Optional[Queue] = None) -> None:
    """Calls ``func(i)`` for i in range(iterations) in parallel; returns when all finished."""
    if not isinstance(iterations, int):
        raise TypeError(f"iterations must be an int, not {type(iterations).__name__}")
    if iterations < 0:
        raise OverflowError("can't convert negative int to unsigned")
    check_callable(func)
    if queue is not None and not isinstance(queue, Queue):
        raise TypeError(f"queue must be a Queue or None, not {type(queue).__name__}")
    if iterations == 0:
        return
    key = _next()
    _lib._apply[key] = func
    try:
        rc = lib.rgcd_apply_f(iterations, queue._h if queue is not None else NULL,
                              _cast("void *", key), _APPLY)
    finally:
        _lib._apply.pop(key, None)
    if rc:
        raise error(rc, "apply")


def time_from_now(seconds: float) -> int:
    """A dispatch time ``seconds`` from now (opaque; never 0, FOREVER on overflow)."""
    r = lib.rgcd_time(0, _lib.seconds_to_ns(seconds))
    return max(int(r), 1)


def walltime(timestamp: float = 0.0, delta_seconds: float = 0.0) -> int:
    """A wall-clock dispatch time: ``timestamp`` (seconds since the epoch; 0 = now) plus
    ``delta_seconds``, in libdispatch's encoding."""
    delta = _lib.seconds_to_ns(delta_seconds)
    if timestamp == 0:
        return int(lib.rgcd_walltime(NULL, delta))
    ts = ffi.new("struct timespec *")
    sec = int(timestamp // 1)
    ts.tv_sec = sec
    ts.tv_nsec = min(int(round((timestamp - sec) * 1e9)), 999_999_999)
    return int(lib.rgcd_walltime(ts, delta))
