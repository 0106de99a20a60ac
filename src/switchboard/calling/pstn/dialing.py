"""PhoneDialer: a server call's invitation to a phone number, through the voice carrier.

invite(call, number) ─▶ ServerCallHost.add_phone_invite ─▶ carrier.dial(caller id, number)
    ringing (a 180/183, the simulator's phone rings) ─▶ the invite's ``on_ringing``, once
    early_media (a 183 with SDP) ─▶ a LocalLeg outside the roster hears it in the call
    answered ─▶ join_leg: a member with no device; attach(member id) ─▶ a LocalLeg on the
        SFU ─▶ call.connect_media(leg) ─▶ InviteAccepted, ParticipantsChanged
    failed(reason) ─▶ InviteFailed (busy 486, declined 603, not in service 404, …)
    no answer within the invitation's timeout ─▶ hang up ─▶ InviteFailed 487/10004
the phone hangs up ─▶ its leg closes ─▶ leg_left: ParticipantsChanged (the call ends
    if nobody else is in)
the app removes it, or the call ends ─▶ LegSink.left ─▶ its leg closes, the phone hangs up
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from enum import StrEnum
from typing import Any

from switchboard.calling import models as m
from switchboard.calling.errors import CallStateError
from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import HoldablePhoneCall, PhoneCall, VoiceCarrier
from switchboard.calling.server.calls import MediaLegs
from switchboard.calling.server.host import ServerCallHost
from switchboard.core.tasks import TaskScope
from switchboard.media.local_leg import LocalLeg

log = logging.getLogger(__name__)

JOIN_FAILED = EndReason(500, 0, "The phone's media could not join the call.")


class DialState(StrEnum):
    DIALING = "Dialing"
    JOINING = "Joining"
    CONNECTED = "Connected"
    OVER = "Over"


class PhoneLeg:
    """One phone in one server call: the carrier's call and, once answered, its LocalLeg.
    It is the invitation (PhoneInvite), the carrier's listener and the member's LegSink."""

    def __init__(
        self,
        dialer: PhoneDialer,
        call_id: str,
        number: str,
        invitation_id: str,
        on_ringing: Callable[[], None] | None = None,
    ) -> None:
        self.call_id = call_id
        self.number = number
        self._invitation_id = invitation_id
        self._on_ringing = on_ringing  # told once, when the phone rings
        self.state = DialState.DIALING
        self.phone: PhoneCall | None = None
        self.leg: LocalLeg | None = None
        self.member_id: str | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.early: LocalLeg | None = None  # hears the phone's early media until it answers
        self._dialer = dialer

    @property
    def invitation_id(self) -> str:
        return self._invitation_id

    @property
    def sink(self) -> PhoneLeg:
        return self

    # ── PhoneInvite ──────────────────────────────────────────────────────────────────

    def cancel(self) -> None:
        if self.state is DialState.DIALING:
            self._over()
            if self.phone is not None:
                self.phone.hang_up()

    # ── PhoneCallListener (the carrier) ──────────────────────────────────────────────

    def answered(self) -> None:
        if self.state is not DialState.DIALING:
            return
        self.state = DialState.JOINING
        self._stop_timer()
        self._dialer.spawn(self._join(), f"phone {self.number} joins {self.call_id}")

    def ringing(self) -> None:
        """The phone rings (SIP 180/183): whoever placed the call is told, once."""
        notify, self._on_ringing = self._on_ringing, None
        if self.state is DialState.DIALING and notify is not None:
            notify()

    def early_media(self) -> None:
        """The phone's ringback / announcement (a 183 with SDP) is heard in the call now:
        a leg outside the roster (no participant, no event) until the answer replaces it."""
        if self.state is DialState.DIALING and self.early is None:
            self._dialer.spawn(self._early(), f"phone {self.number}: early media")

    async def _early(self) -> None:
        leg = await self._dialer.legs.add_local_participant(
            self.call_id, f"early-{self.invitation_id}"
        )
        if self.state is not DialState.DIALING or self.early is not None:
            leg.close()
            return
        self.early = leg
        if self.phone is not None:
            self.phone.connect_media(leg)

    def failed(self, reason: EndReason) -> None:
        if self.state is DialState.DIALING:
            self._over()
            self._dialer.host.phone_invite_failed(self.call_id, self.invitation_id, reason)

    def ended(self) -> None:
        """The phone hung up."""
        if self.state is DialState.DIALING:
            self.failed(m.DECLINED)
            return
        was_in = self.state is DialState.CONNECTED
        self._over()
        if was_in and self.member_id is not None:
            member_id = self.member_id
            self._dialer.spawn(
                self._dialer.host.leg_left(self.call_id, member_id),
                f"phone {self.number} left {self.call_id}",
            )

    # ── LegSink (the conference) ─────────────────────────────────────────────────────

    def left(self, reason: EndReason | None) -> None:
        if self.state is DialState.OVER:
            return
        self._over()
        if self.phone is not None:
            self.phone.hang_up()

    def held(self, on_hold: bool) -> None:
        if isinstance(self.phone, HoldablePhoneCall):
            self.phone.set_held(on_hold)

    # ── MovableLeg (the app moves the phone to another call, calling/server/moves.py) ──

    async def rejoin(self, call_id: str, member_id: str) -> None:
        if self.state is not DialState.CONNECTED or self.phone is None:
            raise CallStateError(f"The phone {self.number} is not connected.")
        leg = await self._dialer.legs.add_local_participant(call_id, member_id)
        old, self.leg = self.leg, leg
        self.call_id, self.member_id = call_id, member_id
        self.phone.connect_media(leg)
        if old is not None:
            old.close()

    # ── internals ────────────────────────────────────────────────────────────────────

    def timed_out(self) -> None:
        self.timer = None
        if self.state is DialState.DIALING:
            self._over()
            if self.phone is not None:
                self.phone.hang_up()
            self._dialer.host.phone_invite_failed(self.call_id, self.invitation_id, m.NOT_ANSWERED)

    async def _join(self) -> None:
        host = self._dialer.host

        async def attach(member_id: str) -> None:
            self.member_id = member_id
            self.leg = await self._dialer.legs.add_local_participant(self.call_id, member_id)

        try:
            await host.join_leg(self.call_id, f"4:{self.number}", self.number, self, attach)
        except Exception:
            log.exception("call %s: phone %s could not join", self.call_id, self.number)
            self.left(None)
            host.phone_invite_failed(self.call_id, self.invitation_id, JOIN_FAILED)
            return
        if self.state is not DialState.JOINING or self.leg is None:
            await self._hung_up_while_joining()
            return
        self.state = DialState.CONNECTED
        if self.phone is not None:
            self.phone.connect_media(self.leg)
        self._close_early()

    async def _hung_up_while_joining(self) -> None:
        """The phone hung up (or was removed) while its leg joined: take the member out."""
        if self.leg is not None:
            self.leg.close()
        if self.member_id is not None:
            await self._dialer.host.leg_left(self.call_id, self.member_id)

    def _over(self) -> None:
        self.state = DialState.OVER
        self._stop_timer()
        self._close_early()
        if self.leg is not None:
            self.leg.close()

    def _close_early(self) -> None:
        if self.early is not None:
            self.early.close()
            self.early = None

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class PhoneDialer:
    def __init__(
        self, host: ServerCallHost, legs: MediaLegs[LocalLeg], carrier: VoiceCarrier
    ) -> None:
        self.host = host
        self.legs = legs
        self._carrier = carrier
        self._scope = TaskScope("phone dialer")

    async def start(self) -> None:
        await self._scope.start()

    async def stop(self) -> None:
        await self._scope.stop()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """One step of one call: its failure is logged, never the scope's end."""
        self._scope.spawn(_logged(work, name), name=name)

    def invite(
        self,
        call_id: str,
        number: str,
        *,
        invitation_id: str,
        timeout_seconds: float,
        caller_id: str,
        on_ringing: Callable[[], None] | None = None,
    ) -> None:
        """Dial ``number`` for the call, showing ``caller_id`` (a purchased number);
        ``on_ringing``: called once when the phone rings (not if it answers without)."""
        phone = PhoneLeg(self, call_id, number, invitation_id, on_ringing)
        self.host.add_phone_invite(call_id, phone)
        phone.timer = asyncio.get_running_loop().call_later(timeout_seconds, phone.timed_out)
        phone.phone = self._carrier.dial(caller_id, number, phone)


async def _logged(work: Coroutine[Any, Any, None], name: str) -> None:
    try:
        await work
    except Exception:
        log.exception("%s failed", name)
