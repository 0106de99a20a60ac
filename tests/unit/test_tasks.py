"""TaskScope and first_completed: owned tasks end when their owner stops, and no later."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import weakref

import pytest

from switchboard.core.tasks import TaskScope, first_completed, start_eagerly

pytestmark = pytest.mark.anyio


class Boom(Exception):
    pass


async def forever(started: asyncio.Event, ended: list[str], name: str) -> None:
    started.set()
    try:
        await asyncio.Event().wait()
    finally:
        ended.append(name)


async def test_stop_cancels_every_task_and_waits_for_them() -> None:
    scope = TaskScope("test")
    await scope.start()
    ended: list[str] = []
    first, second = asyncio.Event(), asyncio.Event()
    tasks = [
        scope.spawn(forever(first, ended, "a"), name="a"),
        scope.spawn(forever(second, ended, "b"), name="b"),
    ]
    await first.wait()
    await second.wait()
    assert scope.running == 2

    await scope.stop()

    assert sorted(ended) == ["a", "b"]  # their finally blocks ran before stop returned
    assert all(task.cancelled() for task in tasks)
    assert scope.running == 0


async def test_a_finished_task_leaves_the_scope() -> None:
    scope = TaskScope("test")
    await scope.start()
    task = scope.spawn(asyncio.sleep(0), name="quick")
    await task
    assert scope.running == 0
    await scope.stop()


async def test_a_failing_task_is_logged_and_stops_its_siblings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scope = TaskScope("failing scope")
    await scope.start()
    ended: list[str] = []
    started = asyncio.Event()
    sibling = scope.spawn(forever(started, ended, "sibling"))
    await started.wait()
    fail = asyncio.Event()

    async def failing() -> None:
        await fail.wait()
        raise Boom("broken")

    with caplog.at_level(logging.ERROR, logger="switchboard.core.tasks"):
        scope.spawn(failing(), name="failing")
        fail.set()
        with pytest.raises(asyncio.CancelledError):
            await sibling

    assert ended == ["sibling"]
    await scope.stop()  # still fine after a failure
    assert any("failing scope" in record.getMessage() for record in caplog.records)
    assert any(
        record.exc_info is not None and "Boom" in repr(record.exc_info[1])
        for record in caplog.records
    )
    with pytest.raises(RuntimeError):
        scope.spawn(asyncio.sleep(0))


async def test_spawn_after_stop_refuses_and_does_not_leak_the_coroutine() -> None:
    scope = TaskScope("test")
    await scope.start()
    await scope.stop()
    ran: list[str] = []

    async def work() -> None:
        ran.append("ran")

    coro = work()
    with pytest.raises(RuntimeError, match="not running"):
        scope.spawn(coro)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED  # no "never awaited" warning
    assert ran == []


async def test_spawn_before_start_refuses() -> None:
    scope = TaskScope("test")
    with pytest.raises(RuntimeError, match="not running"):
        scope.spawn(asyncio.sleep(0))


async def test_stop_twice_and_stop_before_start_are_fine() -> None:
    scope = TaskScope("test")
    await scope.stop()
    await scope.start()
    await scope.stop()
    await scope.stop()


async def test_a_stopped_scope_can_start_again() -> None:
    scope = TaskScope("test")
    await scope.start()
    await scope.stop()
    await scope.start()
    started, ended = asyncio.Event(), list[str]()
    scope.spawn(forever(started, ended, "again"))
    await started.wait()
    await scope.stop()
    assert ended == ["again"]


async def test_starting_twice_refuses() -> None:
    scope = TaskScope("test")
    await scope.start()
    with pytest.raises(RuntimeError, match="already started"):
        await scope.start()
    await scope.stop()


async def test_stop_does_not_swallow_the_callers_own_cancellation() -> None:
    scope = TaskScope("test")
    await scope.start()
    stopping = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            stopping.set()
            await asyncio.Event().wait()  # takes its time to wind down: cancelled again below

    started = asyncio.Event()

    async def runs_stubborn() -> None:
        started.set()
        await stubborn()

    scope.spawn(runs_stubborn())
    await started.wait()
    stopper = asyncio.create_task(scope.stop())
    await stopping.wait()
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert scope.running == 0  # the cancelled stop still took the tasks down with it


async def test_first_completed_cancels_the_others_and_waits_for_them() -> None:
    ended: list[str] = []
    started = asyncio.Event()

    async def quick() -> None:
        await started.wait()

    await first_completed(quick(), forever(started, ended, "slow"))

    assert ended == ["slow"]


async def test_first_completed_raises_the_first_ones_error_as_it_is() -> None:
    ended: list[str] = []
    started = asyncio.Event()

    async def failing() -> None:
        await started.wait()
        raise Boom("first")

    with pytest.raises(Boom, match="first"):
        await first_completed(forever(started, ended, "other"), failing())

    assert ended == ["other"]


async def test_cancelling_first_completed_cancels_everything_it_runs() -> None:
    ended: list[str] = []
    a, b = asyncio.Event(), asyncio.Event()
    runner = asyncio.create_task(first_completed(forever(a, ended, "a"), forever(b, ended, "b")))
    await a.wait()
    await b.wait()
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert sorted(ended) == ["a", "b"]


async def test_an_error_from_first_completed_leaves_no_cycle_holding_the_callers_locals() -> None:
    # A WebSocket's whole connection is the caller's locals: kept in a cycle, it lives
    # until a full collection (issue 13). Without the collector, it must go with the error.
    class Connection:
        pass

    async def serve() -> weakref.ref[Connection]:
        connection = Connection()
        alive = weakref.ref(connection)

        async def fails() -> None:
            raise Boom

        with pytest.raises(Boom):
            await first_completed(fails(), asyncio.Event().wait())
        return alive

    gc.disable()
    try:
        alive = await serve()
        # The tasks' done callbacks (queued with call_soon) hold them until they have run:
        # a few loop iterations, no time.
        for _ in range(3):
            await asyncio.sleep(0)
        assert alive() is None
    finally:
        gc.enable()


async def test_start_eagerly_runs_a_coroutine_that_never_waits_in_the_caller() -> None:
    ran: list[str] = []

    async def quick() -> None:
        ran.append("all of it")

    before = asyncio.all_tasks()
    assert start_eagerly(quick()) is None
    assert ran == ["all of it"]  # already, with no turn of the loop
    assert asyncio.all_tasks() == before

    async def failing() -> None:
        raise Boom

    with pytest.raises(Boom):
        start_eagerly(failing())


async def test_start_eagerly_hands_the_rest_to_a_task_that_waits_on_the_same_future() -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()
    seen: list[str] = []

    async def waits() -> None:
        seen.append("before")
        seen.append(await future)
        await asyncio.sleep(0)  # a bare yield is passed on too
        seen.append("after")

    task = start_eagerly(waits())
    assert task is not None
    assert seen == ["before"]
    future.set_result("its result")
    await task
    assert seen == ["before", "its result", "after"]


async def test_cancelling_an_eagerly_started_task_is_thrown_in_where_it_waits() -> None:
    cleaned: list[str] = []

    async def waits() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cleaned.append("cancelled where it waited")
            raise
        finally:
            cleaned.append("finally")

    started = start_eagerly(waits())
    assert started is not None
    await asyncio.sleep(0)  # the task has taken over the wait
    started.cancel()
    with pytest.raises(asyncio.CancelledError):
        await started
    assert cleaned == ["cancelled where it waited", "finally"]

    cleaned.clear()
    unstarted = start_eagerly(waits())
    assert unstarted is not None
    unstarted.cancel()  # before the task's first step: the coroutine is closed instead
    with pytest.raises(asyncio.CancelledError):
        await unstarted
    assert cleaned == ["finally"]
