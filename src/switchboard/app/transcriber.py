"""Which transcription engine the node uses: ``automation_transcriber = "module:factory"``
(the factory is called with ``automation_transcriber_model`` and returns a ``Transcriber``),
or pocketsphinx when unset (docs/media-streaming.md, "A stronger engine")."""

from __future__ import annotations

import importlib

from switchboard.core.sections import AutomationConfig
from switchboard.media.audio.transcriber import PocketsphinxTranscriber, Transcriber


class TranscriberConfigError(RuntimeError):
    """automation_transcriber names nothing that makes a Transcriber: the node does not start."""


def transcriber_of(config: AutomationConfig) -> Transcriber:
    if not config.transcriber:
        return PocketsphinxTranscriber()
    module_name, _, factory_name = config.transcriber.partition(":")
    if not module_name or not factory_name:
        raise TranscriberConfigError(
            f"automation_transcriber must be module:factory, not {config.transcriber!r}"
        )
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as error:
        raise TranscriberConfigError(f"automation_transcriber: {error}") from error
    engine = factory(config.transcriber_model)
    if not hasattr(engine, "transcribe") or not hasattr(engine, "locales"):
        raise TranscriberConfigError(
            f"{config.transcriber} returned {type(engine).__name__}, which is not a Transcriber"
        )
    transcriber: Transcriber = engine
    return transcriber
