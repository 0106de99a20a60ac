"""What calling needs from a voice carrier, and what it gives the app's side (Protocols).

A carrier's call, either way, is a handle: ``connect_media(leg)`` once answered (the carrier
plays the phone's audio into the leg and hears the call from it), ``hang_up()``. What the
far end does comes back through a ``PhoneCallListener``:

    outbound  dial(caller_id, number, listener) ─▶ answered | failed(reason) ; later ended()
              (ringing() when the far end rings: SIP 180/183, the simulator's phone rings;
              early_media() before the answer, if the listener takes it: connect_media)
    either    set_held(held), if the carrier can tell the phone (HoldablePhoneCall)
    inbound   carrier ─▶ InboundCallHandler.incoming(call) ─▶ (the listener for it) ;
              we answer(leg) or refuse(reason) ; the phone may hang up (ended) any time
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from switchboard.calling.models import EndReason
from switchboard.media.local_leg import LocalLeg

# What a phone hears (or the app, for a number it dialled): ACS's codes for the same cases.
NOT_IN_SERVICE = EndReason(404, 0, "The number is not in service.")
NO_ANSWER = EndReason(408, 0, "Nobody answered the call.")
FORBIDDEN = EndReason(403, 0, "The call was refused.")


class PhoneCallListener(Protocol):
    def answered(self) -> None:
        """The far end picked up (outbound calls only)."""
        ...

    def failed(self, reason: EndReason) -> None:
        """It never connected: busy 486, declined 603, not in service 404, no answer 408."""
        ...

    def ended(self) -> None:
        """The far end hung up (after answering, or while it rang for an inbound call)."""
        ...


@runtime_checkable
class RingingListener(PhoneCallListener, Protocol):
    def ringing(self) -> None:
        """The far end rings (a SIP 180 or 183): told once, before any answer; a carrier
        that answers without ringing first never says it."""
        ...


@runtime_checkable
class EarlyMediaListener(PhoneCallListener, Protocol):
    def early_media(self) -> None:
        """Before the answer the far end sends audio (ringback, an announcement: a 183 with
        SDP): ``connect_media`` now bridges it into the call until the answer."""
        ...


class PhoneCall(Protocol):
    def connect_media(self, leg: LocalLeg) -> None:
        """The call's audio: the phone speaks into ``leg`` and hears what the leg hears."""
        ...

    def hang_up(self) -> None:
        """End it from our side (cancels a call still ringing); no listener call follows."""
        ...


@runtime_checkable
class HoldablePhoneCall(PhoneCall, Protocol):
    def set_held(self, held: bool) -> None:
        """The app holds the phone (it hears only the app) or resumes it: the carrier is
        told (SIP: a re-INVITE with a=sendonly / a=sendrecv)."""
        ...


class InboundPhoneCall(PhoneCall, Protocol):
    @property
    def caller(self) -> str:
        """The calling number (E.164)."""
        ...

    @property
    def called(self) -> str:
        """The number dialled: one of ours, we hope (E.164)."""
        ...

    def answer(self, leg: LocalLeg) -> None:
        """Picked up, its media on ``leg``."""
        ...

    def refuse(self, reason: EndReason) -> None:
        """The phone hears busy, declined, no answer or not in service."""
        ...


class VoiceCarrier(Protocol):
    def dial(self, caller_id: str, number: str, listener: PhoneCallListener) -> PhoneCall: ...


class InboundCallHandler(Protocol):
    def incoming(self, call: InboundPhoneCall) -> PhoneCallListener:
        """A call for ``call.called``; returns who hears the phone hang up."""
        ...


class PhoneNumbers(Protocol):
    async def takes_calls(self, phone_number: str) -> bool:
        """A purchased number whose calling capability includes inbound."""
        ...


@dataclass(frozen=True, slots=True)
class IncomingPhoneCall:
    """A phone call ringing for one of our numbers, held as a pending server call."""

    pending_id: str
    server_call_id: str
    caller: str  # E.164
    called: str  # E.164, ours
    correlation_id: str
    owner_node: str


class IncomingCallSink(Protocol):
    async def incoming_call(self, call: IncomingPhoneCall) -> None:
        """Offer the call to the apps (automation: the IncomingCall event)."""
        ...
