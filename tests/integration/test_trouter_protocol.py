"""ACS's chat real-time channel (docs/trouter.md) on the wire, against a running server over TLS:
what a client that speaks it by hand sees — bad requests answered with ACS errors, Socket.IO
acks, and the registration's cursor: only answered events count as delivered, so a client that
reconnects gets again exactly what it had not answered. (The unmodified SDK in a browser:
tests/e2e/test_trouter_browser.py.)"""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from azure.communication.chat import ChatParticipant

from tests.integration.chat_clients import ChatUsers
from tests.integration.server import RunningServer, start_server
from tests.integration.trouter_client import TrouterConnection

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("trouter"))
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(scope="module")
def users(server: RunningServer) -> ChatUsers:
    return ChatUsers(server)


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    context = ssl.create_default_context(cafile=server.ca_path)
    async with httpx.AsyncClient(base_url=server.endpoint, verify=context) as client:
        yield client


async def test_bad_requests_get_acs_errors(http: httpx.AsyncClient, users: ChatUsers) -> None:
    _, token = users.new()
    config = "/chat/config/realTimeNotifications"
    assert (await http.get(config, params={"api-version": "2024-09-01"})).status_code == 401
    wrong = await http.get(config, params={"api-version": "2020-01-01"}, headers=_bearer(token))
    assert wrong.status_code == 400
    refused = await http.post("/v4/a")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "Unauthorized"
    unknown = await http.get("/socket.io/1/", params={"sr": "nope"})
    assert unknown.status_code == 404 and unknown.json()["error"]["message"]
    headers = {"X-Skypetoken": token}
    garbage = await http.post("/registrar/v3/registrations", headers=headers, content=b"{")
    assert garbage.status_code == 400
    elsewhere = await http.post(
        "/registrar/v3/registrations",
        headers=headers,
        json={"registrationId": "r", "transports": {"TROUTER": [{"path": "https://x/trouter/n"}]}},
    )
    assert elsewhere.status_code == 404


async def test_the_configuration_points_at_this_server(
    http: httpx.AsyncClient, server: RunningServer, users: ChatUsers
) -> None:
    _, token = users.new()
    answer = await http.get(
        "/chat/config/realTimeNotifications",
        params={"api-version": "2024-09-01"},
        headers=_bearer(token),
    )
    assert answer.json() == {
        "trouterServiceUrl": server.endpoint,
        "registrarServiceUrl": server.endpoint + "/registrar",
        "cloudType": "public",
    }


async def test_events_the_client_did_not_answer_come_again_on_its_next_connection(
    http: httpx.AsyncClient, server: RunningServer, users: ChatUsers
) -> None:
    bob, bob_token = users.new()
    _, alice_token = users.new()
    first = TrouterConnection(server, http, bob_token)
    await first.open("bob-registration")
    metrics = (await http.get("/metrics")).text
    assert re.search(r"^switchboard_chat_trouter_connections 1\.0$", metrics, re.MULTILINE)
    assert re.search(r"^switchboard_chat_realtime_connections 0\.0$", metrics, re.MULTILINE)
    async with users.async_client(alice_token) as alice:
        created = await alice.create_chat_thread(
            "Cursor", thread_participants=[ChatParticipant(identifier=bob)]
        )
        assert created.chat_thread is not None
    async with users.async_thread_client(alice_token, created.chat_thread.id) as thread:
        thread_created = await first.request()
        assert thread_created["payload"]["eventId"] == 257
        await first.answer(thread_created)
        for text in ("one", "two"):
            await thread.send_message(text)
        one, two = await first.request(), await first.request()
        assert [one["payload"]["messageBody"], two["payload"]["messageBody"]] == ["one", "two"]
        await first.answer(one)  # "two" never answered: the socket dies first
        await first.socket.send('5:7+::{"name":"ping"}')
        assert await first.socket.recv() == "6:::7"
        await first.socket.close()
        await thread.send_message("three")

        second = TrouterConnection(server, http, bob_token)
        await second.open("bob-registration")
        replayed = [await second.request(), await second.request()]
        assert [r["payload"]["messageBody"] for r in replayed] == ["two", "three"]
        for request in replayed:
            await second.answer(request)
        await second.socket.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
