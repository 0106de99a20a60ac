"""The one set of checks for SIP trunks and routes, whoever gives them: the config file's
``[[trunks]]`` / ``[[routes]]``, the ``/sip`` API and the ``switchboard trunks`` CLI.

Each failure is a ``SipConfigurationError`` with ACS's inner code (the API answers it as
ACS does) and a one-line message naming where the value was (what the CLI and the config
loader print):

    InvalidTrunkFqdn · InvalidTrunkSipSignalingPort · InvalidTrunkSettings (ours)
    InvalidRouteName · InvalidRouteNumberPattern · InvalidRouteDescription
    MissingTrunk (a route names no such trunk) · TooManyTrunks / TooManyRoutes
    DuplicatedRoute, RouteWithDuplicatedTrunk (400, as ACS answers them)

Number patterns are .NET regular expressions at ACS; Python's ``re`` reads the same syntax
for what phone number patterns use, except that .NET lets a quantifier follow ``^`` (ACS's
own samples write ``^+[1-9][0-9]{3,23}$``): that quantifier is dropped, which is what .NET
does with it (it repeats an empty match). A pattern must match the whole number.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from switchboard.siprouting.models import (
    DEFAULT_SIP_TLS_PORT,
    MAX_ROUTES,
    MAX_TRUNKS,
    CallerIdRule,
    DuplicateSipConfigurationError,
    SipConfiguration,
    SipConfigurationError,
    SipRoute,
    SipTrunk,
    Transport,
    TrunkSettings,
)

SUPPORTED_CODECS = ("PCMU", "PCMA")
MAX_FQDN = 249  # ACS: a trunk's FQDN is 1-249 characters
MAX_ROUTE_NAME = 256
MAX_PATTERN = 1024
MAX_DESCRIPTION = 1024
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
_ANCHOR_QUANTIFIER = re.compile(r"^\^(?:[+*?]|\{\d*,?\d*\})+")

SETTING_KEYS = frozenset(f.name for f in dataclasses.fields(TrunkSettings))
TRUNK_KEYS = SETTING_KEYS | {"name", "port", "enabled"}
ROUTE_KEYS = frozenset({"name", "pattern", "trunks", "description"})


def check_fqdn(value: Any, where: str = "trunk") -> str:
    """A host name (letters, digits, hyphens; dot-separated labels) or an IP address."""
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_FQDN or not _is_host(text):
        raise SipConfigurationError(
            "InvalidTrunkFqdn", f"{where}: {value!r} is not a host name (FQDN) or an address."
        )
    return text


def _is_host(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    return all(_LABEL.match(label) for label in text.removesuffix(".").split("."))


def check_port(value: Any, where: str = "trunk") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise SipConfigurationError(
            "InvalidTrunkSipSignalingPort", f"{where}: port must be a whole number 1–65535."
        )
    return value


def compile_number_pattern(value: Any, where: str = "route") -> re.Pattern[str]:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PATTERN:
        raise SipConfigurationError(
            "InvalidRouteNumberPattern",
            f"{where}: pattern is required (a regular expression of at most {MAX_PATTERN}).",
        )
    try:
        return re.compile(_ANCHOR_QUANTIFIER.sub("^", value))
    except (re.error, OverflowError, RecursionError) as exc:  # a{2**32}, 2,000 nested groups
        raise SipConfigurationError(
            "InvalidRouteNumberPattern", f"{where}: pattern is not a regular expression: {exc}"
        ) from None


def route(
    name: Any,
    number_pattern: Any,
    trunks: Any = (),
    description: Any = None,
    where: str = "route",
) -> SipRoute:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_ROUTE_NAME:
        raise SipConfigurationError(
            "InvalidRouteName", f"{where}: name is required (text of at most {MAX_ROUTE_NAME})."
        )
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION
    ):
        raise SipConfigurationError(
            "InvalidRouteDescription", f"{where}: description is text of at most 1024."
        )
    if trunks is None:
        trunks = ()
    if not isinstance(trunks, list | tuple) or not all(isinstance(t, str) for t in trunks):
        raise SipConfigurationError("MissingTrunk", f"{where}: trunks must be a list of trunks.")
    if len(trunks) > MAX_TRUNKS:
        raise SipConfigurationError("TooManyTrunks", f"{where} names over {MAX_TRUNKS} trunks.")
    if len(set(trunks)) != len(trunks):
        raise DuplicateSipConfigurationError(
            "RouteWithDuplicatedTrunk", f"{where} names a trunk twice."
        )
    pattern = compile_number_pattern(number_pattern, where)
    return SipRoute(name, number_pattern, tuple(trunks), description, pattern)


def check_configuration(config: SipConfiguration) -> SipConfiguration:
    """The rules across trunks and routes: unique names, every route's trunks exist."""
    if len(config.trunks) > MAX_TRUNKS:
        raise SipConfigurationError("TooManyTrunks", f"Over {MAX_TRUNKS} trunks.")
    if len(config.routes) > MAX_ROUTES:
        raise SipConfigurationError("TooManyRoutes", f"Over {MAX_ROUTES} routes.")
    fqdns: set[str] = set()
    for trunk in config.trunks:
        if trunk.fqdn in fqdns:
            raise SipConfigurationError("DuplicatedTrunk", f"Two trunks are named {trunk.fqdn!r}.")
        fqdns.add(trunk.fqdn)
    names: set[str] = set()
    for each in config.routes:
        if each.name in names:
            raise DuplicateSipConfigurationError(
                "DuplicatedRoute", f"Two routes are named {each.name!r}."
            )
        names.add(each.name)
        for fqdn in each.trunks:
            if fqdn not in fqdns:
                raise SipConfigurationError(
                    "MissingTrunk", f"Route {each.name!r} names no trunk {fqdn!r}."
                )
    return config


# ── tables (the config file, the CLI): snake_case keys, every setting checked ─────────────


def settings_from_table(
    table: Mapping[str, Any], where: str, base: TrunkSettings | None = None
) -> TrunkSettings:
    """Our settings from ``table`` (only its keys change ``base``)."""
    current = base or TrunkSettings()
    values: dict[str, Any] = {}
    if "host" in table:
        values["host"] = None if table["host"] is None else check_fqdn(table["host"], where)
    if "transport" in table:
        try:
            values["transport"] = Transport(str(table["transport"]).lower())
        except ValueError:
            raise _settings(f"{where}: transport must be udp, tcp or tls.") from None
    if "codecs" in table:
        codecs = table["codecs"]
        if isinstance(codecs, str):
            codecs = [c for c in codecs.split(",") if c.strip()]
        if not isinstance(codecs, list | tuple) or not codecs:
            raise _settings(f"{where}: codecs must be a list of PCMU / PCMA.")
        chosen = tuple(str(c).strip().upper() for c in codecs)
        if any(c not in SUPPORTED_CODECS for c in chosen) or len(set(chosen)) != len(chosen):
            raise _settings(f"{where}: codecs must be a list of PCMU / PCMA.")
        values["codecs"] = chosen
    if "caller_id" in table:
        try:
            values["caller_id"] = CallerIdRule(str(table["caller_id"]))
        except ValueError:
            raise _settings(f"{where}: caller_id must be as-is or no-plus.") from None
    for key in ("username", "password"):
        if key in table:
            value = table[key]
            if value is not None and (not isinstance(value, str) or not value):
                raise _settings(f"{where}: username and password must be text.")
            values[key] = value
    for key in ("register",):
        if key in table:
            values[key] = _bool(table[key], f"{where}: {key}")
    if "register_seconds" in table:
        values["register_seconds"] = _int(
            table["register_seconds"], f"{where}: register_seconds", 60, 86_400
        )
    if "ca_file" in table:
        ca_file = table["ca_file"]
        if ca_file is not None and not (isinstance(ca_file, str) and Path(ca_file).is_file()):
            raise _settings(f"{where}: ca_file must name a CA certificate file.")
        values["ca_file"] = ca_file
    if "max_calls" in table:
        values["max_calls"] = _int(table["max_calls"], f"{where}: max_calls", 1, 100_000)
    if "options_seconds" in table:
        seconds = table["options_seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise _settings(f"{where}: options_seconds must be a number ≥ 0.")
        values["options_seconds"] = float(seconds)
    settings = dataclasses.replace(current, **values)
    if (settings.username is None) != (settings.password is None):
        raise _settings(f"{where}: username and password go together.")
    if settings.register and settings.username is None:
        raise _settings(f"{where}: register needs a username and password.")
    return settings


def trunk_from_table(
    table: Mapping[str, Any], where: str, base: SipTrunk | None = None
) -> SipTrunk:
    """A ``[[trunks]]`` table: ``name`` (the FQDN routes and the API use; default ``host``),
    ``port``, ``enabled`` and our settings. With ``base``, only the keys given change it."""
    _known_keys(table, TRUNK_KEYS, where)
    new = base is None
    if base is None:
        if "name" not in table and "host" not in table:
            raise SipConfigurationError("InvalidTrunkFqdn", f"{where}: host is required (text).")
        fqdn = check_fqdn(table.get("name", table.get("host")), f"{where}: name")
        base = SipTrunk(fqdn)
    settings = settings_from_table(
        {k: v for k, v in table.items() if k in SETTING_KEYS}, where, base.settings
    )
    if "port" in table:
        port = check_port(table["port"], where)
    elif new and settings.transport is Transport.TLS:
        port = DEFAULT_SIP_TLS_PORT  # SIP over TLS's own port, unless one is given
    else:
        port = base.sip_signaling_port
    enabled = _bool(table["enabled"], f"{where}: enabled") if "enabled" in table else base.enabled
    return SipTrunk(base.fqdn, port, enabled, settings)


def route_from_table(table: Mapping[str, Any], where: str) -> SipRoute:
    _known_keys(table, ROUTE_KEYS, where)
    return route(
        table.get("name"),
        table.get("pattern"),
        table.get("trunks"),
        table.get("description"),
        where,
    )


def configuration_from_tables(
    trunks: Sequence[Mapping[str, Any]], routes: Sequence[Mapping[str, Any]]
) -> SipConfiguration:
    return check_configuration(
        SipConfiguration(
            tuple(trunk_from_table(t, f"trunks[{i}]") for i, t in enumerate(trunks)),
            tuple(route_from_table(r, f"routes[{i}]") for i, r in enumerate(routes)),
        )
    )


def _known_keys(table: Mapping[str, Any], keys: frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise _settings(f"{where}: unknown setting {unknown[0]!r}.")


def _settings(message: str) -> SipConfigurationError:
    return SipConfigurationError("InvalidTrunkSettings", message)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _settings(f"{where} must be true or false.")
    return value


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _settings(f"{where} must be a whole number {low}–{high}.")
    return value
