from __future__ import annotations

import base64
import hashlib
from email.utils import formatdate

import pytest

from switchboard.core.clock import FakeClock
from switchboard.core.errors import AuthenticationError
from switchboard.http.accesskeys import AccessKeyRing
from switchboard.http.hmac import HmacVerifier
from tests.acs_signing import sign, sign_headers

pytestmark = pytest.mark.anyio

KEY_A = base64.b64encode(b"a" * 64).decode()
KEY_B = base64.b64encode(b"b" * 64).decode()
HOST = "127.0.0.1:8443"


class Keys:
    def __init__(self) -> None:
        self.primary, self.secondary = KEY_A, KEY_B
        self.loads = 0

    async def access_keys(self) -> tuple[str, str]:
        self.loads += 1
        return self.primary, self.secondary


async def verifier(clock: FakeClock, keys: Keys | None = None) -> HmacVerifier:
    ring = AccessKeyRing(keys or Keys(), clock=clock)
    await ring.load()
    return HmacVerifier(ring, clock=clock, max_skew_seconds=900, public_authorities=[HOST])


def headers_for(clock: FakeClock, target: str, body: bytes, key: str = KEY_A) -> dict[str, str]:
    signed = sign("POST", target, HOST, body, key, date=formatdate(clock.now(), usegmt=True))
    return {k.lower(): v for k, v in signed.items()} | {"host": HOST}


async def test_valid_signature_passes() -> None:
    clock = FakeClock()
    check = await verifier(clock)
    await check.verify("POST", "/x?a=1", headers_for(clock, "/x?a=1", b"{}"), b"{}")


async def test_the_signed_query_is_part_of_the_signature() -> None:
    clock = FakeClock()
    check = await verifier(clock)
    with pytest.raises(AuthenticationError):
        await check.verify("POST", "/x?a=2", headers_for(clock, "/x?a=1", b"{}"), b"{}")


async def test_date_on_the_edge_of_the_skew_window() -> None:
    clock = FakeClock()
    check = await verifier(clock)
    headers = headers_for(clock, "/x", b"")
    clock.advance(900)
    await check.verify("POST", "/x", headers, b"")
    clock.advance(1)
    with pytest.raises(AuthenticationError, match="clock skew"):
        await check.verify("POST", "/x", headers, b"")


async def test_missing_headers_are_named() -> None:
    clock = FakeClock()
    check = await verifier(clock)
    headers = headers_for(clock, "/x", b"")
    for name, message in (
        ("x-ms-content-sha256", "x-ms-content-sha256"),
        ("authorization", "HMAC-SHA256"),
    ):
        partial = {k: v for k, v in headers.items() if k != name}
        with pytest.raises(AuthenticationError, match=message):
            await check.verify("POST", "/x", partial, b"")


async def test_a_rotated_key_is_picked_up_on_a_failed_verification() -> None:
    clock = FakeClock()
    keys = Keys()
    check = await verifier(clock, keys)
    rotated = base64.b64encode(b"c" * 64).decode()
    keys.primary = rotated
    clock.advance(2)  # past the minimum reload interval
    await check.verify("POST", "/x", headers_for(clock, "/x", b"", rotated), b"")
    assert keys.loads == 2


async def test_failed_verifications_do_not_reload_more_than_once_a_second() -> None:
    clock = FakeClock()
    keys = Keys()
    check = await verifier(clock, keys)
    clock.advance(2)
    bad = headers_for(clock, "/x", b"", base64.b64encode(b"z" * 64).decode())
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            await check.verify("POST", "/x", bad, b"")
    assert keys.loads == 2


def _body_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


async def test_a_replay_that_signs_look_alike_headers_instead_of_the_date_and_hash_is_refused() -> (
    None
):
    """The attack: a request captured hours ago is resent with a new body, a fresh (unsigned)
    x-ms-date and x-ms-content-sha256, and the old date and hash moved into made-up headers
    that the SignedHeaders list names instead."""
    clock = FakeClock()
    check = await verifier(clock)
    old = {
        "x-old-date": formatdate(clock.now(), usegmt=True),
        "host": HOST,
        "x-old-hash": _body_hash(b'{"old": 1}'),
    }
    authorization = sign_headers("POST", "/x", old, ["x-old-date", "host", "x-old-hash"], KEY_A)
    clock.advance(6 * 3600)
    body = b'{"new": 2}'
    replayed = old | {
        "authorization": authorization,
        "x-ms-date": formatdate(clock.now(), usegmt=True),
        "x-ms-content-sha256": _body_hash(body),
    }
    with pytest.raises(AuthenticationError, match="SignedHeaders must include"):
        await check.verify("POST", "/x", replayed, body)


async def test_signed_headers_without_a_date_are_refused() -> None:
    clock = FakeClock()
    check = await verifier(clock)
    body = b"{}"
    headers = {"host": HOST, "x-ms-content-sha256": _body_hash(body)}
    headers["authorization"] = sign_headers(
        "POST", "/x", headers, ["host", "x-ms-content-sha256"], KEY_A
    )
    headers["x-ms-date"] = formatdate(clock.now(), usegmt=True)  # present, but not signed
    with pytest.raises(AuthenticationError, match="missing: x-ms-date"):
        await check.verify("POST", "/x", headers, body)


async def test_the_signed_date_is_the_one_held_to_the_skew_window() -> None:
    clock = FakeClock()
    check = await verifier(clock)
    body = b"{}"
    headers = {
        "date": formatdate(clock.now(), usegmt=True),
        "host": HOST,
        "x-ms-content-sha256": _body_hash(body),
    }
    headers["authorization"] = sign_headers(
        "POST", "/x", headers, ["date", "host", "x-ms-content-sha256"], KEY_A
    )
    await check.verify("POST", "/x", headers, body)  # `date` alone, signed, is fine
    clock.advance(3600)
    headers["x-ms-date"] = formatdate(clock.now(), usegmt=True)  # fresh, but not signed
    with pytest.raises(AuthenticationError, match="clock skew"):
        await check.verify("POST", "/x", headers, body)


async def test_signed_headers_without_the_body_hash_or_host_are_refused() -> None:
    clock = FakeClock()
    check = await verifier(clock)
    body = b"{}"
    headers = {
        "x-ms-date": formatdate(clock.now(), usegmt=True),
        "host": HOST,
        "x-ms-content-sha256": _body_hash(body),
    }
    for names, missing in (
        (["x-ms-date", "host"], "x-ms-content-sha256"),
        (["x-ms-date", "x-ms-content-sha256"], "host"),
    ):
        signed = headers | {"authorization": sign_headers("POST", "/x", headers, names, KEY_A)}
        with pytest.raises(AuthenticationError, match=f"missing: {missing}"):
            await check.verify("POST", "/x", signed, body)
