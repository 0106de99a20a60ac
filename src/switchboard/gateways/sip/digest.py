"""HTTP digest authentication for SIP (RFC 3261 §22, RFC 2617 / 8760 MD5), client side.

401 WWW-Authenticate / 407 Proxy-Authenticate ─parse_challenge─▶ Challenge
Challenge + credentials + method + URI ─authorization─▶ the Authorization (or
    Proxy-Authorization) header value for the retried request
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from switchboard.gateways.sip.errors import SipParseError

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: str | None = None  # "auth" if the server offered it
    opaque: str | None = None


def parse_challenge(value: str) -> Challenge:
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise SipParseError("not a Digest challenge")
    params = {m.group(1).lower(): m.group(2).strip('"') for m in _PARAM.finditer(rest)}
    if "realm" not in params or "nonce" not in params:
        raise SipParseError("challenge without realm or nonce")
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        raise SipParseError(f"digest algorithm {algorithm} is not supported")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    return Challenge(
        params["realm"],
        params["nonce"],
        "MD5",
        "auth" if "auth" in qops else None,
        params.get("opaque"),
    )


def authorization(
    challenge: Challenge,
    username: str,
    password: str,
    method: str,
    uri: str,
    *,
    nonce_count: int = 1,
    cnonce: str | None = None,
) -> str:
    ha1 = _md5(f"{username}:{challenge.realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    parts = [
        f'username="{username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
        "algorithm=MD5",
    ]
    if challenge.qop == "auth":
        cnonce = cnonce or os.urandom(8).hex()
        nc = f"{nonce_count:08x}"
        response = _md5(f"{ha1}:{challenge.nonce}:{nc}:{cnonce}:auth:{ha2}")
        parts += [f'response="{response}"', "qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        parts.append(f'response="{_md5(f"{ha1}:{challenge.nonce}:{ha2}")}"')
    if challenge.opaque is not None:
        parts.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(parts)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
