"""Diagnostics for tests: rgcd's live-object count and pool size."""

from ._lib import lib


def live_objects() -> int:
    """rgcd objects (queues, groups, semaphores, sources) alive now."""
    return int(lib.rgcd_debug_live_objects())


def pool_thread_count() -> int:
    """rgcd worker threads alive now."""
    return int(lib.rgcd_pool_thread_count())
