"""Real-time chat events (docs/realtime.md) from a real server over TLS.

Changes are made with the official async chat SDK; events are received with
``switchboard.client.ChatEvents`` (or a bare WebSocket where the client would hide the point).
Each test uses fresh users, so ``cursor="0"`` replays exactly that test's events: no race
between connecting and the first change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import websockets
from azure.communication.chat import ChatParticipant
from azure.communication.identity import CommunicationUserIdentifier

from switchboard.chat.sql_store import SqlChatStore
from switchboard.client import ChatEvent, ChatEvents, ChatEventsClosed, ChatEventsRejected, Resync
from switchboard.storage import Database
from tests.integration.chat_clients import ChatUsers
from tests.integration.server import RunningServer, start_server

pytestmark = pytest.mark.anyio

QUICK_HEARTBEAT = 0.3  # seconds, for the dedicated heartbeat server


@pytest.fixture(scope="module")
def users(server: RunningServer) -> ChatUsers:
    return ChatUsers(server)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with a 0.3 s heartbeat (SQLite), for the heartbeat and resync tests."""
    env = {"SWITCHBOARD_CHAT_HEARTBEAT_SECONDS": str(QUICK_HEARTBEAT)}
    running = start_server(tmp_path_factory.mktemp("quick"), env=env)
    yield running
    assert running.stop() == 0, "\n".join(running.output)


@pytest.fixture(scope="module")
def quick_users(quick: RunningServer) -> ChatUsers:
    return ChatUsers(quick)


# ── helpers ───────────────────────────────────────────────────────────────────────────


def raw_id(user: CommunicationUserIdentifier) -> str:
    return str(user.properties["id"])


def listen(
    server: RunningServer, token: str | Callable[[], Awaitable[str]], **options: Any
) -> ChatEvents:
    options.setdefault("cursor", "0")
    return ChatEvents(server.endpoint, token, ssl=server.ca_path, **options)


async def take(events: ChatEvents, count: int, within: float = 10.0) -> list[ChatEvent]:
    got: list[ChatEvent] = []
    async with asyncio.timeout(within):
        while len(got) < count:
            item = await anext(events)
            assert isinstance(item, ChatEvent), item
            got.append(item)
    return got


async def expect(events: ChatEvents, *names: str) -> list[ChatEvent]:
    got = await take(events, len(names))
    assert [e.name for e in got] == list(names)
    return got


async def create_thread(
    users: ChatUsers, token: str, *members: CommunicationUserIdentifier, topic: str = "t"
) -> str:
    async with users.async_client(token) as chat:
        participants = [ChatParticipant(identifier=m, display_name="member") for m in members]
        result = await chat.create_chat_thread(topic, thread_participants=participants)
    return str(result.chat_thread.id)


async def send(users: ChatUsers, token: str, thread_id: str, *contents: str) -> list[str]:
    async with users.async_thread_client(token, thread_id) as thread:
        return [(await thread.send_message(c, sender_display_name="S")).id for c in contents]


def text_of(events: Sequence[ChatEvent]) -> list[str]:
    return [e.data["message"] for e in events if e.name == "chatMessageReceived"]


class Relay:
    """A TCP relay between client and server that a test can cut or silence (TLS passes)."""

    def __init__(self, upstream: RunningServer) -> None:
        self._host, port = upstream.endpoint.removeprefix("https://").rsplit(":", 1)
        self._port = int(port)
        self._server: asyncio.Server | None = None
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter, list[bool]]] = []
        self.connections = 0
        self.endpoint = ""

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._accept, self._host, 0)
        self.endpoint = f"https://{self._host}:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        self.sever()
        await self._server.wait_closed()

    def sever(self) -> None:
        """Cut every open connection at once, as a crash or a network failure would."""
        for client, upstream, _ in self._pairs:
            client.transport.abort()
            upstream.transport.abort()
        self._pairs.clear()

    def silence(self) -> None:
        """Open connections stay up but carry nothing more, in either direction."""
        for _, _, silent in self._pairs:
            silent[0] = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        silent = [False]
        self._pairs.append((writer, up_writer, silent))

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    if not silent[0]:
                        sink.write(data)
            sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


# ── an event for each operation ──────────────────────────────────────────────────────


async def test_thread_creation_reaches_every_participant(users: ChatUsers) -> None:
    alice, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob, topic="Plans")
    for user, token in ((alice, alice_token), (bob, bob_token)):
        async with listen(users.server, token) as events:
            [created] = await expect(events, "chatThreadCreated")
            assert created.thread_id == thread_id
            assert created.data["properties"] == {"topic": "Plans"}
            assert created.data["createdBy"]["id"]["rawId"] == raw_id(alice)
            assert created.data["recipient"]["rawId"] == raw_id(user)
            members = {p["id"]["rawId"] for p in created.data["participants"]}
            assert members == {raw_id(alice), raw_id(bob)}


async def test_a_sent_message_reaches_the_sender_and_the_others(users: ChatUsers) -> None:
    alice, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    async with listen(users.server, alice_token) as mine, listen(users.server, bob_token) as theirs:
        await expect(mine, "chatThreadCreated")
        await expect(theirs, "chatThreadCreated")
        [message_id] = await send(users, alice_token, thread_id, "hello")
        for events, user in ((mine, alice), (theirs, bob)):
            [received] = await expect(events, "chatMessageReceived")
            assert received.data["id"] == message_id
            assert received.data["message"] == "hello"
            assert received.data["senderDisplayName"] == "S"
            assert received.data["sender"]["rawId"] == raw_id(alice)
            assert received.data["recipient"]["rawId"] == raw_id(user)
            assert received.data["type"] == "text"


async def test_edits_and_deletions_are_announced(users: ChatUsers) -> None:
    _, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    async with listen(users.server, bob_token) as events:
        await expect(events, "chatThreadCreated")
        async with users.async_thread_client(alice_token, thread_id) as thread:
            sent = await thread.send_message("draft")
            await thread.update_message(sent.id, content="final")
            await thread.delete_message(sent.id)
        received, edited, deleted = await expect(
            events, "chatMessageReceived", "chatMessageEdited", "chatMessageDeleted"
        )
    assert received.data["id"] == edited.data["id"] == deleted.data["id"] == sent.id
    assert edited.data["message"] == "final" and "editedOn" in edited.data
    assert "deletedOn" in deleted.data and "message" not in deleted.data
    assert int(received.data["version"]) < int(edited.data["version"])


async def test_typing_reaches_the_others_but_not_the_typist(users: ChatUsers) -> None:
    alice, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    async with (
        listen(users.server, alice_token) as typist,
        listen(users.server, bob_token) as other,
    ):
        await expect(typist, "chatThreadCreated")
        await expect(other, "chatThreadCreated")
        async with users.async_thread_client(alice_token, thread_id) as thread:
            await thread.send_typing_notification(sender_display_name="Alice")
            await thread.send_message("after typing")
        [typing, _] = await expect(other, "typingIndicatorReceived", "chatMessageReceived")
        assert typing.cursor is None  # ephemeral: never stored, never replayed
        assert typing.data["sender"]["rawId"] == raw_id(alice)
        assert typing.data["senderDisplayName"] == "Alice"
        await expect(typist, "chatMessageReceived")  # and no typing before it


async def test_read_receipts_are_announced_to_the_thread(users: ChatUsers) -> None:
    _, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    [message_id] = await send(users, alice_token, thread_id, "read me")
    async with users.async_thread_client(bob_token, thread_id) as thread:
        await thread.send_read_receipt(message_id)
    async with listen(users.server, alice_token) as events:
        *_, receipt = await expect(
            events, "chatThreadCreated", "chatMessageReceived", "readReceiptReceived"
        )
    assert receipt.data["chatMessageId"] == message_id
    assert receipt.data["sender"]["rawId"] == raw_id(bob)


async def test_topic_updates_and_thread_deletion_are_announced(users: ChatUsers) -> None:
    alice, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    async with listen(users.server, bob_token) as events:
        await expect(events, "chatThreadCreated")
        async with users.async_thread_client(alice_token, thread_id) as thread:
            await thread.update_topic("New topic")
        async with users.async_client(alice_token) as chat:
            await chat.delete_chat_thread(thread_id)
        updated, deleted = await expect(events, "chatThreadPropertiesUpdated", "chatThreadDeleted")
    assert updated.data["properties"] == {"topic": "New topic"}
    assert updated.data["updatedBy"]["id"]["rawId"] == raw_id(alice)
    assert deleted.thread_id == thread_id
    assert deleted.data["deletedBy"]["id"]["rawId"] == raw_id(alice)


async def test_an_added_participant_gets_its_addition_and_what_follows(users: ChatUsers) -> None:
    alice, alice_token = users.new()
    bob, _ = users.new()
    carol, carol_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    await send(users, alice_token, thread_id, "before carol")
    async with users.async_thread_client(alice_token, thread_id) as thread:
        await thread.add_participants([ChatParticipant(identifier=carol, display_name="Carol")])
    await send(users, alice_token, thread_id, "after carol")
    async with listen(users.server, carol_token) as events:
        added, message = await expect(events, "participantsAdded", "chatMessageReceived")
    assert [p["id"]["rawId"] for p in added.data["participantsAdded"]] == [raw_id(carol)]
    assert added.data["addedBy"]["id"]["rawId"] == raw_id(alice)
    assert message.data["message"] == "after carol"
    async with listen(users.server, alice_token) as events:
        names = [e.name for e in await take(events, 4)]
    assert names == [
        "chatThreadCreated",
        "chatMessageReceived",
        "participantsAdded",
        "chatMessageReceived",
    ]


async def test_a_removed_user_gets_its_own_removal_and_then_nothing_from_the_thread(
    users: ChatUsers,
) -> None:
    _, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    async with listen(users.server, bob_token) as events:
        await expect(events, "chatThreadCreated")
        async with users.async_thread_client(alice_token, thread_id) as thread:
            await thread.remove_participant(bob)
            await thread.send_message("bob is gone")
            await thread.send_typing_notification()
        # A later event bob does get: anything from the old thread would have come first.
        other_thread = await create_thread(users, alice_token, bob)
        removed, created = await expect(events, "participantsRemoved", "chatThreadCreated")
    assert [p["id"]["rawId"] for p in removed.data["participantsRemoved"]] == [raw_id(bob)]
    assert removed.thread_id == thread_id and created.thread_id == other_thread
    # Replaying bob's whole history gives the same: the membership window is applied.
    async with listen(users.server, bob_token) as events:
        replayed = await take(events, 3)
    assert [(e.name, e.thread_id) for e in replayed] == [
        ("chatThreadCreated", thread_id),
        ("participantsRemoved", thread_id),
        ("chatThreadCreated", other_thread),
    ]


# ── cursors: reconnects lose nothing and repeat nothing ──────────────────────────────


async def test_a_connection_killed_mid_stream_loses_and_repeats_nothing(users: ChatUsers) -> None:
    _, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    sent = [f"m{i}" for i in range(60)]
    async with (
        Relay(users.server) as relay,
        ChatEvents(relay.endpoint, bob_token, cursor="0", ssl=users.server.ca_path) as ev,
    ):
        await expect(ev, "chatThreadCreated")
        async with asyncio.TaskGroup() as tasks:
            sending = tasks.create_task(send(users, alice_token, thread_id, *sent))
            received: list[ChatEvent] = []
            cut_mid_stream = []
            for cut_after in (10, 30):
                received += await take(ev, cut_after - len(received), within=30)
                relay.sever()  # abruptly, while messages are still being sent
                cut_mid_stream.append(not sending.done())
            received += await take(ev, len(sent) - len(received), within=30)
        assert relay.connections == 3
    assert cut_mid_stream[0]
    assert text_of(received) == sent
    seqs = [int(e.cursor or 0) for e in received]
    assert seqs == sorted(set(seqs))  # increasing: no duplicates, in stream order


async def test_reconnecting_with_the_cursor_replays_exactly_what_was_missed(
    users: ChatUsers,
) -> None:
    _, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    await send(users, alice_token, thread_id, "one", "two")
    async with listen(users.server, bob_token) as events:
        first = await take(events, 2)
        saved = events.cursor
    assert saved == first[-1].cursor
    await send(users, alice_token, thread_id, "three", "four")
    async with listen(users.server, bob_token, cursor=saved) as events:
        rest = await take(events, 3)
    assert text_of(first + rest) == ["one", "two", "three", "four"]


async def test_the_live_cursor_lets_a_client_that_got_nothing_resume(users: ChatUsers) -> None:
    _, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    async with listen(users.server, bob_token, cursor=None) as events:
        async with asyncio.timeout(10):
            while events.cursor is None:  # noqa: ASYNC110 (a property; set by the "live" frame)
                await asyncio.sleep(0.01)
        saved = events.cursor
    await send(users, alice_token, thread_id, "while away")
    async with listen(users.server, bob_token, cursor=saved) as events:
        [missed] = await expect(events, "chatMessageReceived")
    assert missed.data["message"] == "while away"


# ── tokens ────────────────────────────────────────────────────────────────────────────


async def test_a_revoked_tokens_socket_is_closed_with_4003_promptly(users: ChatUsers) -> None:
    _, alice_token = users.new()
    bob, bob_token = users.new()
    await create_thread(users, alice_token, bob)
    async with listen(users.server, bob_token) as events:
        await expect(events, "chatThreadCreated")
        await asyncio.to_thread(users.identity.revoke_tokens, bob)
        revoked_at = time.monotonic()
        with pytest.raises(ChatEventsClosed) as closed:
            async with asyncio.timeout(5):
                await anext(events)
    assert closed.value.code == 4003
    assert time.monotonic() - revoked_at < 1.0


async def test_an_invalid_token_is_closed_with_4001(users: ChatUsers) -> None:
    with pytest.raises(ChatEventsClosed) as closed:
        async with listen(users.server, "not-a-token") as events, asyncio.timeout(5):
            await anext(events)
    assert closed.value.code == 4001


async def test_a_wrong_endpoint_fails_at_once_instead_of_retrying(users: ChatUsers) -> None:
    _, token = users.new()
    wrong = ChatEvents(users.server.endpoint + "/nowhere", token, ssl=users.server.ca_path)
    with pytest.raises(ChatEventsRejected) as rejected:
        async with wrong as events, asyncio.timeout(2):
            await anext(events)
    assert 400 <= rejected.value.status < 500


async def test_a_refused_token_is_replaced_by_calling_the_token_provider(
    users: ChatUsers,
) -> None:
    _, alice_token = users.new()
    bob, bob_token = users.new()
    await create_thread(users, alice_token, bob)
    handed_out: list[str] = []

    async def fresh_token() -> str:
        handed_out.append("expired-token" if not handed_out else bob_token)
        return handed_out[-1]

    async with listen(users.server, fresh_token) as events:
        await expect(events, "chatThreadCreated")
    assert handed_out == ["expired-token", bob_token]


# ── heartbeats, dead peers and retention (a server with a 0.3 s heartbeat) ───────────


def websocket_url(server: RunningServer) -> str:
    return server.endpoint.replace("https://", "wss://") + "/chat/realtime"


async def test_a_client_that_never_pongs_is_closed_with_4008(quick_users: ChatUsers) -> None:
    _, token = quick_users.new()
    context = ssl.create_default_context(cafile=quick_users.server.ca_path)
    frames: list[str] = []
    async with websockets.connect(
        websocket_url(quick_users.server),
        additional_headers={"Authorization": f"Bearer {token}"},
        ssl=context,
        ping_interval=None,
    ) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(10 * QUICK_HEARTBEAT):
                while True:
                    frames.append(json.loads(await socket.recv())["type"])
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
    assert frames[:2] == ["hello", "live"] and "ping" in frames


async def test_a_client_stays_connected_through_a_burst_and_a_pause(
    quick_users: ChatUsers,
) -> None:
    # The server must ping every heartbeat even while events stream (it did not at first:
    # a client that answered every ping was closed with 4008 right after a long burst).
    _, alice_token = quick_users.new()
    bob, bob_token = quick_users.new()
    thread_id = await create_thread(quick_users, alice_token, bob)
    burst = [f"b{i}" for i in range(40)]
    async with Relay(quick_users.server) as relay:
        async with ChatEvents(
            relay.endpoint, bob_token, cursor="0", ssl=quick_users.server.ca_path
        ) as events:
            await expect(events, "chatThreadCreated")
            async with quick_users.async_thread_client(alice_token, thread_id) as thread:
                started = time.monotonic()
                for content in burst:
                    await thread.send_message(content)
                    await asyncio.sleep(0.03)
                assert time.monotonic() - started > 3 * QUICK_HEARTBEAT
                got = await take(events, len(burst))
                await asyncio.sleep(4 * QUICK_HEARTBEAT)  # quiet: pings and pongs only
                await thread.send_message("after the pause")
                got += await take(events, 1)
        assert relay.connections == 1
    assert text_of(got) == [*burst, "after the pause"]


async def test_a_silent_server_is_detected_and_the_client_reconnects(
    quick_users: ChatUsers,
) -> None:
    _, alice_token = quick_users.new()
    bob, bob_token = quick_users.new()
    thread_id = await create_thread(quick_users, alice_token, bob)
    async with Relay(quick_users.server) as relay:
        async with ChatEvents(
            relay.endpoint, bob_token, cursor="0", ssl=quick_users.server.ca_path
        ) as events:
            await expect(events, "chatThreadCreated")
            relay.silence()  # the TCP connection stays open; nothing gets through
            await send(quick_users, alice_token, thread_id, "sent into the void")
            [message] = await take(events, 1, within=4 * QUICK_HEARTBEAT + 2)
        assert relay.connections == 2
    assert message.data["message"] == "sent into the void"


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server for one test (SQLite); its data dir is ``own_server.data_dir``."""
    running = start_server(tmp_path / "own")
    yield running
    assert running.stop() == 0, "\n".join(running.output)


async def test_a_cursor_older_than_retention_gets_resync(own_server: RunningServer) -> None:
    # The node prunes past chat_event_retention_hours once a minute; rather than wait for
    # that, the test prunes through the store as that job does, on a server of its own.
    users = ChatUsers(own_server)
    _, alice_token = users.new()
    bob, bob_token = users.new()
    thread_id = await create_thread(users, alice_token, bob)
    async with listen(own_server, bob_token) as events:
        await expect(events, "chatThreadCreated")
        saved = events.cursor
    await send(users, alice_token, thread_id, "lost 1")
    await asyncio.sleep(0.01)
    cutoff_ms = int(time.time() * 1000)
    await asyncio.sleep(0.01)
    await send(users, alice_token, thread_id, "kept but not replayed")
    database = Database(f"sqlite+aiosqlite:///{own_server.data_dir / 'switchboard.db'}")
    try:
        assert await SqlChatStore(database).prune_events(cutoff_ms) >= 2
    finally:
        await database.stop()
    async with listen(own_server, bob_token, cursor=saved) as events:
        resync = await anext(events)
        assert isinstance(resync, Resync)
        assert int(resync.oldest_cursor) > int(saved or 0)
        assert events.cursor == resync.cursor
        await send(users, alice_token, thread_id, "after resync")
        [after] = await take(events, 1)
    assert after.data["message"] == "after resync"
    assert int(after.cursor or 0) > int(resync.cursor)


async def test_a_binary_frame_is_answered_with_close_1003_and_the_server_carries_on(
    users: ChatUsers,
) -> None:
    _, token = users.new()
    context = ssl.create_default_context(cafile=users.server.ca_path)
    async with websockets.connect(
        websocket_url(users.server),
        additional_headers={"Authorization": f"Bearer {token}"},
        ssl=context,
    ) as socket:
        assert json.loads(await socket.recv())["type"] == "hello"
        await socket.send(b"\x00\xff binary")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
    async with websockets.connect(  # the next client is served as usual
        websocket_url(users.server),
        additional_headers={"Authorization": f"Bearer {token}"},
        ssl=context,
    ) as again:
        assert json.loads(await again.recv())["type"] == "hello"
