"""The bus message that carries a committed chat event to every node's hub."""

from __future__ import annotations

from typing import Any

import msgspec

CHAT_EVENTS = "chat.events"


class BusEvent(msgspec.Struct, array_like=True):
    seq: int | None
    thread_id: str
    name: str
    data: dict[str, Any]
    recipients: list[str]
