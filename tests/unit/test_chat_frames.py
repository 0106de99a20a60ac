"""The chat real-time protocol has one definition: chat/frames.py (frames) and
chat/event_schemas.py (event data). The server's pre-encoded event frames decode as those
frames, and the JSDoc typedefs of web/chat.js declare the same frames and event keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import msgspec
import pytest

import switchboard
from switchboard.chat.domain_events import (
    ChatActor,
    ChatEvent,
    ChatEventData,
    ChatMessageFacts,
    ChatParticipant,
    MessageDeleted,
    MessageEdited,
    MessageReceived,
    ParticipantsAdded,
    ParticipantsRemoved,
    ReadReceiptReceived,
    ThreadCreated,
    ThreadDeleted,
    ThreadPropertiesUpdated,
    TypingIndicatorReceived,
)
from switchboard.chat.event_schemas import frame_head, wire_data
from switchboard.chat.frames import EventFrame, ServerFrame
from switchboard.http.identifiers import user_identifier_json

CHAT_JS = Path(switchboard.__file__).parent / "web" / "chat.js"
ALICE = "8:acs:00000000-0000-0000-0000-000000000001_00000001-0000-0000-0000-000000000001"
BOB = "8:acs:00000000-0000-0000-0000-000000000001_00000001-0000-0000-0000-000000000002"
T = "19:t@thread.v2"
FACTS = ChatMessageFacts("5", "text", ALICE, "Alice", 1_000, 2_000, "hi", {}, 2_000, 3_000)
MEMBERS = (ChatParticipant(ALICE, None, 0), ChatParticipant(BOB, "Bob", 0))

# One event of every kind, rendered by the server as it sends them.
SAMPLES: dict[str, ChatEventData] = {
    "ChatMessageReceivedEvent": MessageReceived(T, FACTS),
    "ChatMessageEditedEvent": MessageEdited(T, FACTS),
    "ChatMessageDeletedEvent": MessageDeleted(T, FACTS),
    "TypingIndicatorReceivedEvent": TypingIndicatorReceived(T, ALICE, None, 1_000),
    "ReadReceiptReceivedEvent": ReadReceiptReceived(T, BOB, "Bob", "5", 1_000),
    "ChatThreadCreatedEvent": ThreadCreated(T, ChatActor(ALICE, None, 0), 1, "t", MEMBERS),
    "ChatThreadPropertiesUpdatedEvent": ThreadPropertiesUpdated(T, ChatActor(BOB), 1, "u"),
    "ChatThreadDeletedEvent": ThreadDeleted(T, ChatActor(ALICE, None, 0), 1),
    "ParticipantsAddedEvent": ParticipantsAdded(T, ChatActor(ALICE, None, 0), 1, MEMBERS[1:]),
    "ParticipantsRemovedEvent": ParticipantsRemoved(T, ChatActor(ALICE, None, 0), 1, MEMBERS[1:]),
}


# ---- a reader for the JSDoc typedefs of web/chat.js ----------------------------------------


def typedefs() -> dict[str, str]:
    """Every ``@typedef {expr} Name`` of chat.js, by name (comment stars removed)."""
    text = " ".join(
        re.sub(r"^\s*(/\*\*|\*/|\*)?", "", line) for line in CHAT_JS.read_text().splitlines()
    )
    found: dict[str, str] = {}
    for start in (m.end() for m in re.finditer(r"@typedef \{", text)):
        depth, end = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        name = re.match(r"\s*(\w+)", text[end:])
        assert name is not None
        found[name.group(1)] = text[start : end - 1].strip()
    return found


def split_top(expr: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in expr:
        depth += {"{": 1, "(": 1, "<": 1, "}": -1, ")": -1, ">": -1}.get(char, 0)
        if char == separator and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()] if current.strip() else parts


def object_fields(expr: str, defs: dict[str, str]) -> dict[str, tuple[bool, str]]:
    """``A & { k?: T }`` ─▶ {k: (optional, T)}, references resolved."""
    fields: dict[str, tuple[bool, str]] = {}
    for part in split_top(expr, "&"):
        if part.startswith("{"):
            for field in split_top(part[1:-1], ","):
                key, kind = field.split(":", 1)
                fields[key.strip().rstrip("?")] = (key.strip().endswith("?"), kind.strip())
        else:
            fields.update(object_fields(defs[part], defs))
    return fields


def ts_type(info: msgspec.inspect.Type) -> str:
    if isinstance(info, msgspec.inspect.StrType):
        return "string"
    if isinstance(info, msgspec.inspect.FloatType | msgspec.inspect.IntType):
        return "number"
    if isinstance(info, msgspec.inspect.NoneType):
        return "null"
    if isinstance(info, msgspec.inspect.DictType):
        return "Record<string, unknown>"
    if isinstance(info, msgspec.inspect.UnionType):
        return " | ".join(ts_type(t) for t in info.types)
    raise AssertionError(f"no TypeScript spelling for {info}")


# ---- the tests ---------------------------------------------------------------------------


def test_the_browser_client_declares_exactly_the_server_frames() -> None:
    declared: dict[str, dict[str, str]] = {}
    for variant in split_top(typedefs()["ServerFrame"], "|"):
        fields = {k: kind for k, (_, kind) in object_fields(variant, {}).items()}
        tag = fields.pop("type").strip('"')
        declared[tag] = fields

    defined: dict[str, dict[str, str]] = {}
    for frame in get_args(ServerFrame):
        info = msgspec.inspect.type_info(frame)
        assert isinstance(info, msgspec.inspect.StructType) and isinstance(info.tag, str)
        defined[info.tag] = {f.encode_name: ts_type(f.type) for f in info.fields}

    assert declared == defined


@pytest.mark.parametrize("typedef", sorted(SAMPLES))
def test_the_browser_event_typedefs_name_the_keys_the_server_sends(typedef: str) -> None:
    defs = typedefs()
    declared = object_fields(defs[typedef], defs)
    sent = {**wire_data(SAMPLES[typedef]), "recipient": user_identifier_json(BOB)}

    required = {key for key, (optional, _) in declared.items() if not optional}
    assert required <= set(sent), f"{typedef}: declared but not sent"
    assert set(sent) <= set(declared), f"{typedef}: sent but not declared"


@pytest.mark.parametrize("seq", [None, 42])
def test_a_pre_encoded_event_frame_decodes_as_an_event_frame(seq: int | None) -> None:
    data = SAMPLES["ChatMessageEditedEvent"]
    event = ChatEvent.made(seq, data, (BOB,))
    recipient = msgspec.json.encode(user_identifier_json(BOB))

    sent = frame_head(event) + recipient + b"}}"

    frame = msgspec.json.decode(sent, type=ServerFrame)
    assert frame == EventFrame(
        "chatMessageEdited",
        None if seq is None else str(seq),
        {**wire_data(data), "recipient": user_identifier_json(BOB)},
    )
