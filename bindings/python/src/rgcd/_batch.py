"""Batched submission: many queued Python callables per GIL acquisition.

A callback from an rgcd worker costs a GIL acquisition, and while the submitting thread
holds the GIL, every worker that wants it waits (and each cffi call of the submitter hands
the GIL over). So ``run_async`` and ``Group.run_async`` onto a global queue or a concurrent
queue do not give rgcd one item per callable. The callable goes onto a Python-side FIFO (a
``collections.deque``, one per rgcd queue: a ``_Batch``) and rgcd gets a *drainer*: one work
item on that queue whose callback runs queued callables one after another.

- A blocked callable never strands the rest. At most one drainer is *pending* (submitted,
  not started: ``pending``). A drainer clears ``pending`` when it starts and, before it runs
  each callable, submits a new pending drainer if callables are still queued and none is
  pending. So while a callable runs and others wait, rgcd holds an item that will run them,
  and rgcd's pool decides how many drainers run at once, as it would for the items
  themselves. A producer submits a drainer after queuing when none is pending; a drainer
  clears the flag before it looks at the deque and the producer looks at the flag after
  queuing, so one of the two sees the other (the GIL orders them). ``pending`` goes from
  False to True only under ``lock``, so at most one drainer waits in rgcd. A drainer
  returns to rgcd after ``BUDGET_SECONDS`` so that other work of its class gets a worker.
- Groups count batched callables on the Python side (``Group._hold`` / ``Group._unhold``):
  one ``rgcd_group_enter`` when the count leaves zero, one ``rgcd_group_leave`` when it
  returns there; a drainer adds up the completions of consecutive callables of one group and
  subtracts them at once.
- Suspension and barriers. A drainer that keeps taking callables would start work on a
  suspended queue, or run work queued after a barrier before it. So the first ``suspend``,
  ``barrier_async`` or ``barrier_sync`` on a concurrent queue ends its batching for good
  (``disable``): the callables still queued become rgcd items of their own, in order, before
  the suspend or barrier reaches rgcd, and a drainer that finds its batch disabled hands what
  it finds to rgcd the same way instead of running it. An inactive queue batches: a drainer
  cannot start before the queue is activated. Serial queues and workloops never batch (each
  callable stays one rgcd item, so FIFO order and suspension are rgcd's).
- Exactly once: ``deque.popleft`` hands each entry to one drainer. An exception goes to
  ``sys.unraisablehook``. At interpreter exit drainers stop taking callables (``_lib``'s
  closing flag); what is still queued is dropped, as with daemon threads.
"""

from __future__ import annotations

import collections
import os
import threading
from time import perf_counter
from typing import Any, Callable, Deque, Dict, Optional, Tuple

from . import _lib
from ._lib import ffi, lib, report

BUDGET_SECONDS = 0.002
# How many callables a drainer runs between looks at the clock.
_CHECK_EVERY = 32

_async_f = lib.rgcd_async_f
_group_async_f = lib.rgcd_group_async_f
_DRAIN = lib.rgcdpy_drain
_ONCE = lib.rgcdpy_once
_once = _lib._once
_next = _lib._counter.__next__
_cast = ffi.cast

# key (the drainers' C context) -> _Batch
_batches: Dict[int, "_Batch"] = {}
# rgcd handle (as an int) of a global queue -> its _Batch (never retired)
_global_batches: Dict[int, "_Batch"] = {}
_global_lock = threading.Lock()

Entry = Tuple[Callable[[], Any], Any]  # (callable, Group or None)


class _Batch:
    """The Python side of one batched rgcd queue."""

    __slots__ = ("dq", "pending", "enabled", "lock", "h", "ctx", "key", "outstanding",
                 "owned", "orphan", "retired")

    def __init__(self, h: Any, owned: bool) -> None:
        self.dq: Deque[Entry] = collections.deque()
        self.pending = False
        self.enabled = True
        self.lock = threading.Lock()
        self.key = _next()
        self.ctx = _cast("void *", self.key)
        # Drainers submitted and not finished (retirement waits for zero).
        self.outstanding = 0
        # A batch of a queue the binding created holds a reference to it, so that drainers
        # can still be submitted after the Queue object is gone; the last one retires it.
        self.owned = owned
        self.orphan = False
        self.retired = False
        if owned:
            lib.rgcd_retain(h)
        self.h = h
        _batches[self.key] = self

    # --- producers --------------------------------------------------------------------

    def kick(self) -> None:
        """Submits a drainer if callables are queued and none is pending."""
        with self.lock:
            if self.pending or not self.dq:
                return
            self.pending = True
            self.outstanding += 1
        self._submit()

    def _submit(self) -> None:
        rc = _async_f(self.h, self.ctx, _DRAIN)
        if rc:  # only a bad handle fails, which a live queue's is not
            with self.lock:
                self.pending = False
                self.outstanding -= 1
            from ._errors import error
            raise error(rc, "run_async")

    def disable(self) -> None:
        """Ends batching: what is queued becomes one rgcd item per callable, in order."""
        self.flush(disable=True)

    def flush(self, disable: bool = False) -> None:
        """Hands what is queued to rgcd, one item per callable. The entries are taken under
        ``lock`` so that a drainer that saw the batch disabled cannot take (and submit late)
        entries queued before the barrier or suspension that disabled it."""
        pop = self.dq.popleft
        entries = []
        with self.lock:
            if disable:
                self.enabled = False
            while True:
                try:
                    entries.append(pop())
                except IndexError:
                    break
        for fn, g in entries:
            key = _next()
            _once[key] = fn
            if g is None:
                rc = _async_f(self.h, _cast("void *", key), _ONCE)
            else:
                rc = _group_async_f(g._h, self.h, _cast("void *", key), _ONCE)
                g._unhold(1)  # rgcd counts it now
            if rc:  # cannot happen on a live queue; run it here rather than lose it
                fn = _once.pop(key, fn)
                try:
                    fn()
                except BaseException as exc:
                    report(exc, fn)

    # --- the Queue object went away -----------------------------------------------------

    def release_owner(self) -> None:
        with self.lock:
            self.orphan = True
            retire = self.outstanding == 0 and not self.dq and not self.retired
            if retire:
                self.retired = True
        if retire:
            self._retire()

    def _retire(self) -> None:
        _batches.pop(self.key, None)
        if self.owned:
            lib.rgcd_release(self.h)

    # --- the drainer ------------------------------------------------------------------

    def drain(self) -> None:
        self.pending = False  # before looking at the deque (see the module docstring)
        dq = self.dq
        pop = dq.popleft
        g: Any = None  # group of the callables run since the last subtraction
        done = 0  # how many of them
        n = 0
        start = perf_counter()
        try:
            while True:
                if not self.enabled:
                    self.flush()
                    break
                if _lib.closing:
                    break
                try:
                    fn, fg = pop()
                except IndexError:
                    break
                if dq and not self.pending:
                    self.kick()
                if fg is not g:
                    if done:
                        g._unhold(done)
                        done = 0
                    g = fg
                try:
                    fn()
                except BaseException as exc:
                    report(exc, fn)
                if g is not None:
                    done += 1
                n += 1
                if n % _CHECK_EVERY == 0 and perf_counter() - start > BUDGET_SECONDS:
                    break
        finally:
            if done:
                g._unhold(done)
            submit = retire = False
            with self.lock:
                self.outstanding -= 1
                if dq and not self.pending and not _lib.closing:
                    self.pending = True
                    self.outstanding += 1
                    submit = True
                elif self.orphan and self.outstanding == 0 and not dq and not self.retired:
                    self.retired = retire = True
            if submit:
                self._submit()
            elif retire:
                self._retire()


@ffi.def_extern()
def _rgcdpy_drain(ctx: Any) -> None:
    b = _batches.get(int(ffi.cast("uintptr_t", ctx)))
    if b is not None:
        b.drain()


def global_batch(h: Any) -> _Batch:
    """The batch of global queue ``h`` (created the first time)."""
    k = int(ffi.cast("uintptr_t", h))
    b = _global_batches.get(k)
    if b is None:
        with _global_lock:
            b = _global_batches.get(k)
            if b is None:
                b = _global_batches[k] = _Batch(h, owned=False)
    return b


def new_batch(h: Any) -> Optional[_Batch]:
    return _Batch(h, owned=True)


def _after_fork_in_child() -> None:
    """In a child forked by ``os.fork`` (``multiprocessing``'s fork start method): rgcd's
    workers are gone, and with them a drainer that one of them was starting (waiting for the
    GIL, say) when the parent forked; its batch would stay ``pending`` and never be drained
    again. Every batch forgets its pending drainer (a drainer still queued in rgcd runs in the
    child too, next to a new one, which batches allow), and the locks, which a thread that no
    longer exists may have held, are made anew. A drainer lost this way stays counted in
    ``outstanding``: its batch is not retired in the child (a leak of one queue reference)."""
    global _global_lock
    _global_lock = threading.Lock()
    for b in list(_batches.values()) + list(_global_batches.values()):
        b.lock = threading.Lock()
        b.pending = False
    for b in list(_batches.values()) + list(_global_batches.values()):
        if b.dq and b.enabled:
            b.kick()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
