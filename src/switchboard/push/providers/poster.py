"""AiohttpPoster: the HTTP client Web Push sends with (aiohttp's, C-parsed, a plain pool).

    post(url, body, headers) ─▶ [an IP-literal host: ``check_host``] ─▶ aiohttp ─▶ the
        connector's resolver (app/push.py gives the SSRF guard's: every name resolved is
        checked, events/transport.py) ─▶ HttpAnswer(status, Retry-After, text)
    any network failure, timeout or refused address ─▶ OSError (the provider's RETRY)

Why not httpx, as the other providers: bench/push.py measured httpx's pool at ~20× the CPU of
aiohttp's per POST with 64 requests in flight to one origin (httpcore checks every pooled
connection, with a poll() each, on every request), the whole budget of a push. aiohttp is
in the lock already (pywebpush depends on it). No redirects, no environment proxies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

MAX_TEXT = 4096  # characters of an answer's body kept (reasons, logs)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    retry_after: str | None
    text: str


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class AiohttpPoster:
    def __init__(
        self,
        *,
        timeout: float,
        connections: int = 100,
        resolver: AbstractResolver | None = None,
        check_host: Callable[[str], None] | None = None,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._resolver = resolver
        self._check_host = check_host  # IP literals skip the resolver: checked here
        self._session: aiohttp.ClientSession | None = None  # made in the loop, on first use

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> HttpAnswer:
        """The answer, whatever its status; OSError when there is none."""
        try:
            host = URL(url).host or ""
            if self._check_host is not None and is_ip_literal(host):
                self._check_host(host)
            session = self._session or self._open()
            async with session.post(
                url, data=body, headers=dict(headers), allow_redirects=False
            ) as response:
                text = (await response.read())[:MAX_TEXT].decode("utf-8", "replace")
                return HttpAnswer(response.status, response.headers.get("Retry-After"), text)
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            cause = getattr(exc, "os_error", None)  # a refused or failed lookup says why
            why = f" ({cause})" if cause is not None else ""
            raise OSError(f"{type(exc).__name__}: {exc}{why}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._connections, resolver=self._resolver, ttl_dns_cache=10
        )
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, trust_env=False, auto_decompress=False
        )
        return self._session
