"""A node behind a proxy, in process: HMAC checks and the links it hands out use the host and
scheme a trusted proxy forwarded; an untrusted peer's forwarded headers change nothing; and
/metrics answers only metrics_allowed_networks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from switchboard.app import Node, build_node
from switchboard.core.config import load_settings, node_config
from tests.acs_signing import sign

pytestmark = pytest.mark.anyio

PUBLIC = "sb.example.com"
NODE = "10.0.0.5:8080"
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Node]:
    settings = load_settings(
        {
            "data_dir": tmp_path_factory.mktemp("proxied"),
            "tls": False,
            "trusted_proxies": ("10.1.0.0/16",),
            "metrics_allowed_networks": ("192.0.2.50",),
        },
        environ={},
    )
    built = await build_node(node_config(settings), port=8080)
    yield built
    await built.stop()


Client = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client(node: Node) -> Client:
    def open_from(peer: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=node.asgi, client=(peer, 50000))
        return httpx.AsyncClient(transport=transport, base_url=f"http://{NODE}")

    return open_from


async def list_rooms(http: httpx.AsyncClient, key: str, signed_host: str) -> httpx.Response:
    target = "/rooms?maxPageSize=1&api-version=2025-03-13"
    headers = sign("GET", target, signed_host, b"", key) | FORWARDED
    return await http.get(target, headers=headers)


async def test_a_request_signed_for_the_proxys_host_passes_and_links_name_it(
    node: Node, client: Client
) -> None:
    key, _ = await node.secrets.access_keys()
    async with client("10.1.2.3") as http:
        for _ in range(2):
            made = await http.post(
                "/rooms?api-version=2025-03-13",
                content=b"{}",
                headers=sign("POST", "/rooms?api-version=2025-03-13", PUBLIC, b"{}", key)
                | FORWARDED,
            )
            assert made.status_code == 201, made.text
            assert made.headers["location"].startswith(f"https://{PUBLIC}/rooms/")
        listed = await list_rooms(http, key, PUBLIC)
    assert listed.status_code == 200, listed.text
    assert listed.json()["nextLink"].startswith(f"https://{PUBLIC}/rooms?")


async def test_an_untrusted_peer_cannot_borrow_a_host(node: Node, client: Client) -> None:
    key, _ = await node.secrets.access_keys()
    async with client("192.0.2.77") as http:
        # Signed for the forwarded host: the node sees its own host, so the signature fails.
        refused = await list_rooms(http, key, PUBLIC)
        assert refused.status_code == 401
        # Signed for the host it really addressed: fine, and the links name that host.
        listed = await list_rooms(http, key, NODE)
    assert listed.status_code == 200
    assert listed.json().get("nextLink", f"http://{NODE}/").startswith(f"http://{NODE}/")


async def test_metrics_answer_only_the_allowed_networks(client: Client) -> None:
    async with client("192.0.2.50") as http:
        assert (await http.get("/metrics")).status_code == 200
    async with client("192.0.2.51") as http:
        denied = await http.get("/metrics")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Forbidden"
