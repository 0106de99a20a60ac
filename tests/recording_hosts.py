"""Reach the recording host name (``recordings.switchboard.asm.skype.com``) at 127.0.0.1 from
the official SDK without touching /etc/hosts: an azure-core transport whose connections
resolve that one name to loopback, while TLS still checks the certificate for the name.

    sync:  RequestsTransport(session) ─ HTTPAdapter ─ PoolManager ─ pinned HTTPSConnection
           (urllib3 dials ``_dns_host``; SNI and the hostname check keep ``host``)
    async: AioHttpTransport(session) ─ aiohttp TCPConnector(resolver=PinnedResolver)
"""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import requests
import urllib3
from aiohttp.abc import AbstractResolver, ResolveResult
from azure.core.pipeline.transport import AioHttpTransport, RequestsTransport
from requests.adapters import HTTPAdapter

RECORDING_HOST = "recordings.switchboard.asm.skype.com"  # the server's default recording_host
LOOPBACK = "127.0.0.1"


class _PinnedConnection(urllib3.connection.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.host == RECORDING_HOST:
            self._dns_host = LOOPBACK  # where to dial; SNI and verification use self.host


class _PinnedPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _PinnedConnection


class _PinnedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": urllib3.HTTPConnectionPool,
            "https": _PinnedPool,
        }
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


def pinned_sync_transport(ca_path: str) -> RequestsTransport:
    session = requests.Session()
    session.mount("https://", _PinnedAdapter())
    return RequestsTransport(session=session, session_owner=True, connection_verify=ca_path)


class PinnedResolver(AbstractResolver):
    def __init__(self) -> None:
        self._default = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != RECORDING_HOST:
            return await self._default.resolve(host, port, family)
        return [
            ResolveResult(
                hostname=host,
                host=LOOPBACK,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        await self._default.close()


def pinned_async_transport(ca_path: str) -> AioHttpTransport:
    """Create it inside the running loop (aiohttp binds the session to it)."""
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=PinnedResolver()))
    return AioHttpTransport(session=session, session_owner=True, connection_verify=ca_path)
