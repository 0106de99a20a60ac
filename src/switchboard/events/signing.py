"""Webhook signatures: HMAC-SHA256 over the timestamp and the exact body bytes.

Every request Switchboard sends to a subscriber carries

    X-Switchboard-Timestamp: 1767225600                  (Unix seconds, when it was sent)
    X-Switchboard-Signature: sha256=<hex HMAC-SHA256>    (key: the subscription's secret, UTF-8)

over ``timestamp + "." + body``. A receiver recomputes it on the raw body (before parsing any
JSON), compares in constant time, and refuses timestamps older than a few minutes, so a
captured request cannot be replayed later. Retries are signed afresh; the event ``id`` in
the body stays the same, which is what receivers de-duplicate on.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Switchboard-Signature"
TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
SCHEME = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify_signature(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """The receiver's check (``headers`` looked up case-insensitively, as most frameworks do)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isascii() or not stamp.isdigit() or abs(now - int(stamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(given.encode(), signature(secret, int(stamp), body).encode())
