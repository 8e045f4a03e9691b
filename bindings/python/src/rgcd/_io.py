"""read_async / write_async: one read or write on a queue, as cygcd does them."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from ._lib import check_callable
from ._queue import Queue


def read_async(
    fd: int, length: int, handler: Callable[[bytes, int], Any], queue: Optional[Queue] = None
) -> None:
    """On ``queue`` (default: the default global queue) reads up to ``length`` bytes from
    ``fd`` once and calls ``handler(data, 0)``, or ``handler(b"", errno)`` on failure."""
    check_callable(handler, "handler")
    q = queue if queue is not None else Queue.global_queue()

    def work() -> None:
        try:
            data = os.read(fd, length)
        except OSError as e:
            handler(b"", e.errno or 0)
            return
        handler(data, 0)

    q.run_async(work)


def write_async(
    fd: int, data: bytes, handler: Callable[[bytes, int], Any], queue: Optional[Queue] = None
) -> None:
    """On ``queue`` writes ``data`` to ``fd`` once and calls ``handler(unwritten, 0)``
    (``b""`` when all was written), or ``handler(data, errno)`` on failure."""
    check_callable(handler, "handler")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, not {type(data).__name__}")
    payload = bytes(data)
    q = queue if queue is not None else Queue.global_queue()

    def work() -> None:
        try:
            n = os.write(fd, payload)
        except OSError as e:
            handler(payload, e.errno or 0)
            return
        handler(payload[n:], 0)

    q.run_async(work)
