"""``switchboard push test USER``: a test notification to each of the user's devices through
the configured providers, the provider's answer printed; and the config checks of the push
credentials at start (one line naming the setting, never a key's contents)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from switchboard.push.models import PushKind, Registration
from switchboard.push.store_sql import SqlRegistrationStore
from switchboard.storage.database import Database
from tests.integration.cli_run import refused, switchboard
from tests.push.fakes import WebPushService
from tests.push.providers import vapid_pem

pytestmark = pytest.mark.anyio

USER = "8:acs:00000000-0000-0000-0000-000000000001_00000000-0000-0000-0000-000000000002"


def config_file(tmp_path: Path, **settings: str) -> Path:
    path = tmp_path / "switchboard.toml"
    lines = "".join(f'{key} = "{value}"\n' for key, value in settings.items())
    path.write_text("[server]\n" + lines)
    return path


async def test_push_test_sends_to_each_device_and_prints_the_answers(tmp_path: Path) -> None:
    (tmp_path / "vapid.pem").write_bytes(vapid_pem())
    config = config_file(tmp_path, push_vapid_private_key_file=str(tmp_path / "vapid.pem"))
    data_dir = tmp_path / "data"
    service = await WebPushService().start()
    try:
        live, gone = service.subscribe(), service.subscribe()
        service.dead.add(gone.id)
        database = Database(f"sqlite+aiosqlite:///{data_dir / 'switchboard.db'}")
        await database.start()
        store = SqlRegistrationStore(database)
        for device, sub in (("phone", live), ("old-laptop", gone)):
            await store.put(
                Registration(
                    USER, device, PushKind.WEBPUSH, sub.endpoint, "", sub.p256dh, sub.auth, 0, 2**50
                )
            )
        await database.stop()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "switchboard", "push", "test", USER,
            "--config", str(config), "--data-dir", str(data_dir),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        printed = out.decode()
        assert process.returncode == 1, err.decode()  # one device was gone
        assert "phone (webpush): delivered (HTTP 201)" in printed
        assert "old-laptop (webpush): deadToken (HTTP 410)" in printed
        assert "its registration was removed" in printed
        [pushed] = service.received
        assert pushed.payload == {"type": "test", "message": "Switchboard test notification"}
        assert service.errors == []
    finally:
        await service.stop()


def test_an_unreadable_key_file_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    config = config_file(tmp_path, push_vapid_private_key_file=str(tmp_path / "missing.pem"))
    done = switchboard("push", "test", USER, "--config", str(config), "--data-dir", str(tmp_path))
    refused(done, 2, "push_vapid_private_key_file", "cannot read")
