"""concurrent.futures and asyncio on top of queues: ``Executor``, ``Queue.submit``,
``await queue.run(fn)``."""

from __future__ import annotations

import asyncio
import collections
import os
import threading
import time
from concurrent.futures import Executor as _BaseExecutor
from concurrent.futures import Future
from typing import Any, Callable, Deque, Iterator, List, Optional, Tuple

from ._queue import Group, Queue

_NCPU = os.cpu_count() or 1


def _runner(fut: "Future[Any]", fn: Callable[..., Any], args: Tuple[Any, ...],
            kwargs: dict) -> Callable[[], None]:
    def run() -> None:
        if not fut.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(result)

    return run


def submit(queue: Queue, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> "Future[Any]":
    """Runs ``fn(*args, **kwargs)`` on ``queue``; the Future carries its result or exception."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    fut: "Future[Any]" = Future()
    queue.run_async(_runner(fut, fn, args, kwargs))
    return fut


async def run(queue: Queue, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Awaits ``fn(*args, **kwargs)`` run on ``queue`` (no asyncio thread involved)."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if fut.cancelled():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def work() -> None:
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:
            loop.call_soon_threadsafe(deliver, False, exc)
        else:
            loop.call_soon_threadsafe(deliver, True, value)

    queue.run_async(work)
    return await fut


Queue.submit = submit  # type: ignore[attr-defined]
Queue.run = run  # type: ignore[attr-defined]


class Executor(_BaseExecutor):
    """A ``concurrent.futures.Executor`` running on a queue (default: the default global
    queue). ``max_concurrency`` caps how many calls run at once (None: no cap beyond the
    queue's own). Works with ``loop.run_in_executor`` and code written for
    ``ThreadPoolExecutor``."""

    def __init__(self, queue: Optional[Queue] = None,
                 max_concurrency: Optional[int] = None) -> None:
        if queue is not None and not isinstance(queue, Queue):
            raise TypeError(f"queue must be a Queue or None, not {type(queue).__name__}")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, not {max_concurrency}")
        self._queue = queue if queue is not None else Queue.global_queue()
        self._limit = max_concurrency
        self._group = Group()
        self._lock = threading.Lock()
        self._waiting: Deque[Tuple["Future[Any]", Callable[[], None]]] = collections.deque()
        self._running = 0
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> "Future[Any]":
        if not callable(fn):
            raise TypeError(f"fn must be callable, not {type(fn).__name__}")
        fut: "Future[Any]" = Future()
        body = _runner(fut, fn, args, kwargs)
        if self._limit is None:
            # No cap: the group counts the item in C, no Python lock on the way.
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._group.run_async(self._queue, body)
            return fut
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._group.enter()
            if self._limit is not None and self._running >= self._limit:
                self._waiting.append((fut, body))
                return fut
            self._running += 1
        self._start(body)
        return fut

    def _start(self, body: Callable[[], None]) -> None:
        def item() -> None:
            try:
                body()
            finally:
                self._finished()

        self._queue.run_async(item)

    def _finished(self) -> None:
        nxt = None
        with self._lock:
            if self._waiting:
                nxt = self._waiting.popleft()[1]
            else:
                self._running -= 1
        self._group.leave()
        if nxt is not None:
            self._start(nxt)

    def map(self, fn: Callable[..., Any], *iterables: Any, timeout: Optional[float] = None,
            chunksize: int = 0) -> Iterator[Any]:
        """Like ``Executor.map``: results in order, an item's exception raised when its
        result is reached. Items travel in chunks (``chunksize``; 0 picks one from the
        number of items), one queue item and one Future per chunk."""
        if not callable(fn):
            raise TypeError(f"fn must be callable, not {type(fn).__name__}")
        items = list(zip(*iterables))
        if not items:
            return iter(())
        if chunksize < 1:
            chunksize = max(1, min(256, len(items) // (8 * _NCPU)))
        end = None if timeout is None else time.monotonic() + timeout

        def run_chunk(chunk: List[Tuple[Any, ...]]) -> List[Tuple[bool, Any]]:
            out: List[Tuple[bool, Any]] = []
            for args in chunk:
                try:
                    out.append((True, fn(*args)))
                except BaseException as exc:
                    out.append((False, exc))
            return out

        futs = [self.submit(run_chunk, items[i:i + chunksize])
                for i in range(0, len(items), chunksize)]

        def results() -> Iterator[Any]:
            try:
                for f in futs:
                    left = None if end is None else max(end - time.monotonic(), 0)
                    for ok, value in f.result(left):
                        if not ok:
                            raise value
                        yield value
            finally:
                for f in futs:
                    f.cancel()

        return results()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            dropped = list(self._waiting) if cancel_futures else []
            if cancel_futures:
                self._waiting.clear()
        for fut, _body in dropped:
            fut.cancel()
            self._group.leave()
        if wait:
            self._group.wait()
