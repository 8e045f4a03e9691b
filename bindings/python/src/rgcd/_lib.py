"""Loading librgcd and the one path by which C calls Python.

C never holds a Python object. A callable submitted to rgcd lives in a table here under an
integer key, and the key travels through C as the ``void *`` context of one of the C
trampolines of ``_rgcd_cffi``:

- ``rgcdpy_once``: a work item; its entry is removed when it runs (it runs exactly once);
- ``rgcdpy_kept``: a source handler or similar; the entry stays until ``rgcdpy_drop`` runs
  (rgcd calls it when the handler is gone);
- ``rgcdpy_apply``: an ``apply`` body; the caller removes the entry after ``apply`` returned;
- ``rgcdpy_io_data``: the handler of ``rgcd_read_f`` / ``rgcd_write_f`` (called once: removed);
- ``rgcdpy_io_handler``: an I/O channel operation's handler (called until ``done``: removed
  then);
- ``rgcdpy_io_cleanup``: an I/O channel's cleanup handler (called once: removed).

So nothing C can still call is collected, and nothing outlives the C side's last use.
"""

from __future__ import annotations

import atexit
import ctypes
import itertools
import os
import sys
import time
from typing import Any, Callable, Dict

_LIBNAME = "librgcd.so"


def _library_path() -> str:
    env = os.environ.get("RGCD_LIBRARY")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIBNAME)


# The extension module resolves rgcd_* in the global symbol scope: load librgcd there first.
_dll = ctypes.CDLL(_library_path(), mode=os.RTLD_NOW | os.RTLD_GLOBAL)

from ._rgcd_cffi import ffi, lib  # noqa: E402

NULL = ffi.NULL
FOREVER = (1 << 64) - 1

_counter = itertools.count(1)
# key -> callable (work items, popped when run) / handlers and kept values (dropped by C).
_once: Dict[int, Callable[[], Any]] = {}
_kept: Dict[int, Any] = {}
_apply: Dict[int, Callable[[int], Any]] = {}


def _unraisable_args_type() -> Any:
    seen: list = []
    old = sys.unraisablehook
    sys.unraisablehook = seen.append

    class _Probe:
        def __del__(self) -> None:
            raise RuntimeError

    _Probe()
    sys.unraisablehook = old
    return type(seen[0])


_UnraisableHookArgs = _unraisable_args_type()


def report(exc: BaseException, obj: Any) -> None:
    """Hands an exception raised by a callback to ``sys.unraisablehook``."""
    try:
        sys.unraisablehook(
            _UnraisableHookArgs(
                (type(exc), exc, exc.__traceback__, "Exception ignored in rgcd callback", obj)
            )
        )
    except BaseException:  # a hook that raises must not stop the worker either
        pass


@ffi.def_extern()
def _rgcdpy_run_once(ctx: Any) -> None:
    fn = _once.pop(int(ffi.cast("uintptr_t", ctx)), None)
    if fn is None:
        return
    try:
        fn()
    except BaseException as exc:
        report(exc, fn)


@ffi.def_extern()
def _rgcdpy_run_kept(ctx: Any) -> None:
    fn = _kept.get(int(ffi.cast("uintptr_t", ctx)))
    if fn is None:
        return
    try:
        fn()
    except BaseException as exc:
        report(exc, fn)


@ffi.def_extern()
def _rgcdpy_drop(ctx: Any) -> None:
    key = int(ffi.cast("uintptr_t", ctx))
    _kept.pop(key, None)
    _once.pop(key, None)


@ffi.def_extern()
def _rgcdpy_apply(ctx: Any, i: int) -> None:
    fn = _apply.get(int(ffi.cast("uintptr_t", ctx)))
    if fn is None:
        return
    try:
        fn(i)
    except BaseException as exc:
        report(exc, fn)


def data_bytes(data: Any) -> bytes:
    """The bytes of an ``rgcd_data_t`` (borrowed; NULL gives ``b""``)."""
    if data == NULL:
        return b""
    ptr = ffi.new("const void **")
    size = ffi.new("size_t *")
    mapped = lib.rgcd_data_create_map(data, ptr, size)
    if mapped == NULL:
        return b""
    try:
        return ffi.buffer(ptr[0], size[0])[:] if size[0] else b""
    finally:
        lib.rgcd_release(mapped)


@ffi.def_extern()
def _rgcdpy_io_data(ctx: Any, data: Any, error: int) -> None:
    fn = _once.pop(int(ffi.cast("uintptr_t", ctx)), None)
    if fn is None:
        return
    try:
        fn(data_bytes(data), int(error))
    except BaseException as exc:
        report(exc, fn)


@ffi.def_extern()
def _rgcdpy_io_handler(ctx: Any, done: bool, data: Any, error: int) -> None:
    key = int(ffi.cast("uintptr_t", ctx))
    fn = _kept.pop(key, None) if done else _kept.get(key)
    if fn is None:
        return
    try:
        fn(bool(done), data_bytes(data), int(error))
    except BaseException as exc:
        report(exc, fn)


@ffi.def_extern()
def _rgcdpy_io_cleanup(ctx: Any, error: int) -> None:
    fn = _once.pop(int(ffi.cast("uintptr_t", ctx)), None)
    if fn is None:
        return
    try:
        fn(int(error))
    except BaseException as exc:
        report(exc, fn)


def new_key() -> int:
    return next(_counter)


def as_ctx(key: int) -> Any:
    return ffi.cast("void *", key)


def add_once(fn: Callable[[], Any]) -> int:
    key = next(_counter)
    _once[key] = fn
    return key


def add_kept(value: Any) -> int:
    key = next(_counter)
    _kept[key] = value
    return key


def last_error() -> str:
    return ffi.string(lib.rgcd_last_error()).decode("utf-8", "replace")


def check_callable(fn: Any, what: str = "func") -> None:
    if not callable(fn):
        raise TypeError(f"{what} must be callable, not {type(fn).__name__}")


def seconds_to_ns(seconds: float) -> int:
    ns = int(seconds * 1e9)
    return max(min(ns, (1 << 63) - 1), -(1 << 63))


def deadline(timeout_seconds: float) -> int:
    """An absolute rgcd time for a timeout in seconds (negative: forever)."""
    if timeout_seconds < 0:
        return FOREVER
    return lib.rgcd_time(0, seconds_to_ns(timeout_seconds))


# --- interpreter exit -------------------------------------------------------------------
# A finalizing interpreter ends any thread that asks it for the GIL, which would tear a
# worker thread out of Rust code. So at exit: stop callbacks from entering Python (pending
# work is dropped, as with daemon threads), then let the ones already inside finish.
EXIT_GRACE_SECONDS = 5.0
# Set at exit: drainers (_batch.py) stop taking queued callables.
closing = False


def _at_exit() -> None:
    global closing
    closing = True
    lib.rgcdpy_set_closing(1)
    end = time.monotonic() + EXIT_GRACE_SECONDS
    # This thread holds the GIL: a callback of our own thread (an inline run_sync) cannot be
    # in flight here, so everything counted is on other threads and needs the GIL released.
    while lib.rgcdpy_in_flight() > 0 and time.monotonic() < end:
        time.sleep(0.001)


atexit.register(_at_exit)
