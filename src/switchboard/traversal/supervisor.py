"""CoturnSupervisor: owns one ``turnserver`` process for the node's lifetime.

    start() ─ stale pid file? SIGTERM that turnserver ─ write config ─ spawn ─ STUN probe
              until it answers (or raise with the log's tail)
    running ─ the process exits ─▶ wait (0.2 s, doubling to 30 s; reset after 30 s of
              health) ─▶ spawn ─▶ probe ─▶ running ...
    stop()  ─ cancel the watcher ─ SIGTERM ─ wait 5 s ─ SIGKILL if still there

coturn runs in its own session so a Ctrl-C meant for the server does not reach it first: the
supervisor alone decides when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
from pathlib import Path

from switchboard.core.config import ConfigError
from switchboard.core.tasks import TaskScope
from switchboard.traversal.coturn import CoturnConfig, stun_answers, write_config

log = logging.getLogger(__name__)

_STOP_GRACE_SECONDS = 5.0
_LOG_TAIL_BYTES = 2000


class TurnServerFailedError(ConfigError):
    code = "TurnServerFailed"


class CoturnSupervisor:
    def __init__(
        self,
        binary: str,
        config: CoturnConfig,
        *,
        ready_timeout: float = 10.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
        healthy_after: float = 30.0,
    ) -> None:
        self.binary = binary
        self.config = config
        self.restarts = 0
        self._ready_timeout = ready_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._healthy_after = healthy_after
        self._process: asyncio.subprocess.Process | None = None
        self._tasks = TaskScope("coturn-supervisor")
        self._stopping = False
        self._running = asyncio.Event()
        self._restarted = asyncio.Condition()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def start(self) -> None:
        await _stop_stale(self.config)
        write_config(self.config)
        self._stopping = False
        await self._launch()
        await self._tasks.start()
        self._tasks.spawn(self._watch(), name="coturn-supervisor")
        log.info(
            "turnserver running (pid %s) on %s:%s",
            self.pid,
            self.config.listen_ip,
            self.config.port,
        )

    async def stop(self) -> None:
        self._stopping = True
        await self._tasks.stop()
        if self._process is not None:
            await _terminate(self._process)
        self._running.clear()

    async def wait_running(self) -> None:
        """Until the process is up and answering STUN."""
        await self._running.wait()

    async def wait_restarts(self, count: int) -> None:
        """Until the process has been restarted ``count`` times in all."""
        async with self._restarted:
            await self._restarted.wait_for(lambda: self.restarts >= count)

    async def _launch(self) -> None:
        """Spawn turnserver and wait until it answers STUN; raise if it dies or stays mute."""
        self._running.clear()
        with (self.config.directory / "turnserver.out").open("ab") as output:
            self._process = process = await asyncio.create_subprocess_exec(
                self.binary,
                "-c",
                str(self.config.config_path),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._ready_timeout
        probe_host = _probe_host(self.config.listen_ip)
        while loop.time() < deadline:
            if process.returncode is not None:
                raise TurnServerFailedError(
                    f"turnserver exited with status {process.returncode} at start; "
                    f"its log ({self.config.log_path}) ends with:\n{self._log_tail()}"
                )
            if await stun_answers(probe_host, self.config.port, within=0.1):
                self._running.set()
                return
        await _terminate(process)
        raise TurnServerFailedError(
            f"turnserver did not answer STUN on port {self.config.port} within "
            f"{self._ready_timeout:.0f} s; its log ends with:\n{self._log_tail()}"
        )

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self._backoff_initial
        started = loop.time()
        while True:
            assert self._process is not None  # set by _launch before the watcher exists
            status = await self._process.wait()
            self._running.clear()
            if self._stopping:
                return
            if loop.time() - started >= self._healthy_after:
                delay = self._backoff_initial  # it ran fine for a while: not a crash loop
            log.warning("turnserver exited with status %s; restarting in %.1f s", status, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)
            started = loop.time()
            try:
                await self._launch()
            except (TurnServerFailedError, OSError):
                # Keep trying: the next round waits on the dead process and backs off more.
                log.exception("turnserver restart failed")
                continue
            async with self._restarted:
                self.restarts += 1
                self._restarted.notify_all()
            log.info("turnserver restarted (pid %s)", self.pid)

    def _log_tail(self) -> str:
        chunks = []
        for path in (self.config.log_path, self.config.directory / "turnserver.out"):
            with contextlib.suppress(OSError), path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - _LOG_TAIL_BYTES))
                chunks.append(fh.read().decode("utf-8", "replace"))
        return "\n".join(chunks).strip() or "(empty)"


async def _terminate(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), _STOP_GRACE_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def _stop_stale(config: CoturnConfig) -> None:
    """A turnserver left running by a node that was killed outright still holds our port:
    stop it, but only if its command line names our config file (the pid may be reused)."""
    pid = _stale_pid(config)
    if pid is None:
        return
    log.warning("stopping turnserver %s left over from an earlier run", pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if not _alive(pid):
            return
        await asyncio.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _stale_pid(config: CoturnConfig) -> int | None:
    try:
        pid = int(config.pid_path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if str(config.config_path).encode() in cmdline else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _probe_host(listen_ip: str) -> str:
    if listen_ip in ("0.0.0.0", ""):
        return "127.0.0.1"
    if listen_ip == "::":
        return "::1"
    return listen_ip
