"""Chat and registration over a node served in-process (docs/push.md), with the Web Push fake:

- a message to a user with no real-time connection is pushed (its text, the thread), a
  connected member is not; the thread's other events (a member added) are pushed too;
- message pushes are collapsed per thread and limited per user (one per thread per interval);
- the registration API answers bad input with ACS-shaped 4xx errors;
- deleting the user forgets the user's registrations.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from azure.communication.chat import ChatParticipant
from azure.communication.chat.aio import ChatClient, ChatThreadClient
from azure.communication.chat.aio import CommunicationTokenCredential as TokenCredential
from azure.communication.identity import CommunicationUserIdentifier
from azure.communication.identity.aio import CommunicationIdentityClient

from switchboard.client.chat import ChatEvents
from switchboard.client.push import PushRegistrations, PushTarget
from tests.integration.inprocess_node import InProcessNode, serving
from tests.push.fakes import Subscription, WebPushService
from tests.push.providers import vapid_pem

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessNode]:
    data = tmp_path_factory.mktemp("push-chat")
    (data / "vapid.pem").write_bytes(vapid_pem())
    overrides = {"push_vapid_private_key_file": str(data / "vapid.pem")}
    async with serving(data / "node", overrides) as running:
        yield running


@pytest.fixture
async def push_service() -> AsyncIterator[WebPushService]:
    service = await WebPushService().start()
    yield service
    await service.stop()


class Person:
    def __init__(self, node: InProcessNode, user: CommunicationUserIdentifier, token: str) -> None:
        self.node = node
        self.user = user
        self.id = str(user.properties["id"])
        self.token = token

    async def subscribe(self, service: WebPushService) -> Subscription:
        sub = service.subscribe()
        registrations = PushRegistrations(self.node.endpoint, self.token, ssl=self.node.ca_path)
        await registrations.register(f"{self.id[-8:]}-phone", PushTarget.web_push(sub.json()))
        return sub

    def chat(self) -> ChatClient:
        return ChatClient(
            self.node.endpoint + "/",
            TokenCredential(self.token),
            connection_verify=self.node.ca_path,
        )

    def thread(self, thread_id: str) -> ChatThreadClient:
        return ChatThreadClient(
            self.node.endpoint + "/",
            TokenCredential(self.token),
            thread_id,
            connection_verify=self.node.ca_path,
        )

    async def new_thread(self, *members: Person, topic: str = "t") -> str:
        async with self.chat() as chat:
            participants = [ChatParticipant(identifier=m.user, display_name="m") for m in members]
            result = await chat.create_chat_thread(topic, thread_participants=participants)
        return str(result.chat_thread.id)

    async def say(self, thread_id: str, *texts: str) -> None:
        async with self.thread(thread_id) as thread:
            for text in texts:
                await thread.send_message(text, sender_display_name="Alice")


async def person(node: InProcessNode, scopes: list[str] | None = None) -> Person:
    async with CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    ) as identity:
        user, token = await identity.create_user_and_token(scopes=scopes or ["chat", "voip"])
    return Person(node, user, token.token)


def of_thread(service: WebPushService, thread_id: str, sub: Subscription) -> list[dict[str, Any]]:
    return [
        p.payload
        for p in service.received
        if p.token == sub.id and p.payload.get("threadId") == thread_id
    ]


async def test_an_offline_member_is_pushed_the_message_a_connected_one_is_not(
    node: InProcessNode, push_service: WebPushService
) -> None:
    alice, bob, carol = await person(node), await person(node), await person(node)
    bob_sub, carol_sub = await bob.subscribe(push_service), await carol.subscribe(push_service)
    async with ChatEvents(node.endpoint, bob.token, ssl=node.ca_path) as bob_events:
        own = await bob.new_thread()  # Bob's own thread: its event proves his socket is live
        async with asyncio.timeout(15):
            while getattr(await anext(bob_events), "thread_id", None) != own:
                pass
        thread = await alice.new_thread(bob, carol)
        await alice.say(thread, "Hello both")
        # Carol: the thread she was added to, then the message (the text and the sender).
        await push_service.wait_for(2)
        created, message = of_thread(push_service, thread, carol_sub)
        assert created["type"] == "chatThreadEvent"
        assert created["eventType"] == "chatThreadCreated"
        assert message["type"] == "chatMessageReceived"
        assert (message["messageBody"], message["senderId"]) == ("Hello both", alice.id)
        assert of_thread(push_service, thread, bob_sub) == []  # connected: the socket has it
        assert push_service.errors == []
    context = ssl.create_default_context(cafile=node.ca_path)
    async with httpx.AsyncClient(verify=context) as http:
        metrics = (await http.get(f"{node.endpoint}/metrics")).text
    assert 'switchboard_push_notifications_total{kind="webpush",outcome="delivered"}' in metrics


async def test_message_pushes_are_limited_per_thread(
    node: InProcessNode, push_service: WebPushService
) -> None:
    alice, bob = await person(node), await person(node)
    bob_sub = await bob.subscribe(push_service)
    busy = await alice.new_thread(bob, topic="busy")
    await alice.say(busy, "one", "two", "three")
    other = await alice.new_thread(bob, topic="other")
    await alice.say(other, "elsewhere")
    # Pushes leave in the order they were owed: once the other thread's message is here,
    # every push of the busy thread is too.
    async with asyncio.timeout(20):
        while not [p for p in of_thread(push_service, other, bob_sub) if "messageBody" in p]:
            await push_service.wait_for(len(push_service.received) + 1)
    busy_messages = [p for p in of_thread(push_service, busy, bob_sub) if "messageBody" in p]
    assert [p["messageBody"] for p in busy_messages] == ["one"]


async def test_bad_registrations_are_refused_with_acs_errors(node: InProcessNode) -> None:
    bob = await person(node)
    chatless = await person(node, ["voip.join"])
    url = f"{node.endpoint}/push/registrations/dev1"
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=node.ca_path)) as http:
        bearer = {"Authorization": f"Bearer {bob.token}"}
        cases: list[tuple[dict[str, Any], int, str]] = [
            ({"kind": "carrier-pigeon", "token": "x"}, 400, "InvalidPushRegistration"),
            ({"kind": "fcm", "token": "abc"}, 400, "NotSupported"),  # no FCM credentials here
            (
                {"kind": "webpush", "endpoint": "https://push.example/x", "keys": {}},
                400,
                "InvalidPushRegistration",
            ),
            (
                {"kind": "webpush", "endpoint": "ftp://x", "keys": {}},
                400,
                "InvalidPushRegistration",
            ),
        ]
        for body, status, code in cases:
            answer = await http.put(url, json=body, headers=bearer)
            assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), body
        missing = await http.delete(url, headers=bearer)
        assert (missing.status_code, missing.json()["error"]["code"]) == (
            404,
            "PushRegistrationNotFound",
        )
        unauthenticated = await http.get(f"{node.endpoint}/push/registrations")
        assert unauthenticated.status_code == 401
        config = await http.get(
            f"{node.endpoint}/push/config", headers={"Authorization": f"Bearer {chatless.token}"}
        )
        assert config.status_code == 200 and config.json()["kinds"] == ["webpush"]
        assert len(config.json()["vapidPublicKey"]) == 87  # a P-256 point, base64url


async def test_deleting_the_user_forgets_the_registrations(
    node: InProcessNode, push_service: WebPushService
) -> None:
    bob = await person(node)
    await bob.subscribe(push_service)
    push = node.node.push.service
    assert len(await push.registrations(bob.id)) == 1
    async with CommunicationIdentityClient.from_connection_string(
        node.connection_string, connection_verify=node.ca_path
    ) as identity:
        await identity.delete_user(bob.user)
    async with asyncio.timeout(15):
        while await push.registrations(bob.id):  # noqa: ASYNC110 - the bus event's effect
            await asyncio.sleep(0.05)
