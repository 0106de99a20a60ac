"""The ACS OpenAPI files the fuzz tests read, made loadable on their own.

    ../shared/acs-openapi/<file>.json ─▶ drop x-ms-examples ─▶ inline Common/*.json definitions
        ─▶ keep the operations a node routes ─▶ schemathesis schema

The files are unchanged copies from Azure's spec repository, so their ``$ref``s to the shared
``Common/stable/<date>/common.json`` point at that repository's layout; the copies here are
``Common-<date>.json`` beside them (the 2021/2022 error types are the same shape as 2023's).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO_ROOT.parent / "shared" / "acs-openapi"

_COMMON_REF = re.compile(
    r"^.*?/Common/stable/(?P<date>[^/]+)/common\.json#/definitions/(?P<name>.+)$"
)
_COMMON_FALLBACK = "2023-11-15"


@dataclass(frozen=True)
class AcsSpec:
    """One ACS API's OpenAPI file and how its routes are called."""

    file: str
    bearer: bool = False  # chat: a user token, not the access key

    @property
    def path(self) -> Path:
        return SPEC_DIR / self.file


# The APIs a node serves, in the api-versions it accepts (the newest stable and, where the
# SDKs send another, that one too). Email and Call Automation are not served.
SERVED_SPECS = [
    AcsSpec("Identity.json"),
    AcsSpec("Identity-2023-10-01.json"),
    AcsSpec("Chat.json", bearer=True),
    AcsSpec("Chat-2024-03-07.json", bearer=True),
    AcsSpec("Rooms.json"),
    AcsSpec("Sms.json"),
    AcsSpec("Sms-2021-03-07.json"),
    AcsSpec("PhoneNumbers.json"),
    AcsSpec("NetworkTraversal.json"),
    AcsSpec("NetworkTraversal-2022-03-01-preview.json"),
]


def require_spec_dir() -> Path:
    """The shared OpenAPI folder; missing, it skips locally and fails under CI."""
    if not SPEC_DIR.is_dir():
        message = f"the ACS OpenAPI files are not at {SPEC_DIR} (a copy of shared/ beside the repo)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return SPEC_DIR


def load_spec(spec: AcsSpec) -> dict[str, Any]:
    """The spec as one self-contained document (no file references, no examples)."""
    raw: dict[str, Any] = json.loads(spec.path.read_text())
    definitions: dict[str, Any] = raw.setdefault("definitions", {})
    commons: dict[str, dict[str, Any]] = {}

    def common(date: str) -> dict[str, Any]:
        if date not in commons:
            path = SPEC_DIR / f"Common-{date}.json"
            if not path.exists():
                path = SPEC_DIR / f"Common-{_COMMON_FALLBACK}.json"
            commons[date] = json.loads(path.read_text())["definitions"]
        return commons[date]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            node.pop("x-ms-examples", None)
            ref = node.get("$ref")
            if isinstance(ref, str) and (match := _COMMON_REF.match(ref)):
                for name, definition in common(match["date"]).items():
                    definitions.setdefault(name, definition)
                node["$ref"] = f"#/definitions/{match['name']}"
            for value in list(node.values()):
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        return node

    walk(raw)
    # Definitions pulled in from Common may carry file references of their own.
    seen = 0
    while seen != len(definitions):
        seen = len(definitions)
        walk(list(definitions.values()))
    return raw


def api_version(raw: dict[str, Any]) -> str:
    version: str = raw["info"]["version"]
    return version
