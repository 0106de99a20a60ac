"""HeapTrimmer: trims the C heap only when enough of it is free."""

from __future__ import annotations

import sys

import pytest

from switchboard.http.heap_trim import GlibcHeap, HeapTrimmer


class FakeHeap:
    def __init__(self, free: int) -> None:
        self.free = free
        self.trimmed = 0

    def free_bytes(self) -> int:
        return self.free

    def trim(self) -> None:
        self.trimmed += 1
        self.free = 0


def test_a_heap_with_little_free_is_left_alone() -> None:
    heap = FakeHeap(free=1 << 20)
    trimmer = HeapTrimmer(heap, threshold=8 << 20)
    assert trimmer.trim_if_worth_it() is False
    assert heap.trimmed == 0


def test_a_heap_with_much_free_is_trimmed_once_until_it_fills_again() -> None:
    heap = FakeHeap(free=9 << 20)
    trimmer = HeapTrimmer(heap, threshold=8 << 20)
    assert trimmer.trim_if_worth_it() is True
    assert trimmer.trim_if_worth_it() is False
    assert (heap.trimmed, trimmer.trims) == (1, 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc")
def test_glibc_reports_its_free_bytes_and_trims() -> None:
    heap = GlibcHeap.load()
    assert heap is not None
    assert heap.free_bytes() >= 0
    heap.trim()
