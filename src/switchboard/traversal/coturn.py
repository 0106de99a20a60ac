"""coturn plumbing without a process: its config file, a free port, a STUN liveness probe.

The supervisor (supervisor.py) owns the process; everything here is a plain function so it
can be tested on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from switchboard.core.config import ConfigError

INSTALL_HINT = "install Debian's coturn package: apt-get install coturn"

_STUN_BINDING_REQUEST = 0x0001
_STUN_BINDING_SUCCESS = 0x0101
_STUN_MAGIC_COOKIE = 0x2112A442


class TurnServerMissingError(ConfigError):
    code = "TurnServerMissing"


@dataclass(frozen=True, slots=True)
class CoturnConfig:
    listen_ip: str
    port: int
    realm: str
    secret: str
    directory: Path  # config, log, pid file and user db live here
    allow_loopback_peers: bool
    tls_port: int = 0
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @property
    def config_path(self) -> Path:
        return self.directory / "turnserver.conf"

    @property
    def log_path(self) -> Path:
        return self.directory / "turnserver.log"

    @property
    def pid_path(self) -> Path:
        return self.directory / "turnserver.pid"


def find_turnserver(path: str) -> str:
    """The absolute path of the coturn binary, or TurnServerMissingError saying how to get it."""
    found = shutil.which(path)
    if found is None:
        raise TurnServerMissingError(
            f"TURN needs coturn's '{path}', which is not installed or not on PATH; "
            f"{INSTALL_HINT} (or set turn_urls to use an external TURN server)."
        )
    return found


def render(config: CoturnConfig) -> str:
    """coturn's config file: TURN REST auth with our secret, no CLI, logs in the data dir."""
    lines = ["# Written by Switchboard at every start; edits are lost. See docs/turn.md."]
    if config.listen_ip not in ("0.0.0.0", "::"):  # else coturn's default: every address
        lines += [f"listening-ip={config.listen_ip}", f"relay-ip={config.listen_ip}"]
    lines += [
        f"listening-port={config.port}",
        f"realm={config.realm}",
        "use-auth-secret",
        f"static-auth-secret={config.secret}",
        "fingerprint",
        "no-cli",
        "no-multicast-peers",
        f"log-file={config.log_path}",
        "simple-log",
        "no-stdout-log",
        f"pidfile={config.pid_path}",
        # coturn opens an SQLite user db even with use-auth-secret; keep it out of /var/lib.
        f"userdb={config.directory / 'turndb'}",
    ]
    if config.tls_port and config.tls_cert and config.tls_key:
        lines += [
            f"tls-listening-port={config.tls_port}",
            f"cert={config.tls_cert}",
            f"pkey={config.tls_key}",
            "no-dtls",
        ]
    else:
        lines += ["no-tls", "no-dtls"]
    if config.allow_loopback_peers:
        lines.append("allow-loopback-peers")
    return "\n".join(lines) + "\n"


def write_config(config: CoturnConfig) -> Path:
    """Write the config file readable by its owner only (it holds the shared secret)."""
    config.directory.mkdir(parents=True, exist_ok=True)
    path = config.config_path
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(render(config))
    os.replace(temporary, path)
    return path


def free_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host`` right now (coturn listens on both)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise OSError(f"no port is free for both UDP and TCP on {host}")


class _StunProbe(asyncio.DatagramProtocol):
    def __init__(self, transaction_id: bytes) -> None:
        self.transaction_id = transaction_id
        self.answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) >= 20 and not self.answered.done():
            kind, _length, cookie = struct.unpack("!HHI", data[:8])
            if (
                kind == _STUN_BINDING_SUCCESS
                and cookie == _STUN_MAGIC_COOKIE
                and data[8:20] == self.transaction_id
            ):
                self.answered.set_result(None)


async def stun_answers(host: str, port: int, within: float = 0.25) -> bool:
    """Whether a STUN server answers a Binding request on ``host:port`` (UDP) in time."""
    transaction_id = secrets.token_bytes(12)
    request = struct.pack("!HHI", _STUN_BINDING_REQUEST, 0, _STUN_MAGIC_COOKIE) + transaction_id
    loop = asyncio.get_running_loop()
    transport, probe = await loop.create_datagram_endpoint(
        lambda: _StunProbe(transaction_id), remote_addr=(host, port)
    )
    try:
        transport.sendto(request)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(probe.answered), within)
        return probe.answered.done()
    finally:
        transport.close()
