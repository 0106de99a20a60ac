"""Servers for the SIP routing tests (test_sip_routing_*.py, tests/multinode): each with a
SIP port of its own (a trunk set through the API starts the node's SIP gateway, which must
not bind another test's port) and, on PostgreSQL, a database of its own (the routing table
is one per database; the session's shared one stays free of trunks).

``SipPeer`` plays a trunk: a UDP socket that collects the SIP requests a node sends it.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

from tests.conftest import fresh_postgres_database
from tests.free_ports import free_port


def free_udp_port() -> int:
    return free_port()  # below the ephemeral range: tests/free_ports.py


@contextlib.contextmanager
def database_args(kind: str) -> Iterator[tuple[str, ...]]:
    """Server arguments for SQLite (the data dir's file) or a PostgreSQL database of its own."""
    if kind != "postgres":
        yield ()
        return
    databases = fresh_postgres_database()
    url = next(databases)
    try:
        yield ("--database-url", url)
    finally:
        next(databases, None)  # the generator drops the database as it ends


def sip_env(sip_port: int) -> dict[str, str]:
    return {"SWITCHBOARD_SIP_PORT": str(sip_port), "SWITCHBOARD_SIP_HOST": "127.0.0.1"}


class SipPeer:
    """A trunk's socket on loopback: what SIP requests reach it, and from where."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind((host, 0))
        self.socket.settimeout(30.0)  # a node that never sends fails the test, not the run
        self.port: int = self.socket.getsockname()[1]

    def request_from(self, sip_port: int, method: str = "OPTIONS") -> str:
        """The next ``method`` request sent from the node whose SIP port is ``sip_port``."""
        while True:
            data, (_, port) = self.socket.recvfrom(65536)
            text = data.decode(errors="replace")
            if port == sip_port and text.startswith(f"{method} "):
                return text

    def close(self) -> None:
        self.socket.close()
