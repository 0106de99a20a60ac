"""Run the ``switchboard`` command as a user would, and read a refusal (docs/operations.md)."""

from __future__ import annotations

import subprocess
import sys


def switchboard(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "switchboard", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def refused(done: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The command failed with ``code`` and said so in its last line, with no traceback."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("switchboard"), done.stderr
    for fragment in fragments:
        assert fragment in last, last
    return last
