"""SMPP carrier settings: one ``[[carriers]]`` table (kind = "smpp") or its database record."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from switchboard.core.config import ConfigError


@dataclass(frozen=True, slots=True)
class SmppSettings:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    service_type: str = ""
    window: int = 10
    enquire_link_seconds: float = 30.0
    # None: derived from each address ("+1…" → 1/1, alphanumeric → 5/0, digits → 0/1).
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int | None = None
    dest_npi: int | None = None
    reconnect_min_seconds: float = 1.0
    reconnect_max_seconds: float = 60.0
    submit_timeout_seconds: float = 30.0  # also bounds bind, enquire_link and unbind
    connect_timeout_seconds: float = 10.0
    throttle_pause_seconds: float = 1.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SmppSettings:
        """From a TOML table or a DB record; unknown keys and wrong types are errors."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(fields))
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(fields), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(fields)})"
            raise ConfigError(
                f"unknown SMPP setting{'s' * (len(unknown) > 1)} "
                f"{', '.join(repr(u) for u in unknown)}{hint}"
            )
        kwargs: dict[str, Any] = {}
        for name, f in fields.items():
            if name not in values:
                if f.default is dataclasses.MISSING:
                    raise ConfigError(f"SMPP setting {name!r} is required")
                continue
            kwargs[name] = _typed(name, str(f.type), values[name])
        settings = cls(**kwargs)
        settings._check()
        return settings

    def _check(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"SMPP port out of range: {self.port}")
        if self.window < 1:
            raise ConfigError("SMPP window must be at least 1")
        if not 0 < self.reconnect_min_seconds <= self.reconnect_max_seconds:
            raise ConfigError("need 0 < reconnect_min_seconds <= reconnect_max_seconds")
        positive = ("enquire_link_seconds", "submit_timeout_seconds", "connect_timeout_seconds")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"SMPP {name} must be positive")


def _typed(name: str, annotation: str, value: Any) -> Any:
    if value is None and annotation.endswith("| None"):
        return None
    kind = annotation.removesuffix(" | None")
    if kind == "str" and isinstance(value, str):
        return value
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == "int" and is_int:
        return value
    if kind == "float" and (is_int or isinstance(value, float)):
        return float(value)
    raise ConfigError(f"SMPP setting {name!r} must be {annotation}, not {value!r}")
