"""The audio kit for Call Automation's media endpoint; PCM is s16le mono, 48 kHz, 20 ms frames.

    tones.py            DtmfTone: symbols, ACS names, RFC 4733 codes, frequencies (one table)
    dtmf.py             in-band DTMF: DtmfDetector (streaming), tone_frames (to send)
    telephone_event.py  RFC 4733: payload codec, receiver (one press each), sender
    voices.py, tts.py   TextToSpeech Protocol, espeak-ng behind it, ACS voice → espeak voice
    ssml.py             the SSML subset → segments → PCM through a TextToSpeech
    audiofile.py        WAV/MP3 bytes → PCM (PyAV), with limits
    speech.py           SpeechRecognizer Protocol, pocketsphinx behind it, EndOfSpeech
    playback.py         PlaybackQueue: the play queue a paced driver runs
    frames.py           frame slicing, silence, level (rms_dbfs), resampling
    errors.py           the kit's leaves of core/errors.py

Everything here is sans-I/O except tts.py (a subprocess) and speech.py (a worker thread).
See docs/media-audio.md.
"""

from switchboard.media.audio.audiofile import decode_audio_file
from switchboard.media.audio.dtmf import DtmfDetector, tone_frames, tone_pcm
from switchboard.media.audio.errors import (
    AudioFileError,
    AudioFileProblem,
    AudioInputError,
    SpeechSynthesisError,
    SsmlError,
    TelephoneEventParseError,
    TextTooLongError,
)
from switchboard.media.audio.frames import (
    FRAME_BYTES,
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    SILENT_FRAME,
    resample,
    rms_dbfs,
    silence,
    split_frames,
)
from switchboard.media.audio.playback import (
    PlaybackCanceled,
    PlaybackCompleted,
    PlaybackEvent,
    PlaybackFrame,
    PlaybackItem,
    PlaybackQueue,
    PlaybackStarted,
)
from switchboard.media.audio.speech import (
    Choice,
    ChoiceResult,
    EndOfSpeech,
    PocketsphinxRecognizer,
    SpeechRecognizer,
    SpeechResult,
    VoiceActivity,
)
from switchboard.media.audio.ssml import parse_ssml, render_ssml
from switchboard.media.audio.telephone_event import (
    TelephoneEvent,
    TelephoneEventPacket,
    TelephoneEventReceiver,
    TelephoneEventSender,
)
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.audio.tts import TEXT_SOURCE_MAX_CHARS, EspeakTextToSpeech, TextToSpeech
from switchboard.media.audio.voices import VoiceKind, VoiceRequest

__all__ = [
    "FRAME_BYTES",
    "FRAME_MS",
    "FRAME_SAMPLES",
    "SAMPLE_RATE",
    "SILENT_FRAME",
    "TEXT_SOURCE_MAX_CHARS",
    "AudioFileError",
    "AudioFileProblem",
    "AudioInputError",
    "Choice",
    "ChoiceResult",
    "DtmfDetector",
    "DtmfTone",
    "EndOfSpeech",
    "EspeakTextToSpeech",
    "PlaybackCanceled",
    "PlaybackCompleted",
    "PlaybackEvent",
    "PlaybackFrame",
    "PlaybackItem",
    "PlaybackQueue",
    "PlaybackStarted",
    "PocketsphinxRecognizer",
    "SpeechRecognizer",
    "SpeechResult",
    "SpeechSynthesisError",
    "SsmlError",
    "TelephoneEvent",
    "TelephoneEventPacket",
    "TelephoneEventParseError",
    "TelephoneEventReceiver",
    "TelephoneEventSender",
    "TextToSpeech",
    "TextTooLongError",
    "VoiceActivity",
    "VoiceKind",
    "VoiceRequest",
    "decode_audio_file",
    "parse_ssml",
    "render_ssml",
    "resample",
    "rms_dbfs",
    "silence",
    "split_frames",
    "tone_frames",
    "tone_pcm",
]
