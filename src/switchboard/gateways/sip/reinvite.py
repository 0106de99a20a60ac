"""Renegotiation: one answered call's re-INVITEs, either way (RFC 3264 §8, RFC 3261 §14).

ours (the app holds / unholds the phone) ─▶ hold(held)
    ─▶ re-INVITE, our SDP (same o= session, version + 1) a=sendonly / a=sendrecv
    2xx ─▶ ACK (its own transaction, §13.2.2.4), the answer's address/codec ─▶ the bridge
    491 (both sides re-INVITEd at once) ─▶ again after 2.1–4 s (§14.1) · other ─▶ logged
    one at a time: a hold asked meanwhile is sent once the one out is answered
theirs (the carrier holds, or moves its media) ─▶ answer(re-INVITE)
    its SDP: sendonly ─▶ we answer recvonly and stop sending RTP · inactive (or c=0.0.0.0)
        ─▶ inactive · sendrecv ─▶ back; a new address/port/codec ─▶ the bridge's
    no SDP (it wants our offer) ─▶ our current offer in the 200, its answer in the ACK
    no common codec ─▶ 488, nothing changes · ours still out ─▶ 491 (glare)
    the 200 is resent (T1 doubling) until the ACK comes
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace
from typing import TYPE_CHECKING

from switchboard.gateways.sip import sdp
from switchboard.gateways.sip.dialog import Dialog
from switchboard.gateways.sip.errors import SipParseError
from switchboard.gateways.sip.media import RtpBridge
from switchboard.gateways.sip.message import SipRequest, SipResponse, cseq
from switchboard.gateways.sip.transactions import (
    Address,
    ClientTransaction,
    OkResender,
    response_to,
)

if TYPE_CHECKING:
    from switchboard.gateways.sip.carrier import SipCarrier

log = logging.getLogger(__name__)

SENDING = {"sendrecv", "sendonly"}  # our directions in which we send RTP


class Renegotiation:
    def __init__(
        self,
        carrier: SipCarrier,
        bridge: RtpBridge,
        codecs: tuple[str, ...],
        destination: Address,
        origin: sdp.Origin,
        *,
        secure: bool = False,
    ) -> None:
        """``secure``: SRTP (a TLS trunk): every SDP carries our SDES key and needs theirs."""
        self.dialog: Dialog | None = None  # set once the call is answered
        self.held = False  # the app holds the phone
        self.direction = "sendrecv"  # ours, as last agreed
        self.remote_direction = "sendrecv"
        self._carrier = carrier
        self._bridge = bridge
        self._codecs = codecs
        self._destination = destination
        self._origin = origin
        self._out: ClientTransaction | None = None
        self._ack: SipRequest | None = None
        self._wanted: bool | None = None  # a hold asked while one was out
        self._answering: tuple[SipResponse, int] | None = None  # our 200, its CSeq
        self._resender: OkResender | None = None
        self._over = False
        self._secure = secure

    def close(self) -> None:
        self._over = True
        self._stop_resending()
        if self._out is not None:
            self._out.stop()
            self._out = None

    # ── ours ─────────────────────────────────────────────────────────────────────────

    def hold(self, held: bool) -> None:
        if self._over or self.dialog is None:
            return
        if self._out is not None or self._answering is not None:
            self._wanted = held
            return
        if held == self.held:
            return
        self.held = held
        body = self._offer("sendonly" if held else "sendrecv")
        invite = self.dialog.request("INVITE", via=self._via, body=body)
        self._ack = None
        self._out = ClientTransaction(
            self._carrier.endpoint, invite, self._destination, self._response, self._timed_out
        )

    def _response(self, response: SipResponse) -> None:
        out, dialog = self._out, self.dialog
        if out is None or dialog is None or response.status < 200:
            if self._ack is not None and 200 <= response.status < 300:
                self._carrier.endpoint.send(self._ack, self._destination)  # a resent 2xx
            return
        self._out = None
        if response.status < 300:
            number = cseq(out.request.headers)[0]
            self._ack = dialog.request("ACK", via=self._via, cseq=number)
            self._carrier.endpoint.send(self._ack, self._destination)
            self._apply_answer(response.body, "sendonly" if self.held else "sendrecv")
        else:
            tried, self.held = self.held, not self.held  # not agreed
            if response.status == 491:  # they re-INVITEd too: ask again a little later
                if self._wanted is None:
                    self._wanted = tried
                asyncio.get_running_loop().call_later(random.uniform(2.1, 4.0), self._next)
                return
            log.warning("re-INVITE to %s: %s", self._destination, response.status)
        self._next()

    def _timed_out(self) -> None:
        self._out = None
        self.held = not self.held
        log.warning("re-INVITE to %s: no answer", self._destination)

    def _next(self) -> None:
        wanted, self._wanted = self._wanted, None
        if wanted is not None:
            self.hold(wanted)

    def _apply_answer(self, body: bytes, ours: str) -> None:
        try:
            remote = sdp.parse_sdp(body)
        except SipParseError as exc:
            log.warning("re-INVITE to %s: the answer's SDP: %s", self._destination, exc)
            return
        media = sdp.negotiated(remote, self._codecs, srtp=self._secure)
        if media is not None:
            self._apply(media, ours, _direction(remote))

    # ── theirs ───────────────────────────────────────────────────────────────────────

    def answer(self, request: SipRequest, source: Address) -> None:
        endpoint = self._carrier.endpoint
        if self._out is not None:  # glare: ours is out (§14.2)
            endpoint.send(response_to(request, 491, "Request Pending"), source)
            return
        ours = "sendonly" if self.held else "sendrecv"
        if not request.body:  # an offerless re-INVITE: our offer now, its answer in the ACK
            body = self._offer(ours)
        else:
            try:
                remote = sdp.parse_sdp(request.body)
            except SipParseError:
                endpoint.send(response_to(request, 488, "Not Acceptable Here"), source)
                return
            theirs = _direction(remote)
            ours = sdp.answering_direction(theirs, held=self.held)
            self._origin = (self._origin[0], self._origin[1] + 1)
            agreed = sdp.answer_to(
                remote,
                self._carrier.media_host,
                self._bridge.port,
                self._codecs,
                origin=self._origin,
                direction=ours,
                srtp_key=self._srtp_key,
            )
            if agreed is None:
                endpoint.send(response_to(request, 488, "Not Acceptable Here"), source)
                return
            media, body = agreed
            self._apply(media, ours, theirs)
        ok = response_to(request, 200, "OK").with_header("Contact", self._contact)
        ok = replace(ok.with_header("Content-Type", "application/sdp"), body=body)
        endpoint.send(ok, source)
        self._stop_resending()
        self._answering = (ok, cseq(request.headers)[0])
        self._resender = OkResender(lambda: endpoint.send(ok, source), self._never_acked)

    def acked(self, ack: SipRequest) -> None:
        """An ACK in the dialog: ends our 200's resending (and may carry the answer)."""
        answering = self._answering
        if answering is None or cseq(ack.headers)[0] != answering[1]:
            return
        self._stop_resending()
        self._answering = None
        if ack.body:
            self._apply_answer(ack.body, "sendonly" if self.held else "sendrecv")
        self._next()

    def _never_acked(self) -> None:
        self._resender = None
        self._answering = None
        log.warning("re-INVITE from %s: our 200 was never ACKed", self._destination)
        self._next()

    def _stop_resending(self) -> None:
        if self._resender is not None:
            self._resender.stop()
            self._resender = None

    # ── internals ────────────────────────────────────────────────────────────────────

    def _offer(self, direction: str) -> bytes:
        self._origin = (self._origin[0], self._origin[1] + 1)
        return sdp.offer(
            self._carrier.media_host,
            self._bridge.port,
            self._codecs,
            origin=self._origin,
            direction=direction,
            srtp_key=self._srtp_key,
        )

    def _apply(self, media: sdp.Media, ours: str, theirs: str) -> None:
        self.direction, self.remote_direction = ours, theirs
        if media.address != "0.0.0.0":
            self._bridge.set_media(media)
        self._bridge.sending = ours in SENDING and theirs in ("sendrecv", "recvonly")

    @property
    def _srtp_key(self) -> bytes | None:
        return self._bridge.srtp_key if self._secure else None

    @property
    def _via(self) -> str:
        return self._carrier.endpoint.via(self._destination)

    @property
    def _contact(self) -> str:
        return self._carrier.endpoint.contact(self._destination)


def _direction(remote: sdp.SessionDescription) -> str:
    """Their direction; c=0.0.0.0 is the old way to say inactive (RFC 3264 §8.4)."""
    return "inactive" if remote.address == "0.0.0.0" else remote.direction
