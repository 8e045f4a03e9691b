"""Shared helpers for the rgcd binding tests."""

from __future__ import annotations

import gc
import time
from typing import Callable, List

import pytest

import rgcd


def wait_until(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Polls ``pred`` until it is true or ``timeout`` seconds passed; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(0.005)


def settle_objects(baseline: int, timeout: float = 5.0) -> int:
    """Collects garbage until rgcd's live-object count is back at ``baseline`` (or the
    timeout passed); returns the count."""
    def back() -> bool:
        gc.collect()
        return rgcd.live_objects() <= baseline

    wait_until(back, timeout)
    return rgcd.live_objects()


def stable_live_objects() -> int:
    """rgcd's live-object count once it stopped changing (objects of an earlier test may
    still be on their way out)."""
    last = -1
    end = time.monotonic() + 2
    while time.monotonic() < end:
        gc.collect()
        n = rgcd.live_objects()
        if n == last:
            return n
        last = n
        time.sleep(0.02)
    return last


class Unraisable:
    """Captures what reaches ``sys.unraisablehook``."""

    def __init__(self) -> None:
        self.seen: List[BaseException] = []

    def __call__(self, args) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(args.exc_value)


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> Unraisable:
    hook = Unraisable()
    monkeypatch.setattr("sys.unraisablehook", hook)
    return hook
