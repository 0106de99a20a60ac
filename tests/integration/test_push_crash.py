"""Pushes owed across a ``kill -9`` (docs/push.md, Delivery): a chat message to a member with
no connection is owed a Web Push while the push service is down (the fake answers 503);
the node is killed with SIGKILL and started again; when the service is back, every push
reaches it, each once. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from azure.communication.chat import ChatParticipant
from azure.communication.chat.aio import ChatClient, ChatThreadClient
from azure.communication.chat.aio import CommunicationTokenCredential as TokenCredential
from azure.communication.identity.aio import CommunicationIdentityClient

from switchboard.client.push import PushRegistrations, PushTarget
from tests.integration.server import start_server
from tests.push.fakes import WebPushService
from tests.push.providers import push_server_env

pytestmark = pytest.mark.anyio

DOWN = [(503, None)] * 100_000  # the push service answers 503 until told otherwise
ENV = {
    # Retries come fast, and a push the killed process had leased is due again soon.
    "SWITCHBOARD_PUSH_POLL_SECONDS": "0.2",
    "SWITCHBOARD_PUSH_LEASE_SECONDS": "2",
    "SWITCHBOARD_PUSH_MAX_BACKOFF_SECONDS": "0.5",
}


async def test_pushes_owed_while_the_provider_is_down_survive_kill_9_and_arrive_once(
    tmp_path: Path, database_args: tuple[str, ...]
) -> None:
    fake = await WebPushService().start()
    fake.fail_next.extend(DOWN)
    env = {**ENV, **push_server_env(tmp_path)}
    server = await asyncio.to_thread(start_server, tmp_path / "node", *database_args, env=env)
    try:
        endpoint = server.connection_string.split(";")[0].removeprefix("endpoint=")
        ca = server.ca_path
        async with CommunicationIdentityClient.from_connection_string(
            server.connection_string, connection_verify=ca
        ) as identity:
            _, alice_token = await identity.create_user_and_token(scopes=["chat"])
            bob, bob_token = await identity.create_user_and_token(scopes=["chat"])
        sub = fake.subscribe()
        registrations = PushRegistrations(endpoint.rstrip("/"), bob_token.token, ssl=ca)
        await registrations.register("bob-phone", PushTarget.web_push(sub.json()))
        alice_credential = TokenCredential(alice_token.token)
        async with ChatClient(endpoint, alice_credential, connection_verify=ca) as chat:
            created = await chat.create_chat_thread(
                "before the crash", thread_participants=[ChatParticipant(identifier=bob)]
            )
        thread_id = str(created.chat_thread.id)
        async with ChatThreadClient(
            endpoint, TokenCredential(alice_token.token), thread_id, connection_verify=ca
        ) as thread:
            await thread.send_message("owed across the crash", sender_display_name="Alice")
        async with asyncio.timeout(30):  # owed and being tried: the service is down
            while len(fake.fail_next) > len(DOWN) - 3:  # noqa: ASYNC110 - the fake's count
                await asyncio.sleep(0.05)
        assert not fake.received

        server = await asyncio.to_thread(server.crash_and_restart)
        fake.fail_next.clear()  # the push service is back
        async with asyncio.timeout(30):
            while not [p for p in fake.received if p.payload.get("messageBody")]:
                await fake.wait_for(len(fake.received) + 1)
        await asyncio.sleep(1.5)  # a duplicate would come now

        pushed = [p.payload for p in fake.received]
        assert all(p["threadId"] == thread_id for p in pushed)
        assert [p["messageBody"] for p in pushed if "messageBody" in p] == ["owed across the crash"]
        each = Counter((p["eventType"], p.get("messageId")) for p in pushed)
        assert set(each.values()) == {1}, each  # every push once
    finally:
        assert server.stop() == 0, "\n".join(server.output)
        await fake.stop()
