"""One real ``switchboard serve`` for the fuzz tests, and the routes a node serves."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchboard.app import build_node
from switchboard.core.config import load_settings, node_config
from switchboard.http.routing import AcsRoute
from tests.acs_signing import sign
from tests.integration.server import RunningServer, start_server


class FuzzTarget:
    """The running server, an HTTPS client trusting its CA, and a signer for its key."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.tls = ssl.create_default_context(cafile=server.ca_path)
        self.http = httpx.Client(base_url=server.endpoint, verify=self.tls, timeout=30.0)

    def signed(self, request: httpx.Request) -> httpx.Request:
        target = request.url.raw_path.decode("ascii")
        request.headers.update(
            sign(request.method, target, request.url.netloc.decode(), request.content, self.key)
        )
        return request

    @property
    def key(self) -> str:
        return self.server.access_key

    def user_token(self, *scopes: str) -> str:
        body = {"createTokenWithScopes": list(scopes)}
        answer = self.send_signed("POST", "/identities?api-version=2023-10-01", body)
        token: str = answer["accessToken"]["token"]
        return token

    def fresh_resources(self, token: str | None) -> dict[str, str]:
        """Path parameters that name things that exist: a user, a room and, given a user's
        token, a chat thread with one message (new each call: a fuzzed DELETE may eat them)."""
        user = self.send_signed("POST", "/identities?api-version=2023-10-01", {})["identity"]["id"]
        room = self.send_signed("POST", "/rooms?api-version=2025-03-13", {})["id"]
        resources = {"id": user, "roomId": room}
        if token is not None:
            bearer = {"Authorization": f"Bearer {token}"}
            version = "api-version=2024-03-07"
            created = self.http.post(
                f"/chat/threads?{version}", json={"topic": "fuzz"}, headers=bearer
            )
            assert created.status_code == 201, created.text
            thread = created.json()["chatThread"]["id"]
            sent = self.http.post(
                f"/chat/threads/{thread}/messages?{version}", json={"content": "hi"}, headers=bearer
            )
            assert sent.status_code == 201, sent.text
            resources |= {"chatThreadId": thread, "chatMessageId": sent.json()["id"]}
        return resources

    def send_signed(self, method: str, target: str, body: dict[str, Any]) -> dict[str, Any]:
        request = self.http.build_request(method, target, json=body)
        response = self.http.send(self.signed(request))
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        return answer

    def assert_serving(self) -> None:
        """Still up: the process runs and a fresh request is answered."""
        assert self.server.process.poll() is None, "\n".join(self.server.output[-40:])
        response = self.http.get("/health")
        assert response.status_code == 200, response.text


@pytest.fixture(scope="session")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    server = start_server(tmp_path_factory.mktemp("fuzz"))
    target = FuzzTarget(server)
    yield target
    target.http.close()
    assert server.stop() == 0, "\n".join(server.output[-40:])


@pytest.fixture(scope="session")
def acs_routes(tmp_path_factory: pytest.TempPathFactory) -> list[AcsRoute]:
    """The ACS routes a node serves (built in process, SQLite, then stopped)."""

    async def routes(data_dir: Path) -> list[AcsRoute]:
        settings = load_settings({"data_dir": data_dir, "port": 0}, environ={})
        node = await build_node(node_config(settings))
        try:
            router: Any = node.asgi
            while not hasattr(router, "routes"):  # through the middleware layers
                router = router.app
            return [route for route in router.routes if isinstance(route, AcsRoute)]
        finally:
            await node.stop()

    return asyncio.run(routes(tmp_path_factory.mktemp("routes")))
