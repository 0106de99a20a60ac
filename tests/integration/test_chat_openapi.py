"""docs/openapi/chat-2025-03-15.json is what tests/js/chat-openapi.mjs builds from the pinned
npm chat SDK's generated client, and agrees with Microsoft's 2025-03-15 file where it is beside
the clone (../shared/acs-openapi/Chat.json)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.js_sdk import JS_ROOT, NODE_MODULES

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "openapi" / "chat-2025-03-15.json"
OFFICIAL = REPO.parent / "shared" / "acs-openapi" / "Chat.json"


@pytest.fixture(scope="module")
def built() -> Any:
    node = shutil.which("node")
    if node is None or not NODE_MODULES.is_dir():
        pytest.fail("node and tests/js/node_modules are needed (npm ci --prefix tests/js)")
    out = subprocess.run(
        [node, str(JS_ROOT / "chat-openapi.mjs")],
        cwd=JS_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def test_the_committed_file_is_what_the_sdk_gives(built: Any) -> None:
    assert json.loads(COMMITTED.read_text()) == built, (
        "regenerate: node tests/js/chat-openapi.mjs > docs/openapi/chat-2025-03-15.json"
    )


def test_it_carries_the_2025_03_15_fields(built: Any) -> None:
    definitions = built["definitions"]
    assert built["info"]["version"] == "2025-03-15"
    for model in ("CreateChatThreadRequest", "UpdateChatThreadRequest", "ChatThreadProperties"):
        assert {"metadata", "retentionPolicy"} <= set(definitions[model]["properties"])
    assert "metadata" in definitions["ChatParticipant"]["properties"]
    assert definitions["ChatRetentionPolicy"]["discriminator"] == "kind"
    assert definitions["ThreadCreationDateRetentionPolicy"]["required"] == ["deleteThreadAfterDays"]


def test_models_and_operations_agree_with_microsofts_file(built: Any) -> None:
    if not OFFICIAL.is_file():  # ../shared beside the clone; under CI its absence fails
        message = f"{OFFICIAL} is not beside the clone"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    official = json.loads(OFFICIAL.read_text())
    for name, schema in built["definitions"].items():
        theirs = official["definitions"].get(name)
        if theirs is None or not theirs.get("properties"):
            continue  # identifier and error models live in Microsoft's common.json
        assert set(schema["properties"]) == set(theirs["properties"]), name
    ours = {(path, method) for path, item in built["paths"].items() for method in item}
    official_paths = {
        (path, method)
        for path, item in official["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert ours == official_paths
