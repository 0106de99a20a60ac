"""SIP trunks and routes as the gateway uses them; the choice of trunks for a number.

    siprouting's SipConfiguration (the stored table: the config file's [[trunks]] /
    [[routes]], the /sip API, the CLI; checked by siprouting/validation.py)
        ─routing_from_configuration─▶ SipRouting(Trunk…, Route…)
    SipRouting(trunks, routes).trunks_for("+1425…") ─▶ the first route whose pattern matches
        the whole number ─▶ its trunks, in order, skipping disabled ones (failover order)

A trunk's ``name`` is its FQDN in ACS's API (what routes name); ``host`` is where SIP goes
(our own setting; default: the name). ``SipRouting.replace`` swaps trunks and routes at run
time (SipCarrier.reconfigure, on every node, when the table changes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.gateways.sip.errors import TrunkConfigError
from switchboard.siprouting.models import (
    CallerIdRule,
    SipConfiguration,
    SipConfigurationError,
    SipTrunk,
    Transport,
)
from switchboard.siprouting.validation import configuration_from_tables

__all__ = ["CallerIdRule", "Route", "SipRouting", "Transport", "Trunk"]


@dataclass(frozen=True, slots=True)
class Trunk:
    name: str
    host: str
    port: int = 5060
    transport: Transport = Transport.UDP
    username: str | None = None
    password: str | None = None
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    caller_id: CallerIdRule = CallerIdRule.AS_IS
    max_calls: int = 100
    options_seconds: float = 30.0  # OPTIONS keep-alive interval; 0: none (always up)
    enabled: bool = True
    register: bool = False  # REGISTER with the trunk (carriers that want it); refreshed
    register_seconds: int = 3600  # the expiry we ask for
    ca_file: str | None = None  # TLS: the CA the carrier's certificate must chain to
    # (None: the system's CAs)

    @property
    def secure(self) -> bool:
        """TLS signalling, and SRTP (SDES keys in the SDP, which only TLS keeps secret)."""
        return self.transport is Transport.TLS

    def caller_user(self, caller_id: str) -> str:
        if self.caller_id is CallerIdRule.NO_PLUS:
            return caller_id.lstrip("+")
        return caller_id


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    pattern: re.Pattern[str]
    trunks: tuple[str, ...]


def trunk_from_definition(trunk: SipTrunk) -> Trunk:
    settings = trunk.settings
    return Trunk(
        name=trunk.fqdn,
        host=trunk.host,
        port=trunk.sip_signaling_port,
        transport=settings.transport,
        username=settings.username,
        password=settings.password,
        codecs=settings.codecs,
        caller_id=settings.caller_id,
        max_calls=settings.max_calls,
        options_seconds=settings.options_seconds,
        enabled=trunk.enabled,
        register=settings.register,
        register_seconds=settings.register_seconds,
        ca_file=settings.ca_file,
    )


def routing_from_configuration(config: SipConfiguration) -> SipRouting:
    return SipRouting(
        [trunk_from_definition(t) for t in config.trunks],
        [Route(r.name, r.pattern, r.trunks) for r in config.routes],
    )


class SipRouting:
    """The trunks and the routes over them; ``replace`` swaps both at once (checked)."""

    def __init__(self, trunks: Sequence[Trunk] = (), routes: Sequence[Route] = ()) -> None:
        self.trunks: dict[str, Trunk] = {}
        self.routes: tuple[Route, ...] = ()
        self.replace(trunks, routes)

    def replace(self, trunks: Sequence[Trunk], routes: Sequence[Route]) -> None:
        by_name: dict[str, Trunk] = {}
        for trunk in trunks:
            if trunk.name in by_name:
                raise TrunkConfigError(f"Two trunks are named {trunk.name!r}.")
            by_name[trunk.name] = trunk
        names = set()
        for route in routes:
            if route.name in names:
                raise TrunkConfigError(f"Two routes are named {route.name!r}.")
            names.add(route.name)
            for name in route.trunks:
                if name not in by_name:
                    raise TrunkConfigError(f"Route {route.name!r} names no trunk {name!r}.")
        self.trunks = by_name
        self.routes = tuple(routes)

    def trunks_for(self, number: str) -> list[Trunk]:
        for route in self.routes:
            if route.pattern.fullmatch(number):
                return [self.trunks[n] for n in route.trunks if self.trunks[n].enabled]
        return []

    def trunk_for_peer(self, host: str, port: int) -> Trunk | None:
        """The trunk a request came from (its host and signaling port), if any."""
        for trunk in self.trunks.values():
            if trunk.host == host and trunk.port == port:
                return trunk
        for trunk in self.trunks.values():
            if trunk.host == host:
                return trunk
        return None


def routing_from_tables(
    trunks: Sequence[Mapping[str, Any]], routes: Sequence[Mapping[str, Any]]
) -> SipRouting:
    """``[[trunks]]`` / ``[[routes]]`` tables, checked as the API and the CLI check them."""
    try:
        return routing_from_configuration(configuration_from_tables(trunks, routes))
    except SipConfigurationError as exc:
        raise TrunkConfigError(str(exc)) from None
