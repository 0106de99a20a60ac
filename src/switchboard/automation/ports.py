"""What Call Automation needs from the rest of the node, as Protocols.

``CallPlane`` is the call side (calling's server calls behind an adapter, call_plane.py);
``CallbackSink`` queues callbacks durably (callbacks.py); ``CallerIdDirectory`` says which
numbers may be a caller id (numbers). Tests give fakes; app.py gives the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from switchboard.automation.models import Participant
from switchboard.core.identifiers import CommunicationIdentifier
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.models import MediaEvent, Play, PlaySource, Recognize


@dataclass(frozen=True, slots=True)
class EndReason:
    code: int
    sub_code: int
    message: str = ""


# --- what the call plane tells the service, in order per call --------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantsChanged:
    participants: tuple[Participant, ...]


@dataclass(frozen=True, slots=True)
class InviteAccepted:
    invitation_id: str
    participant: Participant


@dataclass(frozen=True, slots=True)
class InviteFailed:
    invitation_id: str
    reason: EndReason


@dataclass(frozen=True, slots=True)
class InviteCanceled:
    invitation_id: str


@dataclass(frozen=True, slots=True)
class ParticipantRemoved:
    participant: Participant


@dataclass(frozen=True, slots=True)
class CallPlaneEnded:
    reason: EndReason


CallPlaneEvent = (
    ParticipantsChanged
    | InviteAccepted
    | InviteFailed
    | InviteCanceled
    | ParticipantRemoved
    | CallPlaneEnded
    | MediaEvent  # from the app's media endpoint in the call
)
CallPlaneListener = Callable[[CallPlaneEvent], None]


class CallMedia(Protocol):
    """The app's media endpoint in one call. Participants are named by raw id; every
    operation reports its outcome as a MediaEvent through the call's listener."""

    def play(self, play: Play) -> None: ...

    def recognize(self, recognize: Recognize) -> None: ...

    def cancel_all(self) -> None:
        """Cancel what plays, waits to play and listens (PlayCanceled, RecognizeCanceled)."""
        ...

    def start_continuous_dtmf(self, target: str) -> None: ...

    def stop_continuous_dtmf(self, target: str) -> None: ...

    def send_dtmf(self, operation_id: str, tones: Sequence[DtmfTone], target: str) -> None: ...

    def hold(self, target: str, music: PlaySource | None) -> None: ...

    def unhold(self, target: str) -> None: ...

    def attach_stream(self, sink: MediaStreamSink | None) -> None:
        """Media streaming and transcription hear the call and play into it (None: stop)."""
        ...


class MediaStreamSink(Protocol):
    """What media streaming and transcription need of the app's endpoint in a call."""

    def heard(self, raw_id: str, frame: bytes) -> None:
        """20 ms of one participant's audio (48 kHz mono s16le), as the endpoint decoded it."""
        ...

    def tick(self, playing: bool) -> bytes | None:
        """Every 20 ms: a 48 kHz frame to play into the call, or None. ``playing``: a play
        operation has the endpoint's voice this tick (the frame would not be heard)."""
        ...


class CallPlane(Protocol):
    """Server calls: a conference on this node's media server with the app's endpoint in it."""

    async def create(self, server_call_id: str, listener: CallPlaneListener) -> CallMedia: ...

    async def connect(self, server_call_id: str, listener: CallPlaneListener) -> CallMedia:
        """Attach the app to a running call (group:, room: or server: id)."""
        ...

    async def answer(self, pending_id: str, listener: CallPlaneListener) -> CallMedia:
        """Take a ringing incoming call: the caller and the app's endpoint are connected."""
        ...

    async def reject(self, pending_id: str, reason: str) -> None:
        """Refuse a ringing incoming call (reason: none, busy, forbidden)."""
        ...

    async def redirect(self, pending_id: str, target: CommunicationIdentifier) -> None:
        """Ring ``target`` instead; the app is out of the call."""
        ...

    async def invite(
        self,
        server_call_id: str,
        target: CommunicationIdentifier,
        *,
        invitation_id: str,
        timeout_seconds: float,
        caller: CommunicationIdentifier | None,
        caller_display_name: str,
        caller_id_number: str | None = None,
    ) -> None:
        """``caller_id_number``: what a phone target sees (a purchased number, E.164)."""
        ...

    async def cancel_invite(self, server_call_id: str, invitation_id: str) -> None: ...

    async def remove(self, server_call_id: str, raw_id: str) -> None: ...

    async def mute(self, server_call_id: str, raw_id: str) -> None: ...

    async def hold(self, server_call_id: str, raw_id: str, held: bool) -> None:
        """Held: the participant hears only the app's endpoint (hold audio); nobody hears it."""
        ...

    async def move(
        self, server_call_id: str, from_server_call_id: str, raw_id: str, *, invitation_id: str
    ) -> None:
        """The participant leaves ``from_server_call_id`` and joins this call without ringing;
        the outcome comes as InviteAccepted / InviteFailed of ``invitation_id`` (this call's)."""
        ...

    async def participants(self, server_call_id: str) -> Sequence[Participant]: ...

    async def leave(self, server_call_id: str) -> None: ...

    async def terminate(self, server_call_id: str) -> None: ...


class CallbackSink(Protocol):
    """Durable, ordered per call connection; ``enqueue`` returns once the events are stored."""

    async def enqueue(
        self, call_connection_id: str, url: str, events: Sequence[CallbackData]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class CallbackData:
    """One mid-call event before its CloudEvent envelope: the type name (``CallConnected``)
    and its ``data`` beyond the common fields (camelCase, rendered by event_schemas.py)."""

    type: str
    call_connection_id: str
    server_call_id: str
    correlation_id: str
    operation_context: str | None
    result: EndReason | None
    data: dict[str, object]


class CallerIdDirectory(Protocol):
    async def may_call_from(self, phone_number: str) -> bool:
        """A purchased number with outbound calling."""
        ...


class UrlGuard(Protocol):
    async def check_callback_uri(self, url: str) -> None:
        """Raise ``InvalidCallbackUriError`` for a URL we will not call (SSRF guard)."""
        ...
