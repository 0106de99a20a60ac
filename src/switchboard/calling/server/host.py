"""ServerCallHost: the server calls of this node (their owner), and what reaches them.

    app ─create─▶ Placement claim ("server:<uuid>", this node) ─▶ ConferenceHost.open ─▶ the
        call on the SFU (the app's leg joins it, calls.py) ─▶ watched by a ServerCall
    app ─invite─▶ Invitation: ring the user's devices here (ring_here) and on every other
        node (router.invite); nodes answer Present ─▶ incomingCall {conference: true}
    device ─accept{offer}─▶ (router) apply ─▶ Invitation.accept ─▶ the conference joins it as
        joinGroupCall would ─▶ member_joined ─▶ InviteAccepted, ParticipantsChanged
    device ─reject/hangUp while ringing─▶ InviteFailed; timers ─▶ InviteFailed 487/10004
    members' requests (sdp, mediaState, hangUp…) ─▶ ConferenceHost as for any conference
    the conference ends (last member out, terminate) ─▶ pending invitations canceled,
        ServerCallEnded

``connect`` watches a running group or Room call of this node the same way (no invitations
needed). Phones (calling/pstn/) are invited through the carrier, not the router: their
``PhoneInvite`` is kept here (cancel, the call's end), their leg joins with ``join_leg``
and ``member_joined`` reports it as the invitation accepted. Every change is one event-loop
step or one conference job: no locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from switchboard.calling.conference.conference import Conference, Joiner
from switchboard.calling.conference.group import LegSink, Member
from switchboard.calling.conference.host import ConferenceHost
from switchboard.calling.errors import (
    CallNotFoundError,
    CallParticipantNotFoundError,
    CallStateError,
)
from switchboard.calling.models import Deliver, DeviceAddress, EndReason, participant_info
from switchboard.calling.routing.messages import Command, Invite, Lost, Present
from switchboard.calling.routing.router import CallRouter
from switchboard.calling.server.invitation import Invitation, InvitationRinger, InvitationState
from switchboard.calling.server.models import (
    APP_LEFT,
    CALL_OVER,
    REMOVED_BY_APP,
    TERMINATED,
    InviteAccepted,
    InviteCanceled,
    InviteFailed,
    ParticipantRemoved,
    ParticipantsChanged,
    ServerCallEnded,
    ServerCallEvent,
    ServerCallListener,
    ServerCallParticipant,
)
from switchboard.calling.signaling.frames import CallEnded, ack, nack
from switchboard.calling.signaling.protocol import ParticipantInfo
from switchboard.calling.signaling.requests import Accept, CandidateRequest, HangUp, Reject
from switchboard.core.clock import Clock
from switchboard.core.errors import BadRequestError, SwitchboardError
from switchboard.core.identifiers import (
    CommunicationIdentifier,
    identifier_from_raw_id,
    is_acs_user_id,
)

log = logging.getLogger(__name__)

APP_PARTICIPANT_ID = "app"  # the app's leg on the SFU, and the caller in incomingCall
# Who rings when the app gives no caller: an app identity (ACS clients show the rawId and
# the display name the app gave).
DEFAULT_APP_RAW_ID = "28:acs:switchboard-call-automation"
JOIN_FAILED = EndReason(500, 0, "The invited device could not join the call's media.")

RingHere = Callable[[str, str, str], list[Present]]  # (call, owner, user) → devices here


class PhoneInvite(Protocol):
    """A number being dialled for a server call (calling/pstn/dialing.py)."""

    @property
    def invitation_id(self) -> str: ...

    @property
    def sink(self) -> LegSink:
        """The leg the phone joins as, once it answers."""
        ...

    def cancel(self) -> None:
        """Stop dialling (the app canceled it, or the call is over)."""
        ...


def participant_of(member: Member) -> ServerCallParticipant:
    return ServerCallParticipant(
        identifier_from_raw_id(member.user_id),
        member.id,
        member.display_name,
        member.muted,
        is_on_hold=member.on_hold,
    )


class ServerCall:
    """One call the app watches: its invitations, and the conference's changes as events.
    The conference calls the observer methods inside its jobs, so events come in order."""

    def __init__(self, host: ServerCallHost, conference: Conference, listener: ServerCallListener):
        self.call_id = conference.call_id
        self.conference = conference
        self.invitations: dict[str, Invitation] = {}
        self.phones: dict[str, PhoneInvite] = {}
        self._host = host
        self._listener = listener
        self._joined: set[str] = set()  # member ids reported in
        # It took over a ringing 1:1 call (admit_device): left alone by the app, its one
        # member is hung up, as when the other side of a 1:1 call hangs up.
        self.one_to_one = False

    def emit(self, event: ServerCallEvent) -> None:
        try:
            self._listener(event)
        except Exception:  # the app's bug must not stop the call's jobs
            log.exception("call %s: the server call listener failed", self.call_id)

    def participants(self) -> tuple[ServerCallParticipant, ...]:
        return tuple(participant_of(m) for m in self.conference.group.connected())

    def member_for(self, raw_id: str) -> Member:
        for member in self.conference.group.connected():
            if member.user_id == raw_id:
                return member
        raise CallParticipantNotFoundError(f"'{raw_id}' is not in the call.")

    def ringing_for(self, command: Command) -> Invitation | None:
        device = command.address
        return next((i for i in self.invitations.values() if i.rings(device)), None)

    def pending_for(self, user_id: str) -> Invitation | None:
        return next(
            (i for i in self.invitations.values() if i.user_id == user_id and i.pending), None
        )

    def cancel_phones(self, reason: EndReason | None) -> None:
        """Stop dialling every number; ``reason``: the app hears InviteFailed (else nothing)."""
        for phone in list(self.phones.values()):
            del self.phones[phone.invitation_id]
            phone.cancel()
            if reason is not None:
                self.emit(InviteFailed(phone.invitation_id, reason))

    # ── ConferenceObserver ───────────────────────────────────────────────────────────

    def member_joined(self, member: Member) -> None:
        self._joined.add(member.id)
        for invitation in list(self.invitations.values()):
            if member.device is not None and invitation.accepted_by == member.device:
                del self.invitations[invitation.invitation_id]
                self.emit(InviteAccepted(invitation.invitation_id, participant_of(member)))
        for phone in list(self.phones.values()):
            if member.leg is not None and phone.sink is member.leg:
                del self.phones[phone.invitation_id]
                self.emit(InviteAccepted(phone.invitation_id, participant_of(member)))
        self.emit(ParticipantsChanged(self.participants()))

    def member_left(self, member: Member, reason: EndReason | None) -> None:
        if member.id not in self._joined:
            return  # its join failed: it was never reported in
        self._joined.discard(member.id)
        if reason is REMOVED_BY_APP:
            self.emit(ParticipantRemoved(participant_of(member)))
        self.emit(ParticipantsChanged(self.participants()))

    def member_changed(self, member: Member) -> None:
        self.emit(ParticipantsChanged(self.participants()))

    def call_ended(self, reason: EndReason) -> None:
        for invitation in list(self.invitations.values()):
            self._host.deliver(invitation.cancel())
            self._host.invitation_over(self.call_id, invitation)
            self.emit(InviteFailed(invitation.invitation_id, CALL_OVER))
        self.cancel_phones(CALL_OVER)
        self._host.forget(self)
        self.emit(ServerCallEnded(reason))


class ServerCallHost:
    def __init__(
        self,
        conferences: ConferenceHost,
        router: CallRouter,
        ring_here: RingHere,
        *,
        clock: Clock,
        presence_seconds: float,
        app_raw_id: str = DEFAULT_APP_RAW_ID,
    ) -> None:
        self.node_id = router.node_id
        self.calls: dict[str, ServerCall] = {}
        self._conferences = conferences
        self._router = router
        self._ring_here = ring_here
        self._clock = clock
        self._presence_seconds = presence_seconds
        self._app_raw_id = app_raw_id
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.ringer: InvitationRinger | None = None  # set by the composition root (push)
        self._pushed: set[tuple[str, str]] = set()  # invitations the ringer rang, not settled

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # ── the app ──────────────────────────────────────────────────────────────────────

    async def create(self, call_id: str, listener: ServerCallListener) -> Conference:
        owner = await self._conferences.claim(call_id)
        if owner != self.node_id:
            raise CallStateError(f"The call '{call_id}' is owned by another node.")
        conference = self._conferences.open(call_id)
        await conference.run(conference.media.open)
        self.calls[call_id] = ServerCall(self, conference, listener)
        conference.observer = self.calls[call_id]
        return conference

    def connect(self, call_id: str, listener: ServerCallListener) -> Conference:
        conference = self._conferences.get(call_id)
        if conference is None:
            raise CallNotFoundError(f"No call '{call_id}' runs on this node.")
        if conference.observer is not None:
            raise CallStateError(f"The app is already in the call '{call_id}'.")
        self.calls[call_id] = ServerCall(self, conference, listener)
        conference.observer = self.calls[call_id]
        return conference

    def invite(
        self,
        call_id: str,
        user_raw_id: str,
        *,
        invitation_id: str,
        timeout_seconds: float,
        caller: CommunicationIdentifier | None,
        caller_display_name: str,
    ) -> None:
        call = self._call(call_id)
        if not is_acs_user_id(user_raw_id):
            raise BadRequestError("Only communicationUser targets can be invited for now.")
        if invitation_id in call.invitations:
            raise CallStateError(f"The invitation '{invitation_id}' exists already.")
        if call.pending_for(user_raw_id) is not None:
            raise CallStateError(f"'{user_raw_id}' is being invited already.")
        if any(m.user_id == user_raw_id for m in call.conference.group.connected()):
            raise CallStateError(f"'{user_raw_id}' is in the call already.")
        caller_id = caller.raw_id if caller is not None else self._app_raw_id
        info = participant_info(
            APP_PARTICIPANT_ID,
            caller_id,
            caller_display_name,
            "caller",
            "Connected",
            muted=False,
            video_on=False,
        )
        invitation = Invitation(
            invitation_id,
            call_id,
            user_raw_id,
            info,
            now=self._clock.now(),
            ring_seconds=timeout_seconds,
            presence_seconds=self._presence_seconds,
        )
        call.invitations[invitation_id] = invitation
        if self.ringer is not None:  # the user's devices without a socket are pushed
            invitation.held_for_push = True
            self._pushed.add((call_id, invitation_id))
            self.ringer.ringing(call_id, invitation)
        for present in self._ring_here(call_id, self.node_id, user_raw_id):
            self.present(present)
        self._router.invite(Invite(call=call_id, owner=self.node_id, user=user_raw_id))
        self._settle(call, invitation)

    def release_push_hold(self, call_id: str, invitation_id: str) -> None:
        """The ringer pushed no device: the invitation fails as it would without push (480
        when no device of the user is present)."""
        self._pushed.discard((call_id, invitation_id))
        call = self.calls.get(call_id)
        invitation = call.invitations.get(invitation_id) if call is not None else None
        if call is not None and invitation is not None and invitation.held_for_push:
            invitation.held_for_push = False
            self._settle(call, invitation)

    def invitation_over(self, call_id: str, invitation: Invitation) -> None:
        """Tell the ringer an invitation it rang no longer rings (its pushes are cancelled)."""
        key = (call_id, invitation.invitation_id)
        if key in self._pushed and not invitation.pending:
            self._pushed.discard(key)
            if self.ringer is not None:
                self.ringer.settled(call_id, invitation)

    def admit_device(
        self,
        call_id: str,
        user_raw_id: str,
        device: DeviceAddress,
        *,
        invitation_id: str,
        timeout_seconds: float,
    ) -> None:
        """Expect one device (a 1:1 caller an app answered, told ``callConverted``): it
        accepts like an invited device; it is not rung (no incomingCall)."""
        call = self._call(call_id)
        invitation = Invitation.expecting(
            invitation_id,
            call_id,
            user_raw_id,
            device,
            self.app_caller(),
            now=self._clock.now(),
            seconds=timeout_seconds,
        )
        call.one_to_one = True
        self.add_invitation(call, invitation)

    def app_caller(self) -> ParticipantInfo:
        """Who an invitation that rings nobody names as its caller (bookkeeping only)."""
        return participant_info(
            APP_PARTICIPANT_ID,
            self._app_raw_id,
            "",
            "caller",
            "Connected",
            muted=False,
            video_on=False,
        )

    def cancel_invite(self, call_id: str, invitation_id: str) -> None:
        call = self._call(call_id)
        phone = call.phones.pop(invitation_id, None)
        if phone is not None:
            phone.cancel()
            call.emit(InviteCanceled(invitation_id))
            return
        invitation = call.invitations.get(invitation_id)
        if invitation is None or not invitation.pending:
            raise CallStateError(f"The invitation '{invitation_id}' is not pending.")
        self.deliver(invitation.cancel())
        self._settle(call, invitation)

    async def remove(self, call_id: str, raw_id: str) -> None:
        call = self._call(call_id)
        member = call.member_for(raw_id)
        await call.conference.run(lambda: call.conference.remove_member(member.id, REMOVED_BY_APP))

    async def mute(self, call_id: str, raw_id: str) -> None:
        call = self._call(call_id)
        member = call.member_for(raw_id)
        await call.conference.run(lambda: call.conference.mute_member(member.id))

    async def hold(self, call_id: str, raw_id: str, held: bool) -> None:
        """A held member hears and is heard by the app's leg only (its hold music)."""
        call = self._call(call_id)
        member = call.member_for(raw_id)
        kept_with = frozenset({APP_PARTICIPANT_ID}) if held else None
        await call.conference.run(lambda: call.conference.hold_member(member.id, kept_with))

    def participants(self, call_id: str) -> list[ServerCallParticipant]:
        return list(self._call(call_id).participants())

    async def terminate(self, call_id: str) -> None:
        conference = self._call(call_id).conference
        await conference.run(lambda: conference.end_for_everyone(TERMINATED))

    async def leave(self, call_id: str) -> None:
        """The app's leg is gone: a server call nobody else is in ends; otherwise the app
        stops watching (its pending invitations are canceled)."""
        call = self.calls.get(call_id)
        if call is None:
            return
        await call.conference.run(lambda: call.conference.app_left(APP_LEFT))
        if self.calls.get(call_id) is call:
            for invitation in list(call.invitations.values()):
                self.deliver(invitation.cancel())
                self.invitation_over(call_id, invitation)
            call.cancel_phones(None)
            self.forget(call)
            call.conference.observer = None
            conference = call.conference
            alone = call.one_to_one and len(conference.group.connected()) == 1
            if conference.lonely_phone() or alone:
                await conference.run(lambda: conference.end_for_everyone(TERMINATED))

    # ── phones (calling/pstn/) ───────────────────────────────────────────────────────

    def add_phone_invite(self, call_id: str, invite: PhoneInvite) -> None:
        call = self._call(call_id)
        if invite.invitation_id in call.invitations or invite.invitation_id in call.phones:
            raise CallStateError(f"The invitation '{invite.invitation_id}' exists already.")
        call.phones[invite.invitation_id] = invite

    def phone_invite_failed(self, call_id: str, invitation_id: str, reason: EndReason) -> None:
        call = self.calls.get(call_id)
        if call is not None and call.phones.pop(invitation_id, None) is not None:
            call.emit(InviteFailed(invitation_id, reason))

    async def join_leg(
        self,
        call_id: str,
        raw_id: str,
        display_name: str,
        sink: LegSink,
        attach: Callable[[str], Awaitable[None]],
    ) -> Member:
        """A phone's leg joins the call (one conference job); see Conference.join_leg."""
        conference = self._call(call_id).conference
        return await conference.run(lambda: conference.join_leg(raw_id, display_name, sink, attach))

    async def leg_left(self, call_id: str, member_id: str) -> None:
        """The phone hung up: out of the call, which the app may have left already."""
        conference = self._conferences.get(call_id)
        if conference is not None:
            await conference.run(lambda: conference.leg_left(member_id))

    # ── what the router brings (the owner's side) ────────────────────────────────────

    def apply(self, command: Command) -> None:
        """A device's request about a server call: a ringing device's answer here, the
        members' requests to the conference."""
        call = self.calls.get(command.call)
        invitation = call.ringing_for(command) if call is not None else None
        request = command.req
        if call is None or invitation is None:
            if isinstance(request, Accept | Reject):
                error = CallStateError("This device is not ringing for the call.")
                self._nack(command, error)
                return
            self._conferences.apply(command)
            return
        try:
            if isinstance(request, Accept):
                self._accept(call, invitation, command, request)
                return
            if isinstance(request, Reject | HangUp):
                busy = isinstance(request, Reject) and bool(request.busy)
                outputs = invitation.reject(command.address, busy)
            elif isinstance(request, CandidateRequest):
                outputs = []  # the SFU is ICE-lite: a ringing device's candidates are not needed
            else:
                raise CallStateError("A ringing device may accept or reject the call.")
        except SwitchboardError as exc:
            self._nack(command, exc)
            return
        self._router.deliver(Deliver(command.address, ack(request.id)))
        self.deliver(outputs)
        self._settle(call, invitation)

    def present(self, present: Present) -> None:
        call = self.calls.get(present.call)
        invitation = call.pending_for(present.user) if call is not None else None
        if call is None or invitation is None:
            if not present.busy:  # rang too late: the invitation is over
                reason = EndReason(487, 10003, "Call was accepted elsewhere or is over.")
                self.deliver(
                    [Deliver(present.address, CallEnded(reason.info(), call_id=present.call))]
                )
            return
        self.deliver(invitation.device_present(present.address, present.busy))
        self._settle(call, invitation)

    def lost(self, lost: Lost) -> None:
        call = self.calls.get(lost.call)
        device = lost.address
        invitation = (
            next((i for i in call.invitations.values() if i.rings(device)), None)
            if call is not None
            else None
        )
        if call is None or invitation is None:
            self._conferences.lost(lost)
            return
        self.deliver(invitation.device_lost(device))
        self._settle(call, invitation)

    # ── plumbing ─────────────────────────────────────────────────────────────────────

    def call(self, call_id: str) -> ServerCall:
        """A server call the app watches on this node (CallNotFoundError otherwise)."""
        return self._call(call_id)

    def add_invitation(self, call: ServerCall, invitation: Invitation) -> None:
        """An invitation made elsewhere (a move, calling/server/moves.py), its timer kept."""
        call.invitations[invitation.invitation_id] = invitation
        self._settle(call, invitation)

    def now(self) -> float:
        return self._clock.now()

    def deliver(self, outputs: list[Deliver]) -> None:
        for output in outputs:
            self._router.deliver(output)

    def forget(self, call: ServerCall) -> None:
        if self.calls.get(call.call_id) is call:
            del self.calls[call.call_id]
        for key in [k for k in self._timers if k[0] == call.call_id]:
            self._timers.pop(key).cancel()

    def _call(self, call_id: str) -> ServerCall:
        call = self.calls.get(call_id)
        if call is None:
            raise CallNotFoundError(f"The app is in no call '{call_id}' on this node.")
        return call

    def _accept(
        self, call: ServerCall, invitation: Invitation, command: Command, request: Accept
    ) -> None:
        self.deliver(invitation.accept(command.address))
        self._settle(call, invitation)
        conference = call.conference
        who = Joiner(command.address, command.user, command.join_only)

        async def join() -> None:
            await conference.handle(who, request)  # acks with callId, participantId, state
            if call.invitations.get(invitation.invitation_id) is invitation:
                del call.invitations[invitation.invitation_id]  # it never got in
                invitation.joined_failed(JOIN_FAILED)
                call.emit(InviteFailed(invitation.invitation_id, JOIN_FAILED))

        conference.submit(join)

    def _settle(self, call: ServerCall, invitation: Invitation) -> None:
        """Tell the app how an invitation ended; keep its timer while it rings."""
        key = (call.call_id, invitation.invitation_id)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self.invitation_over(call.call_id, invitation)
        if invitation.state is InvitationState.FAILED:
            call.invitations.pop(invitation.invitation_id, None)
            assert invitation.failure is not None
            call.emit(InviteFailed(invitation.invitation_id, invitation.failure))
        elif invitation.state is InvitationState.CANCELED:
            call.invitations.pop(invitation.invitation_id, None)
            call.emit(InviteCanceled(invitation.invitation_id))
        deadline = invitation.next_timer()
        if deadline is not None:
            delay = max(0.0, deadline - self._clock.now())
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(delay, self._on_timer, call, invitation)

    def _on_timer(self, call: ServerCall, invitation: Invitation) -> None:
        self._timers.pop((call.call_id, invitation.invitation_id), None)
        self.deliver(invitation.handle_timer(self._clock.now()))
        self._settle(call, invitation)

    def _nack(self, command: Command, error: SwitchboardError) -> None:
        request_id = command.req.id
        self._router.deliver(
            Deliver(command.address, nack(request_id, error.error_code, error.message))
        )
