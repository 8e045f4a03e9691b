"""An HTTP server with a background ticker in one process (seed 001, "Server with
Background Ticker"), built on rgcd instead of socketserver threads: a ReadSource on the
listening socket accepts, a ReadSource per connection reads the request, a concurrent queue
runs the request handler, and a Timer drives the ticker. ``shutdown()`` stops accepting,
closes connections that have not sent a full request, waits for the requests in flight to
be answered, then stops the ticker.

Handlers are written as in the seed: ``do_GET(self, instance)`` calls
``instance.send_response``, ``send_header``, ``end_headers`` and ``instance.wfile.write``.
"""

from __future__ import annotations

import io
import json
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Set

import rgcd as cygcd

MAX_REQUEST = 1 << 20
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error"}


class Exchange:
    """One request and its response, with the parts of ``BaseHTTPRequestHandler`` that
    handlers use: ``command``, ``path``, ``headers``, ``rfile``, ``send_response``,
    ``send_header``, ``end_headers``, ``wfile``."""

    def __init__(self, command: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.command = command
        self.path = path
        self.headers = headers
        self.rfile = io.BytesIO(body)
        self.wfile = io.BytesIO()
        self._head: List[str] = []

    def send_response(self, code: int, message: Optional[str] = None) -> None:
        self._head.append(f"HTTP/1.0 {code} {message or _REASONS.get(code, '')}")

    def send_header(self, name: str, value: str) -> None:
        self._head.append(f"{name}: {value}")

    def end_headers(self) -> None:
        pass

    def response_bytes(self) -> bytes:
        body = self.wfile.getvalue()
        head = list(self._head) or ["HTTP/1.0 500 Internal Server Error"]
        if not any(h.lower().startswith("content-length:") for h in head):
            head.append(f"Content-Length: {len(body)}")
        head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def _parse(raw: bytes) -> Optional[Exchange]:
    """An Exchange once ``raw`` holds a whole request, else None; ValueError if malformed."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        if len(raw) > MAX_REQUEST:
            raise ValueError("request too large")
        return None
    lines = raw[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) < 2:
        raise ValueError("bad request line")
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
    if len(raw) - end - 4 < length:
        return None
    return Exchange(parts[0], parts[1], headers, raw[end + 4:end + 4 + length])


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.source: Optional[cygcd.ReadSource] = None


class Server:
    """Serves ``handler`` (an object with ``do_GET(instance)`` and optionally ``do_POST``)
    on ``host:port`` (port 0: any free port) and, when ``ticker`` is given, calls
    ``ticker.ticker_tick()`` every ``tick_seconds`` on a serial queue of its own."""

    def __init__(self, port: int, handler: Any, ticker: Any = None,
                 tick_seconds: float = 5.0, host: str = "127.0.0.1") -> None:
        self.handler = handler
        self.ticker = ticker
        self.tick_seconds = tick_seconds
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])
        self._state = cygcd.Queue("server.state")  # accept, reads, bookkeeping
        self._work = cygcd.Queue("server.requests", concurrent=True)
        self._ticker_queue = cygcd.Queue("server.ticker")
        self._in_flight = cygcd.Group()  # one entry per accepted connection
        self._reading: Set[_Connection] = set()
        self._accept_source: Optional[cygcd.ReadSource] = None
        self._timer: Optional[cygcd.Timer] = None
        self._stopped = threading.Event()
        self._count_lock = threading.Lock()
        self.served = 0  # responses sent

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> "Server":
        """Starts accepting connections and the ticker; returns at once."""
        if self.ticker is not None:
            if hasattr(self.ticker, "ticker_start"):
                self.ticker.ticker_start()
            self._timer = cygcd.Timer(self.tick_seconds, self.ticker.ticker_tick,
                                      queue=self._ticker_queue, start_delay=self.tick_seconds)
            self._timer.start()
        self._accept_source = cygcd.ReadSource(self._listener.fileno(), self._accept,
                                               self._state)
        self._accept_source.start()
        return self

    def run(self) -> int:
        """``start()``, then serve until SIGINT or SIGTERM; shuts down cleanly; returns 0."""
        self.start()
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        sources = [cygcd.SignalSource(s, self._stopped.set) for s in previous]
        for src in sources:
            src.start()
        try:
            while not self._stopped.wait(0.5):
                pass
        finally:
            for src in sources:
                src.cancel()
            for s, h in previous.items():
                signal.signal(s, h)
            self.shutdown()
        return 0

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Stops accepting, drops connections whose request has not fully arrived, waits
        (at most ``timeout`` seconds) for the requests in flight to be answered, then stops
        the ticker. True when every request in flight was answered."""
        def stop_accepting() -> None:
            if self._accept_source is not None:
                self._accept_source.cancel()
                self._accept_source = None
            self._listener.close()
            for conn in list(self._reading):
                self._drop(conn)

        self._state.run_sync(stop_accepting)  # no handler of ours runs after this
        answered = self._in_flight.wait(timeout)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._ticker_queue.run_sync(lambda: None)  # a tick in progress finishes
        self._stopped.set()
        return answered

    # --- connections (all on the serial state queue) ------------------------------------

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            conn = _Connection(sock)
            self._in_flight.enter()
            self._reading.add(conn)
            conn.source = cygcd.ReadSource(sock.fileno(), lambda c=conn: self._read(c),
                                           self._state)
            conn.source.start()

    def _read(self, conn: _Connection) -> None:
        if conn not in self._reading:
            return
        try:
            chunk = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away before a whole request arrived
            self._drop(conn)
            return
        conn.buf += chunk
        try:
            exchange = _parse(conn.buf)
        except ValueError:
            exchange = Exchange("BAD", "", {}, b"")
        if exchange is None:
            return
        self._reading.discard(conn)
        assert conn.source is not None
        conn.source.cancel()
        conn.source = None
        self._work.run_async(lambda: self._respond(conn, exchange))

    def _drop(self, conn: _Connection) -> None:
        self._reading.discard(conn)
        if conn.source is not None:
            conn.source.cancel()
            conn.source = None
        conn.sock.close()
        self._in_flight.leave()

    # --- requests (on the concurrent request queue) -------------------------------------

    def _respond(self, conn: _Connection, ex: Exchange) -> None:
        try:
            method = getattr(self.handler, f"do_{ex.command}", None)
            if method is None:
                ex.send_response(405 if ex.command != "BAD" else 400)
            else:
                try:
                    method(ex)
                except Exception as e:
                    ex = Exchange(ex.command, ex.path, ex.headers, b"")
                    ex.send_response(500)
                    ex.wfile.write(f"handler error: {e}".encode())
            conn.sock.setblocking(True)
            conn.sock.settimeout(10)
            try:
                conn.sock.sendall(ex.response_bytes())
            except OSError:
                pass
            with self._count_lock:
                self.served += 1
        finally:
            conn.sock.close()
            self._in_flight.leave()


# --- the seed's handler, unchanged in shape --------------------------------------------

class MyTickerHandler:
    """Counts ticks in the background; GET answers with the count, ``/slow`` after 0.3 s."""

    def __init__(self) -> None:
        self._ticks = 0
        self.slow_started = threading.Event()

    def ticker_start(self, manager: Any = None) -> None:
        self._lock = threading.Lock()
        self._msg = {"started": True}

    def ticker_tick(self) -> None:
        with self._lock:
            self._ticks += 1

    def do_GET(self, instance: Exchange) -> None:
        if instance.path == "/slow":
            self.slow_started.set()
            time.sleep(0.3)
        instance.send_response(200)
        instance.send_header("Content-type", "application/json")
        instance.end_headers()
        instance.wfile.write(json.dumps({"status": "ok", "ticks": self._ticks,
                                         "path": instance.path}).encode())

    def do_POST(self, instance: Exchange) -> None:
        length = int(instance.headers["Content-Length"])
        data = instance.rfile.read(length)
        instance.send_response(200)
        instance.send_header("Content-type", "application/json")
        instance.end_headers()
        instance.wfile.write(json.dumps({"status": "processed", "bytes": len(data)}).encode())


def get_json(url: str, data: Optional[bytes] = None) -> Dict[str, Any]:
    with urllib.request.urlopen(url, data=data, timeout=10) as resp:
        return json.loads(resp.read())


def main() -> None:
    handler = MyTickerHandler()
    server = Server(0, handler, ticker=handler, tick_seconds=0.02).start()
    base = f"http://127.0.0.1:{server.port}"
    first = get_json(base + "/")
    deadline = time.monotonic() + 10
    while handler._ticks < first["ticks"] + 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    later = get_json(base + "/status")
    print(f"status: {later['status']}, ticks advanced: {later['ticks'] > first['ticks']}")
    print(f"post: {get_json(base + '/upload', b'x' * 5000)}")
    slow: Dict[str, Any] = {}
    t = threading.Thread(target=lambda: slow.update(get_json(base + "/slow")))
    t.start()
    handler.slow_started.wait(10)  # the slow request is being handled now
    answered = server.shutdown()
    t.join(10)
    print(f"shutdown waited for the request in flight: {answered}, slow got: "
          f"{slow.get('status')}")
    ticks = handler._ticks
    time.sleep(0.1)
    print(f"ticker stopped: {handler._ticks == ticks}")
    try:
        get_json(base + "/")
    except urllib.error.URLError as e:
        print(f"after shutdown: {type(e.reason).__name__}")
    if "--serve" in sys.argv:  # serve until Ctrl-C
        Server(8080, handler, ticker=handler, tick_seconds=5).run()


if __name__ == "__main__":
    main()
