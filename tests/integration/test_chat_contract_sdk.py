"""What ACS's recorded chat traffic shows, through the official Python chat SDK (sync and
async) against a running server: sequence ids (participantAdded 1, the first topic 2, the first
message 3), ``Location`` on created threads and messages, and api-version 2024-06-05-preview.

azure-communication-chat 1.3.0 has no API for thread metadata or retention policies; those are
proven with the npm SDK (test_js_chat.py). Here its own pipeline sends them, and its typed
calls (sync and async) read such a thread back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from azure.communication.chat import (
    ChatClient,
    ChatMessageType,
    ChatParticipant,
    ChatThreadClient,
    CommunicationTokenCredential,
)
from azure.communication.chat.aio import ChatClient as AsyncChatClient
from azure.communication.chat.aio import ChatThreadClient as AsyncChatThreadClient
from azure.communication.chat.aio import (
    CommunicationTokenCredential as AsyncCommunicationTokenCredential,
)
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import PipelineResponse
from azure.core.rest import HttpRequest

from tests.integration.chat_clients import ChatUsers, sync_sdk_trusting
from tests.integration.server import RunningServer

PREVIEW = "2024-06-05-preview"


@pytest.fixture(scope="module")
def users(server: RunningServer) -> Iterator[ChatUsers]:
    with sync_sdk_trusting(server.ca_path):
        yield ChatUsers(server)


class Headers:
    """A ``raw_response_hook``: keeps the last response's headers (names in lower case) and
    the api-version of every request."""

    def __init__(self) -> None:
        self.last: dict[str, str] = {}
        self.api_versions: set[str] = set()

    def __call__(self, response: PipelineResponse[Any, Any]) -> None:
        self.last = {k.lower(): v for k, v in response.http_response.headers.items()}
        self.api_versions.add(response.http_request.query["api-version"])


def thread_url(server: RunningServer, thread_id: str) -> str:
    # As ACS writes it: "https://endpoint/chat/threads/19%3A…@thread.v2" (':' escaped).
    return f"{server.endpoint}/chat/threads/{quote(thread_id, safe='@')}"


def test_the_first_message_of_a_thread_is_sequence_3_and_both_have_a_location(
    users: ChatUsers,
) -> None:
    _, token = users.new()
    chat = users.client(token)
    headers = Headers()
    created = chat.create_chat_thread("Sequence", raw_response_hook=headers)
    thread_id = created.chat_thread.id
    assert headers.last["location"] == thread_url(users.server, thread_id)

    thread = chat.get_chat_thread_client(thread_id)
    sent = thread.send_message("first", raw_response_hook=headers)
    assert headers.last["location"] == f"{thread_url(users.server, thread_id)}/messages/{sent.id}"

    listed = [(m.type, m.sequence_id) for m in thread.list_messages()]
    assert listed == [
        (ChatMessageType.TEXT, "3"),
        (ChatMessageType.TOPIC_UPDATED, "2"),
        (ChatMessageType.PARTICIPANT_ADDED, "1"),
    ]


def test_a_repeated_create_answers_with_the_same_location(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    first, again = Headers(), Headers()
    key = str(uuid.uuid4())
    made = chat.create_chat_thread("Once", idempotency_token=key, raw_response_hook=first)
    chat.create_chat_thread("Once", idempotency_token=key, raw_response_hook=again)
    assert (
        again.last["location"]
        == first.last["location"]
        == thread_url(users.server, made.chat_thread.id)
    )


def test_a_2024_06_05_preview_client_does_everything(users: ChatUsers) -> None:
    alice, token = users.new()
    bob, _ = users.new()
    server = users.server
    chat = ChatClient(
        server.endpoint + "/",
        CommunicationTokenCredential(token),
        connection_verify=server.ca_path,
        api_version=PREVIEW,
    )
    seen: list[str] = []

    def api_version(response: PipelineResponse[Any, Any]) -> None:
        seen.append(response.http_request.query["api-version"])

    created = chat.create_chat_thread("Preview", raw_response_hook=api_version)
    thread = ChatThreadClient(  # get_chat_thread_client() would not pass api_version on
        server.endpoint + "/",
        CommunicationTokenCredential(token),
        created.chat_thread.id,
        connection_verify=server.ca_path,
        api_version=PREVIEW,
    )
    thread.add_participants([ChatParticipant(identifier=bob)], raw_response_hook=api_version)
    sent = thread.send_message("hi", metadata={"k": "v"}, raw_response_hook=api_version)
    message = thread.get_message(sent.id, raw_response_hook=api_version)
    assert (message.content.message, message.metadata, message.sequence_id) == (
        "hi",
        {"k": "v"},
        "4",
    )
    thread.update_topic("Preview 2", raw_response_hook=api_version)
    assert thread.get_properties(raw_response_hook=api_version).topic == "Preview 2"
    assert {p.identifier.properties["id"] for p in thread.list_participants()} == {
        alice.properties["id"],
        bob.properties["id"],
    }
    assert set(seen) == {PREVIEW} and len(seen) == 6


@pytest.mark.anyio
async def test_async_client_sees_the_same_sequence_location_and_preview_version(
    users: ChatUsers,
) -> None:
    _, token = users.new()
    server = users.server
    headers = Headers()
    async with AsyncChatClient(
        server.endpoint + "/",
        AsyncCommunicationTokenCredential(token),
        connection_verify=server.ca_path,
        api_version=PREVIEW,
    ) as chat:
        created = await chat.create_chat_thread("Async", raw_response_hook=headers)
        thread_id = created.chat_thread.id
        assert headers.last["location"] == thread_url(server, thread_id)
        thread = AsyncChatThreadClient(
            server.endpoint + "/",
            AsyncCommunicationTokenCredential(token),
            thread_id,
            connection_verify=server.ca_path,
            api_version=PREVIEW,
        )
        async with thread:
            sent = await thread.send_message("first", raw_response_hook=headers)
            location = headers.last["location"]
            assert location == f"{thread_url(server, thread_id)}/messages/{sent.id}"
            got = await thread.get_message(sent.id, raw_response_hook=headers)
            assert got.sequence_id == "3"
            assert headers.api_versions == {PREVIEW}
            kinds = [m.type async for m in thread.list_messages()]
            assert kinds == [
                ChatMessageType.TEXT,
                ChatMessageType.TOPIC_UPDATED,
                ChatMessageType.PARTICIPANT_ADDED,
            ]


def test_a_message_with_attachments_is_refused_not_dropped(users: ChatUsers) -> None:
    # 2024-06-05-preview's attachments are Teams interop's; the SDK has no parameter for
    # them, so the request goes through the SDK's own pipeline (its credential, its policies).
    _, token = users.new()
    chat = users.client(token)
    thread_id = chat.create_chat_thread("Attach").chat_thread.id
    request = HttpRequest(
        "POST",
        f"{thread_url(users.server, thread_id)}/messages?api-version={PREVIEW}",
        json={"content": "look", "attachments": [{"id": "img", "attachmentType": "image"}]},
    )
    response = chat._client._send_request(request)  # the SDK's generic call
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "AttachmentsNotSupported"
    with pytest.raises(HttpResponseError):
        response.raise_for_status()


def test_threads_with_2025_03_15_fields_stay_readable_by_the_python_sdk(users: ChatUsers) -> None:
    # azure-communication-chat 1.3.0 cannot send these fields; its own pipeline sends the
    # request (its credential, its policies), and its typed calls read the thread back.
    alice, token = users.new()
    chat = users.client(token)
    body = {
        "topic": "Kept",
        "metadata": {"team": "blue"},
        "retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": 45},
        "participants": [
            {"communicationIdentifier": {"rawId": alice.raw_id}, "metadata": {"seat": "1"}}
        ],
    }
    created = chat._client._send_request(  # the SDK's generic call
        HttpRequest(
            "POST", f"{users.server.endpoint}/chat/threads?api-version=2025-03-15", json=body
        )
    )
    assert created.status_code == 201
    thread_id = created.json()["chatThread"]["id"]
    thread = chat.get_chat_thread_client(thread_id)
    assert thread.get_properties().topic == "Kept"
    assert [p.identifier.raw_id for p in thread.list_participants()] == [alice.raw_id]
    raw = chat._client._send_request(
        HttpRequest("GET", f"{thread_url(users.server, thread_id)}?api-version=2025-03-15")
    ).json()
    assert raw["metadata"] == {"team": "blue"}
    assert raw["retentionPolicy"] == {"kind": "threadCreationDate", "deleteThreadAfterDays": 45}


@pytest.mark.anyio
async def test_threads_with_2025_03_15_fields_stay_readable_by_the_async_sdk(
    users: ChatUsers,
) -> None:
    alice, token = users.new()
    body = {"topic": "Kept async", "metadata": {"team": "green"}}
    created = users.client(token)._client._send_request(
        HttpRequest(
            "POST", f"{users.server.endpoint}/chat/threads?api-version=2025-03-15", json=body
        )
    )
    thread_id = created.json()["chatThread"]["id"]
    async with users.async_thread_client(token, thread_id) as thread:
        assert (await thread.get_properties()).topic == "Kept async"
        members = [p.identifier.raw_id async for p in thread.list_participants()]
        assert members == [alice.raw_id]
