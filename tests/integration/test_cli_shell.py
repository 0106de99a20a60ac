"""The shell commands as an operator meets them: quick help, a version, quiet pipes, and
refusals at the moment of the mistake rather than at the next start."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from switchboard.bus.memory import MemoryBus
from switchboard.core.clock import FakeClock
from switchboard.core.events import IntegrationEvent
from switchboard.events.outbox import SqlEventOutbox
from switchboard.storage.database import Database
from tests.integration.cli_run import switchboard

MEDIA_STACK = ("aiortc", "av", "numpy")


def imported_modules(*args: str) -> set[str]:
    """The modules a command imports (``python -X importtime`` lists each on stderr)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "switchboard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_version_is_the_installed_one() -> None:
    done = switchboard("--version")
    assert (done.returncode, done.stdout) == (0, f"switchboard {version('switchboard')}\n")


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["events", "--help"],
        ["numbers", "list", "--data-dir", "{data}"],
        ["connection-string", "--data-dir", "{data}"],
    ],
)
def test_help_and_shell_commands_do_not_import_the_media_stack(
    tmp_path: Path, command: list[str]
) -> None:
    data = tmp_path / "data"
    assert switchboard("numbers", "list", "--data-dir", str(data)).returncode == 0  # state
    modules = imported_modules(*(arg.format(data=data) for arg in command))
    assert "switchboard.cli" in modules
    assert not modules & set(MEDIA_STACK), sorted(modules & set(MEDIA_STACK))
    assert "switchboard.app" not in modules


def test_only_serve_offers_host_and_port() -> None:
    assert "--port" in switchboard("serve", "--help").stdout
    for command in (["connection-string"], ["numbers", "list"], ["events", "tail"]):
        shown = switchboard(*command, "--help")
        assert shown.returncode == 0
        assert "--host" not in shown.stdout and "--port" not in shown.stdout, command
        assert "--data-dir" in shown.stdout


def test_a_reader_that_goes_away_ends_the_listing_quietly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    more = tmp_path / "more.toml"  # well over a pipe's 64 KiB of listing, whatever the demo
    more.write_text(
        '[[numbers]]\ncarrier = "simulator"\ncountry_code = "US"\nphone_number_type = "mobile"\n'
        'range_start = "+15035551000"\nrange_end = "+15035552999"\n'
    )
    assert switchboard("numbers", "import", str(more), "--data-dir", str(data)).returncode == 0
    listing = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "numbers", "list", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert listing.stdout is not None and listing.stderr is not None
    first = listing.stdout.readline()  # as `| head -n 1` does: read a little, then go
    listing.stdout.close()
    stderr = listing.stderr.read().decode()
    assert listing.wait(60) == -signal.SIGPIPE  # as C tools end: the shell shows 141
    assert first.startswith(b"+")
    assert stderr == ""


def test_connection_string_refuses_a_data_dir_without_switchboard_data(tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    for command in (["connection-string"], ["keys", "rotate", "primary"]):
        done = switchboard(*command, "--data-dir", str(typo))
        assert done.returncode == 3, done.stderr
        assert done.stderr == (
            f"switchboard: no Switchboard data in {typo} (no switchboard.db): pass the "
            "--data-dir the server uses, or start one there first "
            f"(switchboard serve --data-dir {typo})\n"
        )
        assert done.stdout == ""
    assert not typo.exists()  # no fresh database with a key no server knows


def test_carriers_add_checks_the_settings_when_given(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    bad = switchboard("carriers", "add", "smsc", "--set", "hostt=h", "--data-dir", data)
    assert bad.returncode == 2
    assert bad.stderr == (
        "switchboard: carrier 'smsc': unknown SMPP setting 'hostt'; did you mean 'host'?\n"
    )
    missing = switchboard("carriers", "add", "smsc", "--set", "host=h", "--data-dir", data)
    assert missing.returncode == 2
    assert "SMPP setting 'port' is required" in missing.stderr
    assert "smsc" not in switchboard("carriers", "list", "--data-dir", data).stdout
    good = ["--set", "host=h", "--set", "port=2775", "--set", "system_id=sb", "--set", "password=p"]
    made = switchboard("carriers", "add", "smsc", *good, "--data-dir", data)
    assert made.returncode == 0 and "Carrier created: smsc" in made.stdout


def test_a_handset_cannot_text_a_number_nobody_owns(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    # +14255550100 is in the demo inventory: available, but nobody bought it.
    send = ["sim", "sms", "send", "--from", "+13125550123", "--to", "+14255550100", "hi"]
    done = switchboard(*send, "--data-dir", data)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "switchboard: +14255550100 is not a number of ours (nobody bought it), so the node "
        "would drop the message; send to a purchased number "
        "(switchboard numbers list --purchased)"
    )
    assert "queued" not in done.stdout


def _outbox_event(data: Path, event_type: str, seconds_ago: float) -> IntegrationEvent:
    """An event written to the node's outbox ``seconds_ago`` (its clock set back)."""

    async def write() -> IntegrationEvent:
        database = Database(f"sqlite+aiosqlite:///{data / 'switchboard.db'}")
        await database.start()
        try:
            then = time.time() - seconds_ago
            event = IntegrationEvent(event_type, "s", {"ago": seconds_ago}, then)
            async with database.write() as conn:
                await SqlEventOutbox(MemoryBus(), FakeClock(then)).add(conn, [event])
            return event
        finally:
            await database.stop()

    return asyncio.run(write())


def test_events_tail_since_reaches_as_far_back_as_asked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _outbox_event(data, "Test.Since", 90)  # before the window: not printed
    within = _outbox_event(data, "Test.Since", 30)  # older than the 10 s re-read window
    tail = ["events", "tail", "--since", "60", "--type", "Test.Since", "--count", "1"]
    done = switchboard(*tail, "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == within.id
