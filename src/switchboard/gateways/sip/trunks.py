"""SIP trunks and routes (from ``[[trunks]]`` / ``[[routes]]``), checked at load; the choice
of trunks for a number.

    [[trunks]] name host port transport username password codecs caller_id max_calls
               options_seconds enabled register register_seconds ca_file
                                                 ─trunk_from_table─▶ Trunk
    [[routes]] name pattern trunks (ordered)     ─route_from_table─▶ Route
    SipRouting(trunks, routes).trunks_for("+1425…") ─▶ the first route whose pattern matches
        the whole number ─▶ its trunks, in order, skipping disabled ones (failover order)

A key that is not one of these (a typo), a bad value, or a route naming an unknown trunk is a
TrunkConfigError. The model follows ACS's SIP routing (trunk: FQDN, signaling port, enabled;
route: name, numberPattern, ordered trunks) so the ``/sip`` API can later replace the routes
and trunks at run time (``SipRouting.replace``); our own per-trunk settings sit beside them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from switchboard.gateways.sip.errors import TrunkConfigError
from switchboard.gateways.sip.sdp import STATIC

MAX_PATTERN_LENGTH = 500


class Transport(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"  # SIP over TLS (the carrier's certificate verified); media: SRTP (SDES)


class CallerIdRule(StrEnum):
    AS_IS = "as-is"  # the purchased number, E.164 with its +
    NO_PLUS = "no-plus"  # the same digits without the + (carriers that want it so)


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


_TRUNK_KEYS = {
    "name",
    "host",
    "port",
    "transport",
    "username",
    "password",
    "codecs",
    "caller_id",
    "max_calls",
    "options_seconds",
    "enabled",
    "register",
    "register_seconds",
    "ca_file",
}
_ROUTE_KEYS = {"name", "pattern", "trunks"}


def trunk_from_table(table: Mapping[str, Any], index: int) -> Trunk:
    where = f"trunks[{index}]"
    _known_keys(table, _TRUNK_KEYS, where)
    host = _text(table, "host", where)
    name = _text(table, "name", where) if "name" in table else host
    try:
        transport = Transport(str(table.get("transport", "udp")).lower())
    except ValueError:
        raise TrunkConfigError(f"{where}.transport must be udp, tcp or tls.") from None
    default_port = 5061 if transport is Transport.TLS else 5060
    port = _int(table.get("port", default_port), f"{where}.port", 1, 65535)
    ca_file = table.get("ca_file")
    if ca_file is not None and not (isinstance(ca_file, str) and Path(ca_file).is_file()):
        raise TrunkConfigError(f"{where}.ca_file must name a CA certificate file.")
    codecs_value = table.get("codecs", ["PCMU", "PCMA"])
    if not isinstance(codecs_value, list) or not codecs_value:
        raise TrunkConfigError(f"{where}.codecs must be a list of PCMU / PCMA.")
    codecs = tuple(str(c).upper() for c in codecs_value)
    if any(c not in STATIC for c in codecs) or len(set(codecs)) != len(codecs):
        raise TrunkConfigError(f"{where}.codecs must be a list of PCMU / PCMA.")
    try:
        caller_id = CallerIdRule(str(table.get("caller_id", "as-is")))
    except ValueError:
        raise TrunkConfigError(f"{where}.caller_id must be as-is or no-plus.") from None
    username = table.get("username")
    password = table.get("password")
    if (username is None) != (password is None):
        raise TrunkConfigError(f"{where}: username and password go together.")
    if username is not None and not (isinstance(username, str) and isinstance(password, str)):
        raise TrunkConfigError(f"{where}: username and password must be text.")
    options = table.get("options_seconds", 30.0)
    if isinstance(options, bool) or not isinstance(options, int | float) or options < 0:
        raise TrunkConfigError(f"{where}.options_seconds must be a number ≥ 0.")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise TrunkConfigError(f"{where}.enabled must be true or false.")
    register = table.get("register", False)
    if not isinstance(register, bool):
        raise TrunkConfigError(f"{where}.register must be true or false.")
    register_seconds = _int(
        table.get("register_seconds", 3600), f"{where}.register_seconds", 10, 86_400
    )
    return Trunk(
        name=name,
        host=host,
        port=port,
        transport=transport,
        username=username,
        password=password,
        codecs=codecs,
        caller_id=caller_id,
        max_calls=_int(table.get("max_calls", 100), f"{where}.max_calls", 1, 100_000),
        options_seconds=float(options),
        enabled=enabled,
        register=register,
        register_seconds=register_seconds,
        ca_file=ca_file,
    )


def route_from_table(table: Mapping[str, Any], index: int) -> Route:
    where = f"routes[{index}]"
    _known_keys(table, _ROUTE_KEYS, where)
    name = _text(table, "name", where)
    pattern_text = _text(table, "pattern", where)
    if len(pattern_text) > MAX_PATTERN_LENGTH:
        raise TrunkConfigError(f"{where}.pattern is longer than {MAX_PATTERN_LENGTH}.")
    try:
        pattern = re.compile(pattern_text)
    except re.error as exc:
        raise TrunkConfigError(f"{where}.pattern is not a regular expression: {exc}") from None
    trunks = table.get("trunks")
    if not isinstance(trunks, list) or not trunks or not all(isinstance(t, str) for t in trunks):
        raise TrunkConfigError(f"{where}.trunks must be a list of trunk names.")
    return Route(name, pattern, tuple(trunks))


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
    return SipRouting(
        [trunk_from_table(t, i) for i, t in enumerate(trunks)],
        [route_from_table(r, i) for i, r in enumerate(routes)],
    )


def _known_keys(table: Mapping[str, Any], keys: set[str], where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise TrunkConfigError(f"{where}: unknown setting {unknown[0]!r}.")


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TrunkConfigError(f"{where}.{key} is required (text).")
    return value.strip()


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TrunkConfigError(f"{where} must be a whole number {low}–{high}.")
    return value
