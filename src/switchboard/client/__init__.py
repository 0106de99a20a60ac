"""Python clients for Switchboard's own protocols (the ACS SDKs cover the REST APIs).

``switchboard.client.chat``: ``ChatEvents`` yields a user's real-time chat events
(docs/realtime.md) and reconnects with its cursor by itself. ``switchboard.client.calling``:
the calling client.
"""

from switchboard.client.backoff import Backoff
from switchboard.client.chat import (
    ChatEvent,
    ChatEvents,
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
