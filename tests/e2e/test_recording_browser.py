"""Issue 15's recording proof with three kinds of participant: a page in Chromium (its fake
microphone plays a 1,100 Hz WAV file), a Python calling client (a 700 Hz tone) and a virtual
phone (a 440 Hz tone, added by the app with Call Automation) in one group call, recorded by the
official SDK: the unmixed WAV holds each frequency on a channel of its own, the mixed one holds
all three."""

from __future__ import annotations

import asyncio
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from azure.communication.callautomation import CallAutomationClient, PhoneNumberIdentifier
from azure.communication.identity import CommunicationIdentityClient
from examples.ivr.setup import phone_number
from examples.sample_app.settings import AppSettings
from playwright.sync_api import Browser, sync_playwright

from switchboard.client.calling import CallAgent, CallState
from tests.callback_receiver import CallbackReceiver
from tests.e2e.browser import launch_chromium, trusting_home
from tests.e2e.calling_peers import EventLoopThread
from tests.event_receiver import EventReceiver
from tests.integration.admin_http import signed_request, subscribe
from tests.integration.calling_clients import GroupUsers, start_without_turn
from tests.integration.server import RunningServer
from tests.integration.test_recording_sdk import (
    FILE_STATUS,
    downloaded,
    file_event,
    peak,
    strong,
    wav_channels,
)
from tests.recording_hosts import pinned_sync_transport

PAGE_HZ, CLIENT_HZ, PHONE_HZ = 1100.0, 700.0, 440.0
PHONES = "/admin/simulator/voice/phones"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_without_turn(
        tmp_path_factory.mktemp("recording-browser"),
        env={"SWITCHBOARD_RECORDING_CHUNK_SECONDS": "30"},
    )
    yield running
    assert running.stop() == 0, "\n".join(running.output)


def tone_wav(path: Path, frequency: float) -> Path:
    """Ten seconds of a tone; Chromium's fake microphone loops it."""
    rate = 48_000
    wave_ = 0.3 * np.sin(2 * np.pi * frequency * np.arange(rate * 10) / rate)
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes((wave_ * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def browser(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    folder = tmp_path_factory.mktemp("chromium")
    home = trusting_home(folder / "home", server.ca_path)
    microphone = tone_wav(folder / "tone.wav", PAGE_HZ)
    with sync_playwright() as playwright:
        chromium = launch_chromium(
            playwright, home, f"--use-file-for-fake-audio-capture={microphone}"
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[EventLoopThread]:
    thread = EventLoopThread()
    yield thread
    thread.close()


async def phone(server: RunningServer, number: str, action: str = "", body: Any = None) -> Any:
    """The phone's status after ``action`` ("put": create it / set its rules)."""
    path = f"{PHONES}/{quote(number)}"
    if action == "put":
        response = await signed_request(server, "PUT", path, body)
    elif action:
        response = await signed_request(server, "POST", f"{path}:{action}", body)
    else:
        response = await signed_request(server, "GET", path)
    assert response.status_code in (200, 202), response.text
    return response.json()


async def until_connected(server: RunningServer, number: str) -> None:
    """Polls the simulator's admin API (the phone is in another process)."""
    async with asyncio.timeout(20):
        while True:
            if (await phone(server, number))["state"] == "connected":
                return
            await asyncio.sleep(0.1)


def test_a_browser_a_python_client_and_a_phone_each_on_a_channel_of_the_recording(
    server: RunningServer, browser: Browser, loop: EventLoopThread
) -> None:
    identity = CommunicationIdentityClient.from_connection_string(
        server.connection_string, connection_verify=server.ca_path
    )
    _, token = identity.create_user_and_token(scopes=["voip"])
    group_id = str(uuid.uuid4())
    users = GroupUsers(server)
    callbacks: CallbackReceiver = loop.run(CallbackReceiver().start())
    events: EventReceiver = loop.run(EventReceiver().start())
    loop.run(
        subscribe(
            server,
            "recording-browser",
            {"endpointUrl": events.url("/recordings"), "includedEventTypes": [FILE_STATUS]},
        )
    )
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{server.endpoint}/health")
        page.evaluate(
            """async ([endpoint, token, groupId]) => {
                const { CallClient } = await import("/sdk/calling.js");
                const agent = await new CallClient({ endpoint }).createCallAgent(token);
                window.call = agent.join({ groupId });
                await new Promise((resolve) => {
                    const check = () => window.call.state === "Connected" && resolve();
                    window.call.on("stateChanged", check);
                    check();
                });
            }""",
            [server.endpoint, token.token, group_id],
        )

        async def client_joins() -> CallAgent:
            agent = await users.agent(CLIENT_HZ)
            call = await agent.join(group_id=group_id)
            await call.wait_for_state(CallState.CONNECTED)
            return agent

        loop.run(client_joins())

        app = CallAutomationClient.from_connection_string(
            server.connection_string, transport=pinned_sync_transport(server.ca_path)
        )
        ours = phone_number(AppSettings(server.connection_string, server.ca_path))
        handset = f"+1312555{uuid.uuid4().int % 10_000:04d}"
        loop.run(phone(server, handset, "put", {"answer": "auto"}))
        connection = app.connect_call(callbacks.url("/app"), group_call_id=group_id)
        assert connection.call_connection_id is not None
        connection_client = app.get_call_connection(connection.call_connection_id)
        connection_client.add_participant(
            PhoneNumberIdentifier(handset), source_caller_id_number=PhoneNumberIdentifier(ours)
        )
        loop.run(until_connected(server, handset))
        loop.run(phone(server, handset, "tone", {"frequencyHz": PHONE_HZ, "durationMs": 30_000}))

        unmixed = app.start_recording(
            group_call_id=group_id,
            recording_content_type="audio",
            recording_channel_type="unmixed",
            recording_format_type="wav",
        )
        mixed = app.start_recording(
            group_call_id=group_id,
            recording_content_type="audio",
            recording_channel_type="mixed",
            recording_format_type="wav",
        )
        assert unmixed.recording_id is not None and mixed.recording_id is not None
        loop.run(asyncio.sleep(3.0))  # three seconds of all three recorded
        app.stop_recording(unmixed.recording_id)
        app.stop_recording(mixed.recording_id)

        found = loop.run(file_event(events, unmixed.recording_id), timeout=40)
        [chunk] = found["recordingStorageInfo"]["recordingChunks"]
        channels, rate = wav_channels(downloaded(app, chunk["contentLocation"]))
        assert channels.shape[1] == 3
        loudest = sorted(peak(channels[:, c], rate) for c in range(3))
        for heard, sent in zip(loudest, (PHONE_HZ, CLIENT_HZ, PAGE_HZ), strict=True):
            assert abs(heard - sent) < sent * 0.03, (loudest, "each channel one participant")

        found = loop.run(file_event(events, mixed.recording_id), timeout=40)
        [chunk] = found["recordingStorageInfo"]["recordingChunks"]
        mono, rate = wav_channels(downloaded(app, chunk["contentLocation"]))
        assert mono.shape[1] == 1
        assert all(strong(mono[:, 0], rate, tone) for tone in (PHONE_HZ, CLIENT_HZ, PAGE_HZ))

        connection_client.hang_up(is_for_everyone=True)
    finally:
        context.close()
        loop.run(users.dispose())
        loop.run(events.stop())
        loop.run(callbacks.stop())
