"""The sans-I/O core of ``switchboard.client.ChatEvents``: frames in, events and pongs out."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from switchboard.client import Backoff, ChatEvent, ProtocolViolation, Resync
from switchboard.client.chat.session import PONG, EventSession, realtime_url


def frame(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def hello(heartbeat: float = 10.0) -> str:
    return frame(
        "hello", protocol="switchboard.chat.v1", userId="8:acs:u", heartbeatSeconds=heartbeat
    )


def event(cursor: int | None, name: str = "chatMessageReceived", **data: Any) -> str:
    return frame(
        "event",
        name=name,
        cursor=None if cursor is None else str(cursor),
        data={"threadId": "19:t@thread.v2", **data},
    )


def greeted(cursor: str | None = None, **options: Any) -> EventSession:
    session = EventSession(cursor, **options)
    session.connection_made(0.0)
    session.receive(hello(), 0.0)
    return session


def drain(session: EventSession) -> list[ChatEvent | Resync]:
    items: list[ChatEvent | Resync] = []
    while (item := session.next_event()) is not None:
        items.append(item)
    return items


def cursors(items: list[ChatEvent | Resync]) -> list[str | None]:
    return [item.cursor for item in items]


def test_hello_gives_the_user_and_the_heartbeat() -> None:
    session = greeted()
    assert session.user_id == "8:acs:u"
    assert session.heartbeat == 10.0
    assert session.greeted and not session.live


def test_anything_before_the_hello_is_a_protocol_violation() -> None:
    session = EventSession()
    session.connection_made(0.0)
    with pytest.raises(ProtocolViolation, match="hello"):
        session.receive(event(1), 0.0)


def test_another_protocol_is_refused() -> None:
    session = EventSession()
    session.connection_made(0.0)
    with pytest.raises(ProtocolViolation, match="protocol"):
        session.receive(frame("hello", protocol="other.v9", heartbeatSeconds=1), 0.0)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"no": "type"}',
        frame("event", name="x", cursor="1"),  # no data
        frame("event", name="x", cursor="-1", data={}),
        frame("event", name="x", cursor="1e3", data={}),
        frame("live", cursor=None),
        frame("resync", cursor="5"),
    ],
)
def test_unreadable_frames_are_protocol_violations(text: str) -> None:
    with pytest.raises(ProtocolViolation):
        greeted().receive(text, 1.0)


def test_unknown_frame_types_are_ignored() -> None:
    session = greeted()
    session.receive(frame("somethingNew", x=1), 1.0)
    assert drain(session) == []


def test_events_come_out_in_order_with_their_cursor_and_data() -> None:
    session = greeted()
    session.receive(event(3, message="a"), 1.0)
    session.receive(event(7, "chatMessageEdited", message="b"), 1.0)
    first, second = drain(session)
    assert first == ChatEvent(
        "chatMessageReceived", "3", {"threadId": "19:t@thread.v2", "message": "a"}
    )
    assert isinstance(second, ChatEvent) and second.name == "chatMessageEdited"
    assert second.cursor == "7" and second.thread_id == "19:t@thread.v2"
    assert session.cursor == "7"


def test_chat_event_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ChatEvent("x", "1", {}).name = "y"  # type: ignore[misc]  # proving it is frozen


def test_replayed_events_at_or_below_the_cursor_are_dropped() -> None:
    session = greeted()
    for seq in (1, 2, 3):
        session.receive(event(seq), 1.0)
    assert cursors(drain(session)) == ["1", "2", "3"]
    # Reconnected with cursor 3, but a server (or a race) sends 2 and 3 again.
    session.connection_made(2.0)
    session.receive(hello(), 2.0)
    for seq in (2, 3, 4, 3, 5):
        session.receive(event(seq), 2.0)
    assert cursors(drain(session)) == ["4", "5"]


def test_a_starting_cursor_drops_everything_up_to_it() -> None:
    session = greeted("10")
    assert session.cursor == session.resume_cursor == "10"
    session.receive(event(9), 1.0)
    session.receive(event(10), 1.0)
    session.receive(event(11), 1.0)
    assert cursors(drain(session)) == ["11"]


def test_the_resume_cursor_runs_ahead_of_what_the_consumer_has_taken() -> None:
    session = greeted()
    session.receive(event(1), 1.0)
    session.receive(event(2), 1.0)
    assert session.resume_cursor == "2"  # a reconnect asks only for what we do not hold
    assert session.cursor is None  # nothing handed out yet
    assert session.pending == 2
    session.next_event()
    assert session.cursor == "1"


def test_ephemeral_events_pass_through_without_moving_the_cursor() -> None:
    session = greeted()
    session.receive(event(4), 1.0)
    session.receive(event(None, "typingIndicatorReceived"), 1.0)
    session.receive(event(None, "typingIndicatorReceived"), 1.0)
    items = drain(session)
    assert [(i.name if isinstance(i, ChatEvent) else "", i.cursor) for i in items] == [
        ("chatMessageReceived", "4"),
        ("typingIndicatorReceived", None),
        ("typingIndicatorReceived", None),
    ]
    assert session.cursor == session.resume_cursor == "4"


def test_resync_is_handed_out_and_moves_the_cursor_to_the_servers_position() -> None:
    session = greeted("2")
    session.receive(frame("resync", oldestCursor="40", cursor="57"), 1.0)
    session.receive(frame("live", cursor="57"), 1.0)
    session.receive(event(58), 1.0)
    items = drain(session)
    assert items == [Resync("40", "57"), items[1]]
    assert items[1].cursor == "58"
    assert session.cursor == "58"


def test_live_cursor_lets_a_client_that_received_nothing_resume_from_there() -> None:
    session = greeted()
    assert session.cursor is None
    session.receive(frame("live", cursor="120"), 1.0)
    assert session.live
    assert session.cursor == session.resume_cursor == "120"


def test_live_cursor_waits_behind_events_not_yet_consumed() -> None:
    session = greeted("5")
    session.receive(event(6), 1.0)
    session.receive(frame("live", cursor="9"), 1.0)  # 7–9 were for other users
    assert session.resume_cursor == "9"
    assert session.cursor == "5"
    assert cursors(drain(session)) == ["6"]
    assert session.cursor == "9"


def test_live_cursor_never_moves_backwards() -> None:
    session = greeted("30")
    session.receive(frame("live", cursor="12"), 1.0)
    assert session.cursor == session.resume_cursor == "30"


def test_each_ping_is_answered_with_a_pong() -> None:
    session = greeted()
    session.receive(frame("ping"), 1.0)
    session.receive(frame("ping"), 1.1)
    assert session.data_to_send() == [PONG, PONG]
    assert session.data_to_send() == []


def test_a_new_connection_forgets_unsent_pongs_and_needs_a_new_hello() -> None:
    session = greeted()
    session.receive(frame("ping"), 1.0)
    session.connection_made(2.0)
    assert session.data_to_send() == []
    assert not session.greeted


def test_the_client_speaks_only_to_answer_pings() -> None:
    session = greeted()  # heartbeat 10 s, connected at 0
    for t in range(1, 30):
        session.receive(event(t), float(t))
    assert session.handle_timer(30.0) is False
    assert session.data_to_send() == []


def test_a_server_silent_for_two_heartbeats_is_dead() -> None:
    session = greeted()
    session.receive(frame("ping"), 5.0)
    assert session.data_to_send() == [PONG]
    assert session.next_timer() == 25.0  # 5 + 2 × 10
    assert session.handle_timer(24.9) is False
    assert session.handle_timer(25.0) is True


def test_heartbeat_grace_overrides_the_dead_server_timeout() -> None:
    session = greeted(heartbeat_grace=3.0)
    assert session.next_timer() == 3.0
    assert session.handle_timer(3.0) is True


def test_no_hello_within_the_timeout_means_dead() -> None:
    session = EventSession(hello_timeout=4.0)
    session.connection_made(100.0)
    assert session.next_timer() == 104.0
    assert session.handle_timer(103.0) is False
    assert session.handle_timer(104.0) is True


def test_a_malformed_starting_cursor_is_refused() -> None:
    with pytest.raises(ValueError):
        EventSession("abc")


@pytest.mark.parametrize(
    ("endpoint", "cursor", "url"),
    [
        ("https://h:8443", None, "wss://h:8443/chat/realtime"),
        ("https://h:8443/", "42", "wss://h:8443/chat/realtime?cursor=42"),
        ("http://h/base/", "0", "ws://h/base/chat/realtime?cursor=0"),
        ("wss://h/chat/realtime", None, "wss://h/chat/realtime"),
    ],
)
def test_realtime_url(endpoint: str, cursor: str | None, url: str) -> None:
    assert realtime_url(endpoint, cursor) == url


@pytest.mark.parametrize("endpoint", ["ftp://h", "h:8443", "https://"])
def test_realtime_url_refuses_other_endpoints(endpoint: str) -> None:
    with pytest.raises(ValueError):
        realtime_url(endpoint, None)


def test_backoff_doubles_up_to_the_maximum_with_jitter() -> None:
    low = Backoff(0.1, 1.0, rand=lambda: 0.0)
    assert [round(low.next_delay(), 3) for _ in range(6)] == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    high = Backoff(0.1, 1.0, rand=lambda: 1.0)
    assert [round(high.next_delay(), 3) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    high.reset()
    assert high.next_delay() == pytest.approx(0.1)
