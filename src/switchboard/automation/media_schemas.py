"""Wire shapes of the media operations (play, recognize, DTMF, hold), api-version 2026-03-12."""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.automation.models import AzureAiRequiredError
from switchboard.automation.schemas import identifier
from switchboard.core.errors import BadRequestError
from switchboard.media.audio.tones import DtmfTone
from switchboard.media.endpoint.models import (
    Choice,
    DtmfOptions,
    FileSource,
    PlaySource,
    Recognize,
    RecognizeInput,
    SsmlSource,
    TextSource,
)

Identifier = dict[str, Any]


class TextJson(msgspec.Struct, rename="camel"):
    text: str
    source_locale: str | None = None
    voice_kind: str | None = None
    voice_name: str | None = None
    custom_voice_endpoint_id: str | None = None


class FileJson(msgspec.Struct, rename="camel"):
    uri: str


class SsmlJson(msgspec.Struct, rename="camel"):
    ssml_text: str
    custom_voice_endpoint_id: str | None = None


class PlaySourceJson(msgspec.Struct, rename="camel"):
    kind: str
    play_source_cache_id: str | None = None
    file: FileJson | None = None
    text: TextJson | None = None
    ssml: SsmlJson | None = None


class PlayOptionsJson(msgspec.Struct, rename="camel"):
    loop: bool = False


class PlayRequest(msgspec.Struct, rename="camel"):
    play_sources: list[PlaySourceJson]
    play_to: list[Identifier] = []
    interrupt_call_media_operation: bool | None = None
    play_options: PlayOptionsJson | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class DtmfOptionsJson(msgspec.Struct, rename="camel"):
    inter_tone_timeout_in_seconds: int | None = None
    max_tones_to_collect: int | None = None
    stop_tones: list[str] | None = None


class ChoiceJson(msgspec.Struct, rename="camel"):
    label: str
    phrases: list[str]
    tone: str | None = None


class SpeechOptionsJson(msgspec.Struct, rename="camel"):
    end_silence_timeout_in_ms: int | None = None


class RecognizeOptionsJson(msgspec.Struct, rename="camel"):
    target_participant: Identifier
    interrupt_prompt: bool | None = None
    initial_silence_timeout_in_seconds: int | None = None
    speech_language: str | None = None
    speech_recognition_model_endpoint_id: str | None = None
    dtmf_options: DtmfOptionsJson | None = None
    choices: list[ChoiceJson] | None = None
    speech_options: SpeechOptionsJson | None = None


class RecognizeRequest(msgspec.Struct, rename="camel"):
    recognize_input_type: str
    recognize_options: RecognizeOptionsJson
    play_prompt: PlaySourceJson | None = None
    play_prompts: list[PlaySourceJson] | None = None
    interrupt_call_media_operation: bool | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class TargetRequest(msgspec.Struct, rename="camel"):
    """startContinuousDtmfRecognition, stopContinuousDtmfRecognition, unhold."""

    target_participant: Identifier
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class SendDtmfTonesRequest(msgspec.Struct, rename="camel"):
    tones: list[str]
    target_participant: Identifier
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class HoldRequest(msgspec.Struct, rename="camel"):
    target_participant: Identifier
    play_source_info: PlaySourceJson | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None


class StreamingRequest(msgspec.Struct, rename="camel"):
    """start/stopMediaStreaming and start/update/stopTranscription (``locale`` and
    ``speechModelEndpointId``: transcription's start and update)."""

    locale: str | None = None
    speech_model_endpoint_id: str | None = None
    operation_context: str | None = None
    operation_callback_uri: str | None = None


def play_source(data: PlaySourceJson, field: str) -> PlaySource:
    kind = data.kind.lower()
    cache = data.play_source_cache_id
    if kind == "text" and data.text is not None:
        if data.text.custom_voice_endpoint_id:
            raise AzureAiRequiredError("Custom neural voices need Azure AI Speech.", target=field)
        return TextSource(
            data.text.text,
            data.text.source_locale,
            data.text.voice_kind,
            data.text.voice_name,
            cache,
        )
    if kind == "ssml" and data.ssml is not None:
        if data.ssml.custom_voice_endpoint_id:
            raise AzureAiRequiredError("Custom neural voices need Azure AI Speech.", target=field)
        return SsmlSource(data.ssml.ssml_text, cache)
    if kind == "file" and data.file is not None:
        return FileSource(data.file.uri, cache)
    raise BadRequestError(
        "A play source needs kind file, text or ssml, and the object of that kind.", target=field
    )


def play_sources(items: list[PlaySourceJson], field: str) -> list[PlaySource]:
    return [play_source(item, field) for item in items]


def raw_ids(items: list[Identifier], field: str) -> list[str]:
    return [identifier(item, field).raw_id for item in items]


def tone(name: str, field: str) -> DtmfTone:
    try:
        return DtmfTone.from_acs_name(name)
    except ValueError:
        raise BadRequestError(f"{name!r} is not a DTMF tone.", target=field) from None


def recognize(body: RecognizeRequest) -> Recognize:
    try:
        kind = RecognizeInput(body.recognize_input_type)
    except ValueError:
        raise BadRequestError(
            "recognizeInputType must be dtmf, speech, speechOrDtmf or choices.",
            target="recognizeInputType",
        ) from None
    options = body.recognize_options
    if options.speech_recognition_model_endpoint_id:
        raise AzureAiRequiredError(
            "Custom speech models need Azure AI Speech.", target="speechRecognitionModelEndpointId"
        )
    prompts = play_sources(body.play_prompts or [], "playPrompts")
    if body.play_prompt is not None:
        prompts.insert(0, play_source(body.play_prompt, "playPrompt"))
    dtmf_json = options.dtmf_options or DtmfOptionsJson()
    dtmf = DtmfOptions(
        max_tones=dtmf_json.max_tones_to_collect or 1,
        inter_tone_timeout_seconds=float(dtmf_json.inter_tone_timeout_in_seconds or 2),
        stop_tones=frozenset(tone(t, "stopTones") for t in dtmf_json.stop_tones or []),
    )
    choices = tuple(
        Choice(c.label, tuple(c.phrases), None if c.tone is None else tone(c.tone, "choices"))
        for c in options.choices or []
    )
    silence = options.initial_silence_timeout_in_seconds
    speech = options.speech_options or SpeechOptionsJson()
    return Recognize(
        operation_id="",
        input=kind,
        target=identifier(options.target_participant, "targetParticipant").raw_id,
        prompts=tuple(prompts),
        interrupt_prompt=bool(options.interrupt_prompt),
        interrupt=bool(body.interrupt_call_media_operation),
        initial_silence_timeout_seconds=5.0 if silence is None else float(silence),
        dtmf=dtmf,
        choices=choices,
        end_silence_ms=speech.end_silence_timeout_in_ms or 1000,
        language=options.speech_language,
    )
