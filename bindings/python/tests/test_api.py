"""The cygcd API over rgcd: queues, groups, semaphores, once, apply, time, bad input."""

from __future__ import annotations

import threading
import time

import pytest

import rgcd
from conftest import settle_objects, wait_until


def test_serial_queue_runs_in_fifo_order_one_at_a_time() -> None:
    q = rgcd.Queue("test.serial")
    out: list = []
    running = [0]
    overlap = [False]

    def item(i: int) -> None:
        running[0] += 1
        overlap[0] |= running[0] > 1
        out.append(i)
        running[0] -= 1

    for i in range(1000):
        q.run_async(lambda i=i: item(i))
    q.run_sync(lambda: None)
    assert out == list(range(1000))
    assert not overlap[0]
    assert q.label == "test.serial"


def test_concurrent_queue_runs_blocking_items_in_parallel() -> None:
    q = rgcd.Queue("test.concurrent", concurrent=True)
    g = rgcd.Group()
    lock = threading.Lock()
    running = [0, 0]  # now, most at once

    def sleeper() -> None:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.2)  # the GIL is released while sleeping
        with lock:
            running[0] -= 1

    for _ in range(4):
        g.run_async(q, sleeper)
    assert g.wait(10.0)
    # Counted, not timed (a loaded machine stretches wall-clock time): the sleeps overlapped.
    assert running[1] >= 2


def test_barrier_runs_alone_after_earlier_items() -> None:
    q = rgcd.Queue("test.barrier", concurrent=True)
    log: list = []
    lock = threading.Lock()

    def item(tag: str) -> None:
        time.sleep(0.01)
        with lock:
            log.append(tag)

    for _ in range(4):
        q.run_async(lambda: item("before"))
    q.barrier_async(lambda: item("barrier"))
    for _ in range(4):
        q.run_async(lambda: item("after"))
    q.barrier_sync(lambda: None)
    assert log.index("barrier") == 4
    assert log.count("after") == 4


def test_run_sync_returns_after_the_item_ran_and_reports_exceptions(unraisable) -> None:
    q = rgcd.Queue("test.sync")
    out: list = []
    q.run_sync(lambda: out.append(1))
    assert out == [1]

    def boom() -> None:
        raise ValueError("boom")

    q.run_sync(boom)  # reported, not raised
    q.run_sync(lambda: out.append(2))  # the queue keeps going
    assert out == [1, 2]
    assert len(unraisable.seen) == 1 and isinstance(unraisable.seen[0], ValueError)


def test_exception_in_async_item_is_reported_and_the_queue_continues(unraisable) -> None:
    q = rgcd.Queue("test.raise")
    out: list = []
    q.run_async(lambda: 1 / 0)
    q.run_async(lambda: out.append("after"))
    q.run_sync(lambda: None)
    assert out == ["after"]
    assert len(unraisable.seen) == 1
    assert isinstance(unraisable.seen[0], ZeroDivisionError)


def test_system_exit_in_a_callback_does_not_exit(unraisable) -> None:
    q = rgcd.Queue("test.exit")

    def leave() -> None:
        raise SystemExit(3)

    q.run_async(leave)
    q.run_sync(lambda: None)
    assert isinstance(unraisable.seen[0], SystemExit)


def test_run_sync_onto_own_serial_queue_raises_runtime_error() -> None:
    q = rgcd.Queue("test.deadlock")
    child = rgcd.Queue("test.deadlock.child", target=q)
    caught: list = []

    def on_q() -> None:
        try:
            q.run_sync(lambda: None)
        except RuntimeError as e:
            caught.append(str(e))

    q.run_sync(on_q)  # inline on this thread: the marker is set while it runs
    q.run_async(on_q)  # on a worker
    child.run_sync(on_q)  # running on child, which runs as part of q
    q.run_sync(lambda: None)
    assert len(caught) == 3
    assert "deadlock" in caught[0]


def test_non_callables_raise_type_error() -> None:
    q = rgcd.Queue()
    g = rgcd.Group()
    for call in (
        lambda: q.run_async(1),
        lambda: q.run_sync("x"),
        lambda: q.barrier_async(None),
        lambda: q.barrier_sync(3.0),
        lambda: q.after(0.1, 5),
        lambda: g.run_async(q, 1),
        lambda: g.notify(q, 1),
        lambda: g.run_async("not a queue", lambda: None),
        lambda: rgcd.Once().once(1),
        lambda: rgcd.apply(3, 1),
        lambda: rgcd.Timer(0.1, 1),
        lambda: rgcd.Queue(label=5),
        lambda: q.set_target_queue(5),
        lambda: q.set_context(1, finalizer=2),
    ):
        with pytest.raises(TypeError):
            call()


def test_bad_values_raise_value_error() -> None:
    with pytest.raises(ValueError):
        rgcd.Semaphore(-1)
    with pytest.raises(ValueError):
        rgcd.Queue.global_queue(12345)
    with pytest.raises(OverflowError):
        rgcd.apply(-1, lambda i: None)
    with pytest.raises(ValueError):
        rgcd.Timer(-1.0, lambda: None)


def test_unbalanced_calls_raise_runtime_error() -> None:
    q = rgcd.Queue()
    with pytest.raises(RuntimeError):
        q.resume()
    with pytest.raises(RuntimeError):
        rgcd.Group().leave()
    with pytest.raises(RuntimeError):
        q.activate()


def test_after_runs_later() -> None:
    q = rgcd.Queue("test.after")
    done = threading.Event()
    t0 = time.monotonic()
    q.after(0.1, done.set)
    assert done.wait(5)
    assert time.monotonic() - t0 >= 0.095


def test_suspend_resume_and_inactive() -> None:
    q = rgcd.Queue("test.suspend")
    out: list = []
    q.suspend()
    q.run_async(lambda: out.append(1))
    time.sleep(0.05)
    assert out == []
    q.resume()
    assert wait_until(lambda: out == [1])

    iq = rgcd.Queue("test.inactive", inactive=True)
    assert iq.is_inactive
    iq.run_async(lambda: out.append(2))
    time.sleep(0.05)
    assert out == [1]
    iq.activate()
    assert not iq.is_inactive
    assert wait_until(lambda: out == [1, 2])
    with pytest.raises(RuntimeError):
        iq.activate()


def test_target_queue_serialises_children() -> None:
    parent = rgcd.Queue("test.parent")
    children = [rgcd.Queue(f"test.child{i}", target=parent) for i in range(4)]
    g = rgcd.Group()
    running = [0]
    overlap = [False]

    def item() -> None:
        running[0] += 1
        overlap[0] |= running[0] > 1
        time.sleep(0.001)
        running[0] -= 1

    for c in children:
        for _ in range(10):
            g.run_async(c, item)
    assert g.wait(10)
    assert not overlap[0]


def test_group_wait_timeout_and_notify() -> None:
    g = rgcd.Group()
    q = rgcd.Queue.global_queue()
    release = threading.Event()
    g.run_async(q, lambda: release.wait(5))
    assert g.wait(0.05) is False
    notified = threading.Event()
    g.notify(q, notified.set)
    assert not notified.is_set()
    release.set()
    assert g.wait(5) is True
    assert notified.wait(5)
    with g:
        assert g.wait(0) is False
    assert g.wait(timeout_seconds=0) is True


def test_semaphore_wait_signal_and_context_manager() -> None:
    s = rgcd.Semaphore(0)
    assert s.wait(0.01) is False
    assert s.signal() is False
    assert s.wait(0) is True
    woke = []
    q = rgcd.Queue.global_queue()
    q.run_async(lambda: woke.append(s.wait(5)))
    time.sleep(0.05)
    assert s.signal() is True
    assert wait_until(lambda: woke == [True])
    slot = rgcd.Semaphore(1)
    with slot:
        assert slot.wait(0) is False
    assert slot.wait(0) is True


def test_once_runs_once_even_when_it_raises(unraisable) -> None:
    o = rgcd.Once()
    calls: list = []

    def init() -> None:
        calls.append(1)
        raise RuntimeError("init failed")

    o.once(init)
    o.once(init)
    o(init)
    assert calls == [1]
    assert len(unraisable.seen) == 1


def test_once_concurrent_callers_wait() -> None:
    o = rgcd.Once()
    calls: list = []
    finished_before_return: list = []

    def init() -> None:
        time.sleep(0.05)
        calls.append(1)

    def caller() -> None:
        o.once(init)
        finished_before_return.append(len(calls))

    rgcd.apply(8, lambda i: caller())
    assert calls == [1]
    assert finished_before_return == [1] * 8


def test_apply_covers_every_index_and_reports_exceptions(unraisable) -> None:
    seen = [0] * 1000
    rgcd.apply(1000, lambda i: seen.__setitem__(i, seen[i] + 1))
    assert seen == [1] * 1000
    rgcd.apply(0, lambda i: 1 / 0)
    rgcd.apply(3, lambda i: 1 / 0)
    assert len(unraisable.seen) == 3
    q = rgcd.Queue("apply.serial")
    order: list = []
    rgcd.apply(10, order.append, q)
    assert sorted(order) == list(range(10))


def test_context_and_finalizer() -> None:
    q = rgcd.Queue("test.context")
    fin: list = []
    q.set_context("first", finalizer=lambda: fin.append("first"))
    assert q.get_context() == "first"
    q.set_context("second", finalizer=lambda: fin.append("second"))
    assert fin == ["first"]
    assert q.get_context() == "second"
    del q
    assert wait_until(lambda: fin == ["first", "second"])


def test_specific_by_identity_and_from_queue_code() -> None:
    q = rgcd.Queue("test.specific")
    key = object()
    other = object()
    q.set_specific(key, {"v": 1})
    assert q.get_specific(key) == {"v": 1}
    assert q.get_specific(other) is None
    seen: list = []
    q.run_sync(lambda: seen.append(rgcd.get_specific(key)))
    q.run_async(lambda: seen.append(rgcd.get_specific(key)))
    child = rgcd.Queue("test.specific.child", target=q)
    child.run_sync(lambda: seen.append(rgcd.get_specific(key)))
    q.run_sync(lambda: None)
    assert seen == [{"v": 1}] * 3
    assert rgcd.get_specific(key) is None
    q.set_specific(key, None)
    assert q.get_specific(key) is None


def test_global_and_main_queue_labels() -> None:
    assert rgcd.Queue.global_queue().label == "com.apple.root.default-qos"
    assert rgcd.Queue.global_queue(rgcd.QUEUE_PRIORITY_HIGH).label.endswith("user-initiated-qos")
    assert rgcd.Queue.global_queue(rgcd.QOS_CLASS_UTILITY).label.endswith("utility-qos")
    assert "main" in rgcd.Queue.main_queue().label
    assert rgcd.Queue().label == ""
    assert rgcd.Queue("q", qos=rgcd.QOS_CLASS_UTILITY).label == "q"
    assert rgcd.Queue("q", qos=0x1234).label == "q"  # ignored, as libdispatch does


def test_time_helpers() -> None:
    t = rgcd.time_from_now(1.0)
    assert 0 < t < rgcd.DISPATCH_TIME_FOREVER
    assert rgcd.time_from_now(1e30) == rgcd.DISPATCH_TIME_FOREVER
    assert rgcd.time_from_now(-1e30) >= 1
    now = time.time_ns()
    w = rgcd.walltime()
    assert abs((2**64 - w) - now) < 1_000_000_000
    w2 = rgcd.walltime(1_000_000.5, 2.0)
    assert 2**64 - w2 == 1_000_002_500_000_000


def test_constants() -> None:
    assert rgcd.DISPATCH_TIME_FOREVER == 2**64 - 1
    assert rgcd.NSEC_PER_SEC == 10**9
    assert rgcd.PROC_EXIT == 0x80000000
    assert rgcd.QOS_CLASS_USER_INTERACTIVE == 0x21
    for name in rgcd.__all__:
        assert hasattr(rgcd, name), name


def test_objects_are_freed_after_use() -> None:
    base = rgcd.live_objects()
    for _ in range(50):
        q = rgcd.Queue("tmp")
        g = rgcd.Group()
        g.run_async(q, lambda: None)
        g.wait()
        rgcd.Semaphore(1)
    del q, g
    assert settle_objects(base) <= base
