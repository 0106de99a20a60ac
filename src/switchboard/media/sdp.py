"""SDP (RFC 8866) as WebRTC uses it (JSEP, RFC 8829): parse a peer's description. Sans-I/O.

Only what the SFU needs is interpreted (BUNDLE, ICE credentials and candidates, DTLS
fingerprint and setup role, rtcp-mux, m-lines with mid, direction, codecs with fmtp and
feedback, header extensions, SSRCs and msid); anything else is kept as raw attributes.
Session-level ICE/DTLS attributes (Firefox puts them there) apply to every m-line that has
none of its own. Building descriptions is ``negotiation.py``'s job.

    text ─parse─▶ SessionDescription(media=[MediaSection(mid, kind, direction, codecs, …)])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


class SdpError(ValueError):
    """The text is not a usable WebRTC session description."""


class Direction(StrEnum):
    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)


@dataclass(slots=True)
class Codec:
    payload_type: int
    name: str  # as written ("opus", "VP8", "H264", "rtx", …)
    clock_rate: int
    channels: int | None = None
    fmtp: str | None = None
    feedback: list[str] = field(default_factory=list)

    def is_named(self, name: str) -> bool:
        return self.name.lower() == name.lower()


@dataclass(slots=True)
class MediaSection:
    kind: str  # audio | video | application | …
    port: int
    protocol: str
    formats: list[str]
    mid: str | None = None
    direction: Direction = Direction.SENDRECV
    codecs: list[Codec] = field(default_factory=list)
    extmaps: dict[int, str] = field(default_factory=dict)  # id → URI
    ssrcs: list[int] = field(default_factory=list)  # in order of first appearance
    ssrc_groups: list[tuple[str, list[int]]] = field(default_factory=list)
    msid: str | None = None
    ice_ufrag: str | None = None
    ice_pwd: str | None = None
    fingerprint: tuple[str, str] | None = None  # (algorithm, value); sha-256 if offered
    setup: str | None = None
    rtcp_mux: bool = False
    candidates: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return self.port == 0

    def codec(self, name: str) -> Codec | None:
        return next((c for c in self.codecs if c.is_named(name)), None)

    def extension_id(self, uri: str) -> int:
        return next((i for i, u in self.extmaps.items() if u == uri), 0)

    def primary_ssrc(self) -> int | None:
        """The media SSRC: the first one, leaving out RTX/FEC partners of an ssrc-group."""
        secondary = {s for _, group in self.ssrc_groups for s in group[1:]}
        return next((s for s in self.ssrcs if s not in secondary), None)


@dataclass(slots=True)
class SessionDescription:
    media: list[MediaSection]
    bundle: list[str] = field(default_factory=list)
    ice_lite: bool = False


def parse(text: str) -> SessionDescription:
    """Parse a WebRTC description; SdpError if it is not one."""
    if not text.startswith("v=0"):
        raise SdpError("an SDP description starts with v=0")
    session = SessionDescription(media=[])
    defaults = MediaSection("session", 0, "", [])
    current: MediaSection = defaults
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            current = _media_line(value)
            session.media.append(current)
        elif kind == "a":
            name, _, argument = value.partition(":")
            if current is defaults and name == "group" and argument.startswith("BUNDLE"):
                session.bundle = argument.split()[1:]
            elif current is defaults and name == "ice-lite":
                session.ice_lite = True
            else:
                _attribute(current, name, argument)
    for section in session.media:
        section.ice_ufrag = section.ice_ufrag or defaults.ice_ufrag
        section.ice_pwd = section.ice_pwd or defaults.ice_pwd
        section.fingerprint = section.fingerprint or defaults.fingerprint
        section.setup = section.setup or defaults.setup
        if section.direction is Direction.SENDRECV and defaults.direction is not Direction.SENDRECV:
            section.direction = defaults.direction
    return session


def _media_line(value: str) -> MediaSection:
    parts = value.split()
    if len(parts) < 3:
        raise SdpError(f"bad m-line: m={value}")
    try:
        port = int(parts[1].split("/")[0])
    except ValueError:
        raise SdpError(f"bad port in m={value}") from None
    return MediaSection(parts[0], port, parts[2], parts[3:])


def _attribute(section: MediaSection, name: str, argument: str) -> None:
    try:
        if name == "mid":
            section.mid = argument
        elif name in ("sendrecv", "sendonly", "recvonly", "inactive"):
            section.direction = Direction(name)
        elif name == "rtpmap":
            pt, _, encoding = argument.partition(" ")
            parts = encoding.split("/")
            channels = int(parts[2]) if len(parts) > 2 else None
            section.codecs.append(Codec(int(pt), parts[0], int(parts[1]), channels))
        elif name == "fmtp":
            pt, _, params = argument.partition(" ")
            codec = _codec(section, int(pt))
            if codec is not None:
                codec.fmtp = params
        elif name == "rtcp-fb":
            pt, _, feedback = argument.partition(" ")
            if pt == "*":
                for codec in section.codecs:
                    codec.feedback.append(feedback)
            else:
                codec = _codec(section, int(pt))
                if codec is not None:
                    codec.feedback.append(feedback)
        elif name == "extmap":
            ident, _, rest = argument.partition(" ")
            section.extmaps[int(ident.split("/")[0])] = rest.split()[0]
        elif name == "ssrc":
            ssrc = int(argument.split()[0])
            if ssrc not in section.ssrcs:
                section.ssrcs.append(ssrc)
        elif name == "ssrc-group":
            semantics, *members = argument.split()
            section.ssrc_groups.append((semantics, [int(s) for s in members]))
        elif name == "msid":
            section.msid = argument
        elif name == "ice-ufrag":
            section.ice_ufrag = argument
        elif name == "ice-pwd":
            section.ice_pwd = argument
        elif name == "fingerprint":
            algorithm, _, fingerprint = argument.partition(" ")
            if section.fingerprint is None or algorithm.lower() == "sha-256":
                section.fingerprint = (algorithm.lower(), fingerprint.strip())
        elif name == "setup":
            section.setup = argument
        elif name == "rtcp-mux":
            section.rtcp_mux = True
        elif name == "candidate":
            section.candidates.append(argument)
        else:
            section.other.append(f"{name}:{argument}" if argument else name)
    except (ValueError, IndexError):
        raise SdpError(f"bad attribute a={name}:{argument}") from None


def _codec(section: MediaSection, payload_type: int) -> Codec | None:
    return next((c for c in section.codecs if c.payload_type == payload_type), None)
