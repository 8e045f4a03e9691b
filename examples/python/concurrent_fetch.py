"""Concurrent HTTP fetches with bounded concurrency: a Group to wait for all of them, a
Semaphore to bound them, a serial Queue as the lock around the results (seed 000,
"Concurrent HTTP Requests"), against a local server."""

from __future__ import annotations

import urllib.request
from typing import Dict, List, Union

import rgcd as cygcd

from localservers import HTTPTestServer


def fetch_urls(urls: List[str], max_concurrent: int = 10,
               timeout: float = 30.0) -> Dict[str, Union[bytes, Exception]]:
    """Fetches every URL, at most ``max_concurrent`` at once: url -> body or exception."""
    results: Dict[str, Union[bytes, Exception]] = {}
    lock = cygcd.Queue("results.lock")  # serial queue as a lock
    conn_semaphore = cygcd.Semaphore(max_concurrent)
    fetch_queue = cygcd.Queue("fetch", concurrent=True, qos=cygcd.QOS_CLASS_UTILITY)
    group = cygcd.Group()

    for url in urls:
        def fetch(url: str = url) -> None:
            conn_semaphore.wait()
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    data = resp.read()
                lock.run_sync(lambda: results.__setitem__(url, data))
            except Exception as e:
                lock.run_sync(lambda: results.__setitem__(url, e))
            finally:
                conn_semaphore.signal()

        group.run_async(fetch_queue, fetch)

    if not group.wait(60.0):
        raise TimeoutError("fetches did not finish in 60 s")
    return results


def main() -> None:
    with HTTPTestServer() as server:
        urls = [server.url(f"/item/{i}?delay=0.02") for i in range(12)]
        urls.append(server.url("/status/404"))
        results = fetch_urls(urls, max_concurrent=3)
        ok = sum(1 for u in urls[:12] if results[u] == f"item {urls.index(u)}".encode())
        print(f"fetched {ok}/12 items")
        print(f"missing page: {type(results[urls[12]]).__name__}")
        print(f"peak concurrent requests: {server.peak_in_flight} (limit 3)")


if __name__ == "__main__":
    main()
