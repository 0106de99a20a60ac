"""Settings that parse but cannot work, and config files with a name misspelled.

``load_settings`` (config.py) calls these; each refusal is a ``ConfigError`` whose message
says what to write instead (the nearest valid name, the allowed values, the fixed URL).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from switchboard.core.errors import ConfigError

if TYPE_CHECKING:
    from switchboard.core.config import Settings

# The top-level tables a config file may hold; anything else is a typo to point out.
TABLE_ARRAYS = ("carriers", "numbers", "trunks", "routes")  # [[carriers]] …: lists of tables
SECTIONS = ("server", "events", *TABLE_ARRAYS)
_LOG_LEVELS = ("debug", "info", "warning", "error")
_LOG_FORMATS = ("text", "json")  # core/logs.py LogFormat
_HTTP_SERVERS = ("uvicorn", "granian")
_PORTS = ("port", "media_port_min", "media_port_max")  # turn_*: traversal/plan.py


def nearest(name: str, candidates: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def check_sections(document: Mapping[str, Any], path: Path) -> None:
    """Refuse a misspelled section (``[sever]``) rather than silently ignore it."""
    for key, value in document.items():
        if key in SECTIONS or not isinstance(value, dict):
            continue
        close = difflib.get_close_matches(key, SECTIONS, n=1, cutoff=0.6)
        hint = f"; did you mean [{close[0]}]?" if close else ""
        known = ", ".join(f"[{name}]" for name in ("server", "events.subscriptions"))
        raise ConfigError(f"Unknown section [{key}] in {path}{hint or f' (known: {known})'}")
    if "server" in document:
        for key, value in document.items():
            if key not in SECTIONS and not isinstance(value, dict):
                raise ConfigError(
                    f"Setting '{key}' in {path} is outside [server]: move it under [server]"
                )


def check_settings(settings: Settings) -> None:
    """Values that parse but cannot work; each message says what to write instead."""
    for name in _PORTS:
        port = getattr(settings, name)
        if not 0 <= port <= 65535:
            raise ConfigError(
                f"{name} {port} is not a port number: use 0-65535 (0 picks a free one)"
            )
    if settings.log_level.lower() not in _LOG_LEVELS:
        raise ConfigError(
            f"log_level '{settings.log_level}' is not a level: use {', '.join(_LOG_LEVELS)}"
        )
    if settings.log_format not in _LOG_FORMATS:
        raise ConfigError(
            f"log_format '{settings.log_format}' is unknown: use {' or '.join(_LOG_FORMATS)}"
        )
    if settings.http_server not in _HTTP_SERVERS:
        raise ConfigError(
            f"http_server '{settings.http_server}' is unknown: use {' or '.join(_HTTP_SERVERS)}"
        )
    if settings.database_url is not None:
        _check_database_url(settings.database_url)
    _check_tls(settings)
    if settings.public_url is not None:
        _check_public_url(settings.public_url)
    for name in ("trusted_proxies", "metrics_allowed_networks"):
        _check_networks(name, getattr(settings, name))
    if settings.redis_url is not None and urlsplit(settings.redis_url).scheme not in (
        "redis",
        "rediss",
        "unix",
    ):
        raise ConfigError(
            f"redis_url '{redact_url(settings.redis_url)}' is not a Redis URL: "
            "write redis://host:6379/0 (or rediss:// for TLS)"
        )


def _check_tls(settings: Settings) -> None:
    if (settings.tls_cert is None) != (settings.tls_key is None):
        given, missing = (
            ("tls_cert", "tls_key") if settings.tls_key is None else ("tls_key", "tls_cert")
        )
        raise ConfigError(
            f"{given} is set but {missing} is not: give both PEM files "
            "(--tls-cert FILE --tls-key FILE), or neither for a certificate of the local CA"
        )
    if not settings.tls and settings.tls_cert is not None:
        raise ConfigError(
            "tls = false (--no-tls) serves plain HTTP, yet tls_cert is set: drop one of them"
        )
    if settings.tls_reload_seconds <= 0:
        raise ConfigError(
            f"tls_reload_seconds {settings.tls_reload_seconds} must be above 0 (default 5)"
        )


def _check_public_url(url: str) -> None:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(
            f"public_url '{url}' is not a base URL: write https://sb.example.com/ "
            "(a scheme, a host, an optional port; no path)"
        )


def _check_networks(name: str, entries: tuple[str, ...]) -> None:
    import ipaddress

    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"{name} entry '{entry}' is not an address or network: write addresses or "
                "CIDRs, e.g. 127.0.0.1, 10.0.0.0/8, fd00::/8"
            ) from None


def _check_database_url(url: str) -> None:
    shown = redact_url(url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(
            f"database_url '{shown}' is not a URL: write "
            "postgresql+asyncpg://user@host:5432/db (or leave it unset for SQLite in the data dir)"
        )
    if scheme in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        return
    if scheme.split("+")[0] in ("postgresql", "postgres", "pgsql"):
        fixed = redact_url(f"postgresql+asyncpg://{rest}")
        raise ConfigError(
            f"database_url '{shown}' does not name Switchboard's PostgreSQL driver: write {fixed}"
        )
    if scheme.split("+")[0] == "sqlite":
        fixed = redact_url(f"sqlite+aiosqlite://{rest}")
        raise ConfigError(f"database_url '{shown}' needs the aiosqlite driver: write {fixed}")
    raise ConfigError(
        f"database_url '{shown}' is not a database Switchboard supports: use "
        "postgresql+asyncpg://user@host:5432/db (or leave it unset for SQLite in the data dir)"
    )


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``: safe to print and log."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)
