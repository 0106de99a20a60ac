"""deploy/'s files work as shipped: the systemd unit passes ``systemd-analyze verify`` and its
command line is one our CLI accepts; the example production config loads and passes the
production checklist."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.cli import build_parser
from switchboard.core.checklist import production_warnings
from switchboard.core.config import load_config

DEPLOY = Path(__file__).parents[2] / "deploy"
UNIT = DEPLOY / "switchboard.service"
INSTALLED = "/opt/switchboard/.venv"  # where the unit expects the venv


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing (apt-get install systemd; scripts/test does)")
        pytest.skip("systemd-analyze is not installed")
    # Installed as the unit expects, but in this checkout's venv: verify checks ExecStart.
    venv = str(Path(sys.executable).parent.parent)
    unit = tmp_path / "switchboard.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED, venv))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "switchboard.service" not in done.stderr, done.stderr  # no complaint about it


def test_the_units_command_line_is_one_the_cli_accepts() -> None:
    lines = UNIT.read_text().splitlines()
    [start] = [line.split("=", 1)[1] for line in lines if line.startswith("ExecStart=")]
    argv = shlex.split(start)
    assert argv[0] == f"{INSTALLED}/bin/switchboard"
    args = build_parser("serve").parse_args(argv[1:])
    assert args.command == "serve" and args.mode == "production"
    [reload] = [line for line in lines if line.startswith("ExecReload=")]
    assert "-HUP" in reload  # re-reads --tls-cert (http/tls_reload.py)


def test_the_example_production_config_passes_the_checklist() -> None:
    config = load_config(config_file=DEPLOY / "production.toml", environ={})
    assert not config.server.development
    assert production_warnings(config) == []  # PostgreSQL, Redis, a proxy, /metrics closed
    assert config.server.endpoint(8080) == "https://sb.example.com/"
