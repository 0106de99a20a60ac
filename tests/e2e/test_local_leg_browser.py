"""Issue 14 in Chromium: a page in a group call presses "Num1" (``call.sendDtmf``, the browser's
RTCDTMFSender) and a ``LocalLeg`` on the node's SFU gets RFC 4733 event 1 from that page.

The node runs in this process (on its own event loop thread: Playwright's sync API owns the
test's thread) so the test can add the local leg to the page's call.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.communication.identity import CommunicationIdentityClient
from playwright.sync_api import Browser, sync_playwright

from switchboard.media.local_leg import LocalLeg
from tests.e2e.browser import launch_chromium, trusting_home
from tests.e2e.calling_peers import EventLoopThread
from tests.integration.inprocess_node import InProcessNode, serving


class ServedNode:
    """``serving`` kept open on an event loop thread for the module."""

    def __init__(self, data_dir: Path) -> None:
        self.thread = EventLoopThread()
        self._context = serving(data_dir)
        self.served: InProcessNode = self.thread.run(self._context.__aenter__())

    def close(self) -> None:
        self.thread.run(self._context.__aexit__(None, None, None))
        self.thread.close()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    served = ServedNode(tmp_path_factory.mktemp("local-leg-browser"))
    yield served
    served.close()


@pytest.fixture(scope="module")
def browser(node: ServedNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    home = trusting_home(tmp_path_factory.mktemp("chromium-home"), node.served.ca_path)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright, home)
        yield chromium
        chromium.close()


def test_a_pages_send_dtmf_reaches_a_local_leg_as_telephone_event_1(
    node: ServedNode, browser: Browser
) -> None:
    served = node.served
    identity = CommunicationIdentityClient.from_connection_string(
        served.connection_string, connection_verify=served.ca_path
    )
    _, token = identity.create_user_and_token(scopes=["voip"])
    group_id = str(uuid.uuid4())
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{served.endpoint}/health")
        participant_id = page.evaluate(
            """async ([endpoint, token, groupId]) => {
                const { CallClient } = await import("/sdk/calling.js");
                const agent = await new CallClient({ endpoint }).createCallAgent(token);
                window.call = agent.join({ groupId });
                await new Promise((resolve) => {
                    const check = () => window.call.state === "Connected" && resolve();
                    window.call.on("stateChanged", check);
                    check();
                });
                return window.call.participantId;
            }""",
            [served.endpoint, token.token, group_id],
        )

        events: list[tuple[str, bytes]] = []
        ended = threading.Event()

        def on_event(who: str, payload: bytes, timestamp: int) -> None:
            events.append((who, payload))
            if payload[1] & 0x80:
                ended.set()

        async def add_leg() -> LocalLeg:
            media = served.node.calling.conferences.media
            leg = await media.add_local_participant(f"group:{group_id}", "media-endpoint")
            leg.on_telephone_event(on_event)
            return leg

        leg = node.thread.run(add_leg())
        page.evaluate("window.call.sendDtmf('Num1')")
        assert ended.wait(10), f"no end of event from the page; got {events}"
        assert {who for who, _ in events} == {participant_id}
        assert {payload[0] for _, payload in events} == {1}

        async def close_leg() -> None:
            leg.close()
            await asyncio.sleep(0)

        node.thread.run(close_leg())
        page.evaluate("window.call.hangUp()")
    finally:
        context.close()
