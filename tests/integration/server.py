"""Start ``switchboard serve`` as a real process on a free port, as a user would.

A crash test for a store (tests/integration/test_*_crash.py) reads the same in a few lines:

    server = start_server(data_dir, *database_args)       # SQLite in data_dir, or PostgreSQL
    ...work under way...
    server = await asyncio.to_thread(server.crash_and_restart)   # SIGKILL, then the same
    ...finish, assert...                                   # data dir, database, args and port

Same port and same data dir (TLS material, keys) mean clients keep their endpoint and
credentials and simply reconnect, as they would after a real crash and restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CONNECTION_PREFIX = "Connection string: "
CA_PREFIX = "CA certificate: "
CERTIFICATE_PREFIX = "TLS certificate: "  # serve --tls-cert
PLAIN_PREFIX = "TLS: "  # serve --no-tls


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    connection_string: str
    ca_path: str
    data_dir: Path
    output: list[str] = field(default_factory=list)
    args: tuple[str, ...] = ()  # what start_server was given, for a restart
    env: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    @property
    def endpoint(self) -> str:
        return self.connection_string.split(";")[0].removeprefix("endpoint=").rstrip("/")

    @property
    def access_key(self) -> str:
        return self.connection_string.split("accesskey=", 1)[1]

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill_9(self) -> None:
        """SIGKILL: no shutdown, no draining; what was not committed is gone."""
        self.process.kill()
        self.process.wait()

    def crash_and_restart(self, timeout: float = 60.0) -> RunningServer:
        """``kill_9``, then a new process on the same data dir, arguments, environment and
        port (blocking: call it with ``asyncio.to_thread`` while clients run)."""
        self.kill_9()
        return start_server(
            self.data_dir, *self.args, env=self.env, timeout=timeout, port=self.port
        )


def start_server(
    data_dir: Path,
    *extra_args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    port: int = 0,
    tls_prefix: str = CA_PREFIX,
) -> RunningServer:
    """``tls_prefix``: the line after the connection string that says the node is ready (the
    local CA's, CERTIFICATE_PREFIX with --tls-cert, PLAIN_PREFIX with --no-tls)."""
    command = [sys.executable, "-m", "switchboard", "serve", "--data-dir", str(data_dir)]
    command += ["--port", str(port), *extra_args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    lines: list[str] = []
    found: dict[str, str] = {}
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            for prefix in (CONNECTION_PREFIX, tls_prefix):
                if line.startswith(prefix):
                    found[prefix] = line[len(prefix) :].strip()
            if len(found) == 2:
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.1):
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("server did not start:\n" + "\n".join(lines))
    if len(found) != 2:
        process.kill()
        raise RuntimeError("server exited before it was ready:\n" + "\n".join(lines))
    return RunningServer(
        process,
        found[CONNECTION_PREFIX],
        found[tls_prefix],
        data_dir,
        lines,
        args=extra_args,
        env=dict(env or {}),
    )
