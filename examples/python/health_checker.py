"""A health checker on a Timer: every ``interval`` it checks all endpoints concurrently and
waits for them with a Group (seed 000, "Health Check with Timer"), against a local server
(one healthy endpoint, one failing, one refusing connections)."""

from __future__ import annotations

import time
import urllib.request
from typing import Any, Dict, List, Optional

import rgcd as cygcd

from localservers import HTTPTestServer, closed_port, wait_for


class HealthChecker:
    """Checks ``endpoints`` every ``interval`` seconds, from ``start()`` to ``stop()``."""

    def __init__(self, endpoints: List[str], interval: float = 30.0) -> None:
        self.endpoints = endpoints
        self.interval = interval
        self.status: Dict[str, Optional[Dict[str, Any]]] = {ep: None for ep in endpoints}
        self.rounds = 0
        self.queue = cygcd.Queue("health.check", qos=cygcd.QOS_CLASS_BACKGROUND)
        self.check_queue = cygcd.Queue("health.requests", concurrent=True)
        self.timer: Optional[cygcd.Timer] = None
        self.running = False

    def start(self) -> None:
        """Starts the periodic checks (the first one at once)."""
        self.running = True

        def check_all() -> None:
            if not self.running:
                return
            group = cygcd.Group()
            for endpoint in self.endpoints:
                def check(ep: str = endpoint) -> None:
                    start = time.monotonic()
                    try:
                        with urllib.request.urlopen(ep, timeout=10) as resp:
                            self.status[ep] = {
                                "healthy": resp.status == 200,
                                "status": resp.status,
                                "latency_ms": (time.monotonic() - start) * 1000,
                                "checked_at": time.time(),
                            }
                    except Exception as e:
                        self.status[ep] = {"healthy": False, "error": str(e),
                                           "checked_at": time.time()}
                group.run_async(self.check_queue, check)
            group.wait(30.0)
            self.rounds += 1

        self.timer = cygcd.Timer(interval=self.interval, handler=check_all,
                                 queue=self.queue, start_delay=0)
        self.timer.start()

    def stop(self) -> None:
        """Stops the checks and returns once a round in progress finished."""
        self.running = False
        if self.timer:
            self.timer.cancel()
            self.timer = None
        self.queue.run_sync(lambda: None)  # the timer's serial queue: waits out a round

    def get_status(self) -> Dict[str, Optional[Dict[str, Any]]]:
        return dict(self.status)

    def get_healthy(self) -> List[str]:
        return [ep for ep, st in self.status.items() if st and st.get("healthy")]


def main() -> None:
    with HTTPTestServer() as server:
        good = server.url("/health")
        bad = server.url("/status/503")
        down = f"http://127.0.0.1:{closed_port()}/health"
        checker = HealthChecker([good, bad, down], interval=0.05)
        checker.start()
        wait_for(lambda: checker.rounds >= 3, timeout=10)
        checker.stop()
        rounds = checker.rounds
        print(f"rounds >= 3: {rounds >= 3}")
        print(f"healthy: {[ep == good for ep in checker.get_healthy()]}")
        status = checker.get_status()
        print(f"failing endpoint: {status[bad]['healthy']}, {status[bad]['error']}")
        print(f"down endpoint: {status[down]['healthy']}")
        time.sleep(0.2)
        print(f"no round after stop: {checker.rounds == rounds}")


if __name__ == "__main__":
    main()
