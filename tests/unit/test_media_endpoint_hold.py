"""The media endpoint's hold audio: a hold's playSourceInfo replaces the default music (once
rendered, looping) for the held; after the last unhold the default music is back."""

from __future__ import annotations

import pytest

from switchboard.media.endpoint.models import FileSource, TextSource
from tests.unit.test_media_endpoint import CALLER, LOUD, Rig, rig, settle

pytestmark = pytest.mark.anyio
__all__ = ["rig"]  # the fixture


async def test_a_custom_hold_source_is_what_the_held_hear_looping(rig: Rig) -> None:
    rig.endpoint.hold(CALLER, TextSource("please hold"))  # two loud frames, rendered
    await settle()
    await rig.ticks(6)
    assert [frame for frame, _ in rig.leg.sent] == [LOUD] * 6
    assert {audience for _, audience in rig.leg.sent} == {frozenset({CALLER})}
    assert rig.events == []  # hold reports no media events

    rig.endpoint.unhold(CALLER)
    rig.endpoint.hold(CALLER, None)
    await rig.ticks(3)
    assert all(frame != LOUD for frame, _ in rig.leg.sent[6:])  # the default music again


async def test_a_hold_source_that_cannot_be_rendered_leaves_the_default_music(rig: Rig) -> None:
    rig.endpoint.hold(CALLER, FileSource("https://files.example/unreachable.wav"))
    await settle()
    await rig.ticks(3)
    assert len(rig.leg.sent) == 3
    assert all(frame != LOUD for frame, _ in rig.leg.sent)
