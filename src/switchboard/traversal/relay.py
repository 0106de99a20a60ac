"""TurnRelay: the node's TURN side, started and stopped with the node.

start() ─ secret: turn_secret, else the resource secret (shared by every node)
        ─ SUPERVISED: free port if 0 ─ CoturnSupervisor.start() (raises if it cannot run)
        ─ UNMANAGED: TurnProbe (is anything listening at the advertised host:port?)
        ─ RelayService(secret, URLs of the plan at the port in use)
stop()  ─ CoturnSupervisor.stop()
"""

from __future__ import annotations

import logging
from pathlib import Path

from switchboard.core.clock import Clock
from switchboard.core.sections import ConfigError, ServerConfig, TurnConfig
from switchboard.storage.secrets import TURN_SECRET, SqlSecretStore
from switchboard.traversal.coturn import CoturnConfig, find_turnserver, free_port
from switchboard.traversal.plan import TurnMode, TurnPlan, plan_turn
from switchboard.traversal.probe import TurnProbe
from switchboard.traversal.service import RelayService
from switchboard.traversal.supervisor import CoturnSupervisor

log = logging.getLogger(__name__)


def check_turn_settings(turn: TurnConfig, server: ServerConfig) -> TurnPlan:
    """Fail fast (before anything starts) on bad TURN settings or a missing coturn."""
    plan = plan_turn(turn, server)
    if plan.mode is TurnMode.SUPERVISED:
        find_turnserver(plan.turnserver_path)
    return plan


class TurnRelay:
    def __init__(self, plan: TurnPlan, secrets: SqlSecretStore, clock: Clock) -> None:
        self.plan = plan
        self._secrets = secrets
        self._clock = clock
        self.supervisor: CoturnSupervisor | None = None
        self.probe: TurnProbe | None = None

    async def start(self) -> RelayService:
        plan = self.plan
        secret = plan.configured_secret or await self._secrets.get_or_create(TURN_SECRET)
        port = plan.port
        if plan.mode is TurnMode.SUPERVISED:
            binary = find_turnserver(plan.turnserver_path)
            port = port or free_port(plan.listen_ip if plan.listen_ip != "0.0.0.0" else "")
            self.supervisor = CoturnSupervisor(binary, self._coturn_config(port, secret))
            await self.supervisor.start()
        urls = plan.urls(port)
        log.info("TURN (%s): %s", plan.mode.value, ", ".join(urls))
        if plan.mode is TurnMode.UNMANAGED:
            self.probe = TurnProbe(plan.advertised_host.strip("[]"), port)
            await self.probe.start()
            probe = self.probe
            return RelayService(secret, urls, self._clock, available=lambda: probe.reachable)
        return RelayService(secret, urls, self._clock)

    async def stop(self) -> None:
        if self.probe is not None:
            await self.probe.stop()
        if self.supervisor is not None:
            await self.supervisor.stop()

    def _coturn_config(self, port: int, secret: str) -> CoturnConfig:
        plan = self.plan
        cert = key = None
        if plan.tls_port:
            # The certificate `switchboard serve` made for its HTTPS listener.
            tls = Path(plan.data_dir).resolve() / "tls"
            cert, key = tls / "server.pem", tls / "server-key.pem"
            if not (cert.exists() and key.exists()):
                raise ConfigError(f"turn_tls_port needs the server certificate {cert} and key.")
        return CoturnConfig(
            listen_ip=plan.listen_ip,
            port=port,
            realm=plan.realm,
            secret=secret,
            # Absolute paths: coturn resolves relative ones against its own working directory.
            directory=Path(plan.data_dir).resolve() / "turn",
            allow_loopback_peers=plan.allow_loopback_peers,
            tls_port=plan.tls_port,
            tls_cert=cert,
            tls_key=key,
        )
