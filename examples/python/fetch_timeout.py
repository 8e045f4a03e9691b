"""Request timeouts with ``Group.wait`` (seed 000, "Request Timeout with Group"), against a
local server with a fast and a stalled endpoint."""

from __future__ import annotations

import urllib.request
from typing import Any, List, Optional

import rgcd as cygcd

from localservers import HTTPTestServer


def fetch_with_timeout(url: str, timeout_seconds: float = 30,
                       group: Optional[cygcd.Group] = None) -> bytes:
    """Fetches ``url``; ``TimeoutError`` if it took longer than ``timeout_seconds`` (the
    fetch itself goes on in the background; pass ``group`` to wait for it later)."""
    result: List[Any] = [None]
    error: List[Optional[Exception]] = [None]
    timed_out = [False]
    queue = cygcd.Queue("fetch.timeout")
    group = group if group is not None else cygcd.Group()

    def do_fetch() -> None:
        if timed_out[0]:
            return
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                result[0] = resp.read()
        except Exception as e:
            error[0] = e

    group.run_async(queue, do_fetch)
    if not group.wait(timeout_seconds):
        timed_out[0] = True
        raise TimeoutError(f"Request timed out after {timeout_seconds}s")
    if error[0] is not None:
        raise error[0]
    return result[0]


def main() -> None:
    with HTTPTestServer() as server:
        print(f"fast: {fetch_with_timeout(server.url('/item/7'), 5).decode()}")
        background = cygcd.Group()
        try:
            fetch_with_timeout(server.url("/gate"), 0.1, group=background)
        except TimeoutError as e:
            print(f"stalled: {e}")
        server.release_gate()  # let the stalled request finish, then wait for it
        print(f"abandoned fetch finished: {background.wait(10)}")
        try:
            fetch_with_timeout(server.url("/status/404"), 5)
        except Exception as e:
            print(f"missing: {type(e).__name__}")


if __name__ == "__main__":
    main()
