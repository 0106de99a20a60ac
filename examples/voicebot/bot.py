"""The voice bot: answers calls to its number with bidirectional media streaming, listens,
and talks back — all on this machine (pocketsphinx hears, espeak-ng speaks).

    POST /events     Event Grid: the validation handshake, then IncomingCall → answer_call with
                     mediaStreamingOptions (mixed 16 kHz PCM, bidirectional, started at once)
                     to ws://…/media?call=<serverCallId>
    WS   /media      AudioMetadata, then AudioData every 20 ms (what the caller says) ─▶
                     Utterances ─▶ Recognizer (a worker thread) ─▶ answer_to ─▶ speak ─▶
                     AudioData frames back (Switchboard plays them into the call);
                     "goodbye" → the answer, then hang_up
    POST /callbacks  Call Automation's events (logged; CallDisconnected forgets the call)

The bot greets the caller as soon as the stream opens. While it talks it does not listen (no
barge-in), so it never answers its own voice.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from azure.communication.callautomation import (
    AudioFormat,
    CallAutomationClient,
    MediaStreamingAudioChannelType,
    MediaStreamingContentType,
    MediaStreamingOptions,
    StreamingTransportType,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from examples.sample_app.settings import AppSettings
from examples.voicebot.listening import Utterances
from examples.voicebot.speaking import RATE, speak
from examples.voicebot.understanding import GREETING, Recognizer, answer_to

log = logging.getLogger("voicebot")

FRAME_BYTES = RATE // 50 * 2  # 20 ms of 16-bit mono


@dataclass
class VoiceBot:
    client: CallAutomationClient
    public_url: str  # where Switchboard reaches this app over HTTP (ws:// for the stream)
    calls: dict[str, str] = field(default_factory=dict)  # serverCallId → callConnectionId
    log: list[str] = field(default_factory=list)  # what it heard and said, for the curious
    logged: asyncio.Event = field(default_factory=asyncio.Event)  # set at each new log line
    talking_until: float = 0.0  # loop time when what it has said so far will have played
    _recognizer: Recognizer | None = None
    _thinking: asyncio.Lock = field(default_factory=asyncio.Lock)  # one decode at a time

    def _note(self, line: str) -> None:
        self.log.append(line)
        self.logged.set()
        self.logged = asyncio.Event()

    async def events(self, request: Request) -> Response:
        for event in await request.json():
            kind = event.get("eventType") or event.get("type")
            data = event.get("data") or {}
            if kind == "Microsoft.EventGrid.SubscriptionValidationEvent":
                return JSONResponse({"validationResponse": data["validationCode"]})
            if kind == "Microsoft.Communication.IncomingCall":
                await asyncio.to_thread(self._answer, data)
        return Response(status_code=200)

    def _answer(self, data: dict[str, Any]) -> None:
        server_call_id = data["serverCallId"]
        stream_url = self.public_url.replace("http", "ws", 1) + f"/media?call={server_call_id}"
        streaming = MediaStreamingOptions(
            transport_url=stream_url,
            transport_type=StreamingTransportType.WEBSOCKET,
            content_type=MediaStreamingContentType.AUDIO,
            audio_channel_type=MediaStreamingAudioChannelType.MIXED,
            start_media_streaming=True,
            enable_bidirectional=True,
            audio_format=AudioFormat.PCM16_K_MONO,
        )
        answered = self.client.answer_call(
            data["incomingCallContext"], f"{self.public_url}/callbacks", media_streaming=streaming
        )
        self.calls[server_call_id] = str(answered.call_connection_id)
        self._note(f"answered {data['from']['rawId']}")

    async def callbacks(self, request: Request) -> Response:
        for event in await request.json():
            kind = event["type"].rsplit(".", 1)[1]
            self._note(kind)
            if kind == "CallDisconnected":
                self.calls.pop(event["data"].get("serverCallId", ""), None)
        return Response(status_code=200)

    async def media(self, socket: WebSocket) -> None:
        await socket.accept()
        server_call_id = socket.query_params.get("call", "")
        await self._say(socket, GREETING)
        listening = Utterances()
        try:
            while True:
                frame = json.loads(await socket.receive_text())
                audio = frame.get("audioData")
                if str(frame.get("kind", "")).lower() != "audiodata" or not audio:
                    continue
                said = listening.feed(base64.b64decode(audio["data"]))
                if said is None:
                    continue
                question = await self._recognize(said)
                if question is None:
                    self._note("heard something it did not understand")
                    continue
                answer = answer_to(question)
                self._note(f"heard {answer.heard!r}")
                await self._say(socket, answer.text)
                listening = Utterances()  # what came in while it talked was its own voice
                if answer.hang_up:
                    await self._hang_up(server_call_id)
                    return
        except WebSocketDisconnect:
            return

    async def _recognize(self, pcm: bytes) -> str | None:
        async with self._thinking:
            if self._recognizer is None:
                self._recognizer = await asyncio.to_thread(Recognizer)
            return await asyncio.to_thread(self._recognizer.question_in, pcm)

    async def _say(self, socket: WebSocket, text: str) -> None:
        pcm = await asyncio.to_thread(speak, text)
        loop = asyncio.get_running_loop()
        self.talking_until = max(self.talking_until, loop.time()) + len(pcm) / (RATE * 2)
        for start in range(0, len(pcm), FRAME_BYTES):
            data = base64.b64encode(pcm[start : start + FRAME_BYTES]).decode()
            await socket.send_text(json.dumps({"kind": "AudioData", "audioData": {"data": data}}))
        self._note(f"said {text!r}")

    async def _hang_up(self, server_call_id: str) -> None:
        # The answer was queued, not yet heard: let it play out first.
        await asyncio.sleep(self.talking_until - asyncio.get_running_loop().time() + 0.5)
        call_connection_id = self.calls.get(server_call_id)
        if call_connection_id is not None:
            connection = self.client.get_call_connection(call_connection_id)
            await asyncio.to_thread(connection.hang_up, True)


def create_app(settings: AppSettings, public_url: str) -> tuple[Starlette, VoiceBot]:
    client = CallAutomationClient.from_connection_string(
        settings.connection_string, connection_verify=settings.ca_path or True
    )
    bot = VoiceBot(client, public_url)
    app = Starlette(
        routes=[
            Route("/events", bot.events, methods=["POST"]),
            Route("/callbacks", bot.callbacks, methods=["POST"]),
            WebSocketRoute("/media", bot.media),
        ]
    )
    return app, bot
