"""examples/web_chat's bundles (esbuild, from its locked npm packages), built on demand.

scripts/test installs the packages (``npm ci``) and builds them; a test run alone builds them
here when they are missing or older than their sources.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

WEB_CHAT = Path(__file__).resolve().parents[2] / "examples" / "web_chat"


def built_bundle(name: str = "chat-sdk.js") -> Path:
    bundle = WEB_CHAT / "dist" / name
    sources = [*WEB_CHAT.glob("src/*"), WEB_CHAT / "build.mjs", WEB_CHAT / "package-lock.json"]
    newest = max(path.stat().st_mtime for path in sources if path.exists())
    if not bundle.exists() or bundle.stat().st_mtime < newest:
        assert (WEB_CHAT / "node_modules").is_dir(), (
            "examples/web_chat/node_modules is missing: run `npm ci` there (scripts/test does)"
        )
        subprocess.run(["node", "build.mjs"], cwd=WEB_CHAT, check=True, timeout=300)
    return bundle
