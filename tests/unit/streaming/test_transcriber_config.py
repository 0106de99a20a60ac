"""An operator's own transcription engine, named in the configuration."""

from __future__ import annotations

import pytest

from switchboard.app.transcriber import TranscriberConfigError, transcriber_of
from switchboard.core.sections import AutomationConfig
from switchboard.media.audio.transcriber import PocketsphinxTranscriber, Transcript


class ModelEngine:
    """What an operator writes: an engine over a model file of theirs."""

    def __init__(self, model: str | None) -> None:
        self.model = model

    @property
    def locales(self) -> frozenset[str]:
        return frozenset({"de-de"})

    async def transcribe(
        self, pcm: bytes, sample_rate: int = 48_000, locale: str = "de-de"
    ) -> Transcript | None:
        return None


def make(model: str | None) -> ModelEngine:
    return ModelEngine(model)


def not_an_engine(model: str | None) -> object:
    return object()


def test_unset_is_pocketsphinx() -> None:
    assert isinstance(transcriber_of(AutomationConfig()), PocketsphinxTranscriber)


def test_a_factory_gets_the_model_file() -> None:
    config = AutomationConfig(transcriber=f"{__name__}:make", transcriber_model="/models/de.bin")
    engine = transcriber_of(config)
    assert isinstance(engine, ModelEngine) and engine.model == "/models/de.bin"


@pytest.mark.parametrize(
    "name",
    ["no-colon", "no_such_module_here:make", f"{__name__}:missing", f"{__name__}:not_an_engine"],
)
def test_a_wrong_name_stops_the_node_with_a_reason(name: str) -> None:
    with pytest.raises(TranscriberConfigError):
        transcriber_of(AutomationConfig(transcriber=name))
