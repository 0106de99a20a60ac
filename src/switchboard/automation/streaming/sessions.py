"""MediaStreams: media streaming and transcription of the calls this node runs.

    createCall / answer / connect with options ─▶ attach(call, media, options)
        (startMediaStreaming / startTranscription true: started once the call is connected)
    :startMediaStreaming ─▶ a StreamSocket to transportUrl (AudioMetadata first) and the
        call's audio (CallAudio, mixed or unmixed) sent on it every 20 ms; bidirectional: the
        app's AudioData ─▶ AppAudio ─▶ played into the call through the endpoint's tick
    :startTranscription ─▶ a StreamSocket (TranscriptionMetadata first) and CallTranscription
    socket outcomes ─▶ MediaStreaming*/Transcription* callbacks, in order, one worker
    the call ends ─▶ detach: sockets closed, no more callbacks (the app has CallDisconnected)

One ``CallStreams`` per call is the endpoint's ``MediaStreamSink``: what the endpoint hears
goes to the audio stream and the transcription; its tick mixes and plays the app's audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from switchboard.automation.control_ops import StreamingOp
from switchboard.automation.models import CallConnection
from switchboard.automation.ports import CallbackData, CallbackSink, CallMedia, UrlGuard
from switchboard.automation.streaming import events, frames
from switchboard.automation.streaming.audio import AppAudio, CallAudio
from switchboard.automation.streaming.call_streams import (
    CallStreams,
    MediaSubscription,
    TranscriptionSubscription,
    app_frames,
)
from switchboard.automation.streaming.guard import check_transport_url
from switchboard.automation.streaming.models import (
    AudioChannel,
    MediaStreamingNotConfiguredError,
    StreamingAction,
    StreamingOptions,
    StreamState,
    StreamStateError,
    TranscriptionNotConfiguredError,
    TranscriptionOptions,
    UnsupportedLocaleError,
)
from switchboard.automation.streaming.socket import SocketState, StreamConnector, StreamSocket
from switchboard.automation.streaming.transcription import CallTranscription
from switchboard.core.errors import BadRequestError, NotSupportedError
from switchboard.core.tasks import TaskScope
from switchboard.media.audio.transcriber import Transcriber, supports

log = logging.getLogger(__name__)

SAMPLE_RATES = (16_000, 24_000)


@dataclass(frozen=True, slots=True)
class StreamingEngines:
    """What app.py picks: the WebSocket client (SSRF-guarded) and the transcription engine."""

    connector: StreamConnector
    transcriber: Transcriber


class MediaStreams:
    def __init__(
        self,
        callbacks: CallbackSink,
        guard: UrlGuard,
        engines: StreamingEngines | None,
        *,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._callbacks = callbacks
        self._guard = guard
        self._engines = engines
        self._clock = clock
        self._new_id = new_id
        self._calls: dict[str, CallStreams] = {}
        self._outbox: asyncio.Queue[tuple[str, str, CallbackData]] = asyncio.Queue()
        self._scope = TaskScope("media streams")

    async def start(self) -> None:
        await self._scope.start()
        self._scope.spawn(self._deliver(), name="media streams callbacks")

    async def stop(self) -> None:
        for streams in list(self._calls.values()):
            self._close(streams)
        await self._scope.stop()

    # --- options at create / answer / connect ---------------------------------------------

    async def check_options(
        self, streaming: StreamingOptions | None, transcribing: TranscriptionOptions | None
    ) -> None:
        """Before the call is placed: 400 for options this node cannot honour."""
        if (streaming is not None or transcribing is not None) and self._engines is None:
            raise NotSupportedError("Media streaming is not available on this server.")
        if streaming is not None:
            if streaming.sample_rate not in SAMPLE_RATES:
                raise BadRequestError("audioFormat must be pcm16KMono or pcm24KMono.")
            field = "mediaStreamingOptions.transportUrl"
            await check_transport_url(self._guard, streaming.transport_url, field)
        if transcribing is not None:
            self._check_locale(transcribing.locale)
            field = "transcriptionOptions.transportUrl"
            await check_transport_url(self._guard, transcribing.transport_url, field)

    def attach(
        self,
        call: CallConnection,
        media: CallMedia,
        streaming: StreamingOptions | None,
        transcribing: TranscriptionOptions | None,
    ) -> None:
        self._calls[call.call_connection_id] = CallStreams(
            call,
            media,
            streaming,
            transcribing,
            locale=transcribing.locale if transcribing else "",
        )

    def connected(self, call: CallConnection) -> None:
        """The call is connected: start what the options asked to start at once."""
        streams = self._calls.get(call.call_connection_id)
        if streams is None or not streams.autostart_pending:
            return
        streams.autostart_pending = False
        if streams.streaming is not None and streams.streaming.start:
            self._open_audio(streams, None, call.callback_uri)
        if streams.transcribing is not None and streams.transcribing.start:
            self._open_text(streams, None, call.callback_uri)

    def detach(self, call_connection_id: str) -> None:
        streams = self._calls.pop(call_connection_id, None)
        if streams is not None:
            streams.ended = True
            self._close(streams)

    def states(self, call_connection_id: str) -> tuple[StreamState, StreamState]:
        """(media streaming, transcription) subscription states, for GET."""
        streams = self._calls.get(call_connection_id)
        if streams is None:
            return StreamState.DISABLED, StreamState.DISABLED
        audio = (
            StreamState.DISABLED
            if streams.streaming is None
            else (StreamState.ACTIVE if streams.audio is not None else StreamState.INACTIVE)
        )
        text = (
            StreamState.DISABLED
            if streams.transcribing is None
            else (StreamState.ACTIVE if streams.text is not None else StreamState.INACTIVE)
        )
        return audio, text

    # --- operations -------------------------------------------------------------------------

    async def apply(self, call: CallConnection, op: StreamingOp) -> None:
        context, uri, action = op.operation_context, op.operation_callback_uri, op.action
        if action is StreamingAction.START_MEDIA_STREAMING:
            await self.start_media_streaming(call, context, uri)
        elif action is StreamingAction.STOP_MEDIA_STREAMING:
            await self.stop_media_streaming(call, context, uri)
        elif action is StreamingAction.START_TRANSCRIPTION:
            await self.start_transcription(call, op.locale, context, uri)
        elif action is StreamingAction.UPDATE_TRANSCRIPTION:
            await self.update_transcription(call, op.locale, context, uri)
        else:
            await self.stop_transcription(call, context, uri)

    async def start_media_streaming(
        self, call: CallConnection, context: str | None, callback_uri: str | None
    ) -> None:
        streams = self._streams(call)
        if streams.streaming is None:
            raise MediaStreamingNotConfiguredError(
                "The call was not created with mediaStreamingOptions."
            )
        if streams.audio is not None:
            raise StreamStateError("Media streaming is already started.")
        await self._check_callback(callback_uri)
        streams.autostart_pending = False
        self._open_audio(streams, context, call.callback_for(callback_uri))

    async def stop_media_streaming(
        self, call: CallConnection, context: str | None, callback_uri: str | None
    ) -> None:
        streams = self._streams(call)
        subscription = streams.audio
        if subscription is None:
            raise StreamStateError("Media streaming is not started.")
        await self._check_callback(callback_uri)
        streams.audio = None
        self._stopping(streams, subscription, context, call.callback_for(callback_uri))

    async def start_transcription(
        self,
        call: CallConnection,
        locale: str | None,
        context: str | None,
        callback_uri: str | None,
    ) -> None:
        streams = self._streams(call)
        if streams.transcribing is None:
            raise TranscriptionNotConfiguredError(
                "The call was not created with transcriptionOptions."
            )
        if streams.text is not None:
            raise StreamStateError("Transcription is already started.")
        if locale:
            self._check_locale(locale)
            streams.locale = locale
        await self._check_callback(callback_uri)
        streams.autostart_pending = False
        self._open_text(streams, context, call.callback_for(callback_uri))

    async def update_transcription(
        self,
        call: CallConnection,
        locale: str | None,
        context: str | None,
        callback_uri: str | None,
    ) -> None:
        streams = self._streams(call)
        subscription = streams.text
        if subscription is None:
            raise StreamStateError("Transcription is not started.")
        if not locale:
            raise BadRequestError("updateTranscription needs a locale.", target="locale")
        self._check_locale(locale)
        await self._check_callback(callback_uri)
        streams.locale = locale
        subscription.transcription.update_locale(locale)
        self._notify(
            streams,
            call.callback_for(callback_uri),
            events.transcription_updated(call, context, locale),
        )

    async def stop_transcription(
        self, call: CallConnection, context: str | None, callback_uri: str | None
    ) -> None:
        streams = self._streams(call)
        subscription = streams.text
        if subscription is None:
            raise StreamStateError("Transcription is not started.")
        await self._check_callback(callback_uri)
        streams.text = None
        self._stopping(streams, subscription, context, call.callback_for(callback_uri))

    # --- internals --------------------------------------------------------------------------

    def _stopping(
        self,
        streams: CallStreams,
        subscription: MediaSubscription | TranscriptionSubscription,
        context: str | None,
        callback_uri: str,
    ) -> None:
        """A stopped subscription (already out of ``streams``): its socket closes, and the
        Stopped callback (sent when it has) carries the stop request's context and URI."""
        subscription.stop_context = context
        subscription.stop_callback_uri = callback_uri
        subscription.socket.close()
        self._update_sink(streams)

    def _streams(self, call: CallConnection) -> CallStreams:
        streams = self._calls.get(call.call_connection_id)
        if streams is None:
            raise MediaStreamingNotConfiguredError("This call connection has no media (yet).")
        return streams

    def _open_audio(self, streams: CallStreams, context: str | None, callback_uri: str) -> None:
        engines, options = self._engines, streams.streaming
        assert engines is not None and options is not None  # checked with the options
        subscription_id = self._new_id()

        def send(pcm: bytes, silent: bool, raw_id: str | None) -> None:
            socket.send(frames.audio_data(pcm, self._clock(), silent, raw_id))

        app_audio = AppAudio(options.sample_rate) if options.bidirectional else None
        socket = StreamSocket(
            options.transport_url,
            engines.connector,
            frames.audio_metadata(subscription_id, options.sample_rate),
            on_state=lambda state, detail: self._audio_state(streams, subscription, state),
            on_message=None if app_audio is None else app_frames(app_audio),
        )
        mixed = options.channel is AudioChannel.MIXED
        audio = CallAudio(options.sample_rate, mixed=mixed, emit=send)
        subscription = MediaSubscription(
            subscription_id, socket, audio, app_audio, context, callback_uri
        )
        streams.audio = subscription
        self._update_sink(streams)
        self._scope.spawn(socket.run(), name="media stream socket")

    def _open_text(self, streams: CallStreams, context: str | None, callback_uri: str) -> None:
        engines, options = self._engines, streams.transcribing
        assert engines is not None and options is not None
        subscription_id = self._new_id()
        call = streams.call
        socket = StreamSocket(
            options.transport_url,
            engines.connector,
            frames.transcription_metadata(
                subscription_id, streams.locale, call.call_connection_id, call.correlation_id
            ),
            on_state=lambda state, detail: self._text_state(streams, subscription, state),
        )
        transcription = CallTranscription(
            engines.transcriber,
            streams.locale,
            intermediate=options.intermediate,
            emit=socket.send,
            spawn=lambda coro: self._spawn_quietly(coro, "transcribe"),
        )
        subscription = TranscriptionSubscription(
            subscription_id, socket, transcription, context, callback_uri
        )
        streams.text = subscription
        self._update_sink(streams)
        self._scope.spawn(socket.run(), name="transcription socket")

    def _audio_state(
        self, streams: CallStreams, subscription: MediaSubscription, state: SocketState
    ) -> None:
        call = streams.call
        if state is SocketState.CONNECTED:
            event = events.started(call, subscription.context)
            self._notify(streams, subscription.callback_uri, event)
            return
        if streams.audio is subscription:  # it failed under us: the call goes on without it
            streams.audio = None
            self._update_sink(streams)
        if state is SocketState.CLOSED:
            url = subscription.stop_callback_uri or subscription.callback_uri
            self._notify(streams, url, events.stopped(call, subscription.stop_context))
        else:
            interrupted = state is SocketState.INTERRUPTED
            event = events.failed(call, subscription.context, interrupted=interrupted)
            self._notify(streams, subscription.callback_uri, event)
        if subscription.socket.dropped_frames or subscription.audio.dropped_frames:
            log.info(
                "call %s: media stream dropped %d frames (slow app) and %d (backlog)",
                call.call_connection_id,
                subscription.socket.dropped_frames,
                subscription.audio.dropped_frames,
            )

    def _text_state(
        self, streams: CallStreams, subscription: TranscriptionSubscription, state: SocketState
    ) -> None:
        call = streams.call
        if state is SocketState.CONNECTED:
            event = events.transcription_started(call, subscription.context)
            self._notify(streams, subscription.callback_uri, event)
            return
        if streams.text is subscription:
            streams.text = None
            self._update_sink(streams)
        if state is SocketState.CLOSED:
            url = subscription.stop_callback_uri or subscription.callback_uri
            event = events.transcription_stopped(call, subscription.stop_context)
            self._notify(streams, url, event)
        else:
            interrupted = state is SocketState.INTERRUPTED
            event = events.transcription_failed(call, subscription.context, interrupted=interrupted)
            self._notify(streams, subscription.callback_uri, event)

    def _update_sink(self, streams: CallStreams) -> None:
        """The endpoint feeds us only while something streams (decoding costs CPU)."""
        wanted = not streams.ended and (streams.audio is not None or streams.text is not None)
        if wanted != streams.attached:
            streams.media.attach_stream(streams if wanted else None)
            streams.attached = wanted

    def _close(self, streams: CallStreams) -> None:
        for subscription in (streams.audio, streams.text):
            if subscription is not None:
                subscription.socket.close()
        streams.audio = streams.text = None
        self._update_sink(streams)

    def _notify(self, streams: CallStreams, url: str, event: CallbackData) -> None:
        if not streams.ended:
            self._outbox.put_nowait((streams.call.call_connection_id, url, event))

    async def _deliver(self) -> None:
        while True:
            call_connection_id, url, event = await self._outbox.get()
            if call_connection_id not in self._calls:
                # The call ended after this was noticed (often because it ended: the app
                # closed its socket as it hung up): the app has had CallDisconnected, which
                # is the last callback of a call.
                continue
            try:
                await self._callbacks.enqueue(call_connection_id, url, [event])
            except Exception:
                log.exception("call %s: %s callback not queued", call_connection_id, event.type)

    def _spawn_quietly(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        with contextlib.suppress(RuntimeError):  # stopping: the result would go nowhere
            self._scope.spawn(coro, name=name)

    def _check_locale(self, locale: str) -> None:
        engines = self._engines
        if engines is not None and not supports(engines.transcriber, locale):
            raise UnsupportedLocaleError(
                f"The transcription engine has no model for {locale}.", target="locale"
            )

    async def _check_callback(self, callback_uri: str | None) -> None:
        if callback_uri is not None:
            await self._guard.check_callback_uri(callback_uri)
