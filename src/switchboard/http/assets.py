"""The browser SDK modules under ``/sdk/``, importable from any origin (CORS ``*``).

The modules are public code with no credentials involved, and an app's own page is usually
served from another origin than Switchboard's API, so ``import "https://sb/sdk/chat.js"``
must be allowed cross-origin.
"""

from __future__ import annotations

from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send


class BrowserModules:
    def __init__(self) -> None:
        self._files = StaticFiles(packages=[("switchboard", "web")])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"access-control-allow-origin", b"*"),
                ]
            await send(message)

        await self._files(scope, receive, send_with_cors)
