"""Tasks that live as long as their owner, on ``asyncio.TaskGroup``.

Two shapes recur across the server, and each had its own hand-written cancel loop:

    owner.start() ─▶ TaskScope.start() ─▶ spawn(loop) … spawn(loop)
    owner.stop()  ─▶ TaskScope.stop(): cancel every task ─▶ wait for all (one TaskGroup exit)

    first_completed(a(), b()) ─▶ the first to finish decides; the others are cancelled and
        awaited before it returns (the server's drain: tasks done, or idle connections aborted)

    start_eagerly(coro) ─▶ runs in the caller until coro first waits ─┬─ finished: None
                                                                      └─ a task runs the rest

A ``TaskScope`` runs its TaskGroup inside one supervising task of its own, so the group is
entered and exited by the same task however the owner's start and stop are called. A spawned
task that fails is logged and cancels its siblings (TaskGroup's rule): background loops
catch what they can survive themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskScope:
    """Owned background tasks: ``await start()``, ``spawn()`` any number, ``await stop()``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._group: asyncio.TaskGroup | None = None
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        if self._supervisor is not None:
            raise RuntimeError(f"{self._name}: already started")
        # Fresh events: a scope stopped earlier may be started again.
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()
        supervisor = asyncio.create_task(self._supervise(), name=self._name)
        self._supervisor = supervisor
        try:
            await self._ready.wait()
        except asyncio.CancelledError:
            supervisor.cancel()  # the owner gave up starting: leave nothing behind
            self._supervisor = None
            raise

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> asyncio.Task[T]:
        if self._group is None or self._stopping.is_set():
            coro.close()
            raise RuntimeError(f"{self._name}: not running")
        try:
            task = self._group.create_task(coro, name=name)
        except RuntimeError:  # the group is shutting down after a failed task
            coro.close()
            raise
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def running(self) -> int:
        """How many spawned tasks have not finished yet."""
        return len(self._tasks)

    async def stop(self) -> None:
        """Cancel every task and wait until all have finished. Safe to call twice."""
        supervisor = self._supervisor
        if supervisor is None:
            return
        self._stopping.set()
        try:
            await supervisor
        except asyncio.CancelledError:
            # The supervisor itself may have been cancelled (loop shutdown): that is a stop
            # too. The caller's own cancellation must go on, though.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
        finally:
            if self._supervisor is supervisor:
                self._supervisor = None

    async def _supervise(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._ready.set()
                await self._stopping.wait()
                for task in list(self._tasks):
                    task.cancel()
        except Exception:
            log.exception("%s: a task failed; its siblings were stopped", self._name)
        finally:
            self._group = None
            self._ready.set()  # a start() still waiting must not hang


async def first_completed(*coros: Coroutine[Any, Any, Any]) -> None:
    """Run ``coros`` together until the first one finishes; cancel and await the others.

    The first one's exception, if it raised one, is raised as it is (not in a group);
    what the others raise while being cancelled is dropped.
    """
    tasks = [asyncio.ensure_future(coro) for coro in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    first = next(task for task in tasks if task in done)
    error = None if first.cancelled() else first.exception()
    if error is not None:
        # The error's traceback holds this frame, whose locals hold the tasks, one of which
        # holds the error: a cycle only the full collector frees, keeping every local of
        # the caller (a WebSocket's whole connection, issue 13) alive until then. Drop them.
        try:
            raise error
        finally:
            del error, first, tasks, done


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel an owned task (None: nothing to do) and wait until it has finished."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def start_eagerly(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run ``coro`` in the caller until it first has to wait: None when it finished without
    waiting (what it raised is raised here), else a new task that runs the rest of it.

    Python 3.12's eager tasks, for 3.11: a WebSocket send that the socket's buffer takes at
    once costs no task and no turn of the event loop. The task, when one is needed, waits on
    exactly what ``coro`` waits on and steps it as its own task would have, cancellation
    included (thrown into ``coro`` where it waits; if the task is cancelled before it first
    ran, ``coro`` is closed instead, which runs its ``finally`` blocks).
    """
    try:
        waiting = coro.send(None)
    except StopIteration:
        return None
    task = asyncio.get_running_loop().create_task(_finish(coro, waiting))
    # A task cancelled before its first step never runs _finish, and coro would be left
    # waiting: closing it then runs its ``finally`` blocks (a no-op once it has finished).
    task.add_done_callback(lambda _task: coro.close())
    return task


async def _finish(coro: Coroutine[Any, Any, None], waiting: object) -> None:
    while True:
        try:
            await _WaitOn(waiting)
        except BaseException as exc:  # cancelled: coro sees it where it waits, as it would
            try:
                waiting = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting = coro.send(None)
        except StopIteration:
            return


class _WaitOn:
    """Yields what a coroutine driven by hand yielded (a future, or None for "run me again
    soon") up to the task awaiting this, so that task waits on it in the coroutine's place."""

    __slots__ = ("_waiting",)

    def __init__(self, waiting: object) -> None:
        self._waiting = waiting

    def __await__(self) -> Generator[object, None, None]:
        yield self._waiting
