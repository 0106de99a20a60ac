"""The browser SDK's JSDoc typedefs of the signaling frames (src/switchboard/web/calling-*.js)
name the same fields as the server's definitions (switchboard.calling.signaling).

Typedefs named ``…Request`` are client frames, ``…Frame`` server frames, keyed by their
``type`` literal; the values inside frames are paired by name below. ``v`` and ``seq`` are
left out on both sides: every frame has them, written in front of the body.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import msgspec
import pytest

from switchboard.calling.signaling import frames, protocol, requests

WEB = Path(protocol.__file__).resolve().parents[2] / "web"
ENVELOPE = {"v", "seq"}
VALUES: dict[str, type[msgspec.Struct]] = {
    "WireParticipant": protocol.ParticipantInfo,
    "WireIdentifier": protocol.WireIdentifier,
    "CallEndReason": protocol.EndReasonInfo,
    "Description": protocol.Description,
    "StreamOwner": protocol.StreamInfo,
    "FrameCandidate": protocol.Candidate,
    "FrameMedia": protocol.MediaFlags,
}


def jsdoc_objects() -> dict[str, dict[str, str]]:
    """Every ``@typedef {{ … }} Name`` of the calling modules: name → {field: type text}."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(WEB.glob("calling-*.js")):
        for comment in re.findall(r"/\*\*(.*?)\*/", path.read_text(), re.S):
            text = " ".join(line.strip().lstrip("*") for line in comment.splitlines())
            for match in re.finditer(r"@typedef\s*\{\{", text):
                body, rest = _balanced(text, match.end())
                name = re.match(r"\s*(\w+)", rest)
                assert name is not None, f"{path.name}: a typedef without a name"
                found[name.group(1)] = _fields(body)
    return found


def _balanced(text: str, start: int) -> tuple[str, str]:
    """The object body from ``start`` (just inside ``{{``) to its ``}}``, and what follows."""
    depth = 0
    for i in range(start, len(text)):
        char = text[i]
        if char in "{[(<":
            depth += 1
        elif char in "}])>" and text[i - 1] != "=":  # "=>" of a function type
            if depth == 0:
                return text[start:i], text[i + 2 :]
            depth -= 1
    raise AssertionError("an unbalanced typedef")


def _fields(body: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    depth, part = 0, ""
    for i, char in enumerate(body + ","):
        if char in "{[(<":
            depth += 1
        elif char in "}])>" and body[i - 1 : i] != "=":
            depth -= 1
        if char == "," and depth == 0:
            key, _, value = part.partition(":")
            if key.strip():
                fields[key.strip().rstrip("?")] = value.strip()
            part = ""
        else:
            part += char
    return fields


def wire_fields(struct: type[msgspec.Struct]) -> set[str]:
    return {f.encode_name for f in msgspec.structs.fields(struct)} - ENVELOPE


def tagged(union: object) -> dict[str, type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    for member in typing.get_args(union):
        tag = member.__struct_config__.tag
        assert isinstance(tag, str)
        found[tag] = member
    return found


JSDOC = jsdoc_objects()


def documented(suffix: str) -> dict[str, dict[str, str]]:
    by_type: dict[str, dict[str, str]] = {}
    for name, fields in JSDOC.items():
        literal = re.fullmatch(r'"(\w+)"', fields.get("type", ""))
        if name.endswith(suffix) and literal:  # not ServerFrame's generic ``type: string``
            by_type[literal.group(1)] = {k: v for k, v in fields.items() if k != "type"}
    return by_type


@pytest.mark.parametrize(
    ("union", "suffix"), [(requests.ClientFrame, "Request"), (frames.ServerFrame, "Frame")]
)
def test_every_frame_type_is_documented_with_the_servers_field_names(
    union: object, suffix: str
) -> None:
    server = tagged(union)
    browser = documented(suffix)
    assert sorted(browser) == sorted(server)
    for kind, struct in server.items():
        assert set(browser[kind]) - ENVELOPE == wire_fields(struct), kind


@pytest.mark.parametrize("name", sorted(VALUES))
def test_values_inside_frames_have_the_servers_field_names(name: str) -> None:
    assert set(JSDOC[name]) == wire_fields(VALUES[name])
