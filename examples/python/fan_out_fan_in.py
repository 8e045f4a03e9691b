"""Fan-out/fan-in: items processed in parallel with bounded concurrency, results collected
in order (seed 000, "Fan-Out/Fan-In"); each item is a request to a local server."""

from __future__ import annotations

import urllib.request
from typing import Any, Callable, List, Sequence

import rgcd as cygcd

from localservers import HTTPTestServer


def fan_out_fan_in(items: Sequence[Any], process_func: Callable[[Any], Any],
                   max_concurrent: int = 10) -> List[Any]:
    """``[process_func(item) for item in items]``, computed in parallel."""
    results: List[Any] = [None] * len(items)
    work_queue = cygcd.Queue("work", concurrent=True)
    semaphore = cygcd.Semaphore(max_concurrent)
    group = cygcd.Group()
    for i, item in enumerate(items):
        def process(idx: int = i, it: Any = item) -> None:
            semaphore.wait()
            try:
                results[idx] = process_func(it)
            finally:
                semaphore.signal()
        group.run_async(work_queue, process)
    if not group.wait(60.0):
        raise TimeoutError("fan-out did not finish in 60 s")
    return results


def main() -> None:
    with HTTPTestServer() as server:
        def get(n: int) -> str:
            with urllib.request.urlopen(server.url(f"/item/{n}?delay=0.01"),
                                        timeout=10) as resp:
                return resp.read().decode()

        results = fan_out_fan_in(list(range(30)), get, max_concurrent=4)
        print(f"results in order: {results == [f'item {n}' for n in range(30)]}")
        print(f"peak concurrent requests: {server.peak_in_flight} (limit 4)")


if __name__ == "__main__":
    main()
