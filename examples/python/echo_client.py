"""A non-blocking socket driven by a ReadSource and a WriteSource (seed 000, "Non-Blocking
Socket with ReadSource"): an echo client that streams a payload larger than the socket
buffers to a local echo server and reads it back."""

from __future__ import annotations

import socket
from typing import Callable, List, Optional

import rgcd as cygcd

from localservers import EchoServer

ReadHandler = Callable[[Optional[bytes], Optional[Exception]], None]


class AsyncSocket:
    """A non-blocking socket whose readability and writability call handlers on a serial
    queue."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.setblocking(False)
        self.fd = sock.fileno()
        self.queue = cygcd.Queue("socket.io", qos=cygcd.QOS_CLASS_USER_INITIATED)
        self.read_source: Optional[cygcd.ReadSource] = None
        self.write_source: Optional[cygcd.WriteSource] = None
        self.read_handler: Optional[ReadHandler] = None
        self.write_handler: Optional[Callable[[], None]] = None

    def on_readable(self, handler: ReadHandler) -> None:
        """Calls ``handler(data, None)`` with what arrives, ``handler(None, error)`` once
        at end of stream or on an error (then reading stops)."""
        self.read_handler = handler

        def on_read() -> None:
            if self.read_handler is None:
                return
            try:
                # bytes_available is 0 at end of stream: recv then returns b"".
                data = self.sock.recv(max(self.read_source.bytes_available, 1))
            except BlockingIOError:
                return
            except Exception as e:
                self.stop_read()
                self.read_handler(None, e)
                return
            if data:
                self.read_handler(data, None)
            else:
                self.stop_read()  # level-triggered: stop before it fires again at EOF
                self.read_handler(None, ConnectionError("closed"))

        self.read_source = cygcd.ReadSource(self.fd, on_read, self.queue)
        self.read_source.start()

    def on_writable(self, handler: Callable[[], None]) -> None:
        """Calls ``handler()`` while the socket can take more bytes."""
        self.write_handler = handler

        def on_write() -> None:
            if self.write_handler:
                self.write_handler()

        self.write_source = cygcd.WriteSource(self.fd, on_write, self.queue)
        self.write_source.start()

    def stop_read(self) -> None:
        if self.read_source:
            self.read_source.cancel()
            self.read_source = None

    def stop_write(self) -> None:
        if self.write_source:
            self.write_source.cancel()
            self.write_source = None

    def close(self) -> None:
        """Stops both sources, then closes the socket once no handler is running (handlers
        run on ``queue``, and none starts after a cancel)."""
        self.stop_read()
        self.stop_write()
        self.queue.run_sync(self.sock.close)


def run_echo_client(host: str, port: int, payload: bytes, timeout: float = 10.0) -> bytes:
    """Sends ``payload`` through the WriteSource and returns what the ReadSource got back."""
    sock = socket.create_connection((host, port))
    async_sock = AsyncSocket(sock)
    received: List[bytes] = []
    total = [0]
    done = cygcd.Semaphore(0)
    remaining = [memoryview(payload)]

    def on_data(data: Optional[bytes], error: Optional[Exception]) -> None:
        if error is not None:
            done.signal()
            return
        assert data is not None
        received.append(data)
        total[0] += len(data)
        if total[0] >= len(payload):
            done.signal()

    def on_writable() -> None:
        try:
            n = sock.send(remaining[0][:65536])
        except BlockingIOError:
            return
        remaining[0] = remaining[0][n:]
        if not remaining[0]:
            async_sock.stop_write()  # all sent: stop being called while writable

    async_sock.on_readable(on_data)
    async_sock.on_writable(on_writable)
    finished = done.wait(timeout)
    async_sock.close()
    if not finished:
        raise TimeoutError(f"echo: {total[0]} of {len(payload)} bytes back")
    return b"".join(received)


def main() -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB: more than the socket buffers hold
    with EchoServer() as server:
        back = run_echo_client("127.0.0.1", server.port, payload)
        print(f"sent {len(payload)} bytes, received {len(back)}, equal: {back == payload}")
        back = run_echo_client("127.0.0.1", server.port, b"Hello, server!")
        print(f"received: {back.decode()}")


if __name__ == "__main__":
    main()
