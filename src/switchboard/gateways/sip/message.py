"""SIP messages (RFC 3261 §7), sans-I/O: parse bytes into a request or response, and back.

    datagram / framed stream bytes ─parse_message─▶ SipRequest | SipResponse
        anything malformed ─▶ SipParseError (and nothing else: the transport drops it)
    SipRequest / SipResponse ─to_bytes()─▶ bytes, Content-Length always written

Headers keep their order and are stored under their canonical names (compact forms such
as ``i``/``v``/``m`` are expanded), so ``header("Call-ID")`` finds ``i:`` too. Values are
kept as text; the few parts the stack reads (tags, branch, CSeq, URIs) have helpers here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from switchboard.gateways.sip.errors import SipParseError

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE_BYTES = 65_535
MAX_HEADERS = 200

COMPACT = {
    "i": "Call-ID",
    "f": "From",
    "t": "To",
    "v": "Via",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Call-ID",
        "CSeq",
        "WWW-Authenticate",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Max-Forwards",
        "Record-Route",
        "P-Asserted-Identity",
        "RSeq",
        "RAck",
    )
}
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")


def canonical_name(name: str) -> str:
    if len(name) == 1 and name.lower() in COMPACT:
        return COMPACT[name.lower()]
    known = _CANONICAL.get(name.lower())
    if known is not None:
        return known
    return "-".join(part.capitalize() for part in name.split("-"))


@dataclass(frozen=True, slots=True)
class Headers:
    items: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        wanted = canonical_name(name)
        for key, value in self.items:
            if key == wanted:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        wanted = canonical_name(name)
        return [value for key, value in self.items if key == wanted]

    def set(self, name: str, value: str) -> Headers:
        """Replace every ``name`` with one ``value`` (in the first one's place, else last)."""
        wanted = canonical_name(name)
        out: list[tuple[str, str]] = []
        placed = False
        for key, old in self.items:
            if key == wanted:
                if not placed:
                    out.append((key, value))
                    placed = True
            else:
                out.append((key, old))
        if not placed:
            out.append((wanted, value))
        return Headers(tuple(out))

    def without(self, name: str) -> Headers:
        wanted = canonical_name(name)
        return Headers(tuple(item for item in self.items if item[0] != wanted))


@dataclass(frozen=True, slots=True)
class SipRequest:
    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def with_header(self, name: str, value: str) -> SipRequest:
        return replace(self, headers=self.headers.set(name, value))

    def to_bytes(self) -> bytes:
        return _serialize(f"{self.method} {self.uri} {SIP_VERSION}", self.headers, self.body)


@dataclass(frozen=True, slots=True)
class SipResponse:
    status: int
    reason: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def with_header(self, name: str, value: str) -> SipResponse:
        return replace(self, headers=self.headers.set(name, value))

    def to_bytes(self) -> bytes:
        return _serialize(f"{SIP_VERSION} {self.status} {self.reason}", self.headers, self.body)


SipMessage = SipRequest | SipResponse


def _serialize(start: str, headers: Headers, body: bytes) -> bytes:
    lines = [start]
    lines.extend(f"{k}: {v}" for k, v in headers.items if k != "Content-Length")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_message(data: bytes) -> SipMessage:
    """One whole message (a datagram, or one framed off a stream)."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError("message too large")
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = data.partition(b"\n\n")
        if not separator:
            raise SipParseError("no end of headers")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipParseError("headers are not UTF-8") from None
    lines = text.replace("\r\n", "\n").split("\n")
    start, header_lines = lines[0], lines[1:]
    headers = _parse_headers(header_lines)
    length_text = headers.get("Content-Length")
    if length_text is not None:
        length = _int(length_text.strip(), "Content-Length")
        if length > len(body):
            raise SipParseError("body shorter than Content-Length")
        body = body[:length]
    if start.startswith(SIP_VERSION + " "):
        parts = start.split(" ", 2)
        status = _int(parts[1], "status code")
        if not 100 <= status <= 699:
            raise SipParseError("status code out of range")
        return SipResponse(status, parts[2] if len(parts) > 2 else "", headers, body)
    parts = start.split(" ")
    if len(parts) != 3 or parts[2] != SIP_VERSION:
        raise SipParseError("bad request line")
    method, uri = parts[0], parts[1]
    if not _TOKEN.match(method) or not uri or any(ord(ch) < 33 for ch in uri):
        raise SipParseError("bad method or request URI")
    _require(headers, ("Via", "From", "To", "Call-ID", "CSeq"))
    return SipRequest(method, uri, headers, body)


def _parse_headers(lines: list[str]) -> Headers:
    items: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):  # folded continuation of the previous header
            if not items:
                raise SipParseError("continuation before any header")
            name, value = items[-1]
            items[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or not _TOKEN.match(name):
            raise SipParseError("bad header line")
        items.append((canonical_name(name), value.strip()))
        if len(items) > MAX_HEADERS:
            raise SipParseError("too many headers")
    return Headers(tuple(items))


def _require(headers: Headers, names: tuple[str, ...]) -> None:
    for name in names:
        if headers.get(name) is None:
            raise SipParseError(f"no {name} header")
    cseq(headers)


def _int(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise SipParseError(f"bad {what}")
    return int(text)


# ── the header parts the stack reads ─────────────────────────────────────────────────


def cseq(headers: Headers) -> tuple[int, str]:
    value = headers.get("CSeq") or ""
    parts = value.split()
    if len(parts) != 2:
        raise SipParseError("bad CSeq")
    return _int(parts[0], "CSeq number"), parts[1]


def header_params(value: str) -> dict[str, str]:
    """``;name=value`` parameters after the main part (outside ``<…>``)."""
    tail = value.rsplit(">", 1)[1] if ">" in value else value.split(";", 1)[-1]
    if tail == value and ";" not in value:
        return {}
    params: dict[str, str] = {}
    for part in tail.split(";"):
        name, _, param = part.strip().partition("=")
        if name:
            params[name.lower()] = param.strip().strip('"')
    return params


def tag_of(value: str | None) -> str | None:
    return header_params(value).get("tag") if value else None


def branch_of(via: str | None) -> str | None:
    return header_params(via).get("branch") if via else None


def uri_of(value: str) -> str:
    """The URI of a name-addr (``"Bob" <sip:bob@host>;tag=1``) or addr-spec."""
    if "<" in value:
        start = value.index("<") + 1
        end = value.find(">", start)
        if end < 0:
            raise SipParseError("unclosed <")
        return value[start:end]
    return value.split(";", 1)[0].strip()


def user_of(uri: str) -> str:
    """The user part of a sip:/sips:/tel: URI (a phone number), without its parameters."""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() not in ("sip", "sips", "tel"):
        raise SipParseError("not a sip, sips or tel URI")
    user = rest.split("@", 1)[0] if "@" in rest else rest
    return user.split(";", 1)[0]


def host_port_of(uri: str) -> tuple[str, int | None]:
    """Host and port of a sip: URI (as in a Contact)."""
    _, _, rest = uri.partition(":")
    hostport = rest.split("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.partition(":")
    if not host:
        raise SipParseError("URI without a host")
    return host, (_int(port, "port") if port else None)
