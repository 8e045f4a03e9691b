"""Runs each script of ``examples/python`` (the seed scenarios as programs) and checks what
it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Dict, List

import pytest

EXAMPLES = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples",
                 "python"))

EXPECTED: Dict[str, List[str]] = {
    "concurrent_fetch.py": [
        "fetched 12/12 items",
        "missing page: HTTPError",
        "peak concurrent requests: 3 (limit 3)",
    ],
    "connection_pool.py": [
        "echoed 20/20 messages",
        "connections created: 3 (pool max 3)",
        "server accepted: 3",
        "acquire beyond max: None",
    ],
    "rate_limited_client.py": [
        "completed 10/10 in submission order: True",
        "requests at least 20 ms apart: True",
        "sync request: ok",
        "sync error: HTTPError",
    ],
    "retry_backoff.py": [
        "flaky endpoint: recovered after 3 attempts",
        "waited >= 20 ms, then >= 40 ms: True",
        "always failing: HTTPError after 3 attempts",
    ],
    "echo_client.py": [
        "sent 1048576 bytes, received 1048576, equal: True",
        "received: Hello, server!",
    ],
    "health_checker.py": [
        "rounds >= 3: True",
        "healthy: [True]",
        "failing endpoint: False, HTTP Error 503: Service Unavailable",
        "down endpoint: False",
        "no round after stop: True",
    ],
    "fetch_timeout.py": [
        "fast: item 7",
        "stalled: Request timed out after 0.1s",
        "abandoned fetch finished: True",
        "missing: HTTPError",
    ],
    "fan_out_fan_in.py": [
        "results in order: True",
        "peak concurrent requests: 4 (limit 4)",
    ],
    "producer_consumer.py": [
        "processed 500 records in order: True",
    ],
    "server_with_ticker.py": [
        "status: ok, ticks advanced: True",
        "post: {'status': 'processed', 'bytes': 5000}",
        "shutdown waited for the request in flight: True, slow got: ok",
        "ticker stopped: True",
        "after shutdown: ConnectionRefusedError",
    ],
}

# Lines whose value depends on how many requests overlapped: only their prefix is checked.
LOOSE = ("peak concurrent requests:", "connections created:", "server accepted:")


def test_every_script_is_covered() -> None:
    scripts = {f for f in os.listdir(EXAMPLES) if f.endswith(".py") and f != "localservers.py"}
    assert scripts == set(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example(script: str) -> None:
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, script)], cwd=EXAMPLES,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == len(EXPECTED[script]), r.stdout
    for got, want in zip(lines, EXPECTED[script]):
        if want.startswith(LOOSE):
            prefix = want.split(":")[0]
            assert got.startswith(prefix + ":"), got
            limit = int(want.rsplit(" ", 1)[-1].rstrip(")")) if "(" in want else None
            value = int(got.split(":")[1].split()[0])
            assert 1 <= value <= (limit if limit is not None else 3), got
        else:
            assert got == want
