"""User access tokens: ES256 JWTs shaped like real ACS tokens.

Claims as real tokens carry them (section 1.4 of the wire reference), plus ``iatMs`` (issue
time in milliseconds) so a revocation refuses exactly the tokens issued before it, even within
the same second.

The Python SDK decodes the payload with *standard* base64; a ``-`` or ``_`` in the base64url
payload breaks it. An ASCII JSON payload can only produce those for ``>``, ``?`` or ``~`` at
certain offsets, so we check the encoding and, in the rare case, pad and re-mint.
"""

from __future__ import annotations

import base64
from binascii import b2a_base64
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import jwt
import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from switchboard.core.clock import Clock
from switchboard.core.errors import AuthenticationError
from switchboard.identity.keys import ALGORITHM, SigningKeyRing, thumbprint
from switchboard.identity.models import AccessToken, TokenScope

_SCP = 1792  # the fixed value real ACS user tokens carry
_CLAIMS = (
    b'{"skypeid":%b,"scp":%d,"csi":"%d","exp":%d,"rgn":%b,"acsScope":%b,'
    b'"resourceId":%b,"resourceLocation":%b,"iat":%d,"iatMs":%d'
)  # + optional ',"pad":"0…"' + "}"
_ES256 = ec.ECDSA(hashes.SHA256())  # cryptography hashes the input itself: one call
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_encode = msgspec.json.encode


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_INVALID = "InvalidToken"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    scopes: frozenset[str]
    expires_at: int
    issued_ms: int


class TokenCodec:
    def __init__(
        self,
        keys: SigningKeyRing,
        *,
        resource_id: str,
        clock: Clock,
        region: str = "amer",
        location: str = "unitedstates",
        cache_size: int = 65536,
    ) -> None:
        self._keys = keys
        self._resource_id = resource_id
        self._clock = clock
        self._region = region
        self._location = location
        self._cache: OrderedDict[str, TokenClaims] = OrderedDict()
        self._cache_size = cache_size
        self._headers: dict[str, bytes] = {}  # kid -> encoded header segment and "."
        self._region_json = _encode(region)
        self._resource_json = _encode(resource_id)
        self._location_json = _encode(location)

    def mint(self, user_id: str, scopes: Sequence[TokenScope], minutes: int) -> AccessToken:
        now = self._clock.now()
        iat = int(now)
        expires = iat + minutes * 60
        # The claims in a fixed order, as msgspec would encode the dict, laid out with one
        # bytes format (a third of the dict's cost; this runs on every issuance). Strings
        # that vary go through msgspec, which escapes them.
        claims = _CLAIMS % (
            _encode(user_id.removeprefix("8:")),
            _SCP,
            iat,
            expires,
            self._region_json,
            _encode(",".join(scopes)),  # StrEnum members are their values
            self._resource_json,
            self._location_json,
            iat,
            int(now * 1000),
        )
        key = self._keys.current
        header = self._headers.get(key.kid)
        if header is None:
            fields = {"alg": ALGORITHM, "kid": key.kid, "x5t": thumbprint(key), "typ": "JWT"}
            header = _b64url(_encode(fields)).encode("ascii") + b"."
            self._headers[key.kid] = header
        for pad in range(4):
            payload = claims + (b',"pad":"%b"}' % (b"0" * pad) if pad else b"}")
            # Standard base64 without "+" or "/" is the base64url the JWT needs and what
            # the Python SDK's standard decoder reads.
            body = b2a_base64(payload, newline=False).rstrip(b"=")
            if b"+" in body or b"/" in body:
                continue
            signing_input = header + body
            # Signed by hand rather than with jwt.encode: this is the hot path of issuance,
            # and PyJWT's generic encoding costs as much again as the signature. PyJWT still
            # verifies (decode) these tokens, so the format is checked against it in tests.
            r, s_ = decode_dss_signature(key.private_key.sign(signing_input, _ES256))
            signature = b2a_base64(r.to_bytes(32, "big") + s_.to_bytes(32, "big"), newline=False)
            token = signing_input + b"." + signature.rstrip(b"=").translate(_URLSAFE)
            return AccessToken(token.decode("ascii"), float(expires))
        raise RuntimeError("could not mint a token payload safe for standard base64")

    async def verify(self, token: str) -> TokenClaims:
        """Signature and expiry; revocation is the caller's business."""
        claims = self._cache.get(token)
        if claims is None:
            claims = await self._verify_signature(token)
            self._cache[token] = claims
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if claims.expires_at <= self._clock.now():
            raise AuthenticationError("The access token has expired.", code="TokenExpired")
        return claims

    async def _verify_signature(self, token: str) -> TokenClaims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(
                "The access token is malformed.", code="InvalidToken"
            ) from exc
        if not isinstance(kid, str):
            raise AuthenticationError("The access token has no key id.", code="InvalidToken")
        public_key = self._keys.verification_key(kid)
        if public_key is None:
            await self._keys.reload_for_unknown_kid()
            public_key = self._keys.verification_key(kid)
        if public_key is None:
            raise AuthenticationError(
                "The access token was not signed by a key of this resource.", code="InvalidToken"
            )
        try:
            payload = jwt.decode(
                token,
                public_key,
                algorithms=[ALGORITHM],
                # Time checks use our clock (below), not PyJWT's wall clock.
                options={
                    "require": ["exp", "skypeid"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise AuthenticationError(
                "The access token is not valid.", code="InvalidToken"
            ) from exc
        if payload.get("resourceId") != self._resource_id:
            raise AuthenticationError(
                "The access token belongs to another resource.", code="InvalidToken"
            )
        scopes = frozenset(s for s in str(payload.get("acsScope", "")).split(",") if s)
        issued_ms = int(payload.get("iatMs", int(payload.get("iat", 0)) * 1000))
        return TokenClaims("8:" + str(payload["skypeid"]), scopes, int(payload["exp"]), issued_ms)
