"""One measured window of a media benchmark: how much of a core this process used while it
slept ``seconds``, and how many media ticks ran late meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Window:
    wall: float  # seconds
    cpu_share: float  # process CPU time / wall time
    late_ticks: int


async def measured_window(seconds: float, late_ticks: Callable[[], int]) -> Window:
    late_before = late_ticks()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return Window(wall, cpu / wall, late_ticks() - late_before)
