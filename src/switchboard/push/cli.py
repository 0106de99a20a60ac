"""``switchboard push ...``: push notifications from the shell.

    switchboard push test 8:acs:…      a test notification to each of the user's registered
                                       devices, through the configured providers; prints each
                                       provider's answer (exit 1 unless every one took it)
    switchboard push list 8:acs:…      the user's registered devices

Like ``switchboard events``, these work on the database directly (``--data-dir`` or
``--database-url``) with the node's config file for the providers' credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from switchboard.core.clock import SystemClock, iso8601
from switchboard.core.sections import PushConfig
from switchboard.push.models import Notification, NotificationKind, Outcome
from switchboard.push.setup import GuardedClient, GuardedPoster, load_providers
from switchboard.push.store_sql import SqlRegistrationStore
from switchboard.storage.database import DatabaseOpener


def add_push_commands(
    push: argparse.ArgumentParser,
    common_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    actions = push.add_subparsers(dest="push_command", required=True)
    test = actions.add_parser("test", help="send a test notification to a user's devices")
    common_options(test)
    test.add_argument("user", help="the user's raw id (8:acs:…)")
    test.add_argument("--message", default="Switchboard test notification")
    devices = actions.add_parser("list", help="a user's registered devices")
    common_options(devices)
    devices.add_argument("user", help="the user's raw id (8:acs:…)")


def run_push_command(
    args: argparse.Namespace,
    config: PushConfig,
    database: DatabaseOpener,
    guarded_client: GuardedClient,
    guarded_poster: GuardedPoster,
    out: TextIO = sys.stdout,
) -> int:
    if args.push_command == "list":
        return asyncio.run(_list(args.user, database, out))
    clients = (guarded_client, guarded_poster)
    return asyncio.run(_test(args.user, args.message, config, database, clients, out))


async def _list(user: str, database: DatabaseOpener, out: TextIO) -> int:
    clock = SystemClock()
    async with database() as db:
        found = await SqlRegistrationStore(db).of_user(user, int(clock.now() * 1000))
    for r in found:
        print(f"{r.device_id}\t{r.kind.value}\texpires {iso8601(r.expires_ms / 1000)}", file=out)
    if not found:
        print(f"no push registrations for {user}", file=out)
    return 0


async def _test(
    user: str,
    message: str,
    config: PushConfig,
    database: DatabaseOpener,
    clients: tuple[GuardedClient, GuardedPoster],
    out: TextIO,
) -> int:
    clock = SystemClock()
    providers = load_providers(config, *clients, clock)
    note = Notification(NotificationKind.TEST, {"message": message}, title=message)
    failures = 0
    try:
        async with database() as db:
            store = SqlRegistrationStore(db)
            found = await store.of_user(user, int(clock.now() * 1000))
            if not found:
                print(f"no push registrations for {user}", file=out)
                return 1
            for registration in found:
                provider = providers.get(registration.kind)
                where = f"{registration.device_id} ({registration.kind.value})"
                if provider is None:
                    print(f"{where}: no {registration.kind.value} credentials", file=out)
                    failures += 1
                    continue
                answer = await provider.send(registration, note)
                print(f"{where}: {answer}", file=out)
                if answer.outcome is Outcome.DEAD_TOKEN:
                    await store.remove_token(registration.kind, registration.token)
                    print(f"{where}: the device is gone; its registration was removed", file=out)
                if answer.outcome is not Outcome.DELIVERED:
                    failures += 1
    finally:
        for provider in providers.values():
            await provider.close()
    return 1 if failures else 0
