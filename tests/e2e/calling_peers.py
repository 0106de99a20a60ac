"""Helpers for the browser calling tests: the sample app as a process, a Python calling peer
on its own event loop, and WebRTC statistics read from a page."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Page

from tests.integration.server import RunningServer

ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "Sample app: "
T = TypeVar("T")

# Installed in each page: inbound-rtp totals of a call, by kind; `until` polls an async check.
# (Playwright's wait_for_function does not await a predicate's promise: it is truthy at once.)
STATS_HELPER = """
window.inbound = async (call, kind) => {
  const totals = { bytes: 0, energy: 0 };
  (await call.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === kind) {
      totals.bytes += s.bytesReceived ?? 0;
      totals.energy += s.totalAudioEnergy ?? 0;
    }
  });
  return totals;
};
window.until = async (check, what, timeoutMs = 15000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};
window.inboundGrowth = async (call, kind) => {
  const bytes = async () => (await inbound(call, kind)).bytes;
  const first = await until(async () => (await bytes()) || 0, `${kind} bytes`);
  const later = await until(async () => ((await bytes()) > first ? bytes() : 0), "more");
  return [first, later];
};
"""


# ACS data channel (issue 22): `collectData(call)` records what its receivers get in `dc`
# ([sender user id, channelId, sequenceNumber, text]); `dataChannelsOpen` waits for SCTP.
DATA_CHANNEL_HELPER = """
// ACS data channel (issue 22): collect what the receivers get; wait for SCTP to be up.
window.collectData = (call) => {
  window.dc = [];
  call.feature("DataChannel").on("dataChannelReceiverCreated", (r) => {
    r.on("messageReady", () => {
      const m = r.readMessage();
      dc.push([r.senderParticipantIdentifier.communicationUserId, r.channelId,
        m.sequenceNumber, new TextDecoder().decode(m.data)]);
    });
  });
};
window.dataChannelStats = async (call) => {
  const out = {};
  (await call.getStats()).forEach((s) => {
    if (s.type === "data-channel") out[s.label] = { state: s.state, received: s.messagesReceived };
  });
  return out;
};
window.dataChannelsOpen = (call, timeoutMs) => until(async () => {
  const stats = await dataChannelStats(call);
  return stats["acs-lossy"]?.state === "open" && stats["acs-durable"]?.state === "open";
}, "data channels open", timeoutMs);
"""


class ExampleProcess:
    """``python -m examples.<name> …`` as its README says, until it prints its ready line
    (``ready_prefix`` + what it has to say: ``self.ready``)."""

    def __init__(self, module: str, args: list[str], ready_prefix: str) -> None:
        command = [sys.executable, "-m", module, *args]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        self.output: list[str] = []
        self.ready = ""
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            if line.startswith(ready_prefix):
                self.ready = line[len(ready_prefix) :].strip()
                break
        if not self.ready:
            raise RuntimeError(f"{module} did not start:\n" + "\n".join(self.output))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class SampleApp(ExampleProcess):
    """``python -m examples.sample_app`` beside a running server; ``url`` is the app's."""

    def __init__(self, server: RunningServer) -> None:
        args = ["--port", "0", "--switchboard", server.connection_string, "--ca", server.ca_path]
        super().__init__("examples.sample_app", args, READY_PREFIX)
        self.url = self.ready


class EventLoopThread:
    """An asyncio loop on a thread of its own: Playwright's sync API owns the test's thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(work, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def wait_for_inbound_growth(
    page: Page, kind: str, call: str = "window.sampleApp.call"
) -> tuple[float, float]:
    """Until the page has received ``kind`` bytes, then more: returns both totals."""
    first, later = page.evaluate(f"inboundGrowth({call}, {kind!r})")
    assert 0 < first < later
    return first, later


def durable_messages_arrive_in_order(sender: Page, receiver: Page) -> None:
    """ACS's data channel between two sample-app pages in a call: 50 durable messages from
    ``sender`` reach ``receiver`` in order, over SCTP (its data-channel stats count them)."""
    for page in (sender, receiver):
        page.evaluate(f"() => {{ {DATA_CHANNEL_HELPER} }}")
        page.evaluate("dataChannelsOpen(window.sampleApp.call, 15000)")
    receiver.evaluate("collectData(window.sampleApp.call)")
    sender.evaluate(
        """async () => {
            const sender = window.sampleApp.call.feature("DataChannel")
                .createDataChannelSender({ channelId: 3, reliability: "durable" });
            const text = (s) => new TextEncoder().encode(s);
            for (let n = 0; n < 50; n++) await sender.sendMessage(text(`m${n}`));
        }"""
    )
    receiver.wait_for_function("dc.length === 50")
    sender_id = sender.evaluate("window.sampleApp.me.userId")
    assert receiver.evaluate("dc") == [[sender_id, 3, n + 1, f"m{n}"] for n in range(50)]
    # Over SCTP between the browsers (getStats may lag the messages a little).
    receiver.evaluate(
        "until(async () => (await dataChannelStats(window.sampleApp.call))"
        "['acs-durable'].received === 50, 'data-channel stats')"
    )


def artifacts_dir(default: Path) -> Path:
    """Where screenshots go: $SWITCHBOARD_TEST_ARTIFACTS if set, else ``default``."""
    path = Path(os.environ.get("SWITCHBOARD_TEST_ARTIFACTS", default))
    path.mkdir(parents=True, exist_ok=True)
    return path
