"""Data, read_async / write_async, IOChannel and Workloop (cygcd-api.md)."""

from __future__ import annotations

import errno
import gc
import os
import socket
import tempfile
import threading
from typing import Callable, Iterator, List, Tuple

import pytest

import rgcd
from conftest import Unraisable, settle_objects, stable_live_objects, wait_until


@pytest.fixture
def tmpfile() -> Iterator[str]:
    fd, path = tempfile.mkstemp()
    os.close(fd)
    yield path
    os.unlink(path)




class Ops:
    """Records channel handler calls and signals when the last (done) one arrives."""

    def __init__(self) -> None:
        self.calls: List[Tuple[bool, bytes, int]] = []
        self.done = threading.Event()

    def __call__(self, done: bool, data: bytes, error: int) -> None:
        assert type(done) is bool and type(data) is bytes and type(error) is int
        self.calls.append((done, data, error))
        if done:
            self.done.set()

    def data(self) -> bytes:
        return b"".join(d for _, d, _ in self.calls)


# --- Data -------------------------------------------------------------------------------

def test_data_basics() -> None:
    e = rgcd.Data()
    assert len(e) == 0 and e.size == 0 and bytes(e) == b""
    d = rgcd.Data(b"hello world")
    assert len(d) == 11 and bytes(d) == b"hello world"
    assert bytes(rgcd.Data(bytearray(b"ab"))) == b"ab"  # bytes-like: a superset of cygcd
    assert bytes(rgcd.Data(memoryview(b"xyz"))) == b"xyz"
    with pytest.raises(TypeError):
        rgcd.Data("text")
    with pytest.raises(TypeError):
        rgcd.Data(12)


def test_data_concat_subrange_share_and_clip() -> None:
    a, b = rgcd.Data(b"hello "), rgcd.Data(b"world")
    c = a.concat(b)
    assert bytes(c) == b"hello world" and len(c) == 11
    assert bytes(a.concat(rgcd.Data())) == b"hello "
    assert bytes(rgcd.Data().concat(b)) == b"world"
    assert bytes(c.subrange(0, 5)) == b"hello"
    assert bytes(c.subrange(4, 4)) == b"o wo"  # across the two pieces
    assert bytes(c.subrange(6, 100)) == b"world"  # clipped
    assert len(c.subrange(11, 1)) == 0 and len(c.subrange(3, 0)) == 0
    with pytest.raises(OverflowError):
        c.subrange(-1, 2)
    with pytest.raises(TypeError):
        a.concat(b"raw")  # type: ignore[arg-type]


def test_data_copy_region_finds_the_pieces() -> None:
    c = rgcd.Data(b"hello ").concat(rgcd.Data(b"world"))
    region, off = c.copy_region(0)
    assert (bytes(region), off) == (b"hello ", 0)
    region, off = c.copy_region(8)
    assert (bytes(region), off) == (b"world", 6)
    region, off = c.copy_region(100)
    assert len(region) == 0 and off == 11
    with pytest.raises(ValueError):
        rgcd.Data().copy_region(0)


def test_data_apply() -> None:
    c = rgcd.Data(b"ab").concat(rgcd.Data(b"cd"))
    seen: list = []
    assert c.apply(lambda off, chunk: seen.append((off, chunk))) is True  # None: go on
    assert seen == [(0, b"abcd")]  # once, flattened, as cygcd
    assert c.apply(lambda off, chunk: False) is False
    assert c.apply(lambda off, chunk: 0) is False
    assert rgcd.Data().apply(lambda off, chunk: 1 / 0) is True  # not called
    with pytest.raises(ZeroDivisionError):
        c.apply(lambda off, chunk: 1 / 0)
    with pytest.raises(TypeError):
        c.apply("nope")  # type: ignore[arg-type]


def test_data_objects_are_released() -> None:
    base = stable_live_objects()
    parts = [rgcd.Data(bytes([i]) * 100) for i in range(50)]
    whole = parts[0]
    for p in parts[1:]:
        whole = whole.concat(p)
    sub = whole.subrange(10, 4000)
    assert bytes(sub) == b"".join(bytes([i]) * 100 for i in range(50))[10:4010]
    del parts, whole, sub, p
    assert settle_objects(base) == base


# --- read_async / write_async -----------------------------------------------------------

def test_read_async_pipe_file_eof_and_error(tmpfile: str) -> None:
    got: list = []
    ev = threading.Event()

    def h(data: bytes, err: int) -> None:
        got.append((data, err))
        ev.set()

    r, w = os.pipe()
    try:
        rgcd.read_async(r, 1024, h)  # nothing yet: waits for the first byte, no worker held
        assert not ev.wait(0.05)
        os.write(w, b"late data")
        assert ev.wait(5)
        assert got == [(b"late data", 0)]
        ev.clear()
        os.write(w, b"0123456789")
        rgcd.read_async(r, 4, h, queue=rgcd.Queue("ra"))
        assert ev.wait(5) and got[-1] == (b"0123", 0)
        ev.clear()
        os.close(w)
        w = -1
        rgcd.read_async(r, 1024, h)
        assert ev.wait(5) and got[-1] == (b"456789", 0)
        ev.clear()
        rgcd.read_async(r, 1024, h)
        assert ev.wait(5) and got[-1] == (b"", 0)  # end of file
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    with open(tmpfile, "wb") as f:
        f.write(b"file contents")
    fd = os.open(tmpfile, os.O_RDONLY)
    ev.clear()
    rgcd.read_async(fd, 1 << 20, h)
    assert ev.wait(5) and got[-1] == (b"file contents", 0)
    os.close(fd)
    ev.clear()
    rgcd.read_async(fd, 10, h)  # closed fd: reported to the handler
    assert ev.wait(5) and got[-1] == (b"", errno.EBADF)
    with pytest.raises(TypeError):
        rgcd.read_async(0, 10, "nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rgcd.read_async(-1, 10, h)


def test_write_async_all_in_order_and_errors() -> None:
    r, w = os.pipe()
    got: list = []
    done = threading.Semaphore(0)

    def h(rest: bytes, err: int) -> None:
        got.append((rest, err))
        done.release()

    big = os.urandom(1 << 20)  # more than the pipe holds: written as the reader drains
    rgcd.write_async(w, big, h)
    rgcd.write_async(w, b"tail", h)
    out = b""
    while len(out) < len(big) + 4:
        out += os.read(r, 1 << 16)
    assert out == big + b"tail"  # in submission order
    assert done.acquire(timeout=5) and done.acquire(timeout=5)
    assert got == [(b"", 0), (b"", 0)]
    os.close(r)
    rgcd.write_async(w, b"x" * 10, h)  # no reader: EPIPE, nothing written
    assert done.acquire(timeout=5)
    assert got[-1] == (b"x" * 10, errno.EPIPE)
    os.close(w)
    with pytest.raises(TypeError):
        rgcd.write_async(w, "text", h)  # type: ignore[arg-type]


# --- IOChannel --------------------------------------------------------------------------

def test_channel_read_file_in_pieces(tmpfile: str) -> None:
    payload = os.urandom(10_000)
    with open(tmpfile, "wb") as f:
        f.write(payload)
    fd = os.open(tmpfile, os.O_RDONLY)
    cleaned: list = []
    ev = threading.Event()
    ch = rgcd.IOChannel(fd, rgcd.IO_STREAM,
                        cleanup_handler=lambda e: (cleaned.append(e), ev.set()))
    assert ch.fd == fd and not ch.is_closed
    ch.set_high_water(1024)
    ops = Ops()
    ch.read(len(payload) + 100, ops)
    assert ops.done.wait(5)
    assert ops.data() == payload
    assert len(ops.calls) >= 10 and all(len(d) <= 1024 for _, d, _ in ops.calls)
    assert [c[0] for c in ops.calls] == [False] * (len(ops.calls) - 1) + [True]
    assert all(e == 0 for _, _, e in ops.calls)
    ch.close()
    ch.close()
    assert ch.is_closed
    assert ev.wait(5) and cleaned == [0]
    os.close(fd)


def test_channel_random_access(tmpfile: str) -> None:
    fd = os.open(tmpfile, os.O_RDWR)
    ch = rgcd.IOChannel(fd, rgcd.IO_RANDOM)
    w = Ops()
    ch.write(b"0123456789", w, offset=0)
    assert w.done.wait(5) and w.calls[-1] == (True, b"", 0)
    w2 = Ops()
    ch.write(b"AB", w2, offset=4)
    assert w2.done.wait(5)
    r = Ops()
    ch.read(5, r, offset=3)
    assert r.done.wait(5) and r.data() == b"3AB67"
    ch.close()
    os.close(fd)
    # A pipe is not seekable: the channel gives up the fd at once (ESPIPE).
    pr, pw = os.pipe()
    errs: list = []
    ev = threading.Event()
    rgcd.IOChannel(pr, rgcd.IO_RANDOM, cleanup_handler=lambda e: (errs.append(e), ev.set()))
    assert ev.wait(5) and errs == [errno.ESPIPE]
    os.close(pr)
    os.close(pw)


def test_channel_pipe_stream_write_then_read_and_barrier() -> None:
    r, w = os.pipe()
    q = rgcd.Queue("chan.handlers")
    cw = rgcd.IOChannel(w, queue=q)
    cr = rgcd.IOChannel(r, queue=q)
    payload = os.urandom(300_000)
    wr, rd = Ops(), Ops()
    cr.read(len(payload), rd, queue=q)
    cw.write(payload, wr, queue=q)
    order: list = []
    cw.barrier(lambda: order.append("barrier"))
    assert wr.done.wait(10) and rd.done.wait(10)
    assert rd.data() == payload and wr.calls[-1] == (True, b"", 0)
    assert wait_until(lambda: order == ["barrier"])
    cw.close()
    cr.close()
    os.close(r)
    os.close(w)


def test_channel_close_stop_cancels_pending_read() -> None:
    r, w = os.pipe()
    ch = rgcd.IOChannel(r)
    ops = Ops()
    ch.read(100, ops)  # nothing will arrive
    ch.close(stop=True)
    assert ops.done.wait(5)
    assert ops.calls[-1][0] is True and ops.calls[-1][2] == errno.ECANCELED
    with pytest.raises(RuntimeError):
        ch.read(1, ops)
    with pytest.raises(RuntimeError):
        ch.barrier(lambda: None)
    with pytest.raises(RuntimeError):
        ch.set_interval(1000)
    with pytest.raises(TypeError):
        ch.write("str", ops)  # type: ignore[arg-type]  # conversion first, even when closed
    os.close(r)
    os.close(w)


def test_channel_bad_arguments(tmpfile: str) -> None:
    fd = os.open(tmpfile, os.O_RDONLY)
    with pytest.raises(TypeError):
        rgcd.IOChannel(fd, cleanup_handler="nope")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        rgcd.IOChannel(fd, 7)  # unknown type
    with pytest.raises(RuntimeError):
        rgcd.IOChannel(-1)
    ch = rgcd.IOChannel(fd)
    with pytest.raises(TypeError):
        ch.read(10, "nope")  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        ch.read(-1, lambda *a: None)
    with pytest.raises(TypeError):
        ch.barrier(1)  # type: ignore[arg-type]
    ch.set_low_water(10)
    ch.set_interval(1_000_000, strict=True)
    ch.close()
    os.close(fd)


def test_channel_handler_exception_is_reported_and_io_goes_on(unraisable: Unraisable) -> None:
    a, b = socket.socketpair()
    ch = rgcd.IOChannel(a.fileno())
    ch.set_high_water(4)
    seen: list = []
    done = threading.Event()

    def h(is_done: bool, data: bytes, err: int) -> None:
        seen.append(data)
        if is_done:
            done.set()
        raise ValueError("in handler")

    ch.read(12, h)
    b.sendall(b"x" * 12)
    assert done.wait(5)
    assert b"".join(seen) == b"x" * 12 and len(seen) >= 3
    assert wait_until(lambda: len(unraisable.seen) == len(seen))
    assert all(isinstance(e, ValueError) for e in unraisable.seen)
    ch.close()
    a.close()
    b.close()


def test_channel_collected_with_a_read_pending_closes_and_cleans_up() -> None:
    from rgcd import _lib

    base = stable_live_objects()
    kept = len(_lib._kept)
    r, w = os.pipe()
    cleaned = threading.Event()
    ch = rgcd.IOChannel(r, cleanup_handler=lambda e: cleaned.set())
    ops = Ops()
    ch.read(5, ops)
    del ch
    gc.collect()  # closed (not stopped): the pending read still completes
    os.write(w, b"12345")
    assert ops.done.wait(5) and ops.data() == b"12345"
    assert cleaned.wait(5)
    assert wait_until(lambda: len(_lib._kept) == kept)
    os.close(r)
    os.close(w)
    assert settle_objects(base) == base


# --- Workloop ---------------------------------------------------------------------------

def test_workloop_fifo_and_run_sync_reraises() -> None:
    wl = rgcd.Workloop("wl")
    assert wl.is_inactive is False
    out: list = []
    for i in range(1000):
        wl.run_async(lambda i=i: out.append(i))
    wl.run_sync(lambda: None)
    assert out == list(range(1000))
    with pytest.raises(KeyError):
        wl.run_sync(lambda: {}["missing"])
    with pytest.raises(TypeError):
        wl.run_async("nope")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        wl.activate()
    with pytest.raises(RuntimeError):
        wl.set_autorelease_frequency(rgcd.AUTORELEASE_FREQUENCY_NEVER)


def _raised(fn: Callable[[], object]) -> object:
    try:
        fn()
    except Exception as e:
        return type(e)
    return None


def test_workloop_run_sync_from_itself_raises() -> None:
    wl = rgcd.Workloop(None)
    errors: list = []
    wl.run_sync(lambda: errors.append(_raised(lambda: wl.run_sync(lambda: None))))
    assert errors == [RuntimeError]


def test_inactive_workloop() -> None:
    wl = rgcd.Workloop("wl.inactive", inactive=True)
    assert wl.is_inactive
    with pytest.raises(RuntimeError):  # inactive is checked before the callable
        wl.run_async("not even callable")  # type: ignore[arg-type]
    wl.set_autorelease_frequency(rgcd.AUTORELEASE_FREQUENCY_WORK_ITEM)
    wl.activate()
    assert not wl.is_inactive
    got: list = []
    wl.run_sync(lambda: got.append(1))
    assert got == [1]
    base = stable_live_objects()
    rgcd.Workloop("dropped", inactive=True)  # collected while inactive: fine
    assert settle_objects(base) == base
