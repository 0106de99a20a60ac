"""Per-service match counts, filled by the replay test and printed by conftest.py."""

from __future__ import annotations

# (database, service) -> (interactions that match, interactions, listed differences)
MATCHES: dict[tuple[str, str], tuple[int, int, int]] = {}

# Differences docs/conformance.md lists that no replay met: fixed, so the list can lose them.
STALE: set[str] = set()
