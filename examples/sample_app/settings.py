"""How the sample app reaches Switchboard."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AppSettings:
    connection_string: str  # "endpoint=https://…;accesskey=…" (switchboard connection-string)
    ca_path: str | None = None  # Switchboard's local CA, when its certificate is self-issued

    @property
    def endpoint(self) -> str:
        """Switchboard's endpoint, without a trailing slash."""
        for part in self.connection_string.split(";"):
            key, _, value = part.partition("=")
            if key.strip().lower() == "endpoint":
                return value.strip().rstrip("/")
        raise ValueError("the connection string has no endpoint=")
