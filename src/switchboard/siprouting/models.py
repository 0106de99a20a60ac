"""SIP routing: trunks (ACS's FQDN, signaling port, enabled + our own settings) and routes.

ACS's SIP Routing API knows a trunk by its FQDN with a signaling port; a route by its name,
a number pattern and the FQDNs of its trunks, in failover order. ``TrunkSettings`` is what
Switchboard adds (transport, credentials, registration, codecs, caller id, limits): kept
beside the ACS fields, never shown by the API, never wiped by its PATCH.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from switchboard.core.errors import SwitchboardError

DEFAULT_SIP_PORT = 5060
DEFAULT_SIP_TLS_PORT = 5061
MAX_TRUNKS = 250  # ACS: maxProperties of trunks, maxItems of routes and of a route's trunks
MAX_ROUTES = 250


class Transport(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class CallerIdRule(StrEnum):
    AS_IS = "as-is"  # the purchased number, E.164 with its +
    NO_PLUS = "no-plus"  # the same digits without the + (carriers that want it so)


@dataclass(frozen=True, slots=True)
class TrunkSettings:
    """Our own per-trunk settings (not part of ACS's API)."""

    host: str | None = None  # where SIP goes; None: the trunk's FQDN
    transport: Transport = Transport.UDP
    username: str | None = None  # digest credentials for 401/407 (both or neither)
    password: str | None = None
    register: bool = False  # REGISTER with the carrier (those that want it)
    register_seconds: int = 3600  # seconds asked for in REGISTER (refreshed at half)
    ca_file: str | None = None  # TLS: the CA the carrier's certificate must chain to
    # (None: the system's CAs)
    codecs: tuple[str, ...] = ("PCMU", "PCMA")  # our preference order in offers
    caller_id: CallerIdRule = CallerIdRule.AS_IS
    max_calls: int = 100  # concurrent calls, either way
    options_seconds: float = 30.0  # OPTIONS keep-alive interval; 0: none (always up)


@dataclass(frozen=True, slots=True)
class SipTrunk:
    fqdn: str  # ACS's key; routes name trunks by it
    sip_signaling_port: int = DEFAULT_SIP_PORT
    enabled: bool = True
    settings: TrunkSettings = field(default_factory=TrunkSettings)

    @property
    def host(self) -> str:
        return self.settings.host or self.fqdn


@dataclass(frozen=True, slots=True)
class SipRoute:
    name: str
    number_pattern: str  # as given (.NET flavoured); ``pattern`` is what Python matches
    trunks: tuple[str, ...] = ()
    description: str | None = None
    pattern: re.Pattern[str] = field(default=re.compile(""), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SipConfiguration:
    """The whole routing table: trunks by FQDN (in the order they were added) and routes (in
    the order they are tried)."""

    trunks: tuple[SipTrunk, ...] = ()
    routes: tuple[SipRoute, ...] = ()

    def trunk(self, fqdn: str) -> SipTrunk | None:
        return next((t for t in self.trunks if t.fqdn == fqdn), None)


class SipConfigurationError(SwitchboardError):
    """A configuration ACS would refuse: ``UnprocessableConfiguration`` with an inner code
    naming the rule (InvalidTrunkFqdn, MissingTrunk, …), as ACS answers."""

    status: ClassVar[int] = 422
    code: ClassVar[str] = "UnprocessableConfiguration"

    def __init__(self, inner_code: str, message: str) -> None:
        super().__init__(
            "One or more request inputs are not valid.",
            inner=SwitchboardError(message, code=inner_code),
        )
        self.inner_code = inner_code
        self.detail = message  # the one line the CLI and the config loader print

    def __str__(self) -> str:
        return self.detail


class DuplicateSipConfigurationError(SipConfigurationError):
    """Two routes of one name, or one trunk twice in a route: ACS answers these with 400."""

    status: ClassVar[int] = 400
