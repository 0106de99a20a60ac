"""The trouter channel's sans-I/O parts: Socket.IO 0.9 packets, notification payloads as the
signaling SDK parses them, and a registration's acknowledged cursor."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.chat.domain_events import (
    ChatActor,
    ChatMessageFacts,
    ChatParticipant,
    MessageDeleted,
    MessageReceived,
    ParticipantsAdded,
    ReadReceiptReceived,
    ThreadCreated,
)
from switchboard.chat.trouter import socketio
from switchboard.chat.trouter.notifications import js_escape, payload_of
from switchboard.chat.trouter.registrations import Registration, TrouterRegistry
from switchboard.core.principal import Principal, PrincipalKind

packets = st.builds(
    socketio.Packet,
    st.sampled_from(list(socketio.PacketType)),
    st.text(),
    st.from_regex(r"[0-9]{0,4}", fullmatch=True),
    st.booleans(),
    st.from_regex(r"(/[a-z]{1,8})?", fullmatch=True),
).filter(lambda p: p.id or not p.ack_with_data)


@given(packets)
def test_every_packet_decodes_to_what_was_encoded(packet: socketio.Packet) -> None:
    assert socketio.decode(socketio.encode(packet)) == packet


@given(st.text())
def test_any_text_decodes_to_a_packet_or_a_packet_error(text: str) -> None:
    try:
        packet = socketio.decode(text)
    except socketio.PacketError:
        return
    assert socketio.decode(socketio.encode(packet)) == packet


def test_the_frames_the_signaling_client_sends_decode() -> None:
    ping = socketio.decode('5:3+::{"name":"ping"}')
    assert (ping.type, ping.id, ping.ack_with_data, ping.event()) == (
        socketio.PacketType.EVENT,
        "3",
        True,
        ("ping", []),
    )
    answer = socketio.decode('3:::{"id":1,"status":200}')
    assert json.loads(answer.data) == {"id": 1, "status": 200}
    assert socketio.decode("2::").type is socketio.PacketType.HEARTBEAT


def test_acks_and_events_are_framed_as_socket_io_0_9_expects() -> None:
    assert socketio.ack("7") == "6:::7"
    assert socketio.ack("7", {"status": 200}) == '6:::7+[{"status":200}]'
    assert socketio.decode_ack(socketio.decode('6:::7+[{"status":200}]')).args == [{"status": 200}]
    assert socketio.event("trouter.connected", {"ttl": 5}) == (
        '5:::{"name":"trouter.connected","args":[{"ttl":5}]}'
    )
    assert socketio.handshake("sid", 60, 60) == "sid:60:60:websocket"


def test_a_malformed_event_packet_is_a_packet_error() -> None:
    with pytest.raises(socketio.PacketError):
        socketio.decode("5:::not json").event()
    with pytest.raises(socketio.PacketError):
        socketio.decode("9::")


def _unescape(text: str) -> str:
    """JavaScript's unescape(): %uXXXX code units, then %XX bytes as Latin-1."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("%u", i):
            out.append(chr(int(text[i + 2 : i + 6], 16)))
            i += 6
        elif text[i] == "%":
            out.append(chr(int(text[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out).encode("utf-16", "surrogatepass").decode("utf-16")


@given(st.text())
def test_js_escape_is_undone_by_unescape(text: str) -> None:
    assert _unescape(js_escape(text)) == text


def test_js_escape_matches_javascript() -> None:
    # escape("a b%ü€😀@*_+-./") in any browser
    assert js_escape("a b%ü€😀@*_+-./") == "a%20b%25%FC%u20AC%uD83D%uDE00@*_+-./"
    assert unquote(js_escape("plain")) == "plain"


ALICE, BOB = "8:acs:r_alice", "8:acs:r_bob"
MESSAGE = ChatMessageFacts(
    "1700000000001", "text", ALICE, "Alice", 1_700_000_000_001, 1_700_000_000_001, "hi", {"k": "v"}
)


def test_a_received_message_carries_what_the_sdk_reads() -> None:
    payload = payload_of(MessageReceived("19:t@thread.v2", MESSAGE), BOB)
    assert payload["eventId"] == 200
    assert payload["groupId"] == "19:t@thread.v2"
    assert (payload["senderId"], payload["recipientMri"]) == (ALICE, BOB)
    assert (payload["messageBody"], payload["messageType"]) == ("hi", "Text")
    assert json.loads(payload["acsChatMessageMetadata"]) == {"k": "v"}
    assert payload["originalArrivalTime"] == "2023-11-14T22:13:20.001Z"


def test_a_deleted_message_has_its_delete_time_and_no_body() -> None:
    deleted = MessageDeleted("t", MESSAGE)
    payload = payload_of(deleted, BOB)
    assert payload["eventId"] == 248 and "messageBody" not in payload and payload["deletetime"]


def test_a_read_receipt_puts_its_time_in_the_consumption_horizon() -> None:
    payload = payload_of(ReadReceiptReceived("t", ALICE, "Alice", "42", 1_700_000_000_500), BOB)
    horizon = json.loads(payload["messageBody"])["consumptionhorizon"].split(";")
    assert payload["eventId"] == 246 and int(horizon[1]) == 1_700_000_000_500


def test_thread_events_escape_their_nested_json() -> None:
    by = ChatActor(ALICE, "Al%ice ü", 0)
    created = ThreadCreated(
        "t",
        by,
        1_700_000_000_000,
        "Topic ü",
        (ChatParticipant(ALICE, "Al%ice ü", 0), ChatParticipant(BOB, None, 0)),
        {"m": "1"},
    )
    payload = payload_of(created, BOB)
    assert payload["eventId"] == 257
    assert json.loads(_unescape(payload["createdBy"]))["displayName"] == "Al%ice ü"
    members = json.loads(_unescape(payload["members"]))
    assert [m["participantId"] for m in members] == [ALICE, BOB]
    properties = json.loads(_unescape(payload["properties"]))
    assert properties["topic"] == "Topic ü"
    assert json.loads(properties["acsChatThreadMetadata"]) == {"m": "1"}
    added = payload_of(ParticipantsAdded("t", ChatActor(ALICE), 1, (created.participants[1],)), BOB)
    assert json.loads(_unescape(added["addedBy"])) == {"participantId": ALICE, "displayName": ""}


def test_the_cursor_moves_only_over_acknowledged_events_in_a_row() -> None:
    registration = Registration("r", BOB, cursor=10, expires_at=0)
    for seq in (11, 12, 13):
        registration.sent(seq)
    registration.acknowledged(12)
    assert registration.cursor == 10  # 11 is not answered yet: a reconnect resends 11..13
    registration.acknowledged(11)
    assert registration.cursor == 12
    registration.acknowledged(13)
    assert registration.cursor == 13 and not registration.unacked


def test_a_new_registration_starts_at_its_allocation_and_a_known_one_keeps_its_cursor() -> None:
    class Socket:
        unbound = 0

        def unbind(self) -> None:
            self.unbound += 1

    registry = TrouterRegistry()
    bob = Principal(PrincipalKind.USER, BOB, frozenset({"chat"}))
    first = registry.allocate("token", bob, start_seq=5, now=0)
    old, new = Socket(), Socket()
    registration = registry.register("reg", first, old, now=0)
    assert registration.cursor == 5
    registration.sent(6)
    registration.acknowledged(6)
    second = registry.allocate("token", bob, start_seq=9, now=1)
    again = registry.register("reg", second, new, now=1)
    assert again is registration and again.cursor == 6 and old.unbound == 1
