"""The bus message that carries a committed chat event to every node's hub."""

from __future__ import annotations

import msgspec

CHAT_EVENTS = "chat.events"


class BusEvent(msgspec.Struct, array_like=True):
    seq: int | None
    data: msgspec.Raw  # the event's tagged ChatEventData, as encoded once (ChatEvent.encoded)
    recipients: list[str]
