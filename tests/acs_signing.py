"""An independent HMAC signer for tests that must craft requests the SDKs never send."""

from __future__ import annotations

import base64
import hashlib
import hmac
from email.utils import formatdate


def parse_connection_string(connection_string: str) -> tuple[str, str]:
    parts = dict(p.split("=", 1) for p in connection_string.strip(";").split(";"))
    return parts["endpoint"].rstrip("/"), parts["accesskey"]


def sign(
    method: str,
    target: str,
    host: str,
    body: bytes,
    key: str,
    *,
    date: str | None = None,
    signed_body: bytes | None = None,
) -> dict[str, str]:
    """Headers for an ACS HMAC request; ``signed_body`` lets a test sign other bytes."""
    stamp = date or formatdate(usegmt=True)
    digest = base64.b64encode(hashlib.sha256(body if signed_body is None else signed_body).digest())
    content_hash = digest.decode()
    message = f"{method}\n{target}\n{stamp};{host};{content_hash}".encode()
    signature = base64.b64encode(
        hmac.new(base64.b64decode(key), message, hashlib.sha256).digest()
    ).decode()
    return {
        "x-ms-date": stamp,
        "x-ms-content-sha256": content_hash,
        "Authorization": (
            f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
        ),
        "Content-Type": "application/json",
    }


def sign_headers(
    method: str, target: str, headers: dict[str, str], names: list[str], key: str
) -> str:
    """An Authorization header that signs exactly ``names`` (values from ``headers``): lets
    an attack test name the SignedHeaders an SDK never would."""
    values = ";".join(headers[name] for name in names)
    message = f"{method}\n{target}\n{values}".encode()
    signature = base64.b64encode(
        hmac.new(base64.b64decode(key), message, hashlib.sha256).digest()
    ).decode()
    return f"HMAC-SHA256 SignedHeaders={';'.join(names)}&Signature={signature}"
