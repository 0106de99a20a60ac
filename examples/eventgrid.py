"""Event Grid subscriptions for the samples, through Switchboard's events admin API
(docs/events.md), signed with the access key as the SDKs sign their requests.

A sample subscribes its own webhook; Switchboard checks it with Event Grid's validation
handshake before it answers, so the webhook must already be served.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import httpx

from examples.sample_app.settings import AppSettings


def signed_headers(method: str, target: str, host: str, body: bytes, key: str) -> dict[str, str]:
    """ACS HMAC-SHA256: the date, the host and the body's hash, signed with the access key."""
    stamp = formatdate(usegmt=True)
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    message = f"{method}\n{target}\n{stamp};{host};{content_hash}".encode()
    signature = base64.b64encode(
        hmac.new(base64.b64decode(key), message, hashlib.sha256).digest()
    ).decode()
    return {
        "x-ms-date": stamp,
        "x-ms-content-sha256": content_hash,
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        f"&Signature={signature}",
        "Content-Type": "application/json",
    }


def subscribe(
    settings: AppSettings,
    name: str,
    webhook: str,
    event_type: str,
    filters: list[dict[str, Any]],
) -> None:
    """``event_type`` events that pass ``filters`` (Event Grid advanced filters) to
    ``webhook``; the subscription ``name`` is replaced if it exists."""
    body = json.dumps(
        {"endpointUrl": webhook, "includedEventTypes": [event_type], "advancedFilters": filters}
    ).encode()
    key = dict(p.split("=", 1) for p in settings.connection_string.strip(";").split(";"))
    target = f"/admin/eventSubscriptions/{name}"
    host = urlsplit(settings.endpoint).netloc
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=settings.ca_path) if settings.ca_path else True
    )
    headers = signed_headers("PUT", target, host, body, key["accesskey"])
    response = httpx.put(settings.endpoint + target, content=body, headers=headers, verify=verify)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"subscribing failed: {response.status_code} {response.text}")
