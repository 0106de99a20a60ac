"""ServerCalls: the API Call Automation drives, on the node that owns the calls.

    create(call_id, listener) ─▶ ServerCallHost.create (claim, conference, SFU call)
        ─▶ MediaLegs.add_local_participant(call_id, "app") ─▶ the app's leg (returned)
    invite / cancel_invite / remove / mute / participants / terminate ─▶ ServerCallHost
    leave ─▶ leg.close() ─▶ ServerCallHost.leave (the call ends if nobody else is in)
    connect(group:/room: call id, listener) ─▶ watch a running call here, with a leg

The leg type comes from whoever provides ``MediaLegs`` (media's ``LocalMediaNode``); this
module only closes it. app.py builds ``ServerCalls(service.server_calls, media_node)``.
"""

from __future__ import annotations

import inspect
import uuid
from typing import Generic, Protocol, TypeVar

from switchboard.calling.conference.conference import SERVER_PREFIX
from switchboard.calling.server.host import APP_PARTICIPANT_ID, ServerCallHost
from switchboard.calling.server.models import (
    ServerCallEnded,
    ServerCallEvent,
    ServerCallListener,
    ServerCallParticipant,
)
from switchboard.calling.server.moves import MOVE_SECONDS, move_member
from switchboard.core.errors import BadRequestError
from switchboard.core.identifiers import CommunicationIdentifier


class ClosableLeg(Protocol):
    def close(self) -> object:
        """Remove the leg from its call (may be a coroutine function)."""
        ...


LegT = TypeVar("LegT", bound=ClosableLeg)
LegT_co = TypeVar("LegT_co", bound=ClosableLeg, covariant=True)


class MediaLegs(Protocol[LegT_co]):
    """Adds the app's in-process participant to a call on this node's SFU."""

    async def add_local_participant(self, call_id: str, participant_id: str) -> LegT_co: ...


def new_server_call_id() -> str:
    return f"{SERVER_PREFIX}{uuid.uuid4()}"


class ServerCalls(Generic[LegT]):
    def __init__(self, host: ServerCallHost, legs: MediaLegs[LegT]) -> None:
        self._host = host
        self._legs = legs
        self._open: dict[str, LegT] = {}  # call id → the app's leg in it

    async def create(self, call_id: str, listener: ServerCallListener) -> LegT:
        """A server call owned by this node, its conference on the SFU with the app's leg
        in it (the app is not listed as a participant)."""
        if not call_id.startswith(SERVER_PREFIX):
            raise BadRequestError(f"A server call id starts with '{SERVER_PREFIX}'.")
        await self._host.create(call_id, self._watching(call_id, listener))
        return await self._add_leg(call_id)

    async def connect(self, call_id: str, listener: ServerCallListener) -> LegT:
        """Attach the app to a running group or Room call that this node owns."""
        self._host.connect(call_id, self._watching(call_id, listener))
        return await self._add_leg(call_id)

    async def invite(
        self,
        call_id: str,
        user_raw_id: str,
        *,
        invitation_id: str,
        timeout_seconds: float,
        caller: CommunicationIdentifier | None,
        caller_display_name: str,
    ) -> None:
        self._host.invite(
            call_id,
            user_raw_id,
            invitation_id=invitation_id,
            timeout_seconds=timeout_seconds,
            caller=caller,
            caller_display_name=caller_display_name,
        )

    async def cancel_invite(self, call_id: str, invitation_id: str) -> None:
        self._host.cancel_invite(call_id, invitation_id)

    async def remove(self, call_id: str, raw_id: str) -> None:
        """The participant gets callEnded 0/5300 (removed); the app ParticipantRemoved."""
        await self._host.remove(call_id, raw_id)

    async def mute(self, call_id: str, raw_id: str) -> None:
        await self._host.mute(call_id, raw_id)

    async def hold(self, call_id: str, raw_id: str, held: bool) -> None:
        """Held: the member hears only the app (hold audio) and nobody hears it."""
        await self._host.hold(call_id, raw_id, held)

    async def move(
        self,
        call_id: str,
        from_call_id: str,
        raw_id: str,
        *,
        invitation_id: str,
        seconds: float = MOVE_SECONDS,
    ) -> None:
        """``raw_id`` leaves ``from_call_id`` (a server call of this node) and joins this one
        without ringing (calling/server/moves.py); InviteAccepted / InviteFailed follow (a
        device has ``seconds`` to rejoin)."""
        await move_member(
            self._host, call_id, from_call_id, raw_id, invitation_id=invitation_id, seconds=seconds
        )

    async def participants(self, call_id: str) -> list[ServerCallParticipant]:
        return self._host.participants(call_id)

    async def terminate(self, call_id: str) -> None:
        """Ends the call for everyone (devices: callEnded 0/0)."""
        await self._host.terminate(call_id)

    async def leave(self, call_id: str) -> None:
        leg = self._open.pop(call_id, None)
        if leg is not None:
            await _close(leg)
        await self._host.leave(call_id)

    async def _add_leg(self, call_id: str) -> LegT:
        try:
            leg = await self._legs.add_local_participant(call_id, APP_PARTICIPANT_ID)
        except BaseException:
            await self._host.leave(call_id)
            raise
        self._open[call_id] = leg
        return leg

    def _watching(self, call_id: str, listener: ServerCallListener) -> ServerCallListener:
        def watch(event: ServerCallEvent) -> None:
            if isinstance(event, ServerCallEnded):
                self._open.pop(call_id, None)  # the node's end_call removed it
            listener(event)

        return watch


async def _close(leg: ClosableLeg) -> None:
    result = leg.close()
    if inspect.isawaitable(result):
        await result
