"""Which webhook endpoints Switchboard will call (SSRF protection).

In production mode an endpoint whose host resolves to a loopback, link-local, private,
unspecified, multicast or otherwise non-global address is refused, unless its host name, or a
network containing the address, is on ``events_allowed_endpoints``. Development mode calls
anything, ``localhost`` included.

IPv6 forms that carry an IPv4 address are judged by that address: IPv4-mapped
(``::ffff:a.b.c.d``), NAT64 (``64:ff9b::/96``) and 6to4 (``2002::/16``), so
``64:ff9b::a9fe:a9fe`` is the metadata address 169.254.169.254 it reaches. Deprecated or
local-only forms are refused outright: IPv4-compatible (``::a.b.c.d``), site-local
(``fec0::/10``) and local-use NAT64 (``64:ff9b:1::/48``).

The check runs when a subscription is created *and* inside the HTTP client's connect step at
every delivery (``transport.py``): DNS answers change, and checking a name then connecting to a
fresh lookup of it would let a rebinding name slip through. The client connects to exactly
the addresses the guard approved.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from switchboard.core.config import Mode
from switchboard.core.errors import EndpointRefusedError
from switchboard.events.models import check_endpoint_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressClass(StrEnum):
    GLOBAL = "global"
    UNSPECIFIED = "unspecified"
    LOOPBACK = "loopback"
    LINK_LOCAL = "link-local"
    MULTICAST = "multicast"
    PRIVATE = "private"
    RESERVED = "reserved"  # not globally routable for another reason (shared, benchmarking, ...)


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address in the low 32 bits
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use only
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated by RFC 4291 (:: and ::1 aside)
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")  # deprecated by RFC 3879


def classify(address: IPAddress) -> AddressClass:
    if isinstance(address, ipaddress.IPv6Address) and _deprecated_or_local(address):
        return AddressClass.RESERVED
    address = _unmapped(address)
    if address.is_unspecified:
        return AddressClass.UNSPECIFIED
    if address.is_loopback:
        return AddressClass.LOOPBACK
    if address.is_link_local:
        return AddressClass.LINK_LOCAL
    if address.is_multicast:
        return AddressClass.MULTICAST
    if address.is_private:
        return AddressClass.PRIVATE
    if not address.is_global:
        return AddressClass.RESERVED
    return AddressClass.GLOBAL


@dataclass(frozen=True, slots=True)
class EndpointPolicy:
    allow_internal: bool  # development: call anything
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def for_mode(cls, mode: Mode, allow_list: str | None = None) -> EndpointPolicy:
        """``allow_list``: comma-separated host names, IP addresses and CIDR networks."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (part.strip() for part in (allow_list or "").split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(mode is Mode.DEVELOPMENT, frozenset(hosts), tuple(networks))

    def trusts_host(self, host: str) -> bool:
        return self.allow_internal or host.lower().rstrip(".") in self.allowed_hosts

    def refusal(self, address: IPAddress) -> str | None:
        """Why we will not connect to ``address``, or None."""
        kind = classify(address)
        if self.allow_internal or kind is AddressClass.GLOBAL:
            return None
        plain = _unmapped(address)
        if any(plain in network for network in self.allowed_networks):
            return None
        return f"{address} is a {kind} address"


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class EndpointGuard:
    def __init__(self, policy: EndpointPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self._resolver = resolver

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses we may connect to for ``host``; EndpointRefusedError if any is refused
        (all of them, so an answer mixing public and private addresses cannot sneak through).
        A failed lookup raises OSError."""
        resolved = await self._resolver(host, port)
        if self.policy.trusts_host(host):
            return resolved
        for text in resolved:
            reason = self.policy.refusal(ipaddress.ip_address(text.split("%", 1)[0]))
            if reason is not None:
                raise EndpointRefusedError(
                    f"The endpoint host {host} resolves to {reason}; production mode refuses "
                    "those unless allowed in events_allowed_endpoints.",
                    target="endpointUrl",
                )
        return resolved

    async def check_url(self, url: str) -> None:
        """At subscription time: the URL's shape, and in production where it points."""
        check_endpoint_url(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        if self.policy.trusts_host(host):
            return
        try:
            await self.addresses(host, parts.port or (443 if parts.scheme == "https" else 80))
        except OSError as exc:
            raise EndpointRefusedError(
                f"The endpoint host {host} cannot be resolved: {exc}", target="endpointUrl"
            ) from exc


def _unmapped(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (``::ffff:127.0.0.1``, ``64:ff9b::7f00:1`` and
    ``2002:7f00:1::`` all reach 127.0.0.1), else the address itself."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return address


def _deprecated_or_local(address: ipaddress.IPv6Address) -> bool:
    if address in _NAT64_LOCAL or address in _SITE_LOCAL:
        return True
    # ::a.b.c.d (IPv4-compatible); :: and ::1 are judged as unspecified and loopback.
    return address in _IPV4_COMPATIBLE and int(address) > 1
