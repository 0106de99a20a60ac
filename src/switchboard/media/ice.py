"""ICE-lite for the media node (RFC 8445 §2.5): answer connectivity checks, never send any.

The node has public-enough host candidates (its bind address), so it does not gather or
check: the participant's full ICE agent (browser, aiortc) is always controlling, sends
Binding requests to our one candidate and nominates it. Sans-I/O: ``receive`` takes a STUN
datagram and its source, and returns the response to send (or None) and whether the source
is now the selected address.

    participant ──Binding request (USERNAME ours:theirs, MESSAGE-INTEGRITY with our pwd)──▶
    ◀── Binding success (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT)
    USE-CANDIDATE (or the first valid check) ─▶ that source address is where media goes
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aioice import stun

Address = tuple[str, int]


def new_credentials() -> tuple[str, str]:
    """A fresh ice-ufrag (8 chars) and ice-pwd (24 chars), as RFC 8839 asks (≥ 4 and ≥ 22)."""
    return secrets.token_hex(4), secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class IceResult:
    response: bytes | None  # the datagram to send back to the source, if any
    selected: bool  # the source is (now) the participant's address for media


class IceLiteAgent:
    def __init__(self, ufrag: str, pwd: str) -> None:
        self.ufrag = ufrag
        self.pwd = pwd
        self.remote_ufrag: str | None = None  # from the participant's SDP, when known
        self.selected: Address | None = None
        self.checks = 0
        self.rejected = 0

    def receive(self, data: bytes, source: Address) -> IceResult:
        try:
            message = stun.parse_message(data)
        except ValueError:
            self.rejected += 1
            return IceResult(None, False)
        if (
            message.message_method != stun.Method.BINDING
            or message.message_class != stun.Class.REQUEST
        ):
            return IceResult(None, False)  # responses/indications: we send no requests
        username = message.attributes.get("USERNAME", "")
        local, _, remote = str(username).partition(":")
        if (
            local != self.ufrag
            or (self.remote_ufrag is not None and remote != self.remote_ufrag)
            or not message.check_message_integrity(self.pwd.encode())
        ):
            self.rejected += 1
            error = stun.Message(
                stun.Method.BINDING,
                stun.Class.ERROR,
                transaction_id=message.transaction_id,
                attributes={"ERROR-CODE": (401, "Unauthorized")},
            )
            error.add_fingerprint()
            return IceResult(bytes(error), False)
        self.checks += 1
        response = stun.Message(
            stun.Method.BINDING,
            stun.Class.RESPONSE,
            transaction_id=message.transaction_id,
            attributes={"XOR-MAPPED-ADDRESS": source},
        )
        response.add_message_integrity(self.pwd.encode())
        selected = "USE-CANDIDATE" in message.attributes or self.selected is None
        if selected:
            self.selected = source
        return IceResult(bytes(response), selected)
