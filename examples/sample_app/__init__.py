"""The sample app: identity and call management services beside Switchboard, and a web client.

    browser ── /api/* ──▶ sample app ── official ACS SDKs (connection string) ──▶ Switchboard
       └──── /sdk/calling.js, /sdk/chat.js, wss signaling, chat real-time ─────────▶ Switchboard

See examples/README.md for how to run it beside ``switchboard serve``.
"""

from examples.sample_app.app import create_app
from examples.sample_app.settings import AppSettings

__all__ = ["AppSettings", "create_app"]
