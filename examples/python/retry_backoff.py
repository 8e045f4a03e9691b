"""Retry with exponential backoff: failed attempts are rescheduled with ``Queue.after``
(seed 000, "Retry with Exponential Backoff"), against a local server that fails the first
requests."""

from __future__ import annotations

import random
import urllib.request
from typing import Any, Callable, List, Optional

import rgcd as cygcd

from localservers import HTTPTestServer


class RetryClient:
    """Calls ``func`` until it succeeds or ``max_retries`` attempts failed, waiting
    ``base_delay * 2**(attempt-1)`` (+ up to 10 % jitter) between attempts."""

    def __init__(self, max_retries: int = 3, base_delay: float = 1.0) -> None:
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.queue = cygcd.Queue("retry.client", qos=cygcd.QOS_CLASS_UTILITY)

    def request_with_retry(self, func: Callable[[], Any],
                           callback: Callable[[Any, Optional[Exception]], Any]) -> None:
        attempt = [0]

        def try_request() -> None:
            attempt[0] += 1
            try:
                result = func()
            except Exception as e:
                if attempt[0] < self.max_retries:
                    delay = self.base_delay * (2 ** (attempt[0] - 1))
                    jitter = random.uniform(0, delay * 0.1)
                    self.queue.after(delay + jitter, try_request)
                else:
                    callback(None, e)
            else:
                callback(result, None)

        self.queue.run_async(try_request)


def fetch_with_retry(client: RetryClient, url: str, timeout: float = 30.0) -> List[Any]:
    """[data, error] of ``url`` fetched through ``client``."""
    out: List[Any] = [None, None]
    sem = cygcd.Semaphore(0)

    def fetch() -> bytes:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read()

    def on_complete(data: Any, error: Optional[Exception]) -> None:
        out[0], out[1] = data, error
        sem.signal()

    client.request_with_retry(fetch, on_complete)
    if not sem.wait(timeout):
        raise TimeoutError(url)
    return out


def main() -> None:
    with HTTPTestServer() as server:
        client = RetryClient(max_retries=5, base_delay=0.02)
        data, error = fetch_with_retry(client, server.url("/flaky/a?fail=2"))
        print(f"flaky endpoint: {data.decode()} after {server.count('/flaky/a')} attempts")
        times = server.times("/flaky/a")
        gaps = [b - a for a, b in zip(times, times[1:])]
        print(f"waited >= 20 ms, then >= 40 ms: {gaps[0] >= 0.02 and gaps[1] >= 0.04}")
        data, error = fetch_with_retry(RetryClient(max_retries=3, base_delay=0.01),
                                       server.url("/status/503"))
        print(f"always failing: {type(error).__name__} after "
              f"{server.count('/status/503')} attempts")


if __name__ == "__main__":
    main()
