"""Webhook signatures: HMAC-SHA256 of timestamp "." body, verified with a freshness window."""

from __future__ import annotations

import hashlib
import hmac

from switchboard.events.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    signature_headers,
    verify_signature,
)

SECRET = "s3cret-for-tests"
BODY = b'[{"id": "e1", "data": {"k": "v"}}]'
NOW = 1_800_000_000


def test_signature_is_hex_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, NOW, BODY) == f"sha256={expected}"


def test_headers_carry_timestamp_and_signature() -> None:
    headers = signature_headers(SECRET, NOW, BODY)
    assert headers[TIMESTAMP_HEADER] == "1800000000"
    assert headers[SIGNATURE_HEADER].startswith("sha256=")


def test_receiver_accepts_a_fresh_signed_body_with_any_header_case() -> None:
    headers = {k.lower(): v for k, v in signature_headers(SECRET, NOW, BODY).items()}
    assert verify_signature(SECRET, BODY, headers, now=NOW + 10)


def test_receiver_refuses_a_changed_body() -> None:
    headers = signature_headers(SECRET, NOW, BODY)
    assert not verify_signature(SECRET, BODY + b" ", headers, now=NOW)


def test_receiver_refuses_another_secret() -> None:
    headers = signature_headers(SECRET, NOW, BODY)
    assert not verify_signature("another-secret", BODY, headers, now=NOW)


def test_receiver_refuses_an_old_request_replayed() -> None:
    headers = signature_headers(SECRET, NOW, BODY)
    assert not verify_signature(SECRET, BODY, headers, now=NOW + 301)


def test_receiver_refuses_a_timestamp_moved_forward() -> None:
    headers = signature_headers(SECRET, NOW, BODY)
    headers[TIMESTAMP_HEADER] = str(NOW + 200)  # the MAC covers the timestamp
    assert not verify_signature(SECRET, BODY, headers, now=NOW + 200)


def test_receiver_refuses_missing_or_garbage_headers() -> None:
    assert not verify_signature(SECRET, BODY, {}, now=NOW)
    assert not verify_signature(
        SECRET, BODY, {TIMESTAMP_HEADER: "١٢٣", SIGNATURE_HEADER: "x"}, now=NOW
    )
