"""Replay Microsoft's recorded SDK traffic against a running Switchboard and compare.

    recording (trimmed, tests/conformance/recordings/<service>/*.json)
      └▶ for each interaction, in order:
           request: recorded ids ─▶ the ids we returned earlier (IdMap), placeholders filled,
                    times shifted by the recording's age, signed (HMAC or the user's token)
           response ─▶ compare(recorded, ours): status, the headers that matter, body shape
           IdMap.learn(recorded response, our response): sanitised id ─▶ our id

A difference is a short stable text, ``"<service>/<file>#<n> <kind> <where>"``, so that
docs/conformance.md can list the deliberate ones and the test can fail on any other.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from tests.acs_signing import sign

RECORDINGS = Path(__file__).parent / "recordings"

# Response headers compared by presence (their values are ids, times or lists we differ on).
PRESENCE_HEADERS = ("Location", "Operation-Location", "MS-CV", "api-supported-versions")
# Body keys whose values (not only types) must match: what SDKs branch on.
VALUE_KEYS = frozenset({"code", "httpStatusCode", "successful"})
# Keys whose string values are ids: a recorded value maps to ours.
_ID_KEY = re.compile(r"(^|[a-z])(id|Id|ID)$")
# Response headers holding ids (the last path segment, before the query).
ID_HEADERS = ("Location", "Operation-Location", "operation-id", "search-id")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_MIN_ID_LENGTH = 6  # shorter values would be replaced inside unrelated text


@dataclass
class Recording:
    service: str
    name: str
    entries: list[dict[str, Any]]
    recorded_at: datetime | None

    @property
    def key(self) -> str:
        return f"{self.service}/{self.name}"


def load_recordings() -> list[Recording]:
    recordings = []
    for path in sorted(RECORDINGS.glob("*/*.json")):
        document = json.loads(path.read_text())
        at = document.get("RecordedAt")
        recordings.append(
            Recording(
                path.parent.name,
                path.stem,
                document["Entries"],
                datetime.fromisoformat(at) if at else None,
            )
        )
    return recordings


@dataclass
class IdMap:
    """Recorded (sanitised) ids to the ids this server returned for the same responses."""

    ids: dict[str, str] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)

    def learn(self, recorded: Any, ours: Any) -> None:
        if isinstance(recorded, dict) and isinstance(ours, dict):
            for key, value in recorded.items():
                if key not in ours:
                    continue
                if key == "accessToken" and isinstance(ours[key], dict):
                    token = ours[key].get("token")
                    if isinstance(token, str):
                        self.tokens.append(token)
                if isinstance(value, str) and isinstance(ours[key], str) and _ID_KEY.search(key):
                    self._remember(value, ours[key])
                elif key == "phoneNumbers" and isinstance(value, list):
                    # A search's numbers: later requests name the one bought.
                    for recorded_number, our_number in zip(value, ours[key], strict=False):
                        if isinstance(recorded_number, str) and isinstance(our_number, str):
                            self._remember(recorded_number, our_number)
                else:
                    self.learn(value, ours[key])
        elif isinstance(recorded, list) and isinstance(ours, list):
            for recorded_item, our_item in zip(recorded, ours, strict=False):
                self.learn(recorded_item, our_item)

    def learn_headers(self, recorded: dict[str, str], ours: httpx.Headers) -> None:
        for name in ID_HEADERS:
            if name in recorded and name in ours:
                self._remember(_last_segment(recorded[name]), _last_segment(ours[name]))

    def _remember(self, recorded: str, ours: str) -> None:
        if recorded != ours and len(recorded) >= _MIN_ID_LENGTH:
            self.ids[recorded] = ours

    def apply(self, text: str, *, in_url: bool) -> str:
        """``text`` with every known recorded id replaced (longest first)."""
        for recorded in sorted(self.ids, key=len, reverse=True):
            ours = self.ids[recorded]
            if in_url:
                text = text.replace(quote(recorded, safe=""), quote(ours, safe=""))
            text = text.replace(recorded, quote(ours, safe="") if in_url else ours)
        return text


def _last_segment(value: str) -> str:
    return urlsplit(value).path.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Replayer:
    """Replays one recording at a time against ``endpoint`` (``https://host:port``)."""

    endpoint: str
    access_key: str
    http: httpx.AsyncClient
    placeholders: dict[str, str]

    async def replay(self, recording: Recording) -> list[list[str]]:
        """The differences of each interaction, in order (an empty list: it matches)."""
        ids = IdMap()
        shift = datetime.now(UTC) - recording.recorded_at if recording.recorded_at else timedelta()
        results = []
        for index, entry in enumerate(recording.entries, start=1):
            response = await self._send(entry, ids, shift)
            where = f"{recording.key}#{index}"
            results.append([f"{where} {text}" for text in compare(entry, response)])
            body = _json_or_none(response)
            ids.learn(entry["ResponseBody"], body)
            ids.learn_headers(entry["ResponseHeaders"], response.headers)
        return results

    async def _send(self, entry: dict[str, Any], ids: IdMap, shift: timedelta) -> httpx.Response:
        split = urlsplit(entry["RequestUri"])
        target = split.path + (f"?{split.query}" if split.query else "")
        target = self._fill(ids.apply(target, in_url=True), in_url=True)
        body = entry["RequestBody"]
        content = b"" if body is None else json.dumps(self._request_body(body, ids, shift)).encode()
        recorded_headers = {k.lower(): v for k, v in entry["RequestHeaders"].items()}
        host = urlsplit(self.endpoint).netloc
        if "x-ms-content-sha256" in recorded_headers:
            headers = sign(entry["RequestMethod"], target, host, content, self.access_key)
        else:
            headers = {"Authorization": f"Bearer {ids.tokens[0]}"}
        if "content-type" in recorded_headers:
            headers["Content-Type"] = recorded_headers["content-type"]
        elif content:
            headers["Content-Type"] = "application/json"
        if "repeatability-request-id" in recorded_headers:
            headers["Repeatability-Request-ID"] = str(uuid.uuid4())
            sent = headers.get("x-ms-date") or formatdate(usegmt=True)
            headers["Repeatability-First-Sent"] = sent
        return await self.http.request(
            entry["RequestMethod"], self.endpoint + target, content=content, headers=headers
        )

    def _request_body(self, value: Any, ids: IdMap, shift: timedelta) -> Any:
        if isinstance(value, dict):
            return {
                self._fill(ids.apply(k, in_url=False), in_url=False): self._request_body(
                    v, ids, shift
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._request_body(v, ids, shift) for v in value]
        if isinstance(value, str):
            if shift and _ISO_TIME.match(value):
                moved = datetime.fromisoformat(value.replace("Z", "+00:00")) + shift
                return moved.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            return self._fill(ids.apply(value, in_url=False), in_url=False)
        return value

    def _fill(self, text: str, *, in_url: bool) -> str:
        for name, value in self.placeholders.items():
            text = text.replace(name, quote(value, safe="") if in_url else value)
        return text


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def compare(entry: dict[str, Any], response: httpx.Response) -> list[str]:
    """What differs between a recorded interaction and our response (short stable texts)."""
    differences = []
    if response.status_code != entry["StatusCode"]:
        differences.append(f"status {entry['StatusCode']}")
    recorded_headers = entry["ResponseHeaders"]
    for name in PRESENCE_HEADERS:
        if name in recorded_headers and name not in response.headers:
            differences.append(f"header {name}")
    recorded_type = recorded_headers.get("Content-Type")
    if recorded_type is not None:
        ours = response.headers.get("content-type", "")
        if _media_type(ours) != _media_type(recorded_type):
            differences.append("header Content-Type")
    recorded_body = entry["ResponseBody"]
    our_body = _json_or_none(response)
    differences += [f"body {text}" for text in shape_differences(recorded_body, our_body, "$")]
    return differences


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def shape_differences(recorded: Any, ours: Any, path: str) -> list[str]:
    """Keys, value types and the values of VALUE_KEYS, recursively; list items pairwise."""
    if _kind(recorded) != _kind(ours):
        return [f"{path} type"]
    if isinstance(recorded, dict):
        assert isinstance(ours, dict)
        found = []
        for key in recorded:
            where = f"{path}.{key}"
            if key not in ours:
                found.append(f"{where} missing")
            elif key in VALUE_KEYS and recorded[key] != ours[key]:
                found.append(f"{where} value")
            else:
                found += shape_differences(recorded[key], ours[key], where)
        found += [f"{path}.{key} extra" for key in ours if key not in recorded]
        return found
    if isinstance(recorded, list):
        assert isinstance(ours, list)
        if recorded and not ours:
            return [f"{path} empty"]
        found = []
        for index, (recorded_item, our_item) in enumerate(zip(recorded, ours, strict=False)):
            found += shape_differences(recorded_item, our_item, f"{path}[{index}]")
        return found
    return []


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


_LISTED = re.compile(r"`([a-z]+/[A-Za-z0-9_]+#\d+ [^`]+)`")


def listed_differences(markdown: str) -> set[str]:
    """The differences docs/conformance.md lists as deliberate (each in backticks)."""
    return set(_LISTED.findall(markdown))
