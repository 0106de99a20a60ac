"""Debian's Janus for the benchmark: its network namespace, configuration, process and HTTP API.

libnice (Janus's ICE) gathers no loopback candidates, so ``bench/janus.py`` re-runs itself in a
network namespace of its own (``unshare -n``, root) where a bridge interface holds 127.0.0.2
(still loopback traffic); Janus runs there ICE-lite, videoroom plugin and HTTP transport only,
pinned to a CPU. ``JanusApi`` is its REST API: one session, its handles, events by long poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.2"  # on the namespace's bridge interface: libnice gathers it
INTERFACE = "sbbench0"
PLUGINS = "/usr/lib/x86_64-linux-gnu/janus"
_UNUSED_PLUGINS = (
    "audiobridge echotest nosip recordplay sip streaming textroom videocall voicemail lua duktape"
)
_UNUSED_TRANSPORTS = "websockets pfunix mqtt rabbitmq nanomsg"


def enter_namespace(argv: Sequence[str]) -> int:
    """Run this benchmark again inside a new network namespace (root only)."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        raise SystemExit("bench.janus needs root and unshare(1) for its network namespace")
    command = [unshare, "-n", sys.executable, "-m", "bench.janus", "--in-namespace", *argv]
    return subprocess.run(command, check=False).returncode


def set_up_namespace() -> None:
    for command in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "link", "add", INTERFACE, "type", "bridge"],
        ["ip", "addr", "add", f"{HOST}/32", "dev", INTERFACE],
        ["ip", "link", "set", INTERFACE, "up"],
    ):
        subprocess.run(command, check=True)


def write_config(folder: Path, port: int) -> None:
    disabled = ",".join(f"libjanus_{name}.so" for name in _UNUSED_PLUGINS.split())
    transports = ",".join(f"libjanus_{name}.so" for name in _UNUSED_TRANSPORTS.split())
    (folder / "janus.jcfg").write_text(
        f'general: {{\n configs_folder = "{folder}"\n plugins_folder = "{PLUGINS}/plugins"\n'
        f' transports_folder = "{PLUGINS}/transports"\n events_folder = "{PLUGINS}/events"\n'
        f' loggers_folder = "{PLUGINS}/loggers"\n debug_level = 3\n session_timeout = 0\n}}\n'
        'media: {\n rtp_port_range = "20000-40000"\n}\n'
        f'nat: {{\n ice_lite = true\n ice_enforce_list = "{INTERFACE}"\n ignore_mdns = true\n}}\n'
        f'plugins: {{\n disable = "{disabled}"\n}}\n'
        f'transports: {{\n disable = "{transports}"\n}}\n'
        "events: {\n broadcast = false\n}\n"
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f'general: {{\n json = "plain"\n base_path = "/janus"\n http = true\n port = {port}\n'
        ' ip = "127.0.0.1"\n https = false\n}\nadmin: {\n admin_http = false\n}\n'
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")


@contextlib.contextmanager
def spawn_janus(cpu: int | None) -> Iterator[tuple[str, int]]:
    """Janus pinned to ``cpu``; yields (its HTTP API URL, its process id)."""
    janus = shutil.which("janus")
    if janus is None:
        raise SystemExit("Janus is not installed: apt-get install -y janus")
    port = 8188
    with tempfile.TemporaryDirectory(prefix="sbjanus-") as folder:
        write_config(Path(folder), port)
        command = [janus, "-C", f"{folder}/janus.jcfg", "-F", folder]
        if cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(cpu), *command]
        log = open(Path(folder) / "janus.log", "wb")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/janus"
        try:
            for _ in range(100):
                with contextlib.suppress(httpx.HTTPError):
                    httpx.get(f"{url}/info", timeout=1.0).raise_for_status()
                    break
                if process.poll() is not None:
                    raise RuntimeError(f"janus exited: {(Path(folder) / 'janus.log').read_text()}")
                time.sleep(0.1)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


class JanusApi:
    """Janus's REST API: one session, its handles, events by long poll."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=30.0)
        self.session = 0
        self.events: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": secrets.token_hex(6)}
        answer: dict[str, Any] = (await self.client.post(path, json=body)).json()
        if answer.get("janus") == "error" or "error" in answer.get("plugindata", {}).get(
            "data", {}
        ):
            raise RuntimeError(f"janus: {body}: {answer}")
        return answer

    async def start(self) -> None:
        self.session = (await self.post("", {"janus": "create"}))["data"]["id"]
        self._poller = asyncio.create_task(self._poll())

    async def attach(self) -> int:
        answer = await self.post(
            f"/{self.session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}
        )
        handle: int = answer["data"]["id"]
        self.events[handle] = asyncio.Queue()
        return handle

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        return await self.post(f"/{self.session}/{handle}", request)

    async def event_with_jsep(self, handle: int) -> dict[str, Any]:
        while True:
            event = await asyncio.wait_for(self.events[handle].get(), 30.0)
            error = event.get("plugindata", {}).get("data", {}).get("error")
            if error:
                raise RuntimeError(f"janus: {error}")
            if "jsep" in event:
                return event

    async def _poll(self) -> None:
        while True:
            response = await self.client.get(f"/{self.session}", params={"maxev": 20})
            answer = response.json()
            for event in answer if isinstance(answer, list) else [answer]:
                queue = self.events.get(event.get("sender", 0))
                if queue is not None:
                    queue.put_nowait(event)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self._poller
        with contextlib.suppress(httpx.HTTPError, RuntimeError):
            await self.post(f"/{self.session}", {"janus": "destroy"})
        await self.client.aclose()
