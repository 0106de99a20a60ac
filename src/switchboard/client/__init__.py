"""Python clients for Switchboard's own protocols (the ACS SDKs cover the REST APIs).

``ChatEvents`` yields a user's real-time chat events (docs/realtime.md) and reconnects with
its cursor by itself.
"""

from switchboard.client.chat_events import ChatEvents
from switchboard.client.session import (
    Backoff,
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
