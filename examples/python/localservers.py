"""Local servers on 127.0.0.1 for the networking examples (standard library only).

- ``HTTPTestServer``: a small HTTP/1.0 server with routes the examples exercise, recording
  every request (path, arrival time) and the peak number of requests in flight:

  ``/item/<n>`` → ``item <n>``; ``/slow?delay=<s>`` → sleeps, then ``slow``;
  ``/gate`` → waits until ``release_gate()`` (or 10 s), then ``gate``;
  ``/health`` → 200 ``ok``; ``/status/<code>`` → that status;
  ``/flaky/<key>?fail=<n>`` → 503 for the first n requests of a key, then ``recovered``.
  Add ``delay=<s>`` to any route to make it take that long.

- ``EchoServer``: a TCP server that sends back what it receives; counts connections.
- ``StreamServer``: a TCP server that sends ``count`` numbered lines to each client, then
  closes.

Each is a context manager: ``with HTTPTestServer() as srv: srv.url("/item/1")``. Leaving
the block stops the server and joins every thread it started.
"""

from __future__ import annotations

import http.server
import socket
import socketserver
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Tuple

__all__ = ["HTTPTestServer", "EchoServer", "StreamServer", "closed_port", "wait_for"]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: "_HTTPServer"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        owner._begin(parsed.path)
        try:
            status, body = owner._route(parsed.path, query)
            delay = float(query.get("delay", 0))
            if delay > 0:
                time.sleep(delay)
        finally:
            # Counted out before the client can see the answer, so that a client's next
            # request never overlaps this one in ``peak_in_flight``.
            owner._end()
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the request threads
    owner: "HTTPTestServer"


class _Lifecycle:
    """Runs ``serve_forever`` on a thread between ``start()`` and ``stop()``."""

    _server: socketserver.BaseServer

    def start(self) -> Any:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class HTTPTestServer(_Lifecycle):
    """An HTTP server on 127.0.0.1 (ephemeral port) recording what it served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: List[Tuple[str, float]] = []  # (path, arrival time), on arrival
        self.in_flight = 0
        self.peak_in_flight = 0
        self._flaky: Dict[str, int] = {}
        self._gate = threading.Event()
        self._server = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def release_gate(self) -> None:
        """Lets every ``/gate`` request (waiting or future) answer."""
        self._gate.set()

    def count(self, prefix: str = "") -> int:
        """Requests received so far whose path starts with ``prefix``."""
        with self._lock:
            return sum(1 for p, _ in self.requests if p.startswith(prefix))

    def times(self, prefix: str = "") -> List[float]:
        """Arrival times of the requests whose path starts with ``prefix``."""
        with self._lock:
            return sorted(s for p, s in self.requests if p.startswith(prefix))

    def _begin(self, path: str) -> float:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            now = time.monotonic()
            self.requests.append((path, now))
        return now

    def _end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _route(self, path: str, query: Dict[str, str]) -> Tuple[int, str]:
        parts = path.strip("/").split("/")
        if parts[0] == "item" and len(parts) == 2:
            return 200, f"item {parts[1]}"
        if parts[0] == "slow":
            time.sleep(float(query.get("delay", 0.2)))
            return 200, "slow"
        if parts[0] == "gate":
            self._gate.wait(10)
            return 200, "gate"
        if parts[0] == "health":
            return 200, "ok"
        if parts[0] == "status" and len(parts) == 2:
            return int(parts[1]), f"status {parts[1]}"
        if parts[0] == "flaky" and len(parts) == 2:
            with self._lock:
                seen = self._flaky.get(parts[1], 0)
                self._flaky[parts[1]] = seen + 1
            if seen < int(query.get("fail", 2)):
                return 503, "try again"
            return 200, "recovered"
        return 404, "not found"


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        owner: EchoServer = self.server.owner  # type: ignore[attr-defined]
        with owner._lock:
            owner.connections += 1
        sock: socket.socket = self.request
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            sock.sendall(data)


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True


class EchoServer(_Lifecycle):
    """A TCP echo server on 127.0.0.1; ``connections`` counts the clients it accepted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.connections = 0
        self._server = _TCPServer(("127.0.0.1", 0), _EchoHandler)
        self._server.owner = self  # type: ignore[attr-defined]


class _StreamHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        count: int = self.server.count  # type: ignore[attr-defined]
        sock: socket.socket = self.request
        for i in range(count):
            sock.sendall(b"record %d\n" % i)
        sock.shutdown(socket.SHUT_WR)


class StreamServer(_Lifecycle):
    """A TCP server that sends ``count`` lines ``record <i>\\n`` to each client, then closes."""

    def __init__(self, count: int = 100) -> None:
        self._server = _TCPServer(("127.0.0.1", 0), _StreamHandler)
        self._server.count = count  # type: ignore[attr-defined]


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def wait_for(pred: Any, timeout: float = 5.0) -> bool:
    """Polls ``pred()`` until true or ``timeout`` seconds passed; returns its last value."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            return bool(pred())
        time.sleep(0.005)
    return True

