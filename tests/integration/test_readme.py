"""The README's quickstarts, run as written against a fresh server.

Blocks marked ``<!-- readme-test: run -->`` (shell) run in order in one bash, in a directory
where ``.switchboard`` is the fresh server's data dir and ``.venv`` this checkout's venv;
blocks marked ``<!-- readme-test: file NAME -->`` are saved as NAME first, as the README says
to. ``pip`` is a stand-in that checks it is asked to install official SDKs that are indeed
installed (the suite does not reach PyPI), and ``python`` is the venv's.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.server import start_server

README = Path(__file__).parents[2] / "README.md"
MARKED = re.compile(r"<!-- readme-test: (run|file (\S+)) -->\n```(\w+)\n(.*?)```", re.DOTALL)

PIP = f"""#!{sys.executable}
import sys
from importlib.metadata import version
assert sys.argv[1] == "install", sys.argv
for name in sys.argv[2:]:
    assert name.startswith("azure-communication-"), name
    version(name)  # raises if the SDK is not installed
"""


def test_readme_quickstarts_run_as_written(tmp_path: Path) -> None:
    blocks = MARKED.findall(README.read_text())
    assert len(blocks) >= 5, "the quickstarts lost their readme-test marks"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pip").write_text(PIP)
    (bin_dir / "pip").chmod(stat.S_IRWXU)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "python").chmod(stat.S_IRWXU)
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
    script = ["set -euo pipefail"]
    for kind, name, language, body in blocks:
        if kind == "run":
            assert language == "sh", body
            script.append(body)
        else:
            (work / name).write_text(body)
    server = start_server(work / ".switchboard")
    try:
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=work,
            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert '"id"' in done.stdout  # GET /me answered the token's user
        # The handset's inbox, as the README's block printed it (or a moment later).
        inbox = [str(work / ".venv/bin/switchboard"), "sim", "sms", "inbox", "--to", "+13125550123"]
        shown, deadline = done.stdout, time.monotonic() + 30
        while "Hello from Switchboard" not in shown:
            assert time.monotonic() < deadline, "the handset never got the message"
            shown = subprocess.run(inbox, cwd=work, capture_output=True, text=True).stdout
    finally:
        assert server.stop() == 0
