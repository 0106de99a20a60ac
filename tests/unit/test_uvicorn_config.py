"""How uvicorn serves a node: forwarded headers are left to our own middleware (http/proxy.py,
which honours them only from `trusted_proxies`), not rewritten by uvicorn for 127.0.0.1."""

from __future__ import annotations

import pytest
from starlette.types import Receive, Scope, Send

from switchboard.core.sections import ServerConfig
from switchboard.http.server import uvicorn_config

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_local_peer_cannot_rewrite_scheme_or_client_through_uvicorn() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    config = uvicorn_config(ServerConfig(), app, None)
    config.load()
    scope: Scope = {
        "type": "http",
        "scheme": "https",
        "client": ("127.0.0.1", 50000),
        "headers": [(b"x-forwarded-proto", b"http"), (b"x-forwarded-for", b"203.0.113.9")],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(_: object) -> None:
        return None

    await config.loaded_app(scope, receive, send)

    assert seen[0]["scheme"] == "https"
    assert seen[0]["client"] == ("127.0.0.1", 50000)
