"""Batched run_async on global and concurrent queues (rgcd/_batch.py): exactly once, blocked
callables do not strand the rest, groups, suspension, barriers, lifetimes."""

from __future__ import annotations

import gc
import threading
import time
from typing import List

import pytest

import rgcd
from conftest import settle_objects, stable_live_objects, wait_until


def _queues() -> List[rgcd.Queue]:
    return [rgcd.Queue.global_queue(), rgcd.Queue("batch.c", concurrent=True)]


@pytest.mark.parametrize("which", [0, 1], ids=["global", "concurrent"])
def test_every_callable_runs_exactly_once_from_several_producers(which: int) -> None:
    q = _queues()[which]
    n, producers = 20_000, 4
    counts = [0] * (n * producers)
    g = rgcd.Group()

    def produce(p: int) -> None:
        for i in range(p * n, (p + 1) * n):
            def item(i: int = i) -> None:
                counts[i] += 1  # one writer per index
            if i % 2:
                g.run_async(q, item)
            else:
                g.enter()
                q.run_async(lambda item=item: (item(), g.leave()))

    ts = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert g.wait(60)
    assert counts == [1] * (n * producers)


@pytest.mark.parametrize("which", [0, 1], ids=["global", "concurrent"])
def test_a_blocked_callable_does_not_strand_the_ones_behind_it(which: int) -> None:
    q = _queues()[which]
    release = threading.Event()
    ran: List[int] = []
    g = rgcd.Group()
    # Each of the first three waits for the next one: only runs if each gets its own worker.
    gates = [threading.Event() for _ in range(4)]

    def waiter(i: int) -> None:
        gates[i].set()
        assert gates[i + 1].wait(10)
        ran.append(i)

    for i in range(3):
        g.run_async(q, lambda i=i: waiter(i))
    g.run_async(q, gates[3].set)
    for _ in range(1000):
        g.run_async(q, lambda: ran.append(-1))
    g.run_async(q, release.set)
    assert g.wait(20)
    assert release.is_set()
    assert sorted(i for i in ran if i >= 0) == [0, 1, 2]
    assert ran.count(-1) == 1000


def test_exceptions_are_reported_and_the_batch_goes_on(unraisable) -> None:
    q = rgcd.Queue.global_queue()
    g = rgcd.Group()
    out: List[int] = []

    def boom() -> None:
        raise ValueError("boom")

    for i in range(100):
        g.run_async(q, boom if i % 10 == 0 else (lambda i=i: out.append(i)))
    assert g.wait(10)
    assert len(out) == 90
    assert wait_until(lambda: len(unraisable.seen) == 10)
    assert all(isinstance(e, ValueError) for e in unraisable.seen)


def test_group_notify_and_wait_see_batched_work() -> None:
    q = rgcd.Queue.global_queue()
    for _ in range(20):
        g = rgcd.Group()
        out: List[int] = []
        seen: List[int] = []
        notified = threading.Event()
        for i in range(200):
            g.run_async(q, lambda i=i: out.append(i))
        g.notify(q, lambda: (seen.append(len(out)), notified.set()))
        assert g.wait(10)
        assert len(out) == 200
        assert notified.wait(10)
        assert seen == [200]
    # Back to zero: an empty group waits for nothing, and enter/leave still balance.
    assert g.wait(0)
    with pytest.raises(RuntimeError):
        g.leave()


def test_group_collected_while_its_batched_work_is_pending() -> None:
    q = rgcd.Queue.global_queue()
    done = threading.Event()
    block = threading.Event()
    g = rgcd.Group()
    g.run_async(q, lambda: block.wait(5))
    for _ in range(100):
        g.run_async(q, lambda: None)
    g.run_async(q, done.set)
    del g
    gc.collect()
    block.set()
    assert done.wait(10)


def test_suspend_stops_a_concurrent_queue_with_a_drainer_running() -> None:
    q = rgcd.Queue("batch.suspend", concurrent=True)
    started = threading.Event()
    go = threading.Event()
    out: List[int] = []
    q.run_async(lambda: (started.set(), go.wait(10)))
    assert started.wait(5)
    q.suspend()
    for i in range(100):
        q.run_async(lambda i=i: out.append(i))
    go.set()
    time.sleep(0.2)
    assert out == []  # nothing started while suspended
    done = threading.Event()
    q.run_async(done.set)
    q.resume()
    assert done.wait(5)
    assert wait_until(lambda: len(out) == 100)
    assert sorted(out) == list(range(100))


def test_barrier_on_a_concurrent_queue_after_batched_work() -> None:
    q = rgcd.Queue("batch.barrier", concurrent=True)
    log: List[str] = []
    lock = threading.Lock()

    def rec(tag: str) -> None:
        time.sleep(0.0001)
        with lock:
            log.append(tag)

    for _ in range(300):
        q.run_async(lambda: rec("a"))
    q.barrier_async(lambda: rec("B"))
    for _ in range(300):
        q.run_async(lambda: rec("b"))
    q.barrier_sync(lambda: None)
    assert len(log) == 601
    i = log.index("B")
    assert log[:i] == ["a"] * 300
    assert log[i + 1:] == ["b"] * 300


def test_inactive_concurrent_queue_runs_nothing_before_activate() -> None:
    q = rgcd.Queue("batch.inactive", concurrent=True, inactive=True)
    out: List[int] = []
    g = rgcd.Group()
    for i in range(100):
        g.run_async(q, lambda i=i: out.append(i))
    time.sleep(0.1)
    assert out == []
    q.activate()
    assert g.wait(5)
    assert sorted(out) == list(range(100))


def test_concurrent_queue_collected_with_batched_work_pending() -> None:
    from rgcd import _batch

    base = stable_live_objects()
    nbatches = len(_batch._batches)
    block = threading.Event()
    done = threading.Event()
    out: List[int] = []
    q = rgcd.Queue("batch.gc", concurrent=True)
    q.run_async(lambda: block.wait(5))
    for i in range(1000):
        q.run_async(lambda i=i: out.append(i))
    q.run_async(done.set)
    del q
    gc.collect()
    block.set()
    assert done.wait(10)
    assert wait_until(lambda: len(out) == 1000)
    # The batch let go of its queue: no rgcd object and no table entry left behind.
    assert wait_until(lambda: len(_batch._batches) == nbatches)
    assert settle_objects(base) <= base


def test_specific_and_current_queue_inside_batched_work() -> None:
    q = rgcd.Queue("batch.specific", concurrent=True)
    key = object()
    q.set_specific(key, "v")
    seen: List[object] = []
    g = rgcd.Group()
    for _ in range(10):
        g.run_async(q, lambda: seen.append(rgcd.get_specific(key)))
    assert g.wait(5)
    assert seen == ["v"] * 10


def test_interpreter_exit_with_batched_work_pending() -> None:
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import time, rgcd
        q = rgcd.Queue.global_queue()
        c = rgcd.Queue("exit.batch", concurrent=True)
        g = rgcd.Group()
        for _ in range(200):
            q.run_async(lambda: time.sleep(0.2))   # drainers blocked in callables
            g.run_async(c, lambda: time.sleep(0.01))
        for _ in range(100_000):
            q.run_async(lambda: None)              # a backlog in the Python-side queue
        time.sleep(0.05)
        print("bye")
    """)
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "bye\n"
    # Running drainers stop after their current callable: no waiting out the backlog.
    assert time.monotonic() - t < 4


def test_a_suspended_target_stops_an_idle_concurrent_queue() -> None:
    # rgcd (like libdispatch) lets a child queue that is being drained finish its drain when
    # its target is suspended; an idle child starts nothing until the target resumes.
    target = rgcd.Queue("batch.target")
    for make in (lambda: rgcd.Queue("batch.child", concurrent=True, target=target),
                 lambda: rgcd.Queue("batch.child2", concurrent=True)):
        child = make()
        if child._target is None:
            child.set_target_queue(target)
        g = rgcd.Group()
        for _ in range(10):
            g.run_async(child, lambda: None)
        assert g.wait(5)
        time.sleep(0.05)  # the drain that ran them returns to rgcd (the child is idle)
        target.suspend()
        out: List[int] = []
        for i in range(50):
            child.run_async(lambda i=i: out.append(i))
        time.sleep(0.1)
        assert out == [], child.label
        target.resume()
        assert wait_until(lambda: len(out) == 50)
        assert sorted(out) == list(range(50))


def test_fan_out_and_wait_inside_batched_work() -> None:
    q = rgcd.Queue.global_queue()
    total: List[int] = []
    lock = threading.Lock()

    def parent(p: int) -> None:
        g = rgcd.Group()
        for i in range(50):
            g.run_async(q, lambda i=i: (lock.acquire(), total.append(i), lock.release()))
        assert g.wait(10)

    top = rgcd.Group()
    for p in range(8):
        top.run_async(q, lambda p=p: parent(p))
    assert top.wait(20)
    assert len(total) == 400
