"""SSRF protection: address classes, the production allow-list, and the guarded client."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from switchboard.core.config import Mode
from switchboard.core.errors import EndpointRefusedError
from switchboard.events.endpoints import (
    AddressClass,
    EndpointGuard,
    EndpointPolicy,
    Resolver,
    classify,
)
from switchboard.events.transport import delivery_client

pytestmark = pytest.mark.anyio

PRODUCTION = EndpointPolicy.for_mode(Mode.PRODUCTION)
DEVELOPMENT = EndpointPolicy.for_mode(Mode.DEVELOPMENT)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", AddressClass.LOOPBACK),
        ("127.8.9.10", AddressClass.LOOPBACK),
        ("::1", AddressClass.LOOPBACK),
        ("::ffff:127.0.0.1", AddressClass.LOOPBACK),
        ("0.0.0.0", AddressClass.UNSPECIFIED),
        ("::", AddressClass.UNSPECIFIED),
        ("169.254.169.254", AddressClass.LINK_LOCAL),  # cloud metadata endpoints
        ("fe80::1", AddressClass.LINK_LOCAL),
        ("10.1.2.3", AddressClass.PRIVATE),
        ("172.16.0.1", AddressClass.PRIVATE),
        ("192.168.1.1", AddressClass.PRIVATE),
        ("fd00::1", AddressClass.PRIVATE),
        ("::ffff:10.0.0.1", AddressClass.PRIVATE),
        ("224.0.0.1", AddressClass.MULTICAST),
        ("100.64.0.1", AddressClass.RESERVED),  # carrier-grade NAT
        ("93.184.216.34", AddressClass.GLOBAL),
        ("2606:4700:4700::1111", AddressClass.GLOBAL),
        # IPv6 forms that carry an IPv4 address are judged by it (NAT64, 6to4) ...
        ("64:ff9b::a9fe:a9fe", AddressClass.LINK_LOCAL),  # NAT64 to the metadata address
        ("64:ff9b::7f00:1", AddressClass.LOOPBACK),
        ("64:ff9b::a00:1", AddressClass.PRIVATE),
        ("64:ff9b::808:808", AddressClass.GLOBAL),  # NAT64 to a public address is fine
        ("2002:a9fe:a9fe::1", AddressClass.LINK_LOCAL),  # 6to4
        ("2002:c0a8:101::1", AddressClass.PRIVATE),
        ("2002:808:808::1", AddressClass.GLOBAL),
        # ... and deprecated or local-only forms are refused whatever they carry.
        ("::a9fe:a9fe", AddressClass.RESERVED),  # IPv4-compatible
        ("::808:808", AddressClass.RESERVED),
        ("fec0::1", AddressClass.RESERVED),  # site-local
        ("64:ff9b:1::808:808", AddressClass.RESERVED),  # local-use NAT64
    ],
)
def test_addresses_are_classified(address: str, kind: AddressClass) -> None:
    assert classify(ipaddress.ip_address(address)) is kind


def test_production_refuses_every_non_public_address() -> None:
    assert (
        PRODUCTION.refusal(ipaddress.ip_address("127.0.0.1")) == "127.0.0.1 is a loopback address"
    )
    assert PRODUCTION.refusal(ipaddress.ip_address("10.0.0.1")) is not None
    assert PRODUCTION.refusal(ipaddress.ip_address("8.8.8.8")) is None


@pytest.mark.parametrize(
    "address", ["64:ff9b::a9fe:a9fe", "2002:7f00:1::", "::7f00:1", "fec0::1", "64:ff9b:1::1"]
)
def test_production_refuses_ipv6_transition_forms_of_internal_addresses(address: str) -> None:
    assert PRODUCTION.refusal(ipaddress.ip_address(address)) is not None


def test_an_allowed_network_admits_the_ipv4_address_a_nat64_one_carries() -> None:
    policy = EndpointPolicy.for_mode(Mode.PRODUCTION, "10.0.0.0/8")
    assert policy.refusal(ipaddress.ip_address("64:ff9b::a00:1")) is None


def test_development_allows_loopback() -> None:
    assert DEVELOPMENT.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert DEVELOPMENT.trusts_host("localhost")


def test_allow_list_takes_hosts_addresses_and_networks() -> None:
    policy = EndpointPolicy.for_mode(Mode.PRODUCTION, " hooks.internal. , 10.20.0.0/16, ::1 ,")
    assert policy.trusts_host("HOOKS.internal")
    assert not policy.trusts_host("other.internal")
    assert policy.refusal(ipaddress.ip_address("10.20.3.4")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:10.20.3.4")) is None
    assert policy.refusal(ipaddress.ip_address("::1")) is None
    assert policy.refusal(ipaddress.ip_address("10.21.0.1")) is not None


def resolver(answers: dict[str, list[str]]) -> Resolver:
    """A DNS stand-in: these answers, or a failed lookup."""

    async def resolve(host: str, _port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"no such host {host}")
        return answers[host]

    return resolve


async def test_guard_refuses_a_name_resolving_to_loopback_in_production() -> None:
    guard = EndpointGuard(PRODUCTION, resolver({"evil.example": ["127.0.0.1"]}))
    with pytest.raises(EndpointRefusedError, match="loopback"):
        await guard.check_url("https://evil.example/hook")


async def test_guard_refuses_an_answer_mixing_public_and_private_addresses() -> None:
    guard = EndpointGuard(PRODUCTION, resolver({"mixed.example": ["8.8.8.8", "10.0.0.1"]}))
    with pytest.raises(EndpointRefusedError, match="private"):
        await guard.addresses("mixed.example", 443)


async def test_guard_accepts_public_names_and_allow_listed_hosts() -> None:
    policy = EndpointPolicy.for_mode(Mode.PRODUCTION, "bot.internal")
    answers = {"public.example": ["93.184.216.34"], "bot.internal": ["10.0.0.7"]}
    guard = EndpointGuard(policy, resolver(answers))
    await guard.check_url("https://public.example/hook")
    await guard.check_url("http://bot.internal:8080/hook")
    assert await guard.addresses("bot.internal", 8080) == ["10.0.0.7"]


async def test_guard_refuses_unresolvable_hosts_at_subscription_time_in_production() -> None:
    guard = EndpointGuard(PRODUCTION, resolver({}))
    with pytest.raises(EndpointRefusedError, match="cannot be resolved"):
        await guard.check_url("https://nowhere.example/hook")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "/relative", "https://", "http://[::1/x", "http://h:99999/"]
)
async def test_guard_refuses_urls_that_are_not_absolute_http(url: str) -> None:
    with pytest.raises(EndpointRefusedError):
        await EndpointGuard(DEVELOPMENT).check_url(url)


async def test_delivery_client_refuses_loopback_in_production() -> None:
    # Through the real httpx client: proves the guarded network backend is in the path.
    client = delivery_client(EndpointGuard(PRODUCTION), timeout=2, connections=1)
    async with client:
        with pytest.raises(EndpointRefusedError, match="loopback"):
            await client.post("http://127.0.0.1:9/hook", content=b"{}")
        with pytest.raises(EndpointRefusedError, match="loopback"):
            await client.post("http://localhost:9/hook", content=b"{}")


async def test_delivery_client_treats_a_failed_lookup_as_a_connect_error() -> None:
    guard = EndpointGuard(PRODUCTION, resolver({}))
    async with delivery_client(guard, timeout=2, connections=1) as client:
        with pytest.raises(httpx.ConnectError, match="cannot resolve"):
            await client.get("http://nowhere.example/")
