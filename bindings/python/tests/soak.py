"""The Python soak (not collected by pytest; see the README, "Soak").

Each round, four threads run a random mix of operations over shared objects: serial and
concurrent queues (some targeting others), run_async, barrier_async, run_sync,
Group.run_async, after, apply, suspend/resume, semaphores, timers and socketpair read sources
that are created, fed and cancelled. After each round: every task ran exactly once, no
handler ran long (a second) after its source's cancel() returned, and every rgcd object
was freed. Over the run: RSS flat and the process idle after the last round.

    python soak.py [--rounds N] [--ops N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import resource
import socket
import sys
import threading
import time
from typing import Callable, List, Optional

import rgcd

THREADS = 4
QUEUES = 12
SOURCES = 24


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class SourceSlot:
    """One source at a time: created, fed, cancelled, created again."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.src: Optional[object] = None
        self.pair: Optional[tuple[socket.socket, socket.socket]] = None
        self.state: dict[str, float] = {}


class Round:
    def __init__(self, ops: int) -> None:
        self.ran = [0] * (ops + 1)
        self.ran_lock = threading.Lock()
        self.next = 0
        self.queues: List[rgcd.Queue] = []
        for i in range(QUEUES):
            q = rgcd.Queue(f"soak.{i}", concurrent=(i % 3 == 2))
            if i >= 4 and i % 2 == 0:
                q.set_target_queue(self.queues[i % 4])
            self.queues.append(q)
        self.groups = [rgcd.Group() for _ in range(4)]
        self.sems = [rgcd.Semaphore(0) for _ in range(4)]
        self.slots = [SourceSlot() for _ in range(SOURCES)]
        self.sources = 0
        self.late = 0

    def task(self) -> Callable[[], None]:
        with self.ran_lock:
            i = self.next
            self.next += 1

        def run() -> None:
            with self.ran_lock:
                self.ran[i] += 1

        return run

    def feed(self, rng: random.Random, slot: SourceSlot) -> None:
        with slot.lock:
            if slot.src is None:
                q = rng.choice(self.queues)
                state = {"cancelled_at": 0.0}

                def on_event() -> None:
                    # A call that started before cancel() returned may still be waiting for
                    # the GIL: count only a call that runs long after it.
                    at = state["cancelled_at"]
                    if at and time.monotonic() - at > 1.0:
                        with self.ran_lock:
                            self.late += 1

                if rng.random() < 0.5:
                    src: object = rgcd.Timer(0.0005 + rng.random() * 0.002, on_event, q,
                                             start_delay=rng.random() * 0.002)
                else:
                    a, b = socket.socketpair()
                    a.setblocking(False)
                    slot.pair = (a, b)

                    def on_readable(a: socket.socket = a) -> None:
                        on_event()
                        try:
                            a.recv(64)
                        except OSError:
                            pass

                    src = rgcd.ReadSource(a.fileno(), on_readable, q)
                src.start()
                slot.src = src
                self.sources += 1
                slot.state = state
                return
            if rng.random() < 0.25:
                slot.src.cancel()
                slot.state["cancelled_at"] = time.monotonic()
                slot.src = None
                slot.pair = None  # the sockets close when the handler lets go of them
            elif slot.pair is not None:
                slot.pair[1].send(b"x")

    def worker(self, seed: int, ops: int) -> None:
        rng = random.Random(seed)
        for _ in range(ops):
            q = rng.choice(self.queues)
            op = rng.randrange(20)
            if op < 6:
                q.run_async(self.task())
            elif op < 7:
                q.barrier_async(self.task())
            elif op < 8:
                q.run_sync(self.task())
            elif op < 10:
                rng.choice(self.groups).run_async(q, self.task())
            elif op < 11:
                q.after(rng.random() * 0.003, self.task())
            elif op < 12:
                rgcd.Queue.global_queue(rng.choice([-2, 0, 2])).run_async(self.task())
            elif op < 13:
                q.suspend()
                q.run_async(self.task())
                q.resume()
            elif op < 14:
                s = rng.choice(self.sems)
                s.signal()
                if not s.wait(10.0):
                    raise AssertionError("semaphore wait timed out")
            elif op < 15:
                f = self.task()
                once = rgcd.Once()
                rgcd.apply(1 + rng.randrange(8), lambda i: once.once(f))
            else:
                self.feed(rng, rng.choice(self.slots))


def wait_until(cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


def run_round(rnd: int, args: argparse.Namespace) -> tuple[int, int]:
    """One round; every object it made is unreachable when it returns."""
    r = Round(args.ops)
    threads = [threading.Thread(target=r.worker,
                                args=(args.seed * 1000 + rnd * THREADS + w, args.ops // THREADS))
               for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for slot in r.slots:
        if slot.src is not None:
            slot.src.cancel()
            slot.state["cancelled_at"] = time.monotonic()
            slot.src = None
            slot.pair = None
    wait_until(lambda: all(n >= 1 for n in r.ran[:r.next]), "every task")
    for g in r.groups:
        if not g.wait(10.0):
            raise AssertionError("group not empty")
    bad = [i for i, n in enumerate(r.ran[:r.next]) if n != 1]
    if bad:
        raise AssertionError(f"round {rnd}: task {bad[0]} ran {r.ran[bad[0]]} times")
    if r.late:
        raise AssertionError(f"round {rnd}: {r.late} handler(s) long after cancel() returned")
    return r.next, r.sources


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--ops", type=int, default=8000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    import gc

    base = rgcd.live_objects()
    early = late = 0
    ops = tasks = sources = 0
    begin = time.monotonic()
    for rnd in range(args.rounds):
        n_tasks, n_sources = run_round(rnd, args)
        gc.collect()
        gc.collect()
        wait_until(lambda: rgcd.live_objects() <= base or gc.collect() < 0, "every object freed")
        rss = rss_kib()
        if rnd < 3:
            early = max(early, rss)
        if rnd >= args.rounds - 3:
            late = max(late, rss)
        ops += args.ops
        tasks += n_tasks
        sources += n_sources
        print(f"round {rnd}: {args.ops} ops, {n_tasks} tasks, {n_sources} sources, "
              f"RSS {rss} KiB, {rgcd.pool_thread_count()} threads", flush=True)
    elapsed = time.monotonic() - begin
    time.sleep(0.2)
    c0 = cpu_seconds()
    time.sleep(1.0)
    idle = cpu_seconds() - c0
    print(f"soak: {args.rounds} rounds, {ops} operations, {tasks} tasks, {sources} sources in "
          f"{elapsed:.1f} s; peak RSS early {early} KiB, late {late} KiB; "
          f"{idle * 1000:.1f} ms CPU in the second after")
    if args.rounds > 6 and late > early + 16 * 1024:
        print(f"soak: FAILED: RSS grew from {early} KiB to {late} KiB", file=sys.stderr)
        return 1
    if idle > 0.05:
        print(f"soak: FAILED: {idle * 1000:.1f} ms of CPU in the second after", file=sys.stderr)
        return 1
    print("soak: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
