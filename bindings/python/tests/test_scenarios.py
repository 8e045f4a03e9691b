"""The seed scenarios (issue 7): the networking examples of seeds/000 and the
server-with-ticker of seeds/001, run against local servers on 127.0.0.1.

The programs live in ``examples/python`` (runnable scripts; ``test_examples.py`` runs them);
these tests import them, assert their outcomes, and check the process afterwards: rgcd's
live objects back to where they were, no callable left in the binding's tables, no thread
or fd left behind, and no CPU spent while idle.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import sys
import threading
import time
import urllib.error
from typing import Iterator

import pytest

import rgcd
from rgcd import _lib
from conftest import Unraisable, settle_objects, stable_live_objects, wait_until

EXAMPLES = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples",
                 "python"))
sys.path.insert(0, EXAMPLES)

from localservers import EchoServer, HTTPTestServer, StreamServer, closed_port  # noqa: E402


def _fds() -> int:
    """Open sockets, pipes and files. rgcd's own process-wide machinery (epoll, eventfds,
    the pool monitor's timerfd: anon inodes, created lazily on first need) is not counted."""
    n = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if not target.startswith("anon_inode:"):
            n += 1
    return n


_warm = []


def _warm_up() -> None:
    """Starts rgcd's process-wide machinery (the reactor's epoll and eventfd, the timer
    wheel) once, so that the fd count before a scenario already includes it."""
    if _warm:
        return
    _warm.append(True)
    done = threading.Event()
    rgcd.Queue.global_queue().after(0.001, done.set)
    assert done.wait(5)
    r, w = os.pipe()
    with rgcd.ReadSource(r, lambda: None) as src:
        src.start()
    rgcd.Queue("warm").run_sync(lambda: None)
    os.close(r)
    os.close(w)


@pytest.fixture
def quiet() -> Iterator[None]:
    """Checks that a scenario leaves nothing behind."""
    _warm_up()
    objects = stable_live_objects()
    threads = set(threading.enumerate())
    fds = _fds()
    tables = (len(_lib._once), len(_lib._kept), len(_lib._apply))
    yield
    assert settle_objects(objects) == objects, "rgcd objects left alive"
    assert wait_until(lambda: (len(_lib._once), len(_lib._kept), len(_lib._apply)) == tables), \
        "callables left in the binding's tables (work pending or handlers installed)"
    assert wait_until(lambda: set(threading.enumerate()) <= threads), "threads left running"
    assert wait_until(lambda: gc.collect() >= 0 and _fds() <= fds), "file descriptors left open"
    assert lib_in_flight() == 0
    # Idle: no timer, source or loop still burning CPU.
    c0 = time.process_time()
    time.sleep(0.25)
    assert time.process_time() - c0 < 0.05, "the process is busy after the scenario"


def lib_in_flight() -> int:
    return int(_lib.lib.rgcdpy_in_flight())


# --- seed 000 ---------------------------------------------------------------------------

def test_concurrent_fetch_bounded(quiet: None) -> None:
    from concurrent_fetch import fetch_urls

    with HTTPTestServer() as server:
        urls = [server.url(f"/item/{i}?delay=0.02") for i in range(12)]
        missing = server.url("/status/404")
        results = fetch_urls(urls + [missing], max_concurrent=3)
        assert server.peak_in_flight <= 3
        assert server.count("/item/") == 12
    assert {u: results[u] for u in urls} == {u: f"item {i}".encode() for i, u in enumerate(urls)}
    err = results[missing]
    assert isinstance(err, urllib.error.HTTPError) and err.code == 404
    err.close()


def test_connection_pool(quiet: None) -> None:
    from connection_pool import ConnectionPool, PooledConnection, echo, run_clients

    with EchoServer() as server:
        r = run_clients(server.port, clients=20, max_size=3)
        assert r["finished"]
        assert r["replies"] == [b"message %d" % i for i in range(20)]
        assert 1 <= r["created"] <= 3
        assert server.connections == r["created"]  # connections were reused
        assert r["extra"] is None  # all 3 held: a 4th acquire times out

        pool = ConnectionPool(lambda: socket.create_connection(("127.0.0.1", server.port)), 2)
        with PooledConnection(pool) as a:
            with PooledConnection(pool) as b:
                assert a is not b
                assert pool.acquire(0.01) is None
        with PooledConnection(pool) as c:
            assert c in (a, b)  # reused, not created
            assert echo(c, b"again") == b"again"
        assert pool.size == 2
        pool.close_all()
        assert pool.size == 0 and not pool.pool


def test_rate_limited_client(quiet: None) -> None:
    from rate_limited_client import RateLimitedClient, run_batch

    with HTTPTestServer() as server:
        client = RateLimitedClient(requests_per_second=50)
        endpoints = [server.url(f"/item/{i}") for i in range(10)] + [server.url("/status/500")]
        results = run_batch(client, endpoints)
        assert [ep for ep, _ in results] == endpoints  # serial queue: submission order
        assert [r for _, r in results[:10]] == [f"item {i}".encode() for i in range(10)]
        assert isinstance(results[10][1], urllib.error.HTTPError)
        results[10][1].close()
        gaps = [b - a for a, b in zip(client.sent_at, client.sent_at[1:])]
        assert min(gaps) >= client.interval - 1e-6  # never faster than the limit
        assert server.peak_in_flight == 1
        assert client.request_sync(server.url("/health")) == b"ok"
        with pytest.raises(urllib.error.HTTPError):
            client.request_sync(server.url("/status/503"))
        del client
        gc.collect()


def test_retry_with_backoff(quiet: None) -> None:
    from retry_backoff import RetryClient, fetch_with_retry

    with HTTPTestServer() as server:
        data, error = fetch_with_retry(RetryClient(max_retries=5, base_delay=0.02),
                                       server.url("/flaky/a?fail=2"))
        assert (data, error) == (b"recovered", None)
        assert server.count("/flaky/a") == 3
        t = server.times("/flaky/a")
        assert t[1] - t[0] >= 0.02 and t[2] - t[1] >= 0.04  # backoff doubles (lower bounds)

        data, error = fetch_with_retry(RetryClient(max_retries=3, base_delay=0.01),
                                       server.url("/status/503"))
        assert data is None
        assert isinstance(error, urllib.error.HTTPError) and error.code == 503
        error.close()
        assert server.count("/status/503") == 3  # gave up after max_retries attempts


def test_echo_client_read_write_sources(quiet: None) -> None:
    from echo_client import run_echo_client

    payload = os.urandom(1 << 20)  # larger than the socket buffers: the WriteSource paces it
    with EchoServer() as server:
        assert run_echo_client("127.0.0.1", server.port, payload) == payload
        assert run_echo_client("127.0.0.1", server.port, b"Hello, server!") == b"Hello, server!"


def test_echo_client_sees_the_server_close(quiet: None) -> None:
    from echo_client import AsyncSocket

    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    peer, _ = listener.accept()
    events: list = []
    done = rgcd.Semaphore(0)
    a = AsyncSocket(client)

    def on_data(data: object, error: object) -> None:
        events.append((data, type(error).__name__ if error else None))
        if error:
            done.signal()

    a.on_readable(on_data)
    peer.sendall(b"bye")
    peer.close()
    assert done.wait(5)
    assert events[0] == (b"bye", None) or b"".join(d for d, _ in events[:-1]) == b"bye"
    assert events[-1] == (None, "ConnectionError")
    assert a.read_source is None  # stopped at end of stream: no busy loop
    a.close()
    listener.close()
    del a
    gc.collect()


def test_health_checker_on_a_timer(quiet: None) -> None:
    from health_checker import HealthChecker

    with HTTPTestServer() as server:
        good, bad = server.url("/health"), server.url("/status/503")
        down = f"http://127.0.0.1:{closed_port()}/health"
        checker = HealthChecker([good, bad, down], interval=0.05)
        checker.start()
        assert wait_until(lambda: checker.rounds >= 3, 10)
        checker.stop()
        rounds, checks = checker.rounds, server.count("/health")
        assert checks == rounds  # every round checked every endpoint once
        status = checker.get_status()
        assert checker.get_healthy() == [good]
        assert status[good]["status"] == 200 and status[good]["latency_ms"] >= 0
        assert status[bad]["healthy"] is False and "503" in status[bad]["error"]
        assert status[down]["healthy"] is False and "refused" in status[down]["error"].lower()
        time.sleep(0.15)  # three intervals: no round starts after stop()
        assert checker.rounds == rounds and server.count("/health") == checks
        del checker
        gc.collect()


def test_timeout_through_group_wait(quiet: None) -> None:
    from fetch_timeout import fetch_with_timeout

    with HTTPTestServer() as server:
        assert fetch_with_timeout(server.url("/item/7"), 5) == b"item 7"
        background = rgcd.Group()
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            fetch_with_timeout(server.url("/gate"), 0.1, group=background)
        assert time.monotonic() - t0 >= 0.1
        assert not background.wait(0)  # the abandoned fetch is still running
        server.release_gate()
        assert background.wait(10)
        with pytest.raises(urllib.error.HTTPError) as info:
            fetch_with_timeout(server.url("/status/404"), 5)
        info.value.close()


def test_fan_out_fan_in(quiet: None) -> None:
    from fan_out_fan_in import fan_out_fan_in
    import urllib.request

    with HTTPTestServer() as server:
        def get(n: int) -> str:
            with urllib.request.urlopen(server.url(f"/item/{n}?delay=0.01"), timeout=10) as r:
                return r.read().decode()

        assert fan_out_fan_in(list(range(30)), get, max_concurrent=4) == \
            [f"item {n}" for n in range(30)]
        assert 1 <= server.peak_in_flight <= 4
    assert fan_out_fan_in([], get) == []


def test_fan_out_fan_in_survives_a_failing_item(quiet: None, unraisable: Unraisable) -> None:
    from fan_out_fan_in import fan_out_fan_in

    # The exception is reported (unraisablehook), the slot given back, the result left None.
    assert fan_out_fan_in([1, 0, 2, 4], lambda x: 4 // x, max_concurrent=1) == [4, None, 2, 1]
    assert [type(e) for e in unraisable.seen] == [ZeroDivisionError]
    unraisable.seen.clear()


def test_producer_consumer_stream(quiet: None) -> None:
    from producer_consumer import StreamProcessor, consume_stream

    with StreamServer(count=500) as server:
        assert consume_stream(server.port, max_buffer=8) == list(range(500))

    # The buffer bounds the producer: with the consumer stalled, the 5th push blocks.
    gate = threading.Event()
    seen: list = []
    proc = StreamProcessor(lambda x: (gate.wait(10), seen.append(x)), max_buffer=4)
    pushed = []
    producer = threading.Thread(target=lambda: [pushed.append(proc.push(i)) for i in range(6)])
    producer.start()
    assert wait_until(lambda: len(pushed) == 5)  # 4 buffered + 1 taken by the consumer
    time.sleep(0.05)
    assert len(pushed) == 5
    gate.set()
    producer.join(10)
    assert proc.stop()
    assert seen == list(range(6))


# --- seed 001 ---------------------------------------------------------------------------

def test_server_with_ticker_and_clean_shutdown(quiet: None) -> None:
    from server_with_ticker import MyTickerHandler, Server, get_json

    handler = MyTickerHandler()
    server = Server(0, handler, ticker=handler, tick_seconds=0.02).start()
    base = f"http://127.0.0.1:{server.port}"
    first = get_json(base + "/")
    assert first["status"] == "ok" and first["path"] == "/"
    assert wait_until(lambda: handler._ticks >= first["ticks"] + 3, 10)
    assert get_json(base + "/x")["ticks"] >= first["ticks"] + 3  # requests see the ticker
    assert get_json(base + "/upload", b"y" * 100_000) == {"status": "processed",
                                                          "bytes": 100_000}
    assert _raw(server.port, b"PUT / HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.0 405")
    assert _raw(server.port, b"nonsense\r\n\r\n").startswith(b"HTTP/1.0 400")

    # Concurrent requests are answered side by side.
    replies: list = []
    threads = [threading.Thread(target=lambda i=i: replies.append(get_json(f"{base}/c{i}")))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(r["path"] for r in replies) == sorted(f"/c{i}" for i in range(8))

    # Shutdown with a request in flight and an idle connection: the request is answered,
    # the idle connection (no request sent) is closed, not waited for.
    idle = socket.create_connection(("127.0.0.1", server.port))
    slow: dict = {}
    t = threading.Thread(target=lambda: slow.update(get_json(base + "/slow")))
    t.start()
    assert handler.slow_started.wait(10)
    served = server.served
    t0 = time.monotonic()
    assert server.shutdown(10) is True
    assert server.served == served + 1  # the slow request was answered before shutdown returned
    t.join(10)
    assert slow["status"] == "ok" and slow["path"] == "/slow"
    assert idle.recv(10) == b""  # closed by the server
    idle.close()
    assert time.monotonic() - t0 < 10
    ticks = handler._ticks
    time.sleep(0.1)
    assert handler._ticks == ticks  # the ticker stopped
    with pytest.raises(urllib.error.URLError):
        get_json(base + "/")
    del server
    gc.collect()


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out
            out += chunk
