"""Signed HTTP requests to a running server for routes no SDK calls (admin, simulator)."""

from __future__ import annotations

import json
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.acs_signing import sign
from tests.integration.server import RunningServer


async def signed_request(
    server: RunningServer, method: str, target: str, body: Any = None
) -> httpx.Response:
    """``target`` is the path with its query string, signed as the SDKs sign it."""
    content = b"" if body is None else json.dumps(body).encode()
    host = urlsplit(server.endpoint).netloc
    headers = sign(method, target, host, content, server.access_key)
    context = ssl.create_default_context(cafile=server.ca_path)
    async with httpx.AsyncClient(base_url=server.endpoint, verify=context) as http:
        return await http.request(method, target, content=content, headers=headers)


async def subscribe(server: RunningServer, name: str, body: dict[str, Any]) -> None:
    """Create or replace the webhook subscription ``name`` through the admin API."""
    response = await signed_request(server, "PUT", f"/admin/eventSubscriptions/{name}", body)
    assert response.status_code in (200, 201), response.text
