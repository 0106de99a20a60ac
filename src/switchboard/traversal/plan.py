"""Which TURN server the node hands out, decided once from the TURN config section.

turn_urls set ──────────▶ EXTERNAL   URLs and secret from config; no process
turn_enabled (--turn) ──▶ SUPERVISED a local coturn we start; URLs point at it
neither ────────────────▶ UNMANAGED  URLs point at turn_host:turn_port (a coturn someone
                                     else runs with our secret), nothing is started
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from switchboard.core.sections import ConfigError, ServerConfig, TurnConfig

_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
_ANY_ADDRESS = ("0.0.0.0", "::", "")


class TurnMode(StrEnum):
    EXTERNAL = "external"
    SUPERVISED = "supervised"
    UNMANAGED = "unmanaged"


@dataclass(frozen=True, slots=True)
class TurnPlan:
    mode: TurnMode
    realm: str
    configured_secret: str | None
    listen_ip: str
    port: int  # 0: choose a free one when starting
    tls_port: int  # 0: no TLS listener
    advertised_host: str
    external_urls: tuple[str, ...]
    turnserver_path: str
    allow_loopback_peers: bool
    data_dir: Path

    def urls(self, port: int | None = None) -> list[str]:
        """The STUN/TURN URLs clients get; ``port`` is the port the local coturn really uses."""
        if self.mode is TurnMode.EXTERNAL:
            return list(self.external_urls)
        host = self.advertised_host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        at = f"{host}:{port if port is not None else self.port}"
        urls = [f"stun:{at}", f"turn:{at}?transport=udp", f"turn:{at}?transport=tcp"]
        if self.tls_port:
            urls.append(f"turns:{host}:{self.tls_port}?transport=tcp")
        return urls


def plan_turn(turn: TurnConfig, server: ServerConfig) -> TurnPlan:
    external = tuple(u.strip() for u in (turn.urls or "").split(",") if u.strip())
    if external and turn.enabled:
        raise ConfigError(
            "turn_urls names an external TURN server and turn_enabled (--turn) asks for a local "
            "coturn: choose one."
        )
    for url in external:
        if not url.lower().startswith(_SCHEMES):
            raise ConfigError(f"turn_urls: '{url}' is not a stun:, stuns:, turn: or turns: URL.")
    if external and not turn.secret:
        raise ConfigError(
            "turn_urls needs turn_secret: the static-auth-secret the external TURN server checks."
        )
    if not 0 <= turn.port <= 65535 or not 0 <= turn.tls_port <= 65535:
        raise ConfigError("turn_port and turn_tls_port must be between 0 and 65535.")
    if turn.secret is not None and not _safe_in_config(turn.secret):
        raise ConfigError("turn_secret must be printable ASCII without spaces, '#' or quotes.")
    if external:
        mode = TurnMode.EXTERNAL
    elif turn.enabled:
        mode = TurnMode.SUPERVISED
    else:
        mode = TurnMode.UNMANAGED
    return TurnPlan(
        mode=mode,
        realm=turn.realm,
        configured_secret=turn.secret,
        listen_ip=turn.listen_ip,
        port=turn.port,
        tls_port=turn.tls_port,
        advertised_host=_advertised_host(turn, server),
        external_urls=external,
        turnserver_path=turn.turnserver_path,
        # Loopback peers let tests and a developer's two local clients relay to each other;
        # in production a relay to the server's own loopback would expose internal services.
        allow_loopback_peers=server.development,
        data_dir=server.data_dir,
    )


def _advertised_host(turn: TurnConfig, server: ServerConfig) -> str:
    if turn.host:
        return turn.host
    if turn.listen_ip not in _ANY_ADDRESS:
        return turn.listen_ip
    for candidate in (server.public_host, server.host):
        if candidate and candidate not in _ANY_ADDRESS:
            return candidate
    return "127.0.0.1"


def _safe_in_config(secret: str) -> bool:
    # The secret is written into coturn's config file, one "key=value" per line.
    return bool(secret) and all(33 <= ord(c) < 127 and c not in "#\"'" for c in secret)
