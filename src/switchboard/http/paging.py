"""Pagination helpers: signed continuation tokens, ``nextLink`` URLs and page-size parsing.

A token is ``base64url(json) "." base64url(hmac_sha256(key, "sb-page-v1." + that segment)[:16])``,
both segments unpadded, so it only contains ``[A-Za-z0-9._-]`` and survives the SDK's
``parse_qs`` + ``quote`` round trip unchanged. The MAC covers the *encoded* segment and the
signature is compared as text, so every token has exactly one valid spelling.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from urllib.parse import quote, urlencode

from switchboard.core.errors import BadRequestError

_MAC_CONTEXT = b"sb-page-v1."  # domain separation: the same secret may sign other things
_MAC_BYTES = 16
_MAX_TOKEN_CHARS = 4096  # refuse absurd input before doing any work on it
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]+")


def _invalid_token() -> BadRequestError:
    return BadRequestError("The continuation token is not valid.", code="InvalidContinuationToken")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ContinuationCodec:
    """Signs and verifies the opaque state a list endpoint needs to resume."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the continuation secret must not be empty")
        self._secret = secret

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self._secret, _MAC_CONTEXT + payload.encode("ascii"), hashlib.sha256)
        return _b64encode(mac.digest()[:_MAC_BYTES])

    def encode(self, state: Mapping[str, str | int]) -> str:
        raw = json.dumps(dict(state), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        payload = _b64encode(raw.encode("utf-8"))
        return f"{payload}.{self._sign(payload)}"

    def decode(self, token: str) -> dict[str, str | int]:
        """The state, or BadRequestError for anything this codec did not issue unchanged."""
        if len(token) > _MAX_TOKEN_CHARS or not _TOKEN_SHAPE.fullmatch(token):
            raise _invalid_token()
        payload, signature = token.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise _invalid_token()
        try:
            state = json.loads(_b64decode(payload).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise _invalid_token() from exc
        if not isinstance(state, dict):
            raise _invalid_token()
        result: dict[str, str | int] = {}
        for key, value in state.items():
            # bool is an int subclass; a signed token never holds one, but be exact anyway
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise _invalid_token()
            result[key] = value
        return result


def next_link(
    path: str,
    params: Mapping[str, str],
    *,
    api_version: str | None,
    origin: str | None = None,
) -> str:
    """A ``nextLink`` that carries ``api_version`` (the request's, normalised); absolute
    (``https://host:port/path?…``) when given the request's ``origin``, as ACS's are.

    The JS SDKs GET a ``nextLink`` exactly as written, so without it every second page is a
    400 MissingApiVersionParameter; the Python SDKs replace it with their own. ``None``
    (an endpoint without api-versions, such as the admin API) adds none.
    """
    query = {k: v for k, v in params.items() if k.lower() != "api-version"}
    if api_version is not None:
        query = {"api-version": api_version, **query}
    link = path if origin is None else origin + path
    if not query:
        return link
    return f"{link}?{urlencode(query, quote_via=quote, safe='')}"


MAX_SKIP = 2**31 - 1  # far past any listing; keeps the offset inside every database's integer


def parse_skip(raw: str | None) -> int:
    """A ``skip`` query value: a non-negative integer no larger than ``MAX_SKIP``."""
    if raw is None or raw == "":
        return 0
    if not _DIGITS.fullmatch(raw):
        raise BadRequestError("skip must be a non-negative integer.", target="skip")
    digits = raw.lstrip("0") or "0"
    if len(digits) > len(str(MAX_SKIP)) or int(digits) > MAX_SKIP:
        raise BadRequestError(f"skip must be at most {MAX_SKIP}.", target="skip")
    return int(digits)


def page_size(raw: str | None, *, default: int, maximum: int) -> int:
    """A page-size query value: a positive integer, clamped to ``maximum``."""
    if raw is None:
        return min(default, maximum)
    if not _DIGITS.fullmatch(raw):  # not int(): it accepts "+5", " 5", "1_0" and non-ASCII digits
        raise BadRequestError("The page size must be a positive integer.")
    digits = raw.lstrip("0")
    if not digits:
        raise BadRequestError("The page size must be at least 1.")
    if len(digits) > len(str(maximum)):  # huge values: clamp without converting them
        return maximum
    return min(int(digits), maximum)
