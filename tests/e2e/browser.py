"""Debian's Chromium under Playwright, trusting the test server's CA the way a user would.

TLS trust: the server's local CA goes into an NSS database at ``$HOME/.pki/nssdb`` (where
Chromium on Linux reads user-added trust anchors), and Chromium runs with ``HOME`` set to a
temporary directory holding that database. The browser then verifies the server certificate
for real (chain and ``127.0.0.1`` subject alternative name), for the module fetch and for the
WebSocket alike. We use neither ``--ignore-certificate-errors`` nor Playwright's
``ignore_https_errors``: both would hide a certificate a real browser refuses. The price is
``certutil`` (Debian ``libnss3-tools``), which scripts/test installs with Chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from playwright.sync_api import Browser, Playwright

CHROMIUM = "/usr/bin/chromium"
# From shared/docs/realtime-notes.md (flags that work on our machines).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    # Remote audio plays without a click (the calling SDK plays it, as ACS's does), so
    # Chromium decodes it and getStats() counts its energy.
    "--autoplay-policy=no-user-gesture-required",
]


def trusting_home(home: Path, ca_path: str) -> Path:
    """Make ``home/.pki/nssdb`` trust ``ca_path`` as a TLS issuer; return ``home``."""
    certutil = shutil.which("certutil")
    if certutil is None:
        raise RuntimeError("certutil is missing: apt-get install libnss3-tools (scripts/test does)")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    database = f"sql:{nssdb}"
    subprocess.run([certutil, "-N", "-d", database, "--empty-password"], check=True)
    subprocess.run(
        [certutil, "-A", "-d", database, "-n", "switchboard-test-ca", "-t", "C,,", "-i", ca_path],
        check=True,
    )
    return home


def launch_chromium(playwright: Playwright, home: Path, *extra_args: str) -> Browser:
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test does)")
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, *extra_args],
        env={**os.environ, "HOME": str(home)},
    )
