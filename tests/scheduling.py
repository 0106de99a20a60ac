"""How the suite is shared out between pytest-xdist workers (scripts/test: ``-n 2 --dist
loadgroup``); a serial run ignores all of it.

Tests go out in groups (work units), each run whole by one worker:
- ``media``: the modules whose outcome rests on real time (a browser's WebRTC, audio energy,
  media over UDP, speech; the path rule in ``group_of``), all on one worker, so two of them
  never compete for the 2 cores;
- every other module: a group of its own, so its module-scoped server processes start once, on
  one worker (a session-scoped fixture, like the PostgreSQL database, is one per worker).

xdist's own ``xdist_group`` marks cannot do this under pytest 9.2: xdist 3.8 tags a marked test
by rewriting ``item._nodeid``, which pytest no longer reads, so every marked test is scheduled
alone. The groups are therefore computed from node ids, by the scheduler below.

Every worker must collect the same node ids: a parameter that goes into a test id must be the
same in every process (a literal, not ``uuid.uuid4()`` or ``time.time()``), or xdist stops with
"Different tests were collected between gw0 and gw1".

Groups go out in collection order, so each worker sorts its items (stably: within a module the
order pytest chose for its fixtures is kept) longest chain first: the media group, then the
modules that start servers, then the quick ones, which fill the gaps at the end.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

MEDIA_GROUP = "media"

# Modules (by file name) whose checks depend on media flowing in real time: audio energy, a
# tone heard on the far side, media over UDP or TURN, speech, a browser's WebRTC. A new module
# named in the existing style (test_*_audio.py, test_*_browser.py, ...) joins by itself.
MEDIA_MODULE = re.compile(
    r"^test_.*(audio|media|browser|voice|speech|ivr|udp|turn_relay|calling|group_call|server_calls"
    r"|automation|recording|streaming|sip_|voicebot)"
    r".*\.py$"
)
SERVER_DIRS = ("integration", "multinode", "e2e", "fuzz")
# Browser modules with no call in them (chat, its real-time channels, CORS): Chromium without
# WebRTC, nothing timed by media, so each is a group of its own and runs beside the media
# group on the other worker instead of lengthening it (the media group is the suite's
# longest chain).
CHAT_ONLY_BROWSER = frozenset(
    {
        "test_chat_browser.py",
        "test_chat_cors_browser.py",
        "test_chatbot_browser.py",
        "test_trouter_browser.py",
        "test_web_chat_composite_browser.py",
    }
)


def starts_servers(path: PurePosixPath) -> bool:
    return len(path.parts) > 2 and path.parts[0] == "tests" and path.parts[1] in SERVER_DIRS


def group_of(path: PurePosixPath) -> str:
    """The group of a test module, given its path relative to the repository."""
    if path.name in CHAT_ONLY_BROWSER:
        return str(path)
    if starts_servers(path) and (path.parts[1] == "e2e" or MEDIA_MODULE.search(path.name)):
        return MEDIA_GROUP
    return str(path)


def rank_of(path: PurePosixPath) -> int:
    """0 runs first: the media group, then modules that start servers, then the rest."""
    if group_of(path) == MEDIA_GROUP:
        return 0
    return 1 if starts_servers(path) else 2


def module_of(nodeid: str) -> PurePosixPath:
    return PurePosixPath(nodeid.split("::", 1)[0])


class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no type hints
    """xdist's load-by-scope scheduling, with ``group_of`` as the scope of a test."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        # Keep the collection order (sorted by ``sort_items``) instead of xdist's reordering
        # by number of tests, which says little about time.
        config.option.loadscopereorder = False
        super().__init__(config, log)

    def _split_scope(self, nodeid: str) -> str:
        return group_of(module_of(nodeid))


def sort_items(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker (each collects the same items, the same way): longest chain first."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: rank_of(module_of(item.nodeid)))
