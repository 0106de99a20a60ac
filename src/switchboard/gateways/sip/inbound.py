"""InboundSipCall: a trunk's INVITE to one of our numbers (calling's InboundPhoneCall).

INVITE (from a trunk; its SDP offer answerable) ─▶ 100 Trying ─▶ 180 Ringing ─▶ the
    InboundCallHandler (PendingCalls: IncomingCall for the app)
answer(leg) ─▶ 200 OK with our SDP answer (resent, T1 doubling, until the ACK) ─▶ the
    RtpBridge between the trunk and the leg
refuse(reason) ─▶ 486 busy / 603 declined / 403 forbidden / 404 not in service / 480 …
the trunk CANCELs ─▶ 200 to it, 487 to the INVITE ─▶ listener.ended()
the trunk's BYE ─▶ 200 ─▶ listener.ended() · hang_up() ─▶ BYE (ringing: 480)
a retransmitted INVITE ─▶ the last response again
set_held / the trunk's re-INVITE ─▶ Renegotiation (reinvite.py)
"""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING

from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import PhoneCallListener
from switchboard.gateways.sip.dialog import Dialog
from switchboard.gateways.sip.media import RtpBridge
from switchboard.gateways.sip.message import SipRequest, SipResponse, uri_of, user_of
from switchboard.gateways.sip.reasons import REASON_PHRASES, sip_status
from switchboard.gateways.sip.reinvite import Renegotiation
from switchboard.gateways.sip.sdp import Media, Origin
from switchboard.gateways.sip.transactions import (
    Address,
    ClientTransaction,
    OkResender,
    new_tag,
    response_to,
)
from switchboard.gateways.sip.trunks import Trunk
from switchboard.media.local_leg import LocalLeg

if TYPE_CHECKING:
    from switchboard.gateways.sip.carrier import SipCarrier

log = logging.getLogger(__name__)


class InboundState(StrEnum):
    RINGING = "Ringing"
    ANSWERED = "Answered"  # 200 sent, maybe not yet ACKed
    CLOSING = "Closing"  # we hung up before the ACK: BYE once it comes (§15)
    OVER = "Over"


def e164(user: str) -> str:
    """A number as carriers write it (``14255550123``, ``+1…``) in E.164 form."""
    digits = user.lstrip("+")
    return f"+{digits}" if digits.isdigit() else user


class InboundSipCall:
    def __init__(
        self,
        carrier: SipCarrier,
        invite: SipRequest,
        source: Address,
        trunk: Trunk,
        bridge: RtpBridge,
        media: Media,
        answer_sdp: bytes,
        origin: Origin,
    ) -> None:
        self.invite = invite
        self.source = source
        self.trunk = trunk
        self.bridge = bridge
        self.state = InboundState.RINGING
        self.listener: PhoneCallListener | None = None
        self._caller = e164(user_of(uri_of(invite.header("From") or "")))
        self._called = e164(user_of(invite.uri))
        self._carrier = carrier
        self._media = media
        self._answer_sdp = answer_sdp
        self._tag = new_tag()
        self._last: SipResponse | None = None
        self._dialog: Dialog | None = None
        self._resender: OkResender | None = None
        self._acked = False
        self._held_wanted: bool | None = None  # the app's hold, asked before the ACK
        self.session = Renegotiation(
            carrier, bridge, trunk.codecs, source, origin, secure=trunk.secure
        )

    @property
    def caller(self) -> str:
        return self._caller

    @property
    def called(self) -> str:
        return self._called

    @property
    def call_id(self) -> str:
        return self.invite.header("Call-ID") or ""

    def ring(self) -> None:
        self._respond(180, "Ringing")

    # ── InboundPhoneCall ─────────────────────────────────────────────────────────────

    def answer(self, leg: LocalLeg) -> None:
        if self.state is not InboundState.RINGING:
            return
        self.state = InboundState.ANSWERED
        host, port = self._carrier.address
        contact = self._carrier.endpoint.contact(self.source)
        ok = self._response(200, "OK").with_header("Contact", contact)
        ok = replace(ok.with_header("Content-Type", "application/sdp"), body=self._answer_sdp)
        self._dialog = Dialog.as_uas(self.invite, ok.header("To") or "", contact, (host, port))
        self.session.dialog = self._dialog
        self._send(ok)
        self._resender = OkResender(self._resend_ok, self._never_acked)
        self.bridge.set_media(self._media)
        self.bridge.connect(leg)
        self._carrier.ticking.add(self.bridge)

    def connect_media(self, leg: LocalLeg) -> None:
        if self.state is InboundState.ANSWERED:  # moved to another call: its new leg
            self.bridge.connect(leg)
            return
        self.answer(leg)

    def set_held(self, held: bool) -> None:
        """The app holds (a re-INVITE, a=sendonly) or resumes the phone; before our 200 is
        ACKed it waits for the ACK (no re-INVITE may cross it)."""
        if self.state is not InboundState.ANSWERED:
            return
        if self._acked:
            self.session.hold(held)
        else:
            self._held_wanted = held

    def refuse(self, reason: EndReason) -> None:
        if self.state is not InboundState.RINGING:
            return
        status = sip_status(reason)
        self._respond(status, REASON_PHRASES.get(status, reason.phrase))
        self._over()

    def hang_up(self) -> None:
        if self.state is InboundState.RINGING:
            self._respond(480, "Temporarily Unavailable")
        elif self.state is InboundState.ANSWERED and not self._acked:
            # a BYE must wait for the ACK of our 200 (RFC 3261 §15); the media stops now
            self.state = InboundState.CLOSING
            self._stop_media()
            return
        elif self.state is InboundState.ANSWERED:
            self._send_bye()
        self._over()

    # ── requests from the trunk ──────────────────────────────────────────────────────

    def request(self, request: SipRequest, source: Address) -> None:
        method = request.method
        if method == "ACK":
            if self._acked:
                self.session.acked(request)  # of a re-INVITE's 200
                return
            self._acked = True
            self._stop_resending()
            if self._held_wanted is not None and self.state is InboundState.ANSWERED:
                self.session.hold(self._held_wanted)
            if self.state is InboundState.CLOSING:
                self._send_bye()
                self._over()
        elif method == "INVITE" and request.header("Via") == self.invite.header("Via"):
            if self._last is not None:  # a retransmission of the INVITE
                self._send(self._last)
        elif method == "CANCEL":
            self._send_to(response_to(request, 200, "OK"), source)
            if self.state is InboundState.RINGING:
                self._respond(487, "Request Terminated")
                self._ended()
        elif method == "BYE":
            self._send_to(response_to(request, 200, "OK"), source)
            if self.state is InboundState.ANSWERED:
                self._ended()
            elif self.state is InboundState.CLOSING:
                self._over()
        elif method == "INVITE" and self.state is InboundState.ANSWERED:
            self.session.answer(request, source)  # hold, a move, a session refresh
        else:
            self._send_to(response_to(request, 481, "Call/Transaction Does Not Exist"), source)

    # ── internals ────────────────────────────────────────────────────────────────────

    def _response(self, status: int, reason: str) -> SipResponse:
        return response_to(self.invite, status, reason, to_tag=self._tag if status > 100 else None)

    def _respond(self, status: int, reason: str) -> None:
        self._send(self._response(status, reason))

    def _send(self, response: SipResponse) -> None:
        self._last = response
        self._send_to(response, self.source)

    def _send_to(self, response: SipResponse, destination: Address) -> None:
        self._carrier.endpoint.send(response, destination)

    def _resend_ok(self) -> None:
        if self.state in (InboundState.ANSWERED, InboundState.CLOSING) and self._last is not None:
            self._send(self._last)

    def _never_acked(self) -> None:
        """No ACK within 64·T1: the call is gone (§13.3.1.4)."""
        if self.state not in (InboundState.ANSWERED, InboundState.CLOSING):
            return
        log.warning("call from %s: our 200 OK was never ACKed", self.caller)
        notify = self.state is InboundState.ANSWERED
        self._send_bye()
        self._over()
        if notify:
            self._notify_ended()

    def _stop_resending(self) -> None:
        if self._resender is not None:
            self._resender.stop()
            self._resender = None

    def _ended(self) -> None:
        self._over()
        self._notify_ended()

    def _notify_ended(self) -> None:
        if self.listener is not None:
            self.listener.ended()

    def _send_bye(self) -> None:
        if self._dialog is not None:
            bye = self._dialog.request("BYE", via=self._carrier.endpoint.via(self.source))
            endpoint = self._carrier.endpoint
            ClientTransaction(endpoint, bye, self.source, lambda r: None, lambda: None)

    def _stop_media(self) -> None:
        self._carrier.ticking.discard(self.bridge)
        self.bridge.close()

    def _over(self) -> None:
        if self.state is InboundState.OVER:
            return
        self.state = InboundState.OVER
        self.session.close()
        self._stop_resending()
        self._stop_media()
        self._carrier.inbound_over(self)
