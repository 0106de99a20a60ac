"""Microsoft's npm ACS SDKs as test clients: run a Node ES module against a running server.

    test ─▶ NodeClients.run("rooms.mjs", args) ─▶ node (cwd tests/js, the locked SDKs)
         ─▶ https://127.0.0.1:<port> (NODE_EXTRA_CA_CERTS = the server's CA)
         ◀─ one JSON document on stdout (tests/js/harness.mjs ``run``)

The SDKs are installed from ``tests/js/package-lock.json`` by scripts/test (``npm ci``), never at
test time: a missing ``tests/js/node_modules`` fails with the command that installs it. A module
that fails (non-zero exit, or stdout that is not JSON) fails the test with its stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.integration.server import RunningServer, start_server

JS_ROOT = Path(__file__).resolve().parents[1] / "js"
NODE_MODULES = JS_ROOT / "node_modules"
RUN_TIMEOUT = 90.0  # a hung SDK call fails the test instead of waiting for pytest-timeout


class NodeModuleError(AssertionError):
    """A JS scenario failed; the message carries its exit code and stderr."""


class NodeTarget(Protocol):
    """A server the scenarios talk to: a RunningServer, or an in-process node."""

    @property
    def connection_string(self) -> str: ...

    @property
    def ca_path(self) -> str: ...


@dataclass(frozen=True)
class NodeClients:
    """Runs JS scenarios against one server."""

    server: NodeTarget

    def environment(self, args: dict[str, Any]) -> dict[str, str]:
        return {
            **os.environ,
            "NODE_EXTRA_CA_CERTS": self.server.ca_path,
            "SWITCHBOARD_CONNECTION_STRING": self.server.connection_string,
            "SWITCHBOARD_ARGS": json.dumps(args),
            "NODE_NO_WARNINGS": "1",
        }

    def run(self, module: str, args: dict[str, Any] | None = None) -> Any:
        """Run ``tests/js/<module>`` and return the JSON it printed."""
        path = JS_ROOT / module
        if not path.is_file():
            raise FileNotFoundError(path)
        return self._node([str(path)], args or {})

    def run_source(self, source: str, args: dict[str, Any] | None = None) -> Any:
        """Run inline ES-module source (imports resolve from tests/js) and return its JSON."""
        return self._node(["--input-type=module", "--eval", source], args or {})

    def _node(self, node_args: list[str], args: dict[str, Any]) -> Any:
        node = shutil.which("node")
        if node is None:
            raise NodeModuleError("node is not installed; the JS SDK tests need it")
        if not NODE_MODULES.is_dir():
            raise NodeModuleError(
                "tests/js/node_modules is missing: run scripts/test, or "
                "npm ci --prefix tests/js --no-audit --no-fund"
            )
        result = subprocess.run(
            [node, *node_args],
            cwd=JS_ROOT,
            env=self.environment(args),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise NodeModuleError(
                f"node exited with {result.returncode}\n--- stderr ---\n{result.stderr}"
                f"\n--- stdout ---\n{result.stdout}"
            )
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            raise NodeModuleError(
                f"node printed no JSON document\n--- stdout ---\n{result.stdout}"
                f"\n--- stderr ---\n{result.stderr}"
            ) from None


def one_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server process on SQLite for one test module: the JS tests check the wire, which is
    the same on every database (the Python SDK tests cover PostgreSQL)."""
    running = start_server(tmp_path_factory.mktemp("switchboard-js"))
    yield running
    assert running.stop() == 0, "\n".join(running.output)
