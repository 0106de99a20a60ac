"""request_authority (http/routing.py) gives what ``request.url``'s scheme and netloc give, for
every way a scope can name its host, without building the URL."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from switchboard.http.routing import request_authority


def scope(scheme: str, headers: list[tuple[bytes, bytes]], server: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": scheme,
        "method": "POST",
        "path": "/chat/threads/19:x@thread.v2/messages",
        "raw_path": b"/chat/threads/19%3Ax%40thread.v2/messages",
        "query_string": b"api-version=2024-03-07",
        "headers": headers,
        "server": server,
    }


@pytest.mark.parametrize(
    ("scheme", "headers", "server"),
    [
        ("https", [(b"host", b"127.0.0.1:8443")], ("127.0.0.1", 8443)),
        ("https", [(b"accept", b"*/*"), (b"host", b"chat.example.org")], ("10.0.0.5", 443)),
        ("http", [(b"host", b"[::1]:8080")], None),
        ("https", [], ("10.0.0.5", 443)),
        ("https", [], ("10.0.0.5", 8443)),
        ("http", [], ("10.0.0.5", 80)),
        ("http", [], None),
    ],
)
def test_the_authority_is_the_urls_scheme_and_netloc(
    scheme: str, headers: list[tuple[bytes, bytes]], server: Any
) -> None:
    request = Request(scope(scheme, headers, server))
    assert request_authority(request) == f"{request.url.scheme}://{request.url.netloc}"
