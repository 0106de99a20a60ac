"""Frames of the chat real-time protocol ``switchboard.chat.v1`` (docs/realtime.md), typed.

    server ─▶ client: HelloFrame ─▶ (EventFrame … | ResyncFrame) ─▶ LiveFrame ─▶ EventFrame,
                      PingFrame …                                   (tag: ``type``)
    client ─▶ server: PongFrame (any frame proves the client alive)

One definition for the server (chat/realtime.py), the Python client (client/chat/session.py)
and, through tests/unit/test_chat_frames.py, the JSDoc ``ServerFrame`` of web/chat.js.
Event frames go out pre-encoded (event_schemas.frame_head + the recipient): the hot path
never builds an EventFrame, but what it sends decodes as one.
"""

from __future__ import annotations

from typing import Any

import msgspec

PROTOCOL = "switchboard.chat.v1"


class _Frame(msgspec.Struct, frozen=True, tag_field="type", rename="camel"):
    pass


class HelloFrame(_Frame, frozen=True, tag="hello"):
    protocol: str
    user_id: str
    heartbeat_seconds: float


class EventFrame(_Frame, frozen=True, tag="event"):
    """``cursor`` is None for ephemeral events (typing); ``data`` is ACS-shaped, with the
    ``recipient`` identifier of the connection's user."""

    name: str
    cursor: str | None
    data: dict[str, Any]


class ResyncFrame(_Frame, frozen=True, tag="resync"):
    oldest_cursor: str
    cursor: str


class LiveFrame(_Frame, frozen=True, tag="live"):
    cursor: str


class PingFrame(_Frame, frozen=True, tag="ping"):
    pass


class PongFrame(_Frame, frozen=True, tag="pong"):
    pass


ServerFrame = HelloFrame | EventFrame | ResyncFrame | LiveFrame | PingFrame
ClientFrame = PongFrame
