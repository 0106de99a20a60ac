"""What recording needs from the rest of the node, as Protocols; app.py gives the real ones.

``RecorderLegs`` is the media node (a listen-only leg in a call running here);
``CallDirectory`` is calling (which calls run here, who a media participant is);
``CallConnections`` is Call Automation (a call connection's call); ``FileEventPublisher`` is
the events outbox; state callbacks go through automation's ``CallbackSink``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from switchboard.core.events import IntegrationEvent
from switchboard.media.recording_leg import PayloadHandler, RecordingLeg


class RecorderLegs(Protocol):
    async def add_recording_leg(
        self, call_id: str, participant_id: str, on_packet: PayloadHandler, *, video: bool
    ) -> RecordingLeg:
        """Raises a NotFoundError if the call does not run on this node."""
        ...


class CallDirectory(Protocol):
    def runs_here(self, call_id: str) -> bool: ...

    def raw_id(self, call_id: str, participant_id: str) -> str | None:
        """The identifier (raw id) of a media participant of a call running here."""
        ...


@dataclass(frozen=True, slots=True)
class ConnectedCall:
    call_id: str  # the SFU call (server:…, group:…, room:…)
    call_connection_id: str
    correlation_id: str


class CallConnections(Protocol):
    async def call_of(self, call_connection_id: str) -> ConnectedCall:
        """The running call of a call connection (4xx if unknown or over)."""
        ...


class FileEventPublisher(Protocol):
    async def publish(self, event: IntegrationEvent) -> None:
        """Written durably (the events outbox) before it returns."""
        ...
