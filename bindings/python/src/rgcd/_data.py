"""``Data``: immutable bytes made of regions, over rgcd's data objects (``rgcd_data_*``)."""

from __future__ import annotations

from typing import Any, Callable, Tuple

from ._errors import error
from ._lib import NULL, data_bytes, ffi, lib


class Data:
    """Immutable bytes (``dispatch_data_t``). ``concat`` and ``subrange`` share memory
    instead of copying; ``copy_region`` finds the contiguous piece holding a byte.

    ``Data(data=None)``: ``data`` is ``bytes`` (or another bytes-like object; ``str`` is a
    ``TypeError``), copied once; None gives the empty object."""

    __slots__ = ("_h", "__weakref__")

    def __init__(self, data: Any = None) -> None:
        self._h = NULL
        if data is None:
            self._h = lib.rgcd_data_empty()
            return
        if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        size = len(view)
        if size == 0:
            self._h = lib.rgcd_data_empty()
            return
        h = lib.rgcd_data_create(ffi.from_buffer(view), size, 0)  # DEFAULT: copied
        if h == NULL:
            raise error(-5, "Data")
        self._h = h

    @classmethod
    def _adopt(cls, h: Any) -> "Data":
        """Wraps a +1 handle (NULL: the empty object)."""
        d = cls.__new__(cls)
        d._h = h if h != NULL else lib.rgcd_data_empty()
        return d

    def __del__(self) -> None:
        h = getattr(self, "_h", NULL)
        if h != NULL:
            self._h = NULL
            lib.rgcd_release(h)  # a no-op for the empty object

    def __len__(self) -> int:
        return int(lib.rgcd_data_get_size(self._h))

    @property
    def size(self) -> int:
        """The number of bytes."""
        return len(self)

    def __bytes__(self) -> bytes:
        return data_bytes(self._h)

    def __repr__(self) -> str:
        return f"<rgcd.Data size={len(self)}>"

    def concat(self, other: "Data") -> "Data":
        """A new Data: these bytes followed by ``other``'s (no bytes are copied)."""
        if not isinstance(other, Data):
            raise TypeError(f"other must be Data, not {type(other).__name__}")
        h = lib.rgcd_data_create_concat(self._h, other._h)
        if h == NULL:
            raise error(-1, "Data.concat")
        return Data._adopt(h)

    def subrange(self, offset: int, length: int) -> "Data":
        """``length`` bytes from ``offset`` (clipped to the end; empty past it)."""
        _check_size(offset, "offset")
        _check_size(length, "length")
        h = lib.rgcd_data_create_subrange(self._h, offset, length)
        if h == NULL:
            raise error(-1, "Data.subrange")
        return Data._adopt(h)

    def copy_region(self, location: int) -> Tuple["Data", int]:
        """``(region, region_offset)``: the contiguous piece holding byte ``location`` and
        where it starts. Past the end: ``(empty Data, size)``. ``ValueError`` on empty Data."""
        _check_size(location, "location")
        size = len(self)
        if size == 0:
            raise ValueError("copy_region on empty Data")
        if location >= size:
            return Data(), size
        off = ffi.new("size_t *")
        h = lib.rgcd_data_copy_region(self._h, location, off)
        if h == NULL:
            raise error(-1, "Data.copy_region")
        return Data._adopt(h), int(off[0])

    def apply(self, func: Callable[[int, bytes], Any]) -> bool:
        """Calls ``func(0, all_bytes)`` once (as cygcd does; empty Data: not at all).
        Returns False when ``func`` returned a false value other than None, else True.
        An exception in ``func`` propagates."""
        if not callable(func):
            raise TypeError(f"func must be callable, not {type(func).__name__}")
        if len(self) == 0:
            return True
        r = func(0, bytes(self))
        return not (r is not None and not r)


def _check_size(value: int, what: str) -> None:
    if not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise OverflowError(f"can't convert negative {what} to size_t")
