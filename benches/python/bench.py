"""rgcd's Python binding against the standard library, side by side in one run.

Prints `name value unit` lines (ratios: smaller means rgcd is faster).
Run: python benches/python/bench.py   (with rgcd installed, or RGCD_LIBRARY + PYTHONPATH)
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait

import rgcd

NCPU = os.cpu_count() or 1


def noop() -> None:
    pass


def bench_async(n: int = 100_000) -> float:
    q = rgcd.Queue.global_queue()
    g = rgcd.Group()
    t = time.perf_counter()
    for _ in range(n):
        g.run_async(q, noop)
    g.wait()
    return (time.perf_counter() - t) / n * 1e6


def bench_tpe(n: int = 100_000) -> float:
    with ThreadPoolExecutor(max_workers=NCPU) as ex:
        t = time.perf_counter()
        wait([ex.submit(noop) for _ in range(n)])
        return (time.perf_counter() - t) / n * 1e6


def square(x: int) -> int:
    return x * x


def bench_map(executor_factory, n: int = 10_000) -> float:
    with executor_factory() as ex:
        t = time.perf_counter()
        list(ex.map(square, range(n)))
        return (time.perf_counter() - t) / n * 1e6


def bench_apply(n: int = 10_000) -> "tuple[float, float]":
    out = [0] * n

    def body(i: int) -> None:
        out[i] = i * i

    t = time.perf_counter()
    rgcd.apply(n, body)
    a = (time.perf_counter() - t) / n * 1e6
    t = time.perf_counter()
    for i in range(n):
        body(i)
    return a, (time.perf_counter() - t) / n * 1e6


def lateness_rgcd(period: float = 0.001, n: int = 500) -> float:
    stamps: list = []
    done = threading.Event()
    start = time.monotonic()

    def tick() -> None:
        stamps.append(time.monotonic())
        if len(stamps) >= n:
            timer.cancel()
            done.set()

    timer = rgcd.Timer(period, tick, start_delay=period, leeway=0.0)
    timer.start()
    done.wait()
    late = [s - (start + (i + 1) * period) for i, s in enumerate(stamps)]
    return _p99(late)


def lateness_threading(period: float = 0.001, n: int = 500) -> float:
    stamps: list = []
    done = threading.Event()
    start = time.monotonic()

    def tick() -> None:
        stamps.append(time.monotonic())
        if len(stamps) >= n:
            done.set()
            return
        nxt = start + (len(stamps) + 1) * period
        t = threading.Timer(max(nxt - time.monotonic(), 0), tick)
        t.start()

    threading.Timer(period, tick).start()
    done.wait()
    late = [s - (start + (i + 1) * period) for i, s in enumerate(stamps)]
    return _p99(late)


def _p99(xs: list) -> float:
    return statistics.quantiles(xs, n=100)[98] * 1e6


def main() -> None:
    a = min(bench_async() for _ in range(3))
    b = min(bench_tpe() for _ in range(3))
    print(f"python_run_async_noop {a:.3f} us/task")
    print(f"python_threadpool_submit_noop {b:.3f} us/task")
    print(f"python_run_async_vs_threadpool {a / b:.3f} ratio")
    m = min(bench_map(rgcd.Executor) for _ in range(3))
    t = min(bench_map(lambda: ThreadPoolExecutor(max_workers=NCPU)) for _ in range(3))
    print(f"python_executor_map {m:.3f} us/item")
    print(f"python_threadpool_map {t:.3f} us/item")
    print(f"python_executor_map_vs_threadpool {m / t:.3f} ratio")
    ap, loop = min(bench_apply() for _ in range(3))
    print(f"python_apply {ap:.3f} us/iteration")
    print(f"python_plain_loop {loop:.3f} us/iteration")
    lr = lateness_rgcd()
    lt = lateness_threading()
    print(f"python_timer_1ms_lateness_p99 {lr:.0f} us")
    print(f"python_threading_timer_1ms_lateness_p99 {lt:.0f} us")


if __name__ == "__main__":
    main()
