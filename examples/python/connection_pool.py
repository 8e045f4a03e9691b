"""A connection pool: a serial Queue guards the idle connections, a Semaphore bounds how
many exist (seed 000, "Connection Pool"), used by concurrent clients of a local echo
server."""

from __future__ import annotations

import socket
from collections import deque
from typing import Any, Callable, Deque, List, Optional

import rgcd as cygcd

from localservers import EchoServer


class ConnectionPool:
    """At most ``max_size`` connections made by ``factory``, reused once released."""

    def __init__(self, factory: Callable[[], Any], max_size: int = 10) -> None:
        self.factory = factory
        self.max_size = max_size
        self.pool: Deque[Any] = deque()
        self.size = 0
        self.queue = cygcd.Queue("pool.manager")  # serial: guards pool and size
        self.available = cygcd.Semaphore(max_size)

    def acquire(self, timeout: float = -1) -> Optional[Any]:
        """A connection, or None when none became free within ``timeout`` seconds."""
        if not self.available.wait(timeout):
            return None
        conn: List[Any] = [None]

        def get_or_create() -> None:
            if self.pool:
                conn[0] = self.pool.popleft()
            else:
                conn[0] = self.factory()
                self.size += 1

        self.queue.run_sync(get_or_create)
        return conn[0]

    def release(self, conn: Any) -> None:
        """Gives ``conn`` back to the pool."""
        self.queue.run_sync(lambda: self.pool.append(conn))
        self.available.signal()

    def close_all(self) -> None:
        """Closes the idle connections."""
        def close() -> None:
            while self.pool:
                self.pool.popleft().close()
            self.size = 0

        self.queue.run_sync(close)


class PooledConnection:
    """``with PooledConnection(pool) as conn:`` acquires and releases a connection."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.conn: Optional[Any] = None

    def __enter__(self) -> Any:
        self.conn = self.pool.acquire()
        return self.conn

    def __exit__(self, *args: Any) -> None:
        if self.conn:
            self.pool.release(self.conn)


def echo(conn: socket.socket, payload: bytes) -> bytes:
    conn.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def run_clients(port: int, clients: int = 20, max_size: int = 3) -> dict:
    """``clients`` concurrent jobs echo a message each through a pool of ``max_size``."""
    pool = ConnectionPool(lambda: socket.create_connection(("127.0.0.1", port), timeout=10),
                          max_size=max_size)
    replies: List[bytes] = [b""] * clients
    group = cygcd.Group()
    work = cygcd.Queue("clients", concurrent=True)
    for i in range(clients):
        def job(i: int = i) -> None:
            with PooledConnection(pool) as conn:
                replies[i] = echo(conn, b"message %d" % i)
        group.run_async(work, job)
    finished = group.wait(30.0)
    # Every connection is idle now: one more acquire beyond max_size must time out.
    held = [pool.acquire(1.0) for _ in range(max_size)]
    extra = pool.acquire(0.05)
    for c in held:
        pool.release(c)
    created = pool.size
    pool.close_all()
    return {"finished": finished, "replies": replies, "created": created,
            "extra": extra}


def main() -> None:
    with EchoServer() as server:
        r = run_clients(server.port, clients=20, max_size=3)
        good = sum(1 for i, rep in enumerate(r["replies"]) if rep == b"message %d" % i)
        print(f"echoed {good}/20 messages")
        print(f"connections created: {r['created']} (pool max 3)")
        print(f"server accepted: {server.connections}")
        print(f"acquire beyond max: {r['extra']}")


if __name__ == "__main__":
    main()
