"""Executor, Queue.submit and await queue.run."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import rgcd


def test_submit_carries_result_and_exception() -> None:
    q = rgcd.Queue("submit")
    assert q.submit(lambda a, b=0: a + b, 2, b=3).result(5) == 5
    f = q.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        f.result(5)


def test_executor_map_and_shutdown() -> None:
    with rgcd.Executor() as ex:
        assert list(ex.map(lambda x: x * x, range(1000))) == [x * x for x in range(1000)]
    with pytest.raises(RuntimeError):
        ex.submit(lambda: None)


def test_executor_max_concurrency() -> None:
    running = [0]
    peak = [0]
    lock = threading.Lock()

    def job() -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    ex = rgcd.Executor(rgcd.Queue("wide", concurrent=True), max_concurrency=2)
    futs = [ex.submit(job) for _ in range(20)]
    ex.shutdown(wait=True)
    assert all(f.done() for f in futs)
    assert peak[0] <= 2


def test_run_in_executor_and_await_queue_run() -> None:
    async def main() -> tuple:
        loop = asyncio.get_running_loop()
        a = await loop.run_in_executor(rgcd.Executor(), lambda: 41 + 1)
        b = await rgcd.Queue("aio").run(lambda x: x * 2, 21)
        with pytest.raises(KeyError):
            await rgcd.Queue.global_queue().run(lambda: {}["missing"])
        return a, b

    assert asyncio.run(main()) == (42, 42)


def test_executor_map_raises_at_the_failing_item() -> None:
    def f(x: int) -> int:
        if x == 500:
            raise ValueError(x)
        return x

    it = rgcd.Executor().map(f, range(1000))
    got = []
    with pytest.raises(ValueError):
        for v in it:
            got.append(v)
    assert got == list(range(500))
