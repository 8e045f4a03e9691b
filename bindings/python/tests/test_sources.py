"""Timers and fd/signal/process sources: delivery, cancel, and quiet after cancel."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import rgcd
from conftest import settle_objects, wait_until


def test_repeating_timer_fires_and_stops_after_cancel() -> None:
    fires: list = []
    t = rgcd.Timer(0.02, lambda: fires.append(time.monotonic()))
    t.start()
    t.start()  # no-op
    assert wait_until(lambda: len(fires) >= 5)
    t.cancel()
    t.cancel()  # idempotent
    assert t.is_cancelled
    n = len(fires)
    time.sleep(0.1)
    assert len(fires) <= n + 1  # at most one call already started
    with pytest.raises(RuntimeError):
        t.start()


def test_one_shot_timer_fires_once_after_its_delay() -> None:
    fires: list = []
    t0 = time.monotonic()
    t = rgcd.Timer(0.01, lambda: fires.append(time.monotonic()), start_delay=0.1, repeating=False)
    t.start()
    time.sleep(0.3)
    assert len(fires) == 1
    assert fires[0] - t0 >= 0.095
    assert not t.is_cancelled
    t.cancel()


def test_set_timer_rearms() -> None:
    fires: list = []
    t = rgcd.Timer(10.0, lambda: fires.append(1), start_delay=10.0)
    t.start()
    t.set_timer(0.01, start_delay=0.0)
    assert wait_until(lambda: len(fires) >= 3)
    t.cancel()


def test_timer_on_a_serial_queue_never_overlaps_itself() -> None:
    q = rgcd.Queue("timer.q")
    running = [0]
    overlap = [False]
    calls = [0]

    def handler() -> None:
        running[0] += 1
        overlap[0] |= running[0] > 1
        time.sleep(0.005)
        calls[0] += 1
        running[0] -= 1

    with rgcd.Timer(0.001, handler, queue=q) as t:
        t.start()
        assert wait_until(lambda: calls[0] >= 10)
    assert t.is_cancelled
    assert not overlap[0]


def test_timer_cancelled_from_its_own_handler() -> None:
    calls: list = []

    def handler() -> None:
        calls.append(1)
        if len(calls) == 3:
            timer.cancel()

    timer = rgcd.Timer(0.005, handler)
    timer.start()
    assert wait_until(lambda: timer.is_cancelled)
    time.sleep(0.05)
    assert calls == [1, 1, 1]


def test_read_source_level_triggered_and_eof_once() -> None:
    r, w = os.pipe()
    got: list = []
    eofs: list = []
    q = rgcd.Queue("read.q")

    def on_readable() -> None:
        n = src.bytes_available
        data = os.read(r, 3)  # read less than available: the source fires again
        if data:
            got.append(data)
        else:
            eofs.append(n)

    src = rgcd.ReadSource(r, on_readable, queue=q)
    assert src.fd == r
    src.start()
    os.write(w, b"hello world")
    assert wait_until(lambda: b"".join(got) == b"hello world")
    os.close(w)
    assert wait_until(lambda: len(eofs) == 1)
    time.sleep(0.05)
    assert len(eofs) == 1  # EOF is delivered once, not in a loop
    src.cancel()
    q.run_sync(lambda: None)
    os.close(r)


def test_write_source_reports_buffer_space() -> None:
    r, w = os.pipe()
    space: list = []

    def on_writable() -> None:
        space.append(src.buffer_space)
        src.cancel()

    src = rgcd.WriteSource(w, on_writable)
    src.start()
    assert wait_until(lambda: len(space) == 1)
    assert space[0] > 0
    os.close(r)
    os.close(w)


def test_closed_fd_is_a_value_error() -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(ValueError):
        rgcd.ReadSource(r, lambda: None)


def test_signal_source_sees_ignored_signal() -> None:
    old = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    try:
        counts: list = []
        src = rgcd.SignalSource(signal.SIGUSR2, lambda: counts.append(src.count))
        assert src.signal == signal.SIGUSR2
        src.start()
        time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGUSR2)
        assert wait_until(lambda: sum(counts) >= 1)
        src.cancel()
    finally:
        signal.signal(signal.SIGUSR2, old)


def test_process_source_sees_exit() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.1)"])
    events: list = []
    src = rgcd.ProcessSource(proc.pid, lambda: events.append(src.events_pending))
    assert src.pid == proc.pid
    src.start()
    assert wait_until(lambda: len(events) >= 1)
    assert events[0] & rgcd.PROC_EXIT
    src.cancel()
    proc.wait()


def test_handler_exception_is_reported_and_source_keeps_firing(unraisable) -> None:
    calls = [0]

    def handler() -> None:
        calls[0] += 1
        raise ValueError("handler")

    t = rgcd.Timer(0.005, handler)
    t.start()
    assert wait_until(lambda: calls[0] >= 3)
    t.cancel()
    assert len(unraisable.seen) >= 3


def test_cancelled_sources_are_freed_and_quiet() -> None:
    base = rgcd.live_objects()
    socks = [socket.socketpair() for _ in range(20)]
    hits = [0]
    srcs = []
    for a, _b in socks:
        s = rgcd.ReadSource(a.fileno(), lambda: hits.__setitem__(0, hits[0] + 1))
        s.start()
        srcs.append(s)
    timers = [rgcd.Timer(0.001, lambda: None) for _ in range(20)]
    for t in timers:
        t.start()
    time.sleep(0.05)
    for s in srcs + timers:
        s.cancel()
    del srcs, timers, s, t
    assert settle_objects(base) <= base
    for _a, b in socks:
        b.send(b"x")  # nobody listens any more
    time.sleep(0.05)
    assert hits[0] == 0
    for a, b in socks:
        a.close()
        b.close()
    # Quiet: the process uses (almost) no CPU while idle.
    c0 = time.process_time()
    time.sleep(0.3)
    assert time.process_time() - c0 < 0.05


def test_collected_timer_is_cancelled() -> None:
    base = rgcd.live_objects()
    calls = [0]
    t = rgcd.Timer(0.001, lambda: calls.__setitem__(0, calls[0] + 1))
    t.start()
    assert wait_until(lambda: calls[0] > 0)
    del t
    assert settle_objects(base) <= base
    n = calls[0]
    time.sleep(0.05)
    assert calls[0] <= n + 1
