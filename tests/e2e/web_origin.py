"""A web app's own origin for browser tests: a tiny static HTTP server on another port.

    http://127.0.0.1:<port>/            index.html (an import map, nothing else)
                           /node_modules/…  tests/js/node_modules, unchanged (the npm SDKs)
                           /shims/…         two CommonJS packages as ES modules (below)

The page's origin differs from Switchboard's (``https://127.0.0.1:<other port>``) in scheme
and port, so each call it makes to the API is cross-origin and goes through CORS for real.
Loopback counts as a secure context, and Chromium's Local Network Access checks do not apply
between two loopback origins.

The import map resolves the SDKs' bare imports to their ``browser`` builds, as a bundler
would. ``events`` ships only as CommonJS: its shim runs the unmodified source with a ``module``
object, which is what a bundler's CommonJS wrapper does. ``@azure/communication-signaling``
(the real-time client, which the REST calls never use) is a stand-in: see ``_SIGNALING``.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NODE_MODULES = Path(__file__).resolve().parents[1] / "js" / "node_modules"

_BROWSER_BUILDS = {
    "@azure/communication-chat": "@azure/communication-chat/dist/browser/index.js",
    "@azure/communication-common": "@azure/communication-common/dist/browser/index.js",
    "@azure/core-client": "@azure/core-client/dist/browser/index.js",
    "@azure/core-paging": "@azure/core-paging/dist/browser/index.js",
    "@azure/core-rest-pipeline": "@azure/core-rest-pipeline/dist/browser/index.js",
    "@azure/core-tracing": "@azure/core-tracing/dist/browser/index.js",
    "@azure/core-util": "@azure/core-util/dist/browser/index.js",
    "@azure/core-auth": "@azure/core-auth/dist/browser/index.js",
    "@azure/logger": "@azure/logger/dist/browser/index.js",
    "@azure/abort-controller": "@azure/abort-controller/dist/browser/index.js",
    "@azure-rest/core-client": "@azure-rest/core-client/dist/browser/index.js",
    "@typespec/ts-http-runtime": "@typespec/ts-http-runtime/dist/browser/index.js",
    "@typespec/ts-http-runtime/internal/util": (
        "@typespec/ts-http-runtime/dist/browser/util/internal.js"
    ),
    "@typespec/ts-http-runtime/internal/logger": (
        "@typespec/ts-http-runtime/dist/browser/logger/internal.js"
    ),
    "@typespec/ts-http-runtime/internal/policies": (
        "@typespec/ts-http-runtime/dist/browser/policies/internal.js"
    ),
    "jwt-decode": "jwt-decode/build/esm/index.js",
    "tslib": "tslib/tslib.es6.mjs",
}

_COMMONJS = """
// Runs a CommonJS file's unmodified source with a module object (a bundler's wrapper).
export async function commonjs(url) {
  const source = await (await fetch(url)).text();
  const module = { exports: {} };
  const require = (name) => {
    throw new Error(`${url} requires ${name}, which a browser does not have`);
  };
  new Function("module", "exports", "require", "global", source)(
    module, module.exports, require, globalThis);
  return module.exports;
}
"""

_EVENTS = """
import { commonjs } from "/shims/commonjs.js";
const events = await commonjs("/node_modules/events/events.js");
export const EventEmitter = events.EventEmitter;
export default events;
"""

# @azure/communication-signaling 1.0.0-beta.34 ships no browser build that runs in a browser
# (its "dist-browser" bundle extends Node's stream classes at load). The chat SDK constructs
# its client in ChatClient's constructor but starts it only in startRealtimeNotifications(),
# which these pages never call (the REST API is what they prove), so the page gets the two
# names the chat SDK imports: the enum as the package's types declare it, and a client that
# refuses to start.
_SIGNALING = """
export const ConnectionState = { Unknown: 0, Connected: 2, Disconnected: 3, Switching: 9 };
export class CommunicationSignalingClient {
  async start() {
    throw new Error("real-time notifications are not part of this page");
  }
  async stop() {}
  on() {}
}
"""


def _index() -> str:
    imports = {name: f"/node_modules/{path}" for name, path in _BROWSER_BUILDS.items()}
    imports["events"] = "/shims/events.js"
    imports["@azure/communication-signaling"] = "/shims/signaling.js"
    import_map = json.dumps({"imports": imports}, indent=2)
    return (
        "<!doctype html>\n<title>A web app on its own origin</title>\n"
        f'<script type="importmap">\n{import_map}\n</script>\n'
    )


class _Files(SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        # Module scripts need a JavaScript type; Python 3.11 does not know ".mjs".
        return "text/javascript" if str(path).endswith(".mjs") else super().guess_type(path)

    def log_message(self, format: str, *args: object) -> None:  # the base's parameter names
        pass  # quiet: the test output is the browser's


@contextmanager
def web_origin(root: Path) -> Iterator[str]:
    """Serve the app's files from ``root`` (made here); yields the origin, e.g.
    ``http://127.0.0.1:41234``."""
    (root / "shims").mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(_index())
    (root / "shims" / "commonjs.js").write_text(_COMMONJS)
    (root / "shims" / "events.js").write_text(_EVENTS)
    (root / "shims" / "signaling.js").write_text(_SIGNALING)
    link = root / "node_modules"
    if not link.exists():
        link.symlink_to(NODE_MODULES, target_is_directory=True)
    handler = functools.partial(_Files, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
