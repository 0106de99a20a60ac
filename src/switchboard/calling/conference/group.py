"""GroupCall: the rules of one group call or Room call on its owning node. Sans-I/O.

Members, the lobby, roles, mute state, dominant speakers and data-channel messages; every
method returns the frames to deliver (``Deliver``). Media (SDP, the SFU) is the
conference's business (``conference.py``); this class only says who may publish what.

    join ─▶ room member (role from the roster) or group call: Connected
         └▶ room, not on the roster: InLobby ─admit (Presenter)─▶ Connected
                                             └reject (Presenter)─▶ callEnded
    role change (rooms) ─▶ participantUpdated; no role any more ─▶ callEnded
    leave / device lost ─▶ participantsUpdated {removed}; the last one out ends the call

A member is a device (frames go to its address) or a leg (a phone on the carrier: media is
an in-process leg on the SFU, frames are not for it; its ``LegSink`` hears that it left).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from switchboard.calling.errors import (
    CallNotAllowedError,
    CallPermissionError,
    CallStateError,
    InvalidSignalError,
)
from switchboard.calling.models import Deliver, DeviceAddress, EndReason, participant_info
from switchboard.calling.signaling.frames import (
    CallEnded,
    CallUpdated,
    DataChannelMessage,
    DominantSpeakersChanged,
    LobbyParticipantsUpdated,
    ParticipantsUpdated,
    ParticipantUpdated,
    ServerFrame,
)
from switchboard.calling.signaling.protocol import ParticipantInfo
from switchboard.media.streams import MediaKind
from switchboard.rooms.models import Permission

ALL_PERMISSIONS = frozenset(Permission)
MAX_DATA_BYTES = 16 * 1024
MAX_RELAYED_DATA_BYTES = 44 * 1024  # base64 of an ACS data channel's 32 KB message
DOMINANT_SPEAKERS = 4  # how many of the most recent speakers dominantSpeakersChanged lists

LEFT = EndReason(0, 0, "Call ended successfully by local participant.")
LOBBY_REJECTED = EndReason(403, 5854, "A presenter did not let this participant in.")
ROSTER_REMOVED = EndReason(403, 5855, "The participant was removed from the room.")
ROOM_CLOSED = EndReason(403, 5856, "The room's validity window ended.")


class LegSink(Protocol):
    """A member that is not a device (a phone leg): told once that it is out of the call."""

    def left(self, reason: EndReason | None) -> None:
        """``reason``: what it is told (None: it left by itself, say nothing)."""
        ...


@runtime_checkable
class HoldableLegSink(LegSink, Protocol):
    """A leg whose far end is told when the app holds it (a phone over SIP: re-INVITE)."""

    def held(self, on_hold: bool) -> None: ...


class MemberState(StrEnum):
    IN_LOBBY = "InLobby"
    CONNECTED = "Connected"


@dataclass(slots=True)
class Member:
    id: str
    user_id: str
    device: DeviceAddress | None  # None for a leg (``leg``)
    role: str | None  # a room role ("Presenter", …); None in a plain group call
    permissions: frozenset[Permission]
    state: MemberState
    joined_at: float
    muted: bool = False
    video_on: bool = False
    screen_share_on: bool = False
    display_name: str = ""  # as the device gave it when joining; "" when none
    leg: LegSink | None = None  # a phone leg's owner (device is None)
    on_hold: bool = False  # held by a server call's app: hears and is heard by the app only
    shown: str | None = None  # its device is told this state, not Connected (a phone dialled)

    def info(self) -> ParticipantInfo:
        return participant_info(
            self.id,
            self.user_id,
            self.display_name,
            self.role or "Unknown",
            self.state.value,
            muted=self.muted,
            video_on=self.video_on,
            screen_share_on=self.screen_share_on,
        )

    def may_publish(self, kind: MediaKind, screen_share: bool) -> bool:
        if screen_share:
            return Permission.SHARE_SCREEN in self.permissions
        return Permission.PUBLISH_MEDIA in self.permissions


class GroupCall:
    def __init__(self, call_id: str, *, room_id: str | None, max_participants: int) -> None:
        self.call_id = call_id
        self.room_id = room_id
        self.max_participants = max_participants
        self.members: dict[str, Member] = {}
        self.speakers: list[str] = []
        self._ids = (f"p{n}" for n in itertools.count(1))

    # ── queries ──────────────────────────────────────────────────────────────────────

    @property
    def empty(self) -> bool:
        return not any(m.state is MemberState.CONNECTED for m in self.members.values())

    def member_of(self, device: DeviceAddress) -> Member:
        for member in self.members.values():
            if member.device == device:
                return member
        raise CallStateError("This device is not in the call.")

    def connected(self) -> list[Member]:
        return [m for m in self.members.values() if m.state is MemberState.CONNECTED]

    def lobby(self) -> list[Member]:
        return [m for m in self.members.values() if m.state is MemberState.IN_LOBBY]

    # ── membership ───────────────────────────────────────────────────────────────────

    def add(
        self,
        user_id: str,
        device: DeviceAddress,
        role: str | None,
        permissions: frozenset[Permission],
        *,
        lobby: bool,
        now: float,
        join_only: bool = False,
    ) -> Member:
        """A device joins (``Connected``, or ``InLobby`` when ``lobby``); see ``joined``.
        ``join_only`` (a voip.join token) may join a running group call, not start one;
        Room calls are the room's, so it may join those at any time."""
        if join_only and self.room_id is None and self.empty:
            raise CallNotAllowedError("A voip.join token can join a running call, not start one.")
        for member in self.members.values():
            if member.device == device:
                raise CallStateError("This device is already in the call.")
        if len(self.members) >= self.max_participants:
            raise CallFullError(
                f"The call has its maximum of {self.max_participants} participants."
            )
        state = MemberState.IN_LOBBY if lobby else MemberState.CONNECTED
        member = Member(next(self._ids), user_id, device, role, permissions, state, now)
        self.members[member.id] = member
        return member

    def add_leg(self, user_id: str, leg: LegSink, *, now: float, display_name: str) -> Member:
        """A leg joins, Connected at once; it may publish audio (see ``joined``)."""
        if len(self.members) >= self.max_participants:
            raise CallFullError(
                f"The call has its maximum of {self.max_participants} participants."
            )
        permissions = frozenset({Permission.JOIN, Permission.PUBLISH_MEDIA})
        member = Member(
            next(self._ids), user_id, None, None, permissions, MemberState.CONNECTED, now
        )
        member.leg = leg
        member.display_name = display_name
        self.members[member.id] = member
        return member

    def joined(self, member: Member) -> list[Deliver]:
        """Frames for a member that became Connected (or entered the lobby)."""
        if member.state is MemberState.IN_LOBBY:
            return [*self._updated(member), *self._lobby_changed()]
        out = self._updated(member)
        out += self._to_others(
            member, ParticipantsUpdated([member.info()], [], call_id=self.call_id)
        )
        if self.speakers:
            speakers = DominantSpeakersChanged(list(self.speakers), call_id=self.call_id)
            out += self._to(member, speakers)
        return out

    def remove(self, member_id: str, reason: EndReason | None) -> list[Deliver]:
        """A member leaves; ``reason`` (None: say nothing to it) goes to it in a callEnded."""
        member = self.members.pop(member_id, None)
        if member is None:
            return []
        out: list[Deliver] = []
        if reason is not None:
            out += self._to(member, CallEnded(reason.info(), call_id=self.call_id))
        if member.state is MemberState.IN_LOBBY:
            return out + self._lobby_changed()
        if member_id in self.speakers:
            self.speakers.remove(member_id)
        out += self._to_others(
            member, ParticipantsUpdated([], [member.info()], call_id=self.call_id)
        )
        return out

    def admit(self, by: Member, ids: list[str]) -> tuple[list[Member], list[Deliver]]:
        """Presenter lets lobby members in: them (now Connected), and the shorter lobby for
        every manager (the admitted joins the call separately, once its media is set up)."""
        self._require(by, Permission.MANAGE_PARTICIPANTS)
        admitted: list[Member] = []
        for member_id in ids:
            member = self.members.get(member_id)
            if member is None or member.state is not MemberState.IN_LOBBY:
                raise InvalidSignalError(f"'{member_id}' is not waiting in the lobby.")
            admitted.append(member)
        for member in admitted:
            member.state = MemberState.CONNECTED
            # Admitted guests join as Attendees: they may talk, not present or manage.
            member.role = "Attendee"
            member.permissions = frozenset({Permission.JOIN, Permission.PUBLISH_MEDIA})
        return admitted, self._lobby_changed()

    def reject(self, by: Member, ids: list[str]) -> list[Deliver]:
        self._require(by, Permission.MANAGE_PARTICIPANTS)
        out: list[Deliver] = []
        for member_id in ids:
            member = self.members.get(member_id)
            if member is None or member.state is not MemberState.IN_LOBBY:
                raise InvalidSignalError(f"'{member_id}' is not waiting in the lobby.")
            out += self.remove(member_id, LOBBY_REJECTED)
        return out

    # ── state shown to everyone ──────────────────────────────────────────────────────

    def media_state(
        self,
        member: Member,
        muted: bool | None,
        video_on: bool | None,
        screen_share_on: bool | None = None,
    ) -> list[Deliver]:
        if muted is not None:
            member.muted = muted
        if video_on is not None:
            member.video_on = video_on
        if screen_share_on is not None:
            member.screen_share_on = screen_share_on
        return self.participant_changed(member)

    def set_role(
        self, member: Member, role: str, permissions: frozenset[Permission]
    ) -> list[Deliver]:
        member.role = role
        member.permissions = permissions
        return [*self._updated(member), *self.participant_changed(member)]

    def participant_changed(self, member: Member) -> list[Deliver]:
        return self._to_others(member, ParticipantUpdated(member.info(), call_id=self.call_id))

    def speaker(self, member_id: str) -> list[Deliver]:
        if member_id not in self.members:
            return []
        if member_id in self.speakers:
            self.speakers.remove(member_id)
        self.speakers.insert(0, member_id)
        del self.speakers[DOMINANT_SPEAKERS:]
        changed = DominantSpeakersChanged(list(self.speakers), call_id=self.call_id)
        return [d for m in self.connected() for d in self._to(m, changed)]

    def data(
        self,
        sender: Member,
        to: list[str] | None,
        data: str,
        channel: tuple[int, int] | None = None,
    ) -> list[Deliver]:
        """A data-channel message to everyone else, or to the listed participants;
        ``channel`` (channel id, sequence number): an ACS data channel's, relayed."""
        if sender.state is not MemberState.CONNECTED:
            raise CallStateError("Only a connected participant can send messages.")
        limit = MAX_DATA_BYTES if channel is None else MAX_RELAYED_DATA_BYTES
        if len(data.encode()) > limit:
            raise InvalidSignalError(f"A message is at most {limit} bytes.")
        if to is None:
            targets = [m for m in self.connected() if m is not sender]
        else:
            unknown = [i for i in to if i not in self.members]
            if unknown:
                raise InvalidSignalError(f"No participant {', '.join(unknown)} in the call.")
            targets = [self.members[i] for i in dict.fromkeys(to) if i != sender.id]
            targets = [m for m in targets if m.state is MemberState.CONNECTED]
        channel_id, sequence = channel or (None, None)
        message = DataChannelMessage(
            sender.id, data, channel_id=channel_id, sequence_number=sequence, call_id=self.call_id
        )
        return [d for m in targets for d in self._to(m, message)]

    # ── helpers ──────────────────────────────────────────────────────────────────────

    def _require(self, member: Member, permission: Permission) -> None:
        if member.state is not MemberState.CONNECTED or permission not in member.permissions:
            raise CallPermissionError(f"The participant's role does not allow {permission.value}.")

    def _updated(self, member: Member) -> list[Deliver]:
        others = [m.info() for m in self.connected() if m is not member]
        updated = CallUpdated(
            member.shown or member.state.value,
            member.id,
            others if member.state is MemberState.CONNECTED else [],
            role=member.role or "Unknown",
            call_id=self.call_id,
        )
        return self._to(member, updated)

    def show(self, member: Member, state: str | None) -> list[Deliver]:
        """The device is told ``state`` (None: its real one, Connected) with the others."""
        member.shown = state
        return self._updated(member)

    def _lobby_changed(self) -> list[Deliver]:
        waiting = LobbyParticipantsUpdated([m.info() for m in self.lobby()], call_id=self.call_id)
        return [
            d
            for m in self.connected()
            if Permission.MANAGE_PARTICIPANTS in m.permissions
            for d in self._to(m, waiting)
        ]

    @staticmethod
    def _to(member: Member, frame: ServerFrame) -> list[Deliver]:
        """Frames are for devices only: a leg gets none."""
        return [] if member.device is None else [Deliver(member.device, frame)]

    def _to_others(self, member: Member, frame: ServerFrame) -> list[Deliver]:
        return [d for m in self.connected() if m is not member for d in self._to(m, frame)]


class CallFullError(CallStateError):
    code = "ParticipantLimitReached"
