"""The official azure-communication-chat SDK (sync and async) against a real server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.communication.chat import ChatMessageType, ChatParticipant
from azure.communication.identity import CommunicationUserIdentifier
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.integration.chat_clients import ChatUsers, sync_sdk_trusting
from tests.integration.server import RunningServer


@pytest.fixture(scope="module")
def users(server: RunningServer) -> Iterator[ChatUsers]:
    with sync_sdk_trusting(server.ca_path):
        yield ChatUsers(server)


def ids(participants: Iterable[Any]) -> set[str]:
    return {p.identifier.properties["id"] for p in participants}


def status_of(call: Callable[[], object]) -> int | None:
    with pytest.raises(HttpResponseError) as caught:
        call()
    return caught.value.status_code


def test_creator_and_participants_join_with_a_system_message(users: ChatUsers) -> None:
    alice, token = users.new()
    bob, _ = users.new()
    chat = users.client(token)
    result = chat.create_chat_thread(
        "Plans", thread_participants=[ChatParticipant(identifier=bob, display_name="Bob")]
    )
    assert result.errors == []
    thread = chat.get_chat_thread_client(result.chat_thread.id)
    assert result.chat_thread.id.startswith("19:") and result.chat_thread.id.endswith("@thread.v2")
    assert ids(thread.list_participants()) == {alice.properties["id"], bob.properties["id"]}
    # As ACS records it: participantAdded (sequence 1), then the first topic (2).
    topic, system = list(thread.list_messages())
    assert (system.type, system.sequence_id) == (ChatMessageType.PARTICIPANT_ADDED, "1")
    assert (topic.type, topic.sequence_id) == (ChatMessageType.TOPIC_UPDATED, "2")
    assert topic.content.topic == "Plans"
    assert topic.content.initiator.properties["id"] == alice.properties["id"]
    assert ids(system.content.participants) == {alice.properties["id"], bob.properties["id"]}
    assert system.content.initiator.properties["id"] == alice.properties["id"]
    props = thread.get_properties()
    assert props.topic == "Plans"
    assert props.created_by.properties["id"] == alice.properties["id"]


def test_same_repeatability_id_gives_the_same_thread(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    key = str(uuid.uuid4())
    first = chat.create_chat_thread("Once", idempotency_token=key)
    second = chat.create_chat_thread("Once", idempotency_token=key)
    assert first.chat_thread.id == second.chat_thread.id
    assert chat.create_chat_thread("Once").chat_thread.id != first.chat_thread.id


def test_invalid_participants_are_reported_not_added(users: ChatUsers) -> None:
    _, token = users.new()
    ghost = CommunicationUserIdentifier(users.new()[0].properties["id"][:-4] + "beef")
    result = users.client(token).create_chat_thread(
        "x", thread_participants=[ChatParticipant(identifier=ghost)]
    )
    # The SDK pairs each failed participant with its ChatError.
    assert [(p.identifier.properties["id"], e.code) for p, e in result.errors] == [
        (ghost.properties["id"], "IdentityNotFound")
    ]


def test_message_lifecycle_keeps_a_tombstone(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    thread = chat.get_chat_thread_client(chat.create_chat_thread("t").chat_thread.id)
    sent = thread.send_message(
        "<b>hi</b>",
        chat_message_type=ChatMessageType.HTML,
        sender_display_name="Al",
        metadata={"k": "v"},
    )
    message = thread.get_message(sent.id)
    assert (message.content.message, message.type, message.sender_display_name) == (
        "<b>hi</b>",
        ChatMessageType.HTML,
        "Al",
    )
    assert message.metadata == {"k": "v"}
    assert int(message.sequence_id) == 3  # after participantAdded (1) and topicUpdated (2)
    thread.update_message(sent.id, content="edited")
    edited = thread.get_message(sent.id)
    assert edited.content.message == "edited" and edited.edited_on is not None
    assert edited.version != message.version
    thread.delete_message(sent.id)
    deleted = thread.get_message(sent.id)
    assert deleted.deleted_on is not None
    assert any(m.id == sent.id and m.deleted_on for m in thread.list_messages())


def test_topic_change_is_recorded_as_a_system_message(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    thread = chat.get_chat_thread_client(chat.create_chat_thread("old").chat_thread.id)
    thread.update_topic("new")
    assert thread.get_properties().topic == "new"
    newest = next(iter(thread.list_messages()))
    assert newest.type == ChatMessageType.TOPIC_UPDATED
    assert newest.content.topic == "new"


def test_messages_page_without_gaps_or_duplicates_while_new_ones_arrive(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    thread = chat.get_chat_thread_client(chat.create_chat_thread("busy").chat_thread.id)
    before = [thread.send_message(f"m{i}").id for i in range(10)]
    seen: list[str] = []
    pages = thread.list_messages(results_per_page=3).by_page()
    for number, page in enumerate(pages):
        seen.extend(m.id for m in page)
        thread.send_message(f"during page {number}")  # must not shift later pages
    originals = [m for m in seen if m in before]
    assert originals == list(reversed(before))  # newest first, each exactly once
    assert len(seen) == len(set(seen))
    assert number >= 3


def test_start_time_limits_listed_messages(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    thread = chat.get_chat_thread_client(chat.create_chat_thread("t").chat_thread.id)
    thread.send_message("old")
    future = datetime.now(UTC) + timedelta(minutes=5)
    assert list(thread.list_messages(start_time=future)) == []


def test_outsider_can_neither_read_nor_write(users: ChatUsers) -> None:
    _, token = users.new()
    _, stranger = users.new()
    thread_id = users.client(token).create_chat_thread("private").chat_thread.id
    outsider = users.client(stranger).get_chat_thread_client(thread_id)
    assert status_of(outsider.get_properties) == 403
    assert status_of(lambda: outsider.send_message("hi")) == 403
    assert status_of(lambda: list(outsider.list_messages())) == 403
    assert status_of(lambda: list(outsider.list_participants())) == 403


def test_unknown_thread_is_not_found(users: ChatUsers) -> None:
    _, token = users.new()
    thread = users.client(token).get_chat_thread_client(f"19:{uuid.uuid4().hex}@thread.v2")
    with pytest.raises(ResourceNotFoundError):
        thread.get_properties()


def test_scopes_limit_what_a_token_may_do(users: ChatUsers) -> None:
    owner, token = users.new()
    joiner, join_token = users.new(["chat.join"])
    limited, limited_token = users.new(["chat.join.limited"])
    _, voip_token = users.new(["voip"])
    chat = users.client(token)
    thread_id = chat.create_chat_thread(
        "scoped",
        thread_participants=[
            ChatParticipant(identifier=joiner),
            ChatParticipant(identifier=limited),
        ],
    ).chat_thread.id
    assert status_of(lambda: users.client(voip_token).create_chat_thread("x")) == 403
    assert status_of(lambda: users.client(join_token).create_chat_thread("x")) == 403
    as_joiner = users.client(join_token).get_chat_thread_client(thread_id)
    as_joiner.send_message("joiner can talk")
    assert status_of(lambda: as_joiner.update_topic("no")) == 403
    newcomer, _ = users.new()
    as_joiner.add_participants([ChatParticipant(identifier=newcomer)])
    as_limited = users.client(limited_token).get_chat_thread_client(thread_id)
    as_limited.send_message("limited can talk")
    assert (
        status_of(lambda: as_limited.add_participants([ChatParticipant(identifier=owner)])) == 403
    )
    assert status_of(lambda: as_limited.remove_participant(newcomer)) == 403
    assert status_of(lambda: users.client(join_token).delete_chat_thread(thread_id)) == 403


def test_only_the_sender_edits_or_deletes_a_message(users: ChatUsers) -> None:
    _, token = users.new()
    bob, bob_token = users.new()
    thread_id = (
        users.client(token)
        .create_chat_thread("t", thread_participants=[ChatParticipant(identifier=bob)])
        .chat_thread.id
    )
    sent = users.client(token).get_chat_thread_client(thread_id).send_message("mine")
    as_bob = users.client(bob_token).get_chat_thread_client(thread_id)
    assert status_of(lambda: as_bob.update_message(sent.id, content="yours")) == 403
    assert status_of(lambda: as_bob.delete_message(sent.id)) == 403


def test_share_history_time_decides_what_a_newcomer_sees(users: ChatUsers) -> None:
    _, token = users.new()
    thread = users.client(token).get_chat_thread_client(
        users.client(token).create_chat_thread("history").chat_thread.id
    )
    old = thread.send_message("before").id
    late, late_token = users.new()
    full, full_token = users.new()
    thread.add_participants(
        [
            ChatParticipant(
                identifier=late, share_history_time=datetime.now(UTC) + timedelta(seconds=1)
            ),
            ChatParticipant(identifier=full),  # no shareHistoryTime: the whole history
        ]
    )
    thread_id = thread.thread_id
    late_view = users.client(late_token).get_chat_thread_client(thread_id)
    assert old not in [m.id for m in late_view.list_messages()]
    with pytest.raises(ResourceNotFoundError):
        late_view.get_message(old)
    full_view = users.client(full_token).get_chat_thread_client(thread_id)
    assert old in [m.id for m in full_view.list_messages()]


def test_removed_participant_keeps_history_until_removal_only(users: ChatUsers) -> None:
    _, token = users.new()
    bob, bob_token = users.new()
    chat = users.client(token)
    thread = chat.get_chat_thread_client(
        chat.create_chat_thread(
            "t", thread_participants=[ChatParticipant(identifier=bob)]
        ).chat_thread.id
    )
    kept = thread.send_message("before removal").id
    thread.remove_participant(bob)
    after = thread.send_message("after removal").id
    as_bob = users.client(bob_token).get_chat_thread_client(thread.thread_id)
    visible = [m.id for m in as_bob.list_messages()]
    assert kept in visible and after not in visible
    assert status_of(lambda: as_bob.send_message("still here?")) == 403
    assert bob.properties["id"] not in ids(thread.list_participants())
    system = next(iter(thread.list_messages(start_time=None)))
    assert system.id == after  # newest first


def test_message_over_28_kb_is_refused_with_a_clear_message(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    thread = chat.get_chat_thread_client(chat.create_chat_thread("t").chat_thread.id)
    thread.send_message("x" * 28 * 1024)
    with pytest.raises(HttpResponseError) as caught:
        thread.send_message("x" * (28 * 1024 + 1))
    assert caught.value.status_code == 400
    assert "limit" in str(caught.value.message)


def test_adding_more_than_200_at_once_is_refused(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    thread = chat.get_chat_thread_client(chat.create_chat_thread("t").chat_thread.id)
    crowd = [
        ChatParticipant(identifier=CommunicationUserIdentifier(f"8:acs:x_{i}")) for i in range(201)
    ]
    assert status_of(lambda: thread.add_participants(crowd)) == 400


def test_typing_and_read_receipts_turn_off_above_20_participants(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    thread = chat.get_chat_thread_client(chat.create_chat_thread("t").chat_thread.id)
    sent = thread.send_message("read me").id
    thread.send_typing_notification()
    thread.send_read_receipt(sent)
    receipts = list(thread.list_read_receipts())
    assert [r.chat_message_id for r in receipts] == [sent]
    thread.add_participants([ChatParticipant(identifier=users.new()[0]) for _ in range(20)])
    assert status_of(thread.send_typing_notification) == 400
    assert status_of(lambda: thread.send_read_receipt(sent)) == 400


def test_participants_page_with_skip(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    others = [ChatParticipant(identifier=users.new()[0]) for _ in range(6)]
    thread = chat.get_chat_thread_client(
        chat.create_chat_thread("t", thread_participants=others).chat_thread.id
    )
    pages = list(thread.list_participants(results_per_page=2).by_page())
    listed = [p.identifier.properties["id"] for page in pages for p in page]
    assert len(pages) >= 4 and len(listed) == len(set(listed)) == 7


def test_threads_list_pages_and_excludes_deleted_ones(users: ChatUsers) -> None:
    _, token = users.new()
    chat = users.client(token)
    made = [chat.create_chat_thread(f"t{i}").chat_thread.id for i in range(5)]
    chat.delete_chat_thread(made[0])
    listed = [t.id for page in chat.list_chat_threads(results_per_page=2).by_page() for t in page]
    assert listed == list(reversed(made[1:]))
    with pytest.raises(ResourceNotFoundError):
        chat.get_chat_thread_client(made[0]).get_properties()


@pytest.mark.anyio
async def test_async_client_covers_every_operation(users: ChatUsers) -> None:
    alice, token = users.new()
    bob, _ = users.new()
    async with users.async_client(token) as chat:
        created = await chat.create_chat_thread(
            "async", thread_participants=[ChatParticipant(identifier=bob)]
        )
        thread = users.async_thread_client(token, created.chat_thread.id)
        async with thread:
            sent = await thread.send_message("hello", sender_display_name="A")
            assert (await thread.get_message(sent.id)).content.message == "hello"
            await thread.update_message(sent.id, content="hello!")
            await thread.update_topic("async 2")
            assert (await thread.get_properties()).topic == "async 2"
            await thread.send_typing_notification()
            await thread.send_read_receipt(sent.id)
            assert [r.chat_message_id async for r in thread.list_read_receipts()] == [sent.id]
            # participantAdded, the creation's topicUpdated, hello, the second topicUpdated
            kinds = [m.type async for m in thread.list_messages()]
            assert kinds == [
                ChatMessageType.TOPIC_UPDATED,
                ChatMessageType.TEXT,
                ChatMessageType.TOPIC_UPDATED,
                ChatMessageType.PARTICIPANT_ADDED,
            ]
            carol, _ = users.new()
            await thread.add_participants([ChatParticipant(identifier=carol)])
            await thread.remove_participant(bob)
            members = {p.identifier.properties["id"] async for p in thread.list_participants()}
            assert members == {alice.properties["id"], carol.properties["id"]}
            await thread.delete_message(sent.id)
        assert created.chat_thread.id in [t.id async for t in chat.list_chat_threads()]
        await chat.delete_chat_thread(created.chat_thread.id)
