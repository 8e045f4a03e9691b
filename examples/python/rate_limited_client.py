"""A rate-limited API client: a serial Queue orders the requests and spaces them out
(seed 000, "Rate-Limited API Client"), against a local server."""

from __future__ import annotations

import time
import urllib.request
from typing import Any, Callable, List, Optional, Tuple

import rgcd as cygcd

from localservers import HTTPTestServer


class RateLimitedClient:
    """Sends requests one at a time, at most ``requests_per_second``."""

    def __init__(self, requests_per_second: float = 10) -> None:
        self.interval = 1.0 / requests_per_second
        self.last_request = 0.0
        self.sent_at: List[float] = []  # when each request went out (monotonic seconds)
        self.queue = cygcd.Queue("api.client")  # serial: ordered, one at a time

    def request(self, endpoint: str,
                callback: Callable[[Optional[bytes], Optional[Exception]], Any]) -> None:
        """Queues a request; ``callback(result, None)`` or ``callback(None, error)``."""
        def do_request() -> None:
            wait_time = self.last_request + self.interval - time.monotonic()
            if wait_time > 0:
                time.sleep(wait_time)
            self.last_request = time.monotonic()
            self.sent_at.append(self.last_request)
            try:
                result = self._make_request(endpoint)
            except Exception as e:
                callback(None, e)
            else:
                callback(result, None)

        self.queue.run_async(do_request)

    def request_sync(self, endpoint: str, timeout: float = 30.0) -> bytes:
        """Queues a request and waits for its result (raises its error)."""
        result: List[Any] = [None, None]
        sem = cygcd.Semaphore(0)

        def on_complete(r: Optional[bytes], e: Optional[Exception]) -> None:
            result[0], result[1] = r, e
            sem.signal()

        self.request(endpoint, on_complete)
        if not sem.wait(timeout):
            raise TimeoutError(endpoint)
        if result[1] is not None:
            raise result[1]
        return result[0]

    def _make_request(self, endpoint: str) -> bytes:
        with urllib.request.urlopen(endpoint, timeout=10) as resp:
            return resp.read()


def run_batch(client: RateLimitedClient, endpoints: List[str],
              timeout: float = 30.0) -> List[Tuple[str, Any]]:
    """Requests every endpoint through ``client``; returns (endpoint, data or error) in
    completion order."""
    results: List[Tuple[str, Any]] = []
    sem = cygcd.Semaphore(0)
    pending = [len(endpoints)]
    for endpoint in endpoints:
        def on_result(data: Optional[bytes], error: Optional[Exception],
                      ep: str = endpoint) -> None:
            results.append((ep, data if error is None else error))
            pending[0] -= 1  # callbacks run one at a time on the client's serial queue
            if pending[0] == 0:
                sem.signal()
        client.request(endpoint, on_result)
    if not sem.wait(timeout):
        raise TimeoutError("batch did not finish")
    return results


def main() -> None:
    with HTTPTestServer() as server:
        client = RateLimitedClient(requests_per_second=50)
        endpoints = [server.url(f"/item/{i}") for i in range(10)]
        results = run_batch(client, endpoints)
        in_order = [ep for ep, _ in results] == endpoints
        print(f"completed {len(results)}/10 in submission order: {in_order}")
        gaps = [b - a for a, b in zip(client.sent_at, client.sent_at[1:])]
        print(f"requests at least 20 ms apart: {min(gaps) >= client.interval - 1e-6}")
        print(f"sync request: {client.request_sync(server.url('/health')).decode()}")
        try:
            client.request_sync(server.url("/status/500"))
        except Exception as e:
            print(f"sync error: {type(e).__name__}")


if __name__ == "__main__":
    main()
