"""The SIP gateway's errors."""

from __future__ import annotations

from switchboard.core.sections import ConfigError


class SipParseError(ValueError):
    """Bytes that are not a SIP message (or SDP body) we can read; the transport drops them."""


class TrunkConfigError(ConfigError):
    """A ``[[trunks]]`` or ``[[routes]]`` table that cannot work (refused at load)."""
