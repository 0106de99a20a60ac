"""OutboundSipCall: our call to a phone number over the route's trunks (calling's PhoneCall).

start ─▶ the next usable trunk (enabled, up, under max_calls) ─▶ INVITE with our SDP offer
    100 ─▶ may CANCEL now · the first 180/183 ─▶ listener.ringing() · 183 with SDP ─▶
        early media: the bridge plays it to the listener's early leg (connect_media before
        the answer)
    401/407 ─▶ once more with digest credentials (same Call-ID, CSeq + 1)
    2xx ─▶ ACK, the dialog, the agreed media ─▶ listener.answered()
    5xx, or no final answer in time ─▶ the next trunk (a new Call-ID); none left ─▶ failed
    other 3xx–6xx ─▶ listener.failed(end reason: 486 busy, 603 declined, …)
connect_media(leg) ─▶ the RtpBridge between the trunk and the leg, ticked by the carrier
hang_up(): answered ─▶ BYE · after a provisional ─▶ CANCEL · before ─▶ CANCEL once one
    comes (a 2xx that crosses it is ACKed and BYEd)
the trunk's BYE ─▶ 200 ─▶ listener.ended()
set_held / the trunk's re-INVITE ─▶ Renegotiation (reinvite.py)
"""

from __future__ import annotations

import asyncio
import logging
import os
from enum import StrEnum
from typing import TYPE_CHECKING

from switchboard.calling.models import EndReason
from switchboard.calling.pstn.ports import EarlyMediaListener, PhoneCallListener, RingingListener
from switchboard.gateways.sip import sdp
from switchboard.gateways.sip.dialog import Dialog
from switchboard.gateways.sip.digest import authorization, parse_challenge
from switchboard.gateways.sip.errors import SipParseError
from switchboard.gateways.sip.media import RtpBridge, open_bridge
from switchboard.gateways.sip.message import Headers, SipRequest, SipResponse, cseq
from switchboard.gateways.sip.reasons import (
    TRUNKS_FAILED,
    end_reason,
    should_fail_over,
)
from switchboard.gateways.sip.reinvite import Renegotiation
from switchboard.gateways.sip.transactions import (
    T1,
    Address,
    ClientTransaction,
    new_tag,
    response_to,
)
from switchboard.gateways.sip.trunks import Trunk
from switchboard.media.local_leg import LocalLeg

if TYPE_CHECKING:
    from switchboard.gateways.sip.carrier import SipCarrier

log = logging.getLogger(__name__)

NO_COMMON_CODEC = EndReason(488, 0, "The carrier offered no codec we share.")


class OutboundState(StrEnum):
    STARTING = "Starting"  # choosing a trunk, opening the RTP port
    TRYING = "Trying"  # INVITE sent
    ANSWERED = "Answered"
    OVER = "Over"


class OutboundSipCall:
    def __init__(
        self,
        carrier: SipCarrier,
        trunks: list[Trunk],
        caller_id: str,
        number: str,
        listener: PhoneCallListener,
    ) -> None:
        self.caller_id = caller_id
        self.number = number
        self.state = OutboundState.STARTING
        self.trunk: Trunk | None = None
        self.bridge: RtpBridge | None = None
        self.dialog: Dialog | None = None
        self.invite: SipRequest | None = None
        self.call_id: str | None = None
        self._carrier = carrier
        self.trunks = trunks
        self._listener = listener
        self._tx: ClientTransaction | None = None
        self._provisional = False
        self._cancel_wanted = False
        self._authorized = False
        self._last_failure = TRUNKS_FAILED
        self._ack: SipRequest | None = None
        self._origin = sdp.new_origin()
        self._early = False  # the listener heard of early media
        self._rang = False  # the listener heard that the phone rings (any trunk's 180/183)
        self.session: Renegotiation | None = None  # re-INVITEs, once answered

    # ── trying trunks ────────────────────────────────────────────────────────────────

    async def start(self) -> None:
        if self.bridge is None:
            self.bridge = await open_bridge(self._carrier.media_host, self._peer_hosts)
            if self.state is OutboundState.OVER:  # hung up while the port opened
                self.bridge.close()
                return
        while self.trunks and self.state is not OutboundState.OVER:
            trunk = self.trunks.pop(0)
            if self._carrier.acquire(trunk):
                self._invite(trunk)
                return
        if self.state is not OutboundState.OVER:
            self._fail(self._last_failure)

    def _invite(self, trunk: Trunk) -> None:
        assert self.bridge is not None
        self.trunk = trunk
        self.state = OutboundState.TRYING
        self._provisional = self._authorized = False
        self.call_id = os.urandom(12).hex()
        host = self._carrier.address[0]
        uri = f"sip:{self.number}@{trunk.host}:{trunk.port}"
        self._origin = sdp.new_origin()
        body = sdp.offer(
            self._carrier.media_host,
            self.bridge.port,
            trunk.codecs,
            origin=self._origin,
            srtp_key=self.bridge.srtp_key if trunk.secure else None,
        )
        headers = Headers(
            (
                ("Via", self._carrier.endpoint.via(self._trunk_address)),
                ("Max-Forwards", "70"),
                ("From", f"<sip:{trunk.caller_user(self.caller_id)}@{host}>;tag={new_tag()}"),
                ("To", f"<{uri}>"),
                ("Call-ID", self.call_id),
                ("CSeq", "1 INVITE"),
                ("Contact", self._contact),
                ("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"),
                ("Content-Type", "application/sdp"),
            )
        )
        self._carrier.calls[self.call_id] = self
        self._send_invite(SipRequest("INVITE", uri, headers, body))

    def _send_invite(self, invite: SipRequest) -> None:
        assert self.trunk is not None
        self.invite = invite
        self._tx = ClientTransaction(
            self._carrier.endpoint,
            invite,
            (self.trunk.host, self.trunk.port),
            self._response,
            self._timed_out,
            timeout=self._carrier.invite_timeout,
        )

    def _response(self, response: SipResponse) -> None:
        status = response.status
        if status < 200:
            self._provisional = True
            if self._cancel_wanted:
                self._cancel_wanted = False
                self._send_cancel()
                return
            if status in (180, 183) and not self._rang and self.state is not OutboundState.OVER:
                self._rang = True
                if isinstance(self._listener, RingingListener):
                    self._listener.ringing()
            if status == 183 and response.body and self.bridge is not None:
                self._early_media(response)
            return
        if status < 300:
            self._answered(response)
            return
        if status in (401, 407) and self._retry_with_credentials(response):
            return
        self._trunk_done()
        if self.state is OutboundState.OVER:
            return  # the 487 to our CANCEL
        if should_fail_over(status):
            log.info("trunk %s: %s to %s; next trunk", self._trunk_name, status, self.number)
            self._last_failure = end_reason(status, response.reason)
            self._carrier.spawn(self.start(), f"call to {self.number}: next trunk")
            return
        self._fail(end_reason(status, response.reason))

    def _timed_out(self) -> None:
        self._trunk_done()
        if self.state is OutboundState.OVER:
            return
        if self.trunk is not None:
            self._carrier.trunk_unresponsive(self.trunk)
        log.info("trunk %s: no answer to INVITE for %s; next trunk", self._trunk_name, self.number)
        self._carrier.spawn(self.start(), f"call to {self.number}: next trunk")

    def _retry_with_credentials(self, response: SipResponse) -> bool:
        trunk, invite = self.trunk, self.invite
        if self._authorized or trunk is None or invite is None or trunk.username is None:
            return False
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        try:
            challenge = parse_challenge(response.header(header) or "")
        except SipParseError as exc:
            log.warning("trunk %s: a challenge we cannot answer: %s", trunk.name, exc)
            return False
        self._authorized = True
        self._provisional = False
        credentials = authorization(
            challenge, trunk.username, trunk.password or "", "INVITE", invite.uri
        )
        retry = (
            invite.with_header("Via", self._carrier.endpoint.via(self._trunk_address))
            .with_header("CSeq", f"{cseq(invite.headers)[0] + 1} INVITE")
            .with_header(
                "Authorization" if response.status == 401 else "Proxy-Authorization", credentials
            )
        )
        if self.state is OutboundState.OVER:
            return True  # hung up meanwhile: do not retry
        self._send_invite(retry)
        return True

    def _early_media(self, response: SipResponse) -> None:
        assert self.bridge is not None and self.trunk is not None
        try:
            media = sdp.negotiated(
                sdp.parse_sdp(response.body), self.trunk.codecs, srtp=self.trunk.secure
            )
        except SipParseError:
            return
        if media is None:
            return
        self.bridge.set_media(media)
        if not self._early and isinstance(self._listener, EarlyMediaListener):
            self._early = True  # the call hears the carrier's ringback / announcement now
            self._listener.early_media()

    def _answered(self, response: SipResponse) -> None:
        assert self.invite is not None and self.trunk is not None
        if self._ack is not None:  # a retransmitted 2xx: ACK again
            self._carrier.endpoint.send(self._ack, self._trunk_address)
            return
        number = cseq(self.invite.headers)[0]
        self.dialog = Dialog.as_uac(self.invite, response, self._carrier.address, number)
        self._ack = self.dialog.request("ACK", via=self._via, cseq=number)
        self._carrier.endpoint.send(self._ack, self._trunk_address)
        if self.state is OutboundState.OVER:  # our CANCEL crossed the 2xx
            self._send_bye()
            return
        media: sdp.Media | None = None
        try:
            media = sdp.negotiated(
                sdp.parse_sdp(response.body), self.trunk.codecs, srtp=self.trunk.secure
            )
        except SipParseError as exc:
            log.warning("call to %s: the answer's SDP: %s", self.number, exc)
        if media is None or self.bridge is None:
            self.state = OutboundState.OVER
            self._send_bye()
            self._cleanup()
            self._listener.failed(NO_COMMON_CODEC)
            return
        self.bridge.set_media(media)
        self.session = Renegotiation(
            self._carrier,
            self.bridge,
            self.trunk.codecs,
            self._trunk_address,
            self._origin,
            secure=self.trunk.secure,
        )
        self.session.dialog = self.dialog
        self.state = OutboundState.ANSWERED
        self._listener.answered()

    # ── PhoneCall ────────────────────────────────────────────────────────────────────

    def connect_media(self, leg: LocalLeg) -> None:
        """Once answered; before, while early media flows (a 183's SDP), the leg that hears
        it (replaced by the answered call's leg)."""
        bridge = self.bridge
        early = self.state is OutboundState.TRYING and bridge is not None and bridge.media
        if bridge is not None and (self.state is OutboundState.ANSWERED or early):
            bridge.connect(leg)
            self._carrier.ticking.add(bridge)

    def set_held(self, held: bool) -> None:
        """The app holds (a re-INVITE, a=sendonly) or resumes (a=sendrecv) the phone."""
        if self.session is not None and self.state is OutboundState.ANSWERED:
            self.session.hold(held)

    def hang_up(self) -> None:
        state = self.state
        if state is OutboundState.OVER:
            return
        self.state = OutboundState.OVER
        if state is OutboundState.ANSWERED:
            self._send_bye()
        elif state is OutboundState.TRYING:
            if self._provisional:
                self._send_cancel()
            else:
                self._cancel_wanted = True
        self._cleanup()

    # ── requests from the trunk in this dialog ───────────────────────────────────────

    def request(self, request: SipRequest, source: Address) -> None:
        endpoint = self._carrier.endpoint
        if request.method == "BYE":
            endpoint.send(response_to(request, 200, "OK"), source)
            if self.state is OutboundState.ANSWERED:
                self.state = OutboundState.OVER
                self._cleanup()
                self._listener.ended()
        elif request.method == "INVITE" and self.session is not None:
            if self.state is OutboundState.ANSWERED:
                self.session.answer(request, source)  # hold, a move, a session refresh
        elif request.method == "ACK":
            if self.session is not None:
                self.session.acked(request)
        elif request.method == "CANCEL":
            pass
        else:
            endpoint.send(response_to(request, 481, "Call/Transaction Does Not Exist"), source)

    # ── internals ────────────────────────────────────────────────────────────────────

    @property
    def _trunk_name(self) -> str:
        return self.trunk.name if self.trunk is not None else "?"

    @property
    def _trunk_address(self) -> Address:
        assert self.trunk is not None
        return self.trunk.host, self.trunk.port

    @property
    def _peer_hosts(self) -> frozenset[str]:
        """Who may send the call's RTP: its route's trunks (and the SDP's address)."""
        return frozenset(
            trunk.host for trunk in [*self.trunks, *([self.trunk] if self.trunk else [])]
        )

    @property
    def _via(self) -> str:
        return self._carrier.endpoint.via(self._trunk_address)

    @property
    def _contact(self) -> str:
        return self._carrier.endpoint.contact(self._trunk_address)

    def _send_cancel(self) -> None:
        invite = self.invite
        if invite is None:
            return
        items = [("Via", invite.header("Via") or "")]
        items += [(n, invite.header(n) or "") for n in ("Max-Forwards", "From", "To", "Call-ID")]
        items.append(("CSeq", f"{cseq(invite.headers)[0]} CANCEL"))
        cancel = SipRequest("CANCEL", invite.uri, Headers(tuple(items)))
        ClientTransaction(
            self._carrier.endpoint, cancel, self._trunk_address, lambda r: None, lambda: None
        )
        # the INVITE's final answer should follow the CANCEL; a trunk that never sends one
        # must not hold the call (and its slot) forever (RFC 3261 §9.1: 64·T1)
        asyncio.get_running_loop().call_later(64 * T1, self._give_up)

    def _give_up(self) -> None:
        if self._tx is not None:
            self._tx.stop()
        self._trunk_done()

    def _send_bye(self) -> None:
        if self.dialog is None:
            return
        bye = self.dialog.request("BYE", via=self._via)
        ClientTransaction(
            self._carrier.endpoint, bye, self._trunk_address, lambda r: None, lambda: None
        )
        self._trunk_done()

    def _fail(self, reason: EndReason) -> None:
        self.state = OutboundState.OVER
        self._cleanup()
        self._listener.failed(reason)

    def _trunk_done(self) -> None:
        """The trunk no longer carries this attempt: its slot is free, its Call-ID forgotten."""
        call_id = self.call_id
        if self.trunk is not None and call_id and self._carrier.calls.get(call_id) is self:
            del self._carrier.calls[call_id]
            self._carrier.release(self.trunk)

    def _cleanup(self) -> None:
        """The call is over for us. Its trunk slot is freed now, unless an INVITE is still
        out (hung up while ringing): then its end (the 487 to our CANCEL, or its timeout)
        frees it, or ``_give_up`` if that never comes."""
        if self.dialog is not None or self.state is not OutboundState.OVER:
            self._trunk_done()
        if self.session is not None:
            self.session.close()
        if self.bridge is not None:
            self._carrier.ticking.discard(self.bridge)
            self.bridge.close()
