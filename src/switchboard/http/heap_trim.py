"""Give the C heap's free pages back to the system while the server runs (glibc only).

Every TLS connection allocates outside Python's object allocator (OpenSSL's per-connection
state, uvloop's TLS read buffer, zlib for permessage-deflate). When thousands of WebSockets
open and close, glibc keeps the freed chunks: they sit between chunks still in use (caches,
long-lived sessions), so ``free`` cannot shrink the heap from its top, and RSS only ever
grows (issue 13: ≈ 6 MB per 1,000 chat sockets opened and closed here, none open after).
``malloc_trim(0)`` returns every free page inside the heap, not just its top:

    HeapTrimmer.run() ─▶ every interval: mallinfo2().fordblks (free bytes in the heap)
        ├─ under threshold ─▶ nothing (an idle or steady server pays one cheap call)
        └─ over threshold  ─▶ malloc_trim(0) (≈ 1 ms per 100 MB of heap, on the loop)

Not glibc (musl, macOS): ``HeapTrimmer.for_this_process()`` is None and nothing runs.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from typing import Protocol

log = logging.getLogger(__name__)


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


class CHeap(Protocol):
    """What the trimmer needs of the C allocator (glibc's, or a fake in tests)."""

    def free_bytes(self) -> int: ...

    def trim(self) -> None: ...


class GlibcHeap:
    """glibc's allocator through ctypes: ``mallinfo2`` (2.33+) and ``malloc_trim``."""

    def __init__(self, libc: ctypes.CDLL) -> None:
        self._trim = libc.malloc_trim
        self._trim.argtypes = [ctypes.c_size_t]
        self._trim.restype = ctypes.c_int
        self._info = libc.mallinfo2
        self._info.argtypes = []
        self._info.restype = _MallInfo2

    @classmethod
    def load(cls) -> GlibcHeap | None:
        name = ctypes.util.find_library("c")
        if name is None:
            return None
        try:
            libc = ctypes.CDLL(name)
            return cls(libc)
        except (OSError, AttributeError):  # not glibc, or glibc older than 2.33
            return None

    def free_bytes(self) -> int:
        return int(self._info().fordblks)

    def trim(self) -> None:
        self._trim(0)


class HeapTrimmer:
    """Trims the C heap every ``interval`` seconds when more than ``threshold`` bytes are free."""

    def __init__(self, heap: CHeap, *, interval: float = 5.0, threshold: int = 8 << 20) -> None:
        self._heap = heap
        self._interval = interval
        self._threshold = threshold
        self.trims = 0

    @classmethod
    def for_this_process(cls) -> HeapTrimmer | None:
        heap = GlibcHeap.load()
        return None if heap is None else cls(heap)

    def trim_if_worth_it(self) -> bool:
        if self._heap.free_bytes() < self._threshold:
            return False
        self._heap.trim()
        self.trims += 1
        return True

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            self.trim_if_worth_it()
