"""Reconnect delays shared by the clients (chat events, calling agent)."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Exponential reconnect delays with jitter: ``initial · 2^n``, capped, scaled by 0.5–1."""

    def __init__(
        self,
        initial: float = 0.1,
        maximum: float = 30.0,
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not 0 < initial <= maximum:
            raise ValueError("need 0 < initial <= maximum")
        self._initial = initial
        self._maximum = maximum
        self._rand = rand
        self._attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self._maximum, self._initial * 2.0**self._attempt)
        self._attempt = min(self._attempt + 1, 32)
        return ceiling * (0.5 + 0.5 * self._rand())

    def reset(self) -> None:
        self._attempt = 0
