"""The chat real-time client: ``ChatEvents`` (asyncio) over ``EventSession`` (sans-I/O)."""

from switchboard.client.backoff import Backoff
from switchboard.client.chat.events import ChatEvents
from switchboard.client.chat.session import (
    ChatEvent,
    ChatEventsClosed,
    ChatEventsError,
    ChatEventsRejected,
    ProtocolViolation,
    Resync,
)

__all__ = [
    "Backoff",
    "ChatEvent",
    "ChatEvents",
    "ChatEventsClosed",
    "ChatEventsError",
    "ChatEventsRejected",
    "ProtocolViolation",
    "Resync",
]
