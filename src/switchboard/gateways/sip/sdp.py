"""SDP offer/answer (RFC 3264) for G.711 telephony: PCMU/PCMA and telephone-event, sans-I/O.

offer(address, port, codecs, origin, direction) ─▶ bytes: one audio m-line, our codecs in
    preference order, telephone-event/8000 0-16, ptime 20, a=sendrecv (sendonly: on hold);
    ``origin`` keeps one o= session over a call's re-INVITEs, its version + 1 per change
parse_sdp(bytes) ─▶ SessionDescription (connection address, audio port, payload types,
    telephone-event pt, direction) ─ anything else ─▶ SipParseError
answer_to(offer, address, port, our codecs) ─▶ (the agreed Media, answer bytes)
    no common codec ─▶ None (the caller answers 488); answering_direction: their sendonly
    ─▶ our recvonly, inactive ─▶ inactive (RFC 3264 §6.1)
SRTP (TLS trunks): ``srtp_key`` ─▶ RTP/SAVP + a=crypto AES_CM_128_HMAC_SHA1_80 inline:<key>
    (RFC 4568 SDES); an answer to an offer without such a line ─▶ None (488)
"""

from __future__ import annotations

import base64
import binascii
import itertools
from dataclasses import dataclass

from switchboard.gateways.sip.errors import SipParseError

STATIC = {"PCMU": 0, "PCMA": 8}  # RFC 3551 static payload types, 8 kHz
EVENT_RATE = 8000
DEFAULT_EVENT_PT = 101
SRTP_SUITE = "AES_CM_128_HMAC_SHA1_80"  # RFC 4568's mandatory suite; 30 bytes key + salt
SRTP_KEY_LENGTH = 30
_session_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Media:
    """What both sides agreed: where RTP goes and how it is encoded."""

    address: str
    port: int
    codec: str  # PCMU | PCMA
    payload_type: int
    event_payload_type: int | None  # telephone-event/8000, None: the peer has none
    remote_key: bytes | None = None  # SRTP (SDES): the peer's master key + salt


@dataclass(frozen=True, slots=True)
class SessionDescription:
    address: str
    port: int
    formats: tuple[int, ...]
    rtpmap: dict[int, str]  # pt → "encoding/rate" as written
    direction: str  # sendrecv | sendonly | recvonly | inactive
    crypto: tuple[tuple[str, str, str], ...] = ()  # a=crypto: (tag, suite, key params)

    def srtp_key(self) -> tuple[str, bytes] | None:
        """The tag and master key + salt of its first AES_CM_128_HMAC_SHA1_80 a=crypto."""
        for tag, suite, params in self.crypto:
            if suite != SRTP_SUITE or not params.startswith("inline:"):
                continue
            try:
                key = base64.b64decode(params[7:].split("|", 1)[0], validate=True)
            except binascii.Error:
                continue
            if len(key) == SRTP_KEY_LENGTH:
                return tag, key
        return None

    def codec_pt(self, codec: str) -> int | None:
        for pt in self.formats:
            mapped = self.rtpmap.get(pt)
            if mapped is not None and mapped.split("/")[0].upper() == codec:
                return pt
            if mapped is None and STATIC.get(codec) == pt:
                return pt
        return None

    def event_pt(self) -> int | None:
        for pt in self.formats:
            mapped = self.rtpmap.get(pt, "")
            if mapped.lower().startswith("telephone-event/8000"):
                return pt
        return None


Origin = tuple[int, int]  # o= session id and version (RFC 3264 §8: + 1 per change)
ANSWERING = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}


def new_origin() -> Origin:
    session = next(_session_ids)
    return session, session


def offer(
    address: str,
    port: int,
    codecs: tuple[str, ...],
    *,
    origin: Origin | None = None,
    direction: str = "sendrecv",
    srtp_key: bytes | None = None,
) -> bytes:
    """``srtp_key``: RTP/SAVP with our SDES key (a=crypto:1, RFC 4568) — TLS trunks."""
    pts = [STATIC[c] for c in codecs]
    return _render(
        address,
        port,
        list(zip(codecs, pts, strict=True)),
        DEFAULT_EVENT_PT,
        origin or new_origin(),
        direction,
        ("1", srtp_key) if srtp_key is not None else None,
    )


def answering_direction(theirs: str, *, held: bool = False) -> str:
    """Our direction in an answer to ``theirs`` (RFC 3264 §6.1), ``held``: we only send."""
    ours = ANSWERING.get(theirs, "sendrecv")
    if held:
        return {"sendrecv": "sendonly", "recvonly": "inactive"}.get(ours, ours)
    return ours


def answer_to(
    remote: SessionDescription,
    address: str,
    port: int,
    codecs: tuple[str, ...],
    *,
    origin: Origin | None = None,
    direction: str = "sendrecv",
    srtp_key: bytes | None = None,
) -> tuple[Media, bytes] | None:
    """Our answer: the first of the offer's codecs we take (the offerer's preference).
    ``srtp_key`` (SRTP required): the offer must carry an AES_CM_128_HMAC_SHA1_80 a=crypto,
    answered with ours under its tag; else None."""
    theirs = remote.srtp_key() if srtp_key is not None else None
    if srtp_key is not None and theirs is None:
        return None
    chosen: tuple[str, int] | None = None
    for pt in remote.formats:
        for codec in codecs:
            if remote.codec_pt(codec) == pt:
                chosen = (codec, pt)
                break
        if chosen is not None:
            break
    if chosen is None:
        return None
    event = remote.event_pt()
    key = theirs[1] if theirs is not None else None
    media = Media(remote.address, remote.port, chosen[0], chosen[1], event, key)
    ours = (theirs[0], srtp_key) if theirs is not None and srtp_key is not None else None
    body = _render(address, port, [chosen], event, origin or new_origin(), direction, ours)
    return media, body


def negotiated(
    answer: SessionDescription, codecs: tuple[str, ...], *, srtp: bool = False
) -> Media | None:
    """The media an answer to our offer agreed on (its first codec that we offered);
    ``srtp``: it must carry its SDES key too."""
    key = answer.srtp_key() if srtp else None
    if srtp and key is None:
        return None
    for pt in answer.formats:
        for codec in codecs:
            if answer.codec_pt(codec) == pt:
                remote_key = key[1] if key is not None else None
                return Media(answer.address, answer.port, codec, pt, answer.event_pt(), remote_key)
    return None


def parse_sdp(body: bytes) -> SessionDescription:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("SDP is not UTF-8") from None
    session_address: str | None = None
    media_address: str | None = None
    port: int | None = None
    formats: tuple[int, ...] = ()
    rtpmap: dict[int, str] = {}
    direction = "sendrecv"
    crypto: list[tuple[str, str, str]] = []
    in_audio = False
    for raw in text.splitlines():
        line = raw.strip()
        kind, eq, value = line.partition("=")
        if not eq or len(kind) != 1:
            continue
        if kind == "m":
            in_audio = value.startswith("audio ") and port is None
            if in_audio:
                parts = value.split()
                if len(parts) < 4 or not parts[1].isdigit():
                    raise SipParseError("bad m= line")
                port = int(parts[1])
                formats = tuple(_pt(p) for p in parts[3:])
        elif kind == "c":
            parts = value.split()
            if len(parts) != 3 or parts[0] != "IN":
                raise SipParseError("bad c= line")
            if in_audio:
                media_address = parts[2]
            elif port is None:
                session_address = parts[2]
        elif kind == "a" and in_audio:
            name, _, attr = value.partition(":")
            if name == "rtpmap":
                pt_text, _, encoding = attr.partition(" ")
                rtpmap[_pt(pt_text)] = encoding.strip()
            elif name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                direction = name
            elif name == "crypto":
                parts = attr.split()
                if len(parts) >= 3:
                    crypto.append((parts[0], parts[1], parts[2]))
    address = media_address or session_address
    if port is None or address is None or port > 65535:
        raise SipParseError("no audio stream with an address")
    return SessionDescription(address, port, formats, rtpmap, direction, tuple(crypto))


def _pt(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > 127:
        raise SipParseError("bad payload type")
    return int(text)


def _render(
    address: str,
    port: int,
    codecs: list[tuple[str, int]],
    event_pt: int | None,
    origin: Origin,
    direction: str,
    crypto: tuple[str, bytes] | None = None,
) -> bytes:
    session, version = origin
    pts = [str(pt) for _, pt in codecs] + ([str(event_pt)] if event_pt is not None else [])
    lines = [
        "v=0",
        f"o=switchboard {session} {version} IN IP4 {address}",
        "s=switchboard",
        f"c=IN IP4 {address}",
        "t=0 0",
        f"m=audio {port} {'RTP/SAVP' if crypto else 'RTP/AVP'} {' '.join(pts)}",
    ]
    if crypto is not None:
        inline = base64.b64encode(crypto[1]).decode()
        lines.append(f"a=crypto:{crypto[0]} {SRTP_SUITE} inline:{inline}")
    lines += [f"a=rtpmap:{pt} {codec}/8000" for codec, pt in codecs]
    if event_pt is not None:
        lines += [f"a=rtpmap:{event_pt} telephone-event/8000", f"a=fmtp:{event_pt} 0-16"]
    lines += ["a=ptime:20", f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()
