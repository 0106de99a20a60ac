"""The conformance replay reuses the integration suite's server (a real process over TLS, on
SQLite and on PostgreSQL) and prints, per service, how many recorded interactions match."""

from __future__ import annotations

import pytest

from tests.conformance.summary import MATCHES, STALE
from tests.integration.conftest import server

__all__ = ["server"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not MATCHES:
        return
    terminalreporter.section("ACS conformance (recorded SDK traffic replayed)")
    for (database, service), (matched, total, listed) in sorted(MATCHES.items()):
        terminalreporter.write_line(
            f"{database:8} {service:9} {matched}/{total} interactions match"
            f" ({listed} differences, each listed in docs/conformance.md)"
        )
    for difference in sorted(STALE):
        terminalreporter.write_line(f"listed but no longer seen (remove it): {difference}")
