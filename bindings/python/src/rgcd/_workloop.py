"""``Workloop``: a serial FIFO queue with libdispatch's workloop API
(``rgcd_workloop_create*``)."""

from __future__ import annotations

import threading
from typing import Any, Callable, List, Optional

from . import _lib
from ._errors import error
from ._lib import NULL, as_ctx, check_callable, lib


class Workloop:
    """A workloop: runs submitted callables one at a time, in order.

    ``Workloop(label, inactive=False)``: an inactive workloop takes no work until
    ``activate()``; ``set_autorelease_frequency`` is accepted while inactive (it has no
    effect outside Objective-C)."""

    __slots__ = ("_h", "_inactive", "__weakref__")

    def __init__(self, label: Optional[str], inactive: bool = False) -> None:
        self._h = NULL
        if label is not None and not isinstance(label, str):
            raise TypeError(f"label must be str or None, not {type(label).__name__}")
        raw = label.encode() if label is not None else NULL
        h = lib.rgcd_workloop_create_inactive(raw) if inactive else lib.rgcd_workloop_create(raw)
        if h == NULL:
            raise error(-1, "Workloop")
        self._h = h
        self._inactive = bool(inactive)

    def __del__(self) -> None:
        h = getattr(self, "_h", NULL)
        if h == NULL:
            return
        self._h = NULL
        if self._inactive:
            lib.rgcd_activate(h)
        lib.rgcd_release(h)

    def __repr__(self) -> str:
        return f"<rgcd.Workloop {'inactive' if self._inactive else 'active'}>"

    def activate(self) -> None:
        """Activates a workloop created with ``inactive=True``."""
        if not self._inactive:
            raise RuntimeError("Workloop is not inactive (or already activated)")
        rc = lib.rgcd_activate(self._h)
        if rc:
            raise error(rc, "Workloop.activate")
        self._inactive = False

    @property
    def is_inactive(self) -> bool:
        return self._inactive

    def set_autorelease_frequency(self, frequency: int) -> None:
        """Accepted (and ignored: no Objective-C autorelease pools) while inactive;
        ``RuntimeError`` once active."""
        if not self._inactive:
            raise RuntimeError("Autorelease frequency can only be set on inactive workloops")
        if frequency not in (0, 1, 2):
            raise ValueError(f"unknown autorelease frequency {frequency!r}")

    def run_async(self, func: Callable[[], Any]) -> None:
        """Submits ``func()`` to run on the workloop. ``RuntimeError`` while inactive."""
        if self._inactive:
            raise RuntimeError("Cannot submit work to an inactive workloop")
        check_callable(func)
        key = _lib.add_once(func)
        rc = lib.rgcd_async_f(self._h, as_ctx(key), lib.rgcdpy_once)
        if rc:
            _lib._once.pop(key, None)
            raise error(rc, "Workloop.run_async")

    def run_sync(self, func: Callable[[], Any]) -> None:
        """Runs ``func()`` on the workloop and waits for it; an ``Exception`` raised by
        ``func`` is raised here. ``RuntimeError`` while inactive, or when called from work
        running on this workloop (it would wait for itself)."""
        if self._inactive:
            raise RuntimeError("Cannot submit work to an inactive workloop")
        check_callable(func)
        if lib.rgcd_queue_is_current(self._h) == 1:
            raise RuntimeError("run_sync onto the workloop from work running on it would deadlock")
        done = threading.Event()
        raised: List[BaseException] = []

        def wrapper() -> None:
            try:
                func()
            except Exception as e:
                raised.append(e)
            finally:
                done.set()

        self.run_async(wrapper)
        done.wait()
        if raised:
            raise raised[0]
