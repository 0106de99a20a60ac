"""@azure/communication-chat 1.6.0 (npm) against a running server, with user tokens from the
identity SDK: it sends api-version 2025-03-15 and follows every ``nextLink`` verbatim."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.js_sdk import NodeClients, one_server
from tests.integration.server import RunningServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    yield from one_server(tmp_path_factory)


@pytest.fixture(scope="module")
def result(server: RunningServer) -> Any:
    return NodeClients(server).run("chat.mjs")


def nonempty(pages: list[int]) -> list[int]:
    """Page sizes without a trailing empty page (a full last page still gets a nextLink)."""
    return [size for size in pages if size]


def test_every_call_used_2025_03_15_and_succeeded(result: Any) -> None:
    assert result["apiVersions"] == ["2025-03-15"]
    assert set(result["statuses"]) <= {200, 201, 204}


def test_thread_with_two_members_and_a_new_topic(result: Any) -> None:
    assert result["threadId"].startswith("19:") and result["threadId"].endswith("@thread.v2")
    assert result["invalidParticipants"] == []
    assert result["createdBy"] == result["alice"]
    assert result["topic"] == "Launch day"
    assert result["participants"] == {result["alice"]: "Alice", result["bob"]: "Bob"}
    assert nonempty(result["participantPages"]) == [1, 1]
    assert result["bobThreads"] == [result["threadId"]]
    assert nonempty(result["threadPages"]) == [2, 1]


def test_messages_listed_newest_first_across_pages(result: Any) -> None:
    listed = result["listed"]
    assert [m["id"] for m in listed] == result["sent"][::-1]
    assert [m["content"] for m in listed] == [f"message {i}" for i in range(4, -1, -1)]
    assert {m["sender"] for m in listed} == {result["alice"]}
    assert {m["senderDisplayName"] for m in listed} == {"Alice"}
    assert [m["metadata"] for m in listed] == [{"n": str(i)} for i in range(4, -1, -1)]
    pages = nonempty(result["messagePages"])
    assert sum(pages) == len(result["messageTypes"]) and len(pages) >= 3
    assert all(size == 2 for size in pages[:-1])
    assert result["last"]["content"] == "message 4"
    assert result["receipts"] == [{"sender": result["bob"], "messageId": result["sent"][-1]}]


@pytest.fixture(scope="module")
def kept(server: RunningServer) -> Any:
    return NodeClients(server).run("chat-metadata.mjs")


def test_2025_03_15_thread_and_participant_metadata_are_kept(kept: Any) -> None:
    assert kept["metadata"] == {"team": "blue", "threadType": "primary"}
    assert kept["retentionPolicy"] == {"kind": "threadCreationDate", "deleteThreadAfterDays": 30}
    assert kept["participantMetadata"] == {"seat": "1"}
    assert kept["createdThread"] == {
        "metadata": kept["metadata"],
        "retentionPolicy": kept["retentionPolicy"],
    }


def test_thread_metadata_is_merged_on_update_and_retention_replaced(kept: Any) -> None:
    # As azure-sdk-for-js's recording "successfully updates the thread metadata" shows.
    assert kept["merged"] == {"team": "blue", "threadType": "secondary"}
    assert kept["retentionAfterUpdate"] == {"kind": "none"}
    assert kept["participantsAfterAdd"] == {"Alice": {"seat": "1"}, "Bob": {"seat": "2"}}


def test_an_app_pinned_to_2024_06_05_preview_works(kept: Any) -> None:
    assert kept["preview"] == {
        "metadata": {"pinned": "preview"},
        "participantMetadata": {"p": "1"},
        "texts": [["on the preview", "3"]],
        "apiVersions": ["2024-06-05-preview"],
    }


def test_a_retention_policy_outside_acs_range_is_refused_with_400(kept: Any) -> None:
    assert kept["refused"] == {"status": 400, "code": "InvalidRetentionPolicy"}


def test_sequence_ids_and_locations_are_as_acs_records_them(
    kept: Any, server: RunningServer
) -> None:
    # Newest first: the first message is 3, after participantAdded (1) and the topic (2);
    # metadata and retention updates leave no message; Bob's participantAdded is 4.
    assert kept["sequenceIds"] == [
        ["participantAdded", "4"],
        ["text", "3"],
        ["topicUpdated", "2"],
        ["participantAdded", "1"],
    ]
    thread = f"{server.endpoint}/chat/threads/{quote(kept['threadId'], safe='@')}"
    # 201s: the thread, the message, addParticipants (no Location, as ACS)
    assert kept["locations"] == [thread, f"{thread}/messages/{kept['firstMessage']}", None]


QUICKSTART = """
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";

const connectionString = process.env.SWITCHBOARD_CONNECTION_STRING;
const endpoint = connectionString.split(";")[0].replace(/^endpoint=/, "");
const identity = new CommunicationIdentityClient(connectionString);
const { user, token } = await identity.createUserAndToken(["chat"]);
const chat = new ChatClient(endpoint, new AzureCommunicationTokenCredential(token));
const { chatThread } = await chat.createChatThread(
  { topic: "Hello" }, { participants: [{ id: user }] });
const members = [];
for await (const p of chat.getChatThreadClient(chatThread.id).listParticipants()) {
  members.push(p.id.communicationUserId);
}
console.log(JSON.stringify({ topic: chatThread.topic, user: user.communicationUserId, members }));
"""


def test_the_documented_quickstart_runs_as_inline_source(server: RunningServer) -> None:
    # docs/js-sdks.md's example (plus a listing), with no harness: only the helper's environment.
    result = NodeClients(server).run_source(QUICKSTART)
    assert result["topic"] == "Hello"
    assert result["members"] == [result["user"]] and result["user"].startswith("8:acs:")
