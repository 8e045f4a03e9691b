"""Lifetimes and the pool: collected objects, interpreter exit, thread count under load."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
import time

import rgcd
from conftest import settle_objects, wait_until


def test_work_runs_after_its_queue_and_group_are_collected() -> None:
    done = threading.Event()
    out: list = []
    q = rgcd.Queue("gc.q")
    q.suspend()
    for i in range(100):
        q.run_async(lambda i=i: out.append(i))
    q.run_async(done.set)
    ref_q = q
    q.resume()
    del q, ref_q
    gc.collect()
    assert done.wait(5)
    assert out == list(range(100))


def test_inactive_queue_collected_runs_its_work() -> None:
    done = threading.Event()
    q = rgcd.Queue("gc.inactive", inactive=True)
    q.run_async(done.set)
    del q
    gc.collect()
    assert done.wait(5)


def test_callable_is_not_collected_while_pending() -> None:
    done = threading.Event()

    class Job:
        def __call__(self) -> None:
            done.set()

    q = rgcd.Queue("gc.callable")
    q.after(0.05, Job())  # the only reference is rgcd's
    gc.collect()
    assert done.wait(5)


def test_no_table_entries_leak() -> None:
    from rgcd import _lib

    q = rgcd.Queue("leak")
    g = rgcd.Group()
    for _ in range(1000):
        g.run_async(q, lambda: None)
    g.wait()
    rgcd.apply(10, lambda i: None)
    assert wait_until(lambda: not _lib._once and not _lib._apply)


def _run(code: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)


def test_interpreter_exit_with_work_pending() -> None:
    r = _run("""
        import time, rgcd
        q = rgcd.Queue("exit")
        c = rgcd.Queue("exit.c", concurrent=True)
        for _ in range(10000):
            q.run_async(lambda: time.sleep(0.0001))
            c.run_async(lambda: sum(range(100)))
        t = rgcd.Timer(0.001, lambda: None); t.start()
        q.after(0.5, lambda: None)
        print("bye")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "bye\n"


def test_interpreter_exit_while_a_callback_runs() -> None:
    r = _run("""
        import time, rgcd
        q = rgcd.Queue.global_queue()
        for _ in range(4):
            q.run_async(lambda: time.sleep(0.2))
        time.sleep(0.05)
        print("bye")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "bye\n"


def test_pool_stays_small_while_100000_noop_tasks_run() -> None:
    ncpu = os.cpu_count() or 1
    # Threads added for blocked work of an earlier test (same process) retire after 5 s idle.
    wait_until(lambda: rgcd.pool_thread_count() <= ncpu, 10)
    q = rgcd.Queue.global_queue()
    g = rgcd.Group()
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rgcd.pool_thread_count())
            stop.wait(0.001)

    s = threading.Thread(target=sample)
    s.start()

    def noop() -> None:
        pass

    for _ in range(100_000):
        g.run_async(q, noop)
    assert g.wait(60)
    stop.set()
    s.join()
    assert peak[0] <= ncpu + 2, f"{peak[0]} threads for {ncpu} CPUs"


def test_burst_then_quiet() -> None:
    base = rgcd.live_objects()
    g = rgcd.Group()
    queues = [rgcd.Queue(f"burst{i}") for i in range(50)]
    for q in queues:
        for _ in range(200):
            g.run_async(q, lambda: None)
    assert g.wait(30)
    del queues, q, g
    assert settle_objects(base) <= base
    c0 = time.process_time()
    time.sleep(0.3)
    assert time.process_time() - c0 < 0.05
