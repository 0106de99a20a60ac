"""How the suite is shared between the two xdist workers (tests/scheduling.py)."""

from __future__ import annotations

from pathlib import PurePosixPath

from tests.scheduling import MEDIA_GROUP, group_of, rank_of


def test_browser_calls_share_the_media_group_and_chat_pages_run_beside_it() -> None:
    call = PurePosixPath("tests/e2e/test_group_call_browser.py")
    chat = PurePosixPath("tests/e2e/test_trouter_browser.py")
    assert group_of(call) == MEDIA_GROUP
    assert group_of(chat) == str(chat)  # its own group: the other worker can take it
    assert rank_of(chat) == 1  # still ahead of the quick modules, as a server-starting one


def test_media_modules_outside_e2e_join_by_name_and_unit_tests_never_do() -> None:
    assert group_of(PurePosixPath("tests/integration/test_sip_calls.py")) == MEDIA_GROUP
    unit = PurePosixPath("tests/unit/test_media_local_leg.py")
    assert group_of(unit) == str(unit)
    assert rank_of(unit) == 2
