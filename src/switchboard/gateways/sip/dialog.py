"""A SIP dialog (RFC 3261 §12): what requests inside one call carry, either side's view.

UAC: from our INVITE and its 2xx (remote tag, Contact, Record-Route reversed)
UAS: from the INVITE we answer (remote tag, Contact, Record-Route in order)
request(method) ─▶ a new request in the dialog (CSeq + 1, Route set, new branch)
ack(invite cseq) ─▶ the 2xx's ACK (its own transaction, §13.2.2.4)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from switchboard.gateways.sip.message import Headers, SipRequest, SipResponse, uri_of
from switchboard.gateways.sip.transactions import Address


@dataclass(slots=True)
class Dialog:
    call_id: str
    local: str  # our From (UAC) / To (UAS) with our tag
    remote: str  # theirs, with their tag
    remote_target: str  # their Contact URI
    local_contact: str
    local_address: Address
    cseq: int
    route_set: list[str] = field(default_factory=list)

    @classmethod
    def as_uac(
        cls, invite: SipRequest, response: SipResponse, local_address: Address, cseq: int
    ) -> Dialog:
        contact = response.header("Contact")
        routes = list(reversed(response.headers.get_all("Record-Route")))
        return cls(
            call_id=invite.header("Call-ID") or "",
            local=invite.header("From") or "",
            remote=response.header("To") or "",
            remote_target=uri_of(contact) if contact else invite.uri,
            local_contact=invite.header("Contact") or "",
            local_address=local_address,
            cseq=cseq,
            route_set=routes,
        )

    @classmethod
    def as_uas(
        cls, invite: SipRequest, local_to: str, local_contact: str, local_address: Address
    ) -> Dialog:
        contact = invite.header("Contact")
        return cls(
            call_id=invite.header("Call-ID") or "",
            local=local_to,
            remote=invite.header("From") or "",
            remote_target=uri_of(contact) if contact else uri_of(invite.header("From") or ""),
            local_contact=local_contact,
            local_address=local_address,
            cseq=0,
            route_set=list(invite.headers.get_all("Record-Route")),
        )

    def request(
        self, method: str, *, via: str, cseq: int | None = None, body: bytes = b""
    ) -> SipRequest:
        """``via``: our Via for it (a new branch, the transport to the peer)."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        items: list[tuple[str, str]] = [
            ("Via", via),
            ("Max-Forwards", "70"),
            ("From", self.local),
            ("To", self.remote),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        items += [("Route", route) for route in self.route_set]
        if method not in ("BYE", "CANCEL", "ACK"):
            items.append(("Contact", self.local_contact))
        if body:
            items.append(("Content-Type", "application/sdp"))
        return SipRequest(method, self.remote_target, Headers(tuple(items)), body)
