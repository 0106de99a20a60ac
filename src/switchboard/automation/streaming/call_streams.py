"""One call's streams: its media subscription (socket, call audio, the app's audio) and its
transcription subscription; ``CallStreams`` is the endpoint's ``MediaStreamSink``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from switchboard.automation.models import CallConnection
from switchboard.automation.ports import CallMedia
from switchboard.automation.streaming import frames
from switchboard.automation.streaming.audio import AppAudio, CallAudio
from switchboard.automation.streaming.models import StreamingOptions, TranscriptionOptions
from switchboard.automation.streaming.socket import StreamSocket
from switchboard.automation.streaming.transcription import CallTranscription

log = logging.getLogger(__name__)


@dataclass
class MediaSubscription:
    id: str
    socket: StreamSocket
    audio: CallAudio
    app_audio: AppAudio | None
    context: str | None
    callback_uri: str
    stop_context: str | None = None
    stop_callback_uri: str | None = None


@dataclass
class TranscriptionSubscription:
    id: str
    socket: StreamSocket
    transcription: CallTranscription
    context: str | None
    callback_uri: str
    stop_context: str | None = None
    stop_callback_uri: str | None = None


@dataclass
class CallStreams:
    """One call's streams; the endpoint's MediaStreamSink."""

    call: CallConnection
    media: CallMedia
    streaming: StreamingOptions | None
    transcribing: TranscriptionOptions | None
    audio: MediaSubscription | None = None
    text: TranscriptionSubscription | None = None
    autostart_pending: bool = True
    attached: bool = False
    ended: bool = False
    locale: str = ""

    def heard(self, raw_id: str, frame: bytes) -> None:
        if self.audio is not None:
            self.audio.audio.heard(raw_id, frame)
        if self.text is not None:
            self.text.transcription.heard(raw_id, frame)

    def tick(self, playing: bool) -> bytes | None:
        if self.text is not None:
            self.text.transcription.tick()
        subscription = self.audio
        if subscription is None:
            return None
        subscription.audio.tick()
        if subscription.app_audio is None or playing:
            return None
        return subscription.app_audio.next_frame()


def app_frames(app_audio: AppAudio) -> Callable[[str | bytes], None]:
    def receive(message: str | bytes) -> None:
        try:
            frame = frames.parse_app_frame(message)
        except frames.FrameError as error:
            log.debug("media stream: the app's message ignored: %s", error)
            return
        if isinstance(frame, frames.StopAudio):
            app_audio.clear()
        else:
            app_audio.push(frame.pcm)

    return receive
