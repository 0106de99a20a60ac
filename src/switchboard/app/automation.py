"""The composition root's Call Automation part: which concrete classes serve it.

AutomationCallbacks (SqlCallbackQueue, RSA key from the secrets) ─▶ EndpointTicker ─▶
voice (app/voice.py: pending phone calls, the simulator's phones, the dialer) ─▶
ServerCallPlane (calling's ServerCalls on the node's SFU; MediaEndpoint with espeak-ng,
pocketsphinx, audio files through the guarded client) ─▶ AutomationComponent (media
streaming: WebSockets through the same guard; transcription: pocketsphinx)
(SqlCallConnectionStore, the bus for control, numbers for caller ids, the events outbox for
IncomingCall) ─▶ routes: /calling/callConnections…, the callbacks' OpenID metadata
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from starlette.routing import BaseRoute

from switchboard.app.transcriber import transcriber_of
from switchboard.app.voice import Voice, start_voice
from switchboard.automation.adapters import (
    CallbackUrlGuard,
    GuardedFileFetcher,
    NumbersCallerIds,
    OutboxPublisher,
    OwnedNumbers,
    QueuedCallbacks,
)
from switchboard.automation.call_plane import ServerCallPlane
from switchboard.automation.callbacks import AutomationCallbacks
from switchboard.automation.callbacks_sql import SqlCallbackQueue
from switchboard.automation.component import AutomationComponent, AutomationParts
from switchboard.automation.incoming_sink import WouldDeliver
from switchboard.automation.openid_routes import openid_routes
from switchboard.automation.store_sql import SqlCallConnectionStore
from switchboard.automation.streaming.sessions import StreamingEngines
from switchboard.automation.streaming.transport import GuardedWebSocketConnector
from switchboard.bus.base import Bus
from switchboard.calling.server.calls import ServerCalls
from switchboard.calling.service import CallingService
from switchboard.core.clock import Clock
from switchboard.core.sections import NodeConfig
from switchboard.events.outbox import Outbox
from switchboard.events.transport import delivery_client
from switchboard.http.auth import Authenticator
from switchboard.http.repeatability import Repeatability
from switchboard.media.audio.speech import PocketsphinxRecognizer
from switchboard.media.audio.tts import EspeakTextToSpeech
from switchboard.media.endpoint.encoded import EncodedAudio
from switchboard.media.endpoint.hold_music import hold_music
from switchboard.media.endpoint.renderer import SourceRenderer
from switchboard.media.endpoint.ticker import EndpointTicker
from switchboard.media.node import MediaNode
from switchboard.siprouting.service import SipRoutingService
from switchboard.storage.database import Database
from switchboard.storage.secrets import INCOMING_CALL_SECRET, SqlSecretStore

FILE_FETCH_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Automation:
    component: AutomationComponent
    callbacks: AutomationCallbacks
    voice: Voice

    def routes(self, authenticator: Authenticator, repeatability: Repeatability) -> list[BaseRoute]:
        return [
            *self.component.routes(authenticator, repeatability),
            *openid_routes(self.callbacks.signer),
            *self.voice.routes(authenticator),
        ]


async def start_automation(
    stack: contextlib.AsyncExitStack,
    config: NodeConfig,
    *,
    port: int,
    database: Database,
    bus: Bus,
    secrets: SqlSecretStore,
    calling: CallingService,
    media: MediaNode,
    numbers: OwnedNumbers,
    outbox: Outbox,
    clock: Clock,
    resource_id: str,
    node_id: str,
    registry: CollectorRegistry,
    would_deliver: WouldDeliver | None = None,
    sip_routing: SipRoutingService | None = None,
) -> Automation:
    """Started Call Automation; every part's stop is on ``stack`` (reverse order)."""
    callbacks = await AutomationCallbacks.start(
        config.automation,
        config.server,
        SqlCallbackQueue(database),
        secrets,
        clock=clock,
        resource_id=resource_id,
        issuer=config.automation.callback_issuer or config.server.endpoint(port).rstrip("/"),
        registry=registry,
    )
    stack.push_async_callback(callbacks.stop)
    ticker = EndpointTicker()
    await ticker.start()
    stack.push_async_callback(ticker.stop)
    files = delivery_client(
        callbacks.urls.guard, timeout=FILE_FETCH_TIMEOUT_SECONDS, connections=16
    )
    stack.push_async_callback(files.aclose)
    server_calls = ServerCalls(calling.server_calls, media)
    voice = await start_voice(
        stack,
        calling=calling,
        server_calls=server_calls,
        media=media,
        numbers=numbers,
        ticker=ticker,
        would_deliver=would_deliver,
        sip=config.sip,
        sip_routing=sip_routing,
        bus=bus,
    )
    plane = ServerCallPlane(
        server_calls,
        SourceRenderer(EspeakTextToSpeech(), GuardedFileFetcher(files)),
        PocketsphinxRecognizer(),
        ticker,
        hold_music(),
        dialer=voice.dialer,
        pending=voice.pending,
        encoded=EncodedAudio(),  # prompts encoded once for every call that plays them
        user_calls=voice.user_calls,
    )
    incoming_secret = base64.b64decode(await secrets.get_or_create(INCOMING_CALL_SECRET))
    component = await AutomationComponent.start(
        AutomationParts(
            store=SqlCallConnectionStore(database),
            plane=plane,
            callbacks=QueuedCallbacks(callbacks),
            caller_ids=NumbersCallerIds(numbers),
            guard=CallbackUrlGuard(callbacks.urls),
            publisher=OutboxPublisher(database, outbox),
            incoming_secret=incoming_secret,
            bus=bus,
            clock=clock,
            node_id=node_id,
            dials_phones=True,
            streaming=StreamingEngines(
                GuardedWebSocketConnector(callbacks.urls.guard), transcriber_of(config.automation)
            ),
        )
    )
    stack.push_async_callback(component.stop)
    voice.offers.bind(component.incoming)
    return Automation(component, callbacks, voice)
