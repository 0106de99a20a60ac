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


# In a page that serves chat-sdk.js: a ChatClient for (endpoint, token) that records each of
# ``names`` and the connection events as {name, at (epoch ms), event} in window.records.
START_REALTIME = """
async ([endpoint, token, names]) => {
  const sdk = await import("/chat-sdk.js");
  if (new URLSearchParams(location.search).has("log")) {
    sdk.setLogLevel("verbose");
    sdk.AzureLogger.log = (...args) => console.log(...args);
  }
  window.records = [];
  const record = (name) => (event) => window.records.push({
    name, at: performance.timeOrigin + performance.now(),
    event: event === undefined ? null : JSON.parse(JSON.stringify(event)),
  });
  const chat = new sdk.ChatClient(endpoint, new sdk.AzureCommunicationTokenCredential(token));
  chat.on("realTimeNotificationConnected", record("realTimeNotificationConnected"));
  chat.on("realTimeNotificationDisconnected", record("realTimeNotificationDisconnected"));
  await chat.startRealtimeNotifications();
  for (const name of names) chat.on(name, record(name));
  window.chat = chat;
  return "started";
}
"""
