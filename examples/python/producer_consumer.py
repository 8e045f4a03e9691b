"""Producer–consumer for a stream: a bounded buffer between two semaphores, guarded by a
serial queue, drained by a consumer loop on its own queue (seed 000, "Producer-Consumer for
Streaming"). The producer reads records from a local TCP server."""

from __future__ import annotations

import socket
from collections import deque
from typing import Any, Callable, Deque, List

import rgcd as cygcd

from localservers import StreamServer


class StreamProcessor:
    """Feeds pushed items to ``processor`` in order, holding at most ``max_buffer``."""

    def __init__(self, processor: Callable[[Any], Any], max_buffer: int = 100) -> None:
        self.processor = processor
        self.buffer: Deque[Any] = deque()
        self.max_buffer = max_buffer
        self.running = True
        self.items_available = cygcd.Semaphore(0)
        self.slots_available = cygcd.Semaphore(max_buffer)
        self.buffer_queue = cygcd.Queue("buffer")
        self.process_queue = cygcd.Queue("process", qos=cygcd.QOS_CLASS_USER_INITIATED)
        self.consumer = cygcd.Group()  # empty once the consumer loop returned
        self.consumer.run_async(self.process_queue, self._consume)

    def push(self, item: Any) -> None:
        """Adds ``item`` (blocks while the buffer is full)."""
        self.slots_available.wait()
        self.buffer_queue.run_sync(lambda: self.buffer.append(item))
        self.items_available.signal()

    def _consume(self) -> None:
        while True:
            if not self.items_available.wait(1.0):
                if not self.running:
                    return
                continue
            item: List[Any] = [None]
            self.buffer_queue.run_sync(lambda: item.__setitem__(0, self.buffer.popleft()))
            if item[0] is _STOP:
                return
            self.slots_available.signal()
            try:
                self.processor(item[0])
            except Exception as e:
                print(f"Processing error: {e}")

    def stop(self, timeout: float = 10.0) -> bool:
        """Lets the consumer finish the items pushed so far, then stops it; True when it
        returned within ``timeout`` seconds."""
        self.running = False
        self.push(_STOP)
        return self.consumer.wait(timeout)


_STOP = object()


def consume_stream(port: int, max_buffer: int = 8) -> List[int]:
    """Reads ``record <i>`` lines from the server at ``port`` through a StreamProcessor;
    returns the record numbers in the order processed."""
    seen: List[int] = []
    proc = StreamProcessor(lambda line: seen.append(int(line.split()[1])), max_buffer)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with sock.makefile("rb") as lines:
            for line in lines:
                proc.push(line)
    if not proc.stop():
        raise TimeoutError("consumer did not stop")
    return seen


def main() -> None:
    with StreamServer(count=500) as server:
        seen = consume_stream(server.port, max_buffer=8)
        print(f"processed {len(seen)} records in order: {seen == list(range(500))}")


if __name__ == "__main__":
    main()
