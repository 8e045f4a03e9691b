"""fork (issue 10): rgcd keeps working in ``multiprocessing`` children started with the
**fork** start method (the default on Linux up to Python 3.13), after the parent used rgcd.

The children use queues, groups and timers and send their results back through a
multiprocessing Queue; they exit 0. The parent keeps working after the forks: its timer
still ticks and its sources still fire (a child does not take the parent's events). The
scenario test is seed 001's multiprocessing mode: an rgcd server with the ticker in a
separate (forked) process.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import sys
import threading
import time
import warnings
from typing import Any, Dict, Iterator, List

import pytest

import rgcd
from conftest import settle_objects, stable_live_objects, wait_until

EXAMPLES = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples",
                 "python"))
sys.path.insert(0, EXAMPLES)


@pytest.fixture
def fork_ctx() -> Iterator[Any]:
    """The fork start method; Python 3.12+ warns about forking a multithreaded process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield mp.get_context("fork")


def _process_threads() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def _child_uses_rgcd(results: Any, n: int) -> None:
    """A child's target: queues, a group, a sync and a timer; the outcome goes to ``results``."""
    # Workers the pool counts are this process's threads (the parent's are gone); the binding
    # may have started some already, for callables the parent had queued.
    out: Dict[str, Any] = {"pid": os.getpid()}
    for _ in range(100):
        out["threads_before"] = rgcd.pool_thread_count()
        out["proc_threads_before"] = _process_threads()
        if out["threads_before"] <= out["proc_threads_before"] - 1:
            break
        time.sleep(0.01)
    serial = rgcd.Queue("child.serial")
    conc = rgcd.Queue("child.concurrent", concurrent=True)
    group = rgcd.Group()
    order: List[int] = []
    hits = [0] * n
    for i in range(n):
        group.run_async(serial, lambda i=i: order.append(i))
        group.run_async(rgcd.Queue.global_queue(), lambda i=i: hits.__setitem__(i, 1))
        group.run_async(conc, lambda: None)
    out["group"] = group.wait(10)
    seen: List[int] = []
    serial.run_sync(lambda: seen.append(len(order)))
    out["order"] = order == list(range(n))
    out["hits"] = sum(hits)
    out["sync_saw"] = seen[0] if seen else -1
    ticks = []
    fired = threading.Event()

    def tick() -> None:
        ticks.append(1)
        if len(ticks) == 3:
            fired.set()

    timer = rgcd.Timer(0.005, tick, queue=serial)
    timer.start()
    out["timer"] = fired.wait(10)
    timer.cancel()
    serial.run_sync(lambda: None)
    # (A worker being started is counted just before its thread exists: look again then.)
    for _ in range(100):
        out["threads_after"] = rgcd.pool_thread_count()
        out["proc_threads_after"] = _process_threads()
        if out["threads_after"] <= out["proc_threads_after"] - 1:
            break
        time.sleep(0.01)
    results.put(out)


def test_fork_children_use_queues_groups_and_timers(fork_ctx: Any) -> None:
    baseline = stable_live_objects()
    # The parent: a ticking timer, a serial queue and a group, and a thread keeping the pool
    # busy while the children are forked.
    ticks = [0]
    ticker_q = rgcd.Queue("parent.ticker")
    ticker = rgcd.Timer(0.005, lambda: ticks.__setitem__(0, ticks[0] + 1), queue=ticker_q)
    ticker.start()
    assert wait_until(lambda: ticks[0] >= 2, 10)
    work_q = rgcd.Queue("parent.work")
    group = rgcd.Group()
    stop = threading.Event()
    done = [0]

    def load() -> None:
        while not stop.is_set():
            for _ in range(50):
                group.run_async(work_q, lambda: done.__setitem__(0, done[0] + 1))
                group.run_async(rgcd.Queue.global_queue(), lambda: None)
            group.wait(10)

    loader = threading.Thread(target=load)
    loader.start()
    try:
        results = fork_ctx.Queue()
        procs = [fork_ctx.Process(target=_child_uses_rgcd, args=(results, 200))
                 for _ in range(4)]
        for p in procs:
            p.start()
        outs = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
            assert p.exitcode == 0
    finally:
        stop.set()
        loader.join(30)
    assert sorted(o["pid"] for o in outs) == sorted(p.pid for p in procs)
    for o in outs:
        # The parent's workers are not the child's: the pool counts the child's threads
        # (the process has the main thread, and the multiprocessing queue's feeder).
        assert o["threads_before"] <= o["proc_threads_before"] - 1, repr(o)
        assert 1 <= o["threads_after"] <= o["proc_threads_after"] - 1, repr(o)
        assert o["group"] and o["order"] and o["hits"] == 200 and o["sync_saw"] == 200, repr(o)
        assert o["timer"], repr(o)
    # The parent after the forks: its timer ticks, its queues and group work.
    t0 = ticks[0]
    assert wait_until(lambda: ticks[0] >= t0 + 3, 10)
    d0 = done[0]
    group.run_async(work_q, lambda: done.__setitem__(0, done[0] + 1))
    assert group.wait(10) and done[0] == d0 + 1
    ticker.cancel()
    ticker_q.run_sync(lambda: None)
    del ticker, ticker_q, work_q, group
    gc.collect()
    assert settle_objects(baseline) == baseline


def _child_uses_a_busy_parent_queue(results: Any, q: rgcd.Queue, g: rgcd.Group) -> None:
    """Objects made by the parent work in the child: a serial queue that was draining at the
    fork (its item then running is lost here) and a group."""
    got: List[int] = []
    for i in range(10):
        g.run_async(q, lambda i=i: got.append(i))
    ok = g.wait(10)
    q.run_sync(lambda: None)
    results.put((ok, got[-10:] == list(range(10))))


def test_fork_child_uses_the_parents_objects(fork_ctx: Any) -> None:
    q = rgcd.Queue("parent.busy")
    g = rgcd.Group()
    gate = threading.Event()
    q.run_async(lambda: gate.wait(10))  # running on a worker at the fork
    for _ in range(5):
        q.run_async(lambda: None)  # waiting behind it
    results = fork_ctx.Queue()
    p = fork_ctx.Process(target=_child_uses_a_busy_parent_queue, args=(results, q, g))
    p.start()
    try:
        assert results.get(timeout=60) == (True, True)
    finally:
        gate.set()
    p.join(30)
    assert p.exitcode == 0
    q.run_sync(lambda: None)


# --- seed 001, multiprocessing mode: the ticker in a separate process -------------------

class _SharedTicks:
    """The seed's handler with its tick count in shared memory: the ticker runs in a forked
    process, the server in the parent answers with the count."""

    def __init__(self, ctx: Any) -> None:
        self.ticks = ctx.Value("i", 0)

    def ticker_tick(self) -> None:
        with self.ticks.get_lock():
            self.ticks.value += 1

    def do_GET(self, instance: Any) -> None:
        import json
        instance.send_response(200)
        instance.end_headers()
        instance.wfile.write(json.dumps({"status": "ok", "ticks": self.ticks.value}).encode())


def _ticker_process(handler: _SharedTicks, stop: Any, tick_seconds: float) -> None:
    """The ticker process: an rgcd Timer on a queue of its own until ``stop`` is set."""
    q = rgcd.Queue("ticker.process")
    timer = rgcd.Timer(tick_seconds, handler.ticker_tick, queue=q)
    timer.start()
    stop.wait(60)
    timer.cancel()
    q.run_sync(lambda: None)


def test_server_with_ticker_in_a_forked_process(fork_ctx: Any) -> None:
    from server_with_ticker import Server, get_json

    handler = _SharedTicks(fork_ctx)
    server = Server(0, handler).start()  # accepting through an rgcd ReadSource
    base = f"http://127.0.0.1:{server.port}"
    assert get_json(base + "/")["ticks"] == 0
    stop = fork_ctx.Event()
    ticker = fork_ctx.Process(target=_ticker_process, args=(handler, stop, 0.01))
    ticker.start()
    try:
        # The child ticks; the parent's server (its accept source is registered in the
        # parent's epoll instance, which the child does not use) keeps answering.
        assert wait_until(lambda: get_json(base + "/")["ticks"] >= 5, 20)
        replies = [get_json(f"{base}/r{i}") for i in range(5)]
        assert all(r["status"] == "ok" for r in replies)
        assert replies[-1]["ticks"] >= 5
    finally:
        stop.set()
        ticker.join(30)
    assert ticker.exitcode == 0
    ticks = handler.ticks.value
    time.sleep(0.1)
    assert handler.ticks.value == ticks  # the ticker process stopped
    assert get_json(base + "/")["status"] == "ok"
    assert server.shutdown(10) is True
