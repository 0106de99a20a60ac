"""The voice bot sample (examples/voicebot) end to end: a virtual phone dials the bot's number,
hears its greeting, asks "what is the time" and hears the answer, then says "goodbye" and the
bot hangs up. Everything between them is Switchboard's bidirectional media streaming: the
caller's audio reaches the bot as AudioData frames, the bot's speech comes back the same way."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from examples.ivr.setup import phone_number, subscribe_incoming_calls
from examples.sample_app.settings import AppSettings
from examples.voicebot.bot import VoiceBot, create_app
from examples.voicebot.understanding import GREETING

from tests.integration.inprocess_node import InProcessNode, serving
from tests.integration.voice_phones import loud_frames, new_phone, phone, say_all, until_phone

pytestmark = pytest.mark.anyio


@pytest.fixture
async def node(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessNode]:
    async with serving(tmp_path_factory.mktemp("voicebot")) as served:
        yield served


async def until_logged(bot: VoiceBot, line: str, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while line not in bot.log:
            await bot.logged.wait()


async def until_quiet(bot: VoiceBot) -> None:
    """Until what the bot said so far has played into the call (it queues it all at once)."""
    await asyncio.sleep(max(0.0, bot.talking_until - asyncio.get_running_loop().time()) + 0.3)


async def test_a_caller_talks_with_the_voice_bot(node: InProcessNode) -> None:
    switchboard = AppSettings(node.connection_string, node.ca_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app, bot = create_app(switchboard, public)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving_bot = asyncio.create_task(server.serve(sockets=[sock]))
    caller = new_phone()
    try:
        async with asyncio.timeout(120):  # bot.log says how far it got when this expires
            number = await asyncio.to_thread(phone_number, switchboard)
            await asyncio.to_thread(
                subscribe_incoming_calls, switchboard, "voicebot-test", f"{public}/events", number
            )
            await phone(node, caller, "dial", {"to": number})
            await until_logged(bot, f"said {GREETING!r}")
            greeted = await until_phone(node, caller, lambda s: loud_frames(s) >= 50)
            assert greeted["state"] == "connected" and greeted["peer"] == number

            await until_quiet(bot)  # the greeting has played out before the caller asks
            before = loud_frames(await phone(node, caller))
            await say_all(node, caller, "what is the time")
            await until_logged(bot, "heard 'what is the time'")
            await until_phone(node, caller, lambda s: loud_frames(s) >= before + 40)
            assert any(line.startswith("said 'It is ") for line in bot.log)

            await say_all(node, caller, "goodbye")
            await until_logged(bot, "heard 'goodbye'")
            await until_phone(node, caller, lambda s: s["state"] == "idle", within=30)
            assert "CallConnected" in bot.log
    finally:
        print("bot log:", bot.log, "phone:", await phone(node, caller))
        server.should_exit = True
        await serving_bot
