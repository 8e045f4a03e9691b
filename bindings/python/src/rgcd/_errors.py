"""rgcd status codes to Python exceptions."""

from __future__ import annotations

from ._lib import last_error

EINVAL = -1
ETYPE = -2
ESTATE = -3
EDEADLK = -4
ENOMEM = -5
ENOTSUP = -7


def error(rc: int, what: str) -> Exception:
    """The exception for a failed call ``what`` that returned the status ``rc``."""
    msg = f"{what}: {last_error()}"
    if rc == EINVAL:
        return ValueError(msg)
    if rc == ETYPE:
        return TypeError(msg)
    if rc == ENOMEM:
        return MemoryError(msg)
    return RuntimeError(msg)
