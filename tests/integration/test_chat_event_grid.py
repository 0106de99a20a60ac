"""Issue 4's proof: a chat message sent with the official chat SDK reaches a real webhook
receiver as Microsoft.Communication.ChatMessageReceived, in both schemas, signed."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.chat import ChatParticipant

from tests.event_receiver import EventReceiver, signature_is_valid
from tests.integration.admin_http import subscribe
from tests.integration.chat_clients import ChatUsers
from tests.integration.server import RunningServer

pytestmark = pytest.mark.anyio

SECRET = "s3cret-for-the-chat-webhook"


def events_of(receiver: EventReceiver, path: str, kind: str, field: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for notification in receiver.notifications:
        if notification.path != path:
            continue
        assert signature_is_valid(notification, SECRET)
        found.extend(e for e in notification.events() if e.get(field) == kind)
    return found


async def test_chat_message_arrives_as_event_grid_and_cloud_event(
    server: RunningServer,
) -> None:
    receiver = await EventReceiver().start()
    try:
        received = "Microsoft.Communication.ChatMessageReceived"
        in_thread = "Microsoft.Communication.ChatMessageReceivedInThread"
        for name, schema in (("eg", "EventGridSchema"), ("ce", "CloudEventSchemaV1_0")):
            await subscribe(
                server,
                f"chat-{name}-{receiver.port}",
                {
                    "endpointUrl": receiver.url(f"/{name}"),
                    "includedEventTypes": [received, in_thread],
                    "eventDeliverySchema": schema,
                    "secret": SECRET,
                },
            )
        users = ChatUsers(server)
        alice, token = users.new()
        bob, _ = users.new()
        async with users.async_client(token) as chat:
            created = await chat.create_chat_thread(
                "webhooks", thread_participants=[ChatParticipant(identifier=bob)]
            )
        thread_id = created.chat_thread.id
        async with users.async_thread_client(token, thread_id) as thread:
            sent = await thread.send_message("hello hooks", sender_display_name="Alice")

        def arrived() -> bool:
            return bool(events_of(receiver, "/eg", received, "eventType")) and bool(
                events_of(receiver, "/ce", received, "type")
            )

        await receiver.wait_until(arrived, within=15)
        [grid] = events_of(receiver, "/eg", received, "eventType")
        [cloud] = events_of(receiver, "/ce", received, "type")
        for data in (grid["data"], cloud["data"]):
            assert data["messageId"] == sent.id
            assert data["messageBody"] == "hello hooks"
            assert data["threadId"] == thread_id
            assert data["senderDisplayName"] == "Alice"
            assert data["senderCommunicationIdentifier"]["rawId"] == alice.properties["id"]
            assert data["recipientCommunicationIdentifier"]["rawId"] == bob.properties["id"]
        assert grid["subject"] == (
            f"thread/{thread_id}/sender/{alice.properties['id']}/recipient/{bob.properties['id']}"
        )
        assert grid["dataVersion"] == "1.0" and cloud["specversion"] == "1.0"
        # The thread-level variant comes once per message, with no recipient.
        await receiver.wait_until(
            lambda: bool(events_of(receiver, "/eg", in_thread, "eventType")), within=15
        )
        [thread_event] = [
            e
            for e in events_of(receiver, "/eg", in_thread, "eventType")
            if e["data"]["messageId"] == sent.id
        ]
        assert "recipientCommunicationIdentifier" not in thread_event["data"]
    finally:
        await receiver.stop()
