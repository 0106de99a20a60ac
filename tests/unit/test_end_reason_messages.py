"""The browser SDK's end-reason messages (web/calling-end-reasons.js) and the Python client's
(client/calling/end_reasons.py) are one table: same rows, same lookups."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from switchboard.calling.models import EndReason
from switchboard.client.calling.end_reasons import END_REASON_MESSAGES, end_reason_message

MODULE = (
    Path(__file__).resolve().parents[2] / "src" / "switchboard" / "web" / "calling-end-reasons.js"
)

# (code, subCode, name, when) → what both must say
CASES: list[tuple[int, int, str | None, str | None]] = [
    (486, 0, "Bob", None),
    (486, 0, None, None),
    (603, 0, "  Bob ", None),
    (487, 10004, "Bob", None),
    (487, 10004, None, None),
    (403, 5854, None, None),
    (403, 0, None, "NotFound"),
    (403, 0, None, "SomethingNew"),
    (403, 4242, None, None),
    (0, 0, "Bob", "local"),
    (0, 0, "Bob", None),
    (500, 0, None, "NotAllowedError"),
    (4242, 0, None, None),
]


def _javascript(cases: list[tuple[int, int, str | None, str | None]]) -> dict[str, object]:
    node = shutil.which("node")
    if node is None:  # under CI its absence fails, as every missing part does
        message = "node is missing (scripts/test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    script = f"""
const m = await import({json.dumps(MODULE.as_uri())});
const cases = {json.dumps(cases)};
console.log(JSON.stringify({{
  table: m.END_REASON_MESSAGES,
  said: cases.map(([code, subCode, name, when]) => m.endReasonMessage(
    {{ code, subCode }}, {{ name: name ?? undefined, when: when ?? undefined }})),
}}));
"""
    done = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_browser_and_python_tables_are_the_same_rows() -> None:
    js = _javascript([])
    assert js["table"] == [list(row) for row in END_REASON_MESSAGES]


def test_both_say_the_same_for_the_same_reason_name_and_cause() -> None:
    js = _javascript(CASES)
    python = [end_reason_message(EndReason(c, s, ""), n, w) for c, s, n, w in CASES]
    assert js["said"] == python
    assert python[:3] == [
        "Bob is busy.",
        "The person you called is busy.",
        "Bob declined the call.",
    ]
    assert python[5] == "The meeting organiser did not admit you."
    assert python[6] == "That room does not exist."
    assert python[7] == python[8] == "You could not join the call."  # the code's own row
    assert python[9] == "You left the call."
    assert python[12] == "The call ended."  # no row: the default


def test_every_row_is_unique_and_names_only_the_placeholder() -> None:
    keys = [(code, sub, when) for code, sub, when, _, _ in END_REASON_MESSAGES]
    assert len(keys) == len(set(keys))
    for *_, with_name, without_name in END_REASON_MESSAGES:
        assert "{name}" not in without_name
        assert with_name.replace("{name}", "").count("{") == 0
