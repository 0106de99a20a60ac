"""Two nodes sharing PostgreSQL and Redis behind Debian's nginx, configured with the shipped
site file (deploy/nginx-switchboard.conf): TLS ends at nginx, the nodes serve plain HTTP
(``--no-tls``) in production mode (the schema migrated first by ``switchboard db upgrade``)
and trust nginx's forwarded headers (``trusted_proxies``). The official SDKs
and the real-time chat WebSocket work through it, and every URL the nodes hand out points at
nginx, never at a node.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from azure.communication.chat import ChatClient, ChatParticipant, CommunicationTokenCredential
from azure.communication.identity import CommunicationIdentityClient
from azure.communication.identity.aio import (
    CommunicationIdentityClient as AsyncIdentityClient,
)
from azure.communication.rooms import RoomsClient

from switchboard.client import ChatEvent, ChatEvents
from switchboard.http.tls import ensure_tls_material
from tests.conftest import REDIS_URL
from tests.free_ports import free_port
from tests.integration.chat_clients import sync_sdk_trusting
from tests.integration.cli_run import switchboard
from tests.integration.js_sdk import NodeClients
from tests.integration.server import PLAIN_PREFIX, RunningServer, start_server

pytestmark = pytest.mark.anyio

SITE = Path(__file__).parents[2] / "deploy" / "nginx-switchboard.conf"

# The main nginx.conf a package would provide, minus what needs root's directories.
MAIN = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/switchboard.conf;
}}
"""


@dataclass
class Cluster:
    endpoint: str  # nginx: https://127.0.0.1:port
    connection_string: str
    ca: str  # the CA nginx's certificate is from
    nodes: tuple[RunningServer, RunningServer]

    @property
    def ca_path(self) -> str:  # what tests/integration/js_sdk.py's NodeTarget reads
        return self.ca


@pytest.fixture(scope="module")
def cluster(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing (apt-get install nginx-light; scripts/test does)")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    root = tmp_path_factory.mktemp("nginx")
    tls = ensure_tls_material(root / "tls", ["127.0.0.1"])
    listen = free_port()
    endpoint = f"https://127.0.0.1:{listen}"
    env = {
        "SWITCHBOARD_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}",
        "SWITCHBOARD_PUBLIC_URL": endpoint + "/",
        "SWITCHBOARD_TRUSTED_PROXIES": "127.0.0.1",
        "SWITCHBOARD_METRICS_ALLOWED_NETWORKS": "127.0.0.1",
    }
    # As docs/deploy.md says: the schema first, on purpose; then production nodes.
    upgraded = switchboard("db", "upgrade", "--database-url", postgres_url)
    assert upgraded.returncode == 0, upgraded.stderr
    args = ["--database-url", postgres_url, "--redis-url", REDIS_URL, "--no-tls"]
    args += ["--mode", "production"]
    first = start_server(root / "a", *args, env=env, tls_prefix=PLAIN_PREFIX)
    second = start_server(root / "b", *args, env=env, tls_prefix=PLAIN_PREFIX)
    nodes = (first, second)
    site = render(
        SITE.read_text(),
        LISTEN_PORT=listen,
        SERVER_NAME="127.0.0.1",
        TLS_CERT=tls.cert,
        TLS_KEY=tls.key,
        NODE_1=f"127.0.0.1:{_node_port(first)}",
        NODE_2=f"127.0.0.1:{_node_port(second)}",
    )
    (root / "switchboard.conf").write_text(site)
    (root / "nginx.conf").write_text(MAIN.format(dir=root))
    command = [nginx, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    proxy = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_serving(endpoint, tls.ca_cert, proxy)
        yield Cluster(endpoint, first.connection_string, str(tls.ca_cert), nodes)
    finally:
        proxy.terminate()
        proxy.wait(10)
        for node in nodes:
            assert node.stop() == 0, "\n".join(node.output)


def render(template: str, **values: object) -> str:
    """What ``envsubst '$LISTEN_PORT $SERVER_NAME …'`` does: only the named placeholders (the
    file's nginx variables, ``$host`` and the like, stay), and each one must be given."""
    rendered = re.sub(r"\$\{([A-Z_0-9]+)\}", lambda m: str(values[m.group(1)]), template)
    return rendered


def _node_port(node: RunningServer) -> int:
    """The node's own port (its connection string names nginx's): from its log line."""
    for line in node.output:
        if "switchboard node started on port" in line:
            return int(line.rsplit(" ", 1)[1])
    raise AssertionError("\n".join(node.output))


def _wait_until_serving(endpoint: str, ca: Path, proxy: subprocess.Popen[str]) -> None:
    for _ in range(200):
        assert proxy.poll() is None, proxy.stderr.read() if proxy.stderr else ""
        try:
            httpx.get(endpoint + "/health", verify=ssl.create_default_context(cafile=ca), timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("nginx did not answer")


def test_the_connection_string_names_nginx(cluster: Cluster) -> None:
    assert cluster.connection_string.startswith(f"endpoint={cluster.endpoint}/;")
    for node in cluster.nodes:
        assert node.connection_string == cluster.connection_string


def test_production_nodes_behind_a_proxy_pass_the_checklist(cluster: Cluster) -> None:
    for node in cluster.nodes:  # PostgreSQL, Redis, TLS at the proxy, /metrics closed
        assert not [line for line in node.output if "warning:" in line], node.output


def test_identity_sync_and_async_through_nginx(cluster: Cluster) -> None:
    with sync_sdk_trusting(cluster.ca):
        client = CommunicationIdentityClient.from_connection_string(cluster.connection_string)
        user, token = client.create_user_and_token(scopes=["chat"])
    assert token.token

    async def revoke() -> None:
        async with AsyncIdentityClient.from_connection_string(
            cluster.connection_string, connection_verify=cluster.ca
        ) as aclient:
            await aclient.revoke_tokens(user)

    asyncio.run(revoke())
    me = httpx.get(
        cluster.endpoint + "/me",
        headers={"Authorization": f"Bearer {token.token}"},
        verify=ssl.create_default_context(cafile=cluster.ca),
    )
    assert me.status_code == 401  # revoked through one node, refused by whichever answers


def test_chat_pages_follow_next_links_through_nginx(cluster: Cluster) -> None:
    with sync_sdk_trusting(cluster.ca):
        identity = CommunicationIdentityClient.from_connection_string(cluster.connection_string)
        user, token = identity.create_user_and_token(scopes=["chat"])
        chat = ChatClient(cluster.endpoint + "/", CommunicationTokenCredential(token.token))
        thread_id = chat.create_chat_thread(
            "through nginx", thread_participants=[ChatParticipant(identifier=user)]
        ).chat_thread.id
        thread = chat.get_chat_thread_client(thread_id)
        sent = [thread.send_message(f"m{i}").id for i in range(5)]
        pages = thread.list_messages(results_per_page=2).by_page()
        seen = [m.id for page in pages for m in page if m.type == "text"]
    assert sorted(seen) == sorted(sent)
    # The raw nextLink names nginx, with its https scheme.
    raw = httpx.get(
        f"{cluster.endpoint}/chat/threads/{thread_id}/messages",
        params={"maxPageSize": 2, "api-version": "2024-03-07"},
        headers={"Authorization": f"Bearer {token.token}"},
        verify=ssl.create_default_context(cafile=cluster.ca),
    )
    assert raw.json()["nextLink"].startswith(cluster.endpoint + "/chat/threads/")


def test_rooms_through_nginx(cluster: Cluster) -> None:
    with sync_sdk_trusting(cluster.ca):
        rooms = RoomsClient.from_connection_string(cluster.connection_string)
        made = [rooms.create_room() for _ in range(3)]
        listed = {room.id for room in rooms.list_rooms()}
    assert {room.id for room in made} <= listed


async def test_realtime_chat_websocket_through_nginx(cluster: Cluster) -> None:
    from azure.communication.chat.aio import ChatClient as AsyncChatClient
    from azure.communication.chat.aio import ChatThreadClient as AsyncThreadClient
    from azure.communication.chat.aio import (
        CommunicationTokenCredential as AsyncTokenCredential,
    )

    async with AsyncIdentityClient.from_connection_string(
        cluster.connection_string, connection_verify=cluster.ca
    ) as identity:
        alice, alice_token = await identity.create_user_and_token(scopes=["chat"])
    credential = AsyncTokenCredential(alice_token.token)
    async with ChatEvents(cluster.endpoint, alice_token.token, ssl=cluster.ca) as events:
        async with AsyncChatClient(
            cluster.endpoint + "/", credential, connection_verify=cluster.ca
        ) as chat:
            created = await chat.create_chat_thread(
                "live", thread_participants=[ChatParticipant(identifier=alice)]
            )
        assert created.chat_thread is not None
        async with AsyncThreadClient(
            cluster.endpoint + "/", credential, created.chat_thread.id, connection_verify=cluster.ca
        ) as thread:
            await thread.send_message("through the proxy")
        async with asyncio.timeout(30):
            async for event in events:
                if isinstance(event, ChatEvent) and event.name == "chatMessageReceived":
                    assert event.data["message"] == "through the proxy"
                    break


def test_the_npm_identity_sdk_through_nginx(cluster: Cluster) -> None:
    result = NodeClients(cluster).run("identity.mjs")
    assert result["usableBefore"] == 200 and result["usableAfterRevoke"] == 401


def test_the_browser_sdks_through_nginx(cluster: Cluster, tmp_path: Path) -> None:
    """A page served by nginx (its origin, its certificate, trusted as a user would) uses
    /sdk/chat.js's real-time socket and /sdk/calling.js's signaling socket through the proxy:
    WebSockets upgraded by nginx, the token in a subprotocol."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import launch_chromium, trusting_home

    with sync_sdk_trusting(cluster.ca):
        identity = CommunicationIdentityClient.from_connection_string(cluster.connection_string)
        user, token = identity.create_user_and_token(scopes=["chat", "voip"])
        chat = ChatClient(cluster.endpoint + "/", CommunicationTokenCredential(token.token))
        thread = chat.get_chat_thread_client(
            chat.create_chat_thread(
                "browser through nginx", thread_participants=[ChatParticipant(identifier=user)]
            ).chat_thread.id
        )
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, trusting_home(tmp_path / "home", cluster.ca))
            try:
                page = browser.new_page()
                page.goto(cluster.endpoint + "/health")
                registered = page.evaluate(
                    """async ([endpoint, token]) => {
                        const { ChatRealtimeClient } = await import("/sdk/chat.js");
                        window.received = [];
                        const live = new ChatRealtimeClient({ endpoint, token });
                        live.on("chatMessageReceived", (e) => window.received.push(e.message));
                        await live.start();
                        const { CallClient } = await import("/sdk/calling.js");
                        const agent = await new CallClient({ endpoint }).createCallAgent(token);
                        return agent.userId;
                    }""",
                    [cluster.endpoint, token.token],
                )
                assert registered == user.properties["id"]
                thread.send_message("to the page, through nginx")
                page.wait_for_function("window.received.length > 0", timeout=15_000)
                assert page.evaluate("window.received") == ["to the page, through nginx"]
            finally:
                browser.close()
