"""Server settings: defaults < TOML file < ``SWITCHBOARD_*`` environment < command line.

Every field of :class:`Settings` can be set in all three places under the same name
(``database_url`` / ``SWITCHBOARD_DATABASE_URL`` / ``--database-url``).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from switchboard.core.errors import BadRequestError

ENV_PREFIX = "SWITCHBOARD_"


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ConfigError(BadRequestError):
    code = "InvalidConfiguration"


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path(".switchboard")
    host: str = "127.0.0.1"
    port: int = 8443
    public_host: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    redis_namespace: str = "switchboard"
    mode: Mode = Mode.DEVELOPMENT
    log_level: str = "info"
    hmac_max_skew_seconds: int = 900
    access_key_reload_seconds: float = 5.0
    signing_key_rotation_days: int = 30
    shutdown_timeout_seconds: float = 10.0
    access_log: bool = False

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "switchboard.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path.resolve()}"

    def endpoint(self, port: int | None = None) -> str:
        """The endpoint clients use: the public host if set, else the bind host."""
        host = self.public_host or self.host
        if host in ("0.0.0.0", "::"):
            host = "localhost"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"https://{host}:{port if port is not None else self.port}/"


def _coerce(field: dataclasses.Field[Any], value: Any) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    try:
        if kind == "Path":
            return Path(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in ("1", "true", "yes", "on")
        if kind == "Mode":
            return Mode(str(value).lower())
        if kind == "str | None":
            return None if value in (None, "") else str(value)
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"Invalid value {value!r} for setting '{field.name}': {exc}") from exc


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults, the TOML file, the environment and explicit overrides (None = unset)."""
    env = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}

    path = config_file or (
        Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None
    )
    if path is not None:
        try:
            with path.open("rb") as fh:
                document = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"Cannot read config file {path}: {exc}") from exc
        section = document.get("server", document)
        for key, value in section.items():
            name = key.replace("-", "_")
            if name not in fields:
                if isinstance(value, dict):
                    continue  # other sections belong to later subsystems
                raise ConfigError(f"Unknown setting '{key}' in {path}")
            values[name] = _coerce(fields[name], value)

    for name, field in fields.items():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(field, raw)

    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(fields[name], value)
    return Settings(**values)
