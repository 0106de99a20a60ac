from __future__ import annotations

import dataclasses
import re
from importlib import resources
from pathlib import Path

from switchboard.core.config import Settings, load_settings


def sample_text() -> str:
    return resources.files("switchboard").joinpath("sample-config.toml").read_text()


def test_sample_config_loads_and_matches_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "sample.toml"
    path.write_text(sample_text())
    assert load_settings(config_file=path, environ={}) == Settings()


def test_sample_config_documents_every_setting() -> None:
    text = sample_text()
    for field in dataclasses.fields(Settings):
        assert re.search(rf"^#? ?{field.name} = ", text, re.MULTILINE), field.name
