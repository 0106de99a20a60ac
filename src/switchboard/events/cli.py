"""``switchboard events ...``: subscriptions, dead letters and a live tail, from the shell.

Like ``keys rotate``, these commands work on the database directly (``--data-dir`` or
``--database-url``, as the server is configured), so they need no running server and no
access key. A running node notices a new subscription at its next fan-out; after a replay the
command wakes the nodes over Redis when one is configured (otherwise within their poll).

``tail`` prints each new event as one JSON line (Event Grid schema, or ``--schema
cloudevents``) by reading the outbox, which keeps every event for ``events_retention_hours``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, TextIO

import msgspec

from switchboard.bus.base import Bus, BusOpener
from switchboard.core.clock import SystemClock, iso8601
from switchboard.core.errors import BadRequestError, SwitchboardError
from switchboard.core.sections import EventsConfig, ServerConfig
from switchboard.events.component import EventsComponent, request_origin
from switchboard.events.envelopes import envelope
from switchboard.events.filter_documents import parse_event_filter
from switchboard.events.models import DeliverySchema, EventSubscription, SubscriptionSpec
from switchboard.events.outbox import OUTBOX_TOPIC, OutboxReader
from switchboard.storage.database import Database, DatabaseOpener
from switchboard.storage.secrets import RESOURCE_ID, SqlSecretStore

SCHEMAS = {"eventgrid": DeliverySchema.EVENT_GRID, "cloudevents": DeliverySchema.CLOUD_EVENTS}
TAIL_POLL_SECONDS = 0.5
TAIL_LOOKBACK_MS = 10_000  # re-read this much: a transaction may commit after a later one


def add_events_commands(
    events: argparse.ArgumentParser,
    common_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    """The options of ``switchboard events`` (the CLI makes the command's parser)."""
    sub = events.add_subparsers(dest="events_command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help)
        common_options(parser)
        parser.add_argument("--redis-url", help="Redis of the running nodes, to wake them")
        parser.add_argument("--mode", choices=["development", "production"])
        return parser

    subscribe = command("subscribe", "create or replace a webhook subscription")
    subscribe.add_argument("name", help="3-64 letters, digits or hyphens")
    subscribe.add_argument("--url", required=True, help="the endpoint to POST events to")
    subscribe.add_argument(
        "--type", action="append", dest="types", default=[], help="an event type (repeatable)"
    )
    subscribe.add_argument("--schema", choices=sorted(SCHEMAS), default="eventgrid")
    subscribe.add_argument("--secret", help="signing secret (default: generated, printed once)")
    subscribe.add_argument("--max-attempts", type=int, help="1-30 (default 30)")
    subscribe.add_argument("--ttl-minutes", type=int, help="1-1440 (default 1440)")
    subscribe.add_argument(
        "--skip-validation", action="store_true", help="no handshake (development mode only)"
    )
    subscribe.add_argument("--subject-begins-with", help="only events whose subject begins so")
    subscribe.add_argument("--subject-ends-with", help="only events whose subject ends so")
    subscribe.add_argument(
        "--subject-case-sensitive", action="store_true", help="compare the subject exactly"
    )
    subscribe.add_argument(
        "--advanced-filter",
        action="append",
        dest="advanced_filters",
        default=[],
        metavar="JSON",
        help='an Event Grid advanced filter (repeatable), e.g. \'{"operatorType": "StringIn", '
        '"key": "data.to.rawId", "values": ["8:acs:..."]}\'',
    )

    listing = command("list", "list subscriptions")
    listing.add_argument("--show-secrets", action="store_true")

    delete = command("delete", "delete a subscription (and what is still owed to it)")
    delete.add_argument("name")

    dead = command("dead-letters", "list dead letters, or replay them")
    dead.add_argument("--subscription", help="only this subscription's")
    replay = dead.add_mutually_exclusive_group()
    replay.add_argument("--replay", metavar="ID", help="deliver this dead letter again")
    replay.add_argument("--replay-all", action="store_true", help="deliver all again")

    tail = command("tail", "print events as they happen, one JSON object per line")
    tail.add_argument("--since", type=float, default=0.0, help="start this many seconds back")
    tail.add_argument("--type", action="append", dest="types", default=[], help="only this type")
    tail.add_argument("--schema", choices=sorted(SCHEMAS), default="eventgrid")
    tail.add_argument("--count", type=int, help="exit after printing this many events")


def run_events_command(
    args: argparse.Namespace,
    config: EventsConfig,
    server: ServerConfig,
    open_database: DatabaseOpener,
    open_bus: BusOpener,
) -> int:
    tool = _EventsTool(config, server, open_database, open_bus)
    try:
        return asyncio.run(_run(args, tool, sys.stdout))
    except KeyboardInterrupt:
        return 0
    except SwitchboardError as exc:
        print(f"switchboard: {exc.message}", file=sys.stderr)
        return 1


@dataclass(frozen=True, slots=True)
class _EventsTool:
    config: EventsConfig
    server: ServerConfig
    open_database: DatabaseOpener
    open_bus: BusOpener


@asynccontextmanager
async def _events(tool: _EventsTool) -> AsyncIterator[tuple[EventsComponent, Database, Bus]]:
    async with tool.open_database() as database, tool.open_bus() as bus:
        resource_id = await SqlSecretStore(database).get_or_create(RESOURCE_ID)
        events = await EventsComponent.start(
            tool.config,
            tool.server,
            database,
            bus,
            clock=SystemClock(),
            resource_id=resource_id,
            origin=request_origin(tool.server),
            dispatch=False,
        )
        try:
            yield events, database, bus
        finally:
            await events.stop()


async def _run(args: argparse.Namespace, tool: _EventsTool, out: TextIO) -> int:
    async with _events(tool) as (events, database, bus):
        command = args.events_command
        if command == "subscribe":
            event_filter = parse_event_filter(
                subject_begins_with=args.subject_begins_with,
                subject_ends_with=args.subject_ends_with,
                subject_case_sensitive=args.subject_case_sensitive,
                advanced_filters=[_json_argument(a) for a in args.advanced_filters],
            )
            spec = SubscriptionSpec.parse(
                args.name,
                args.url,
                args.types,
                SCHEMAS[args.schema],
                args.secret,
                args.max_attempts,
                args.ttl_minutes,
                event_filter,
            )
            subscription, created, secret = await events.subscriptions.put(
                spec, skip_validation=args.skip_validation
            )
            verb = "created" if created else "updated"
            print(f"Subscription {verb}: {_describe(subscription)}", file=out)
            if secret is not None:
                print(f"Secret: {secret}  (shown once; `events list --show-secrets`)", file=out)
        elif command == "list":
            after: str | None = None
            while True:
                page = await events.subscriptions.list(after, 100)
                for subscription in page.items:
                    line = _describe(subscription)
                    if args.show_secrets:
                        line += f"  secret={subscription.secret}"
                    print(line, file=out)
                if page.next_cursor is None:
                    break
                after = page.next_cursor
        elif command == "delete":
            await events.subscriptions.delete(args.name)
            print(f"Deleted subscription {args.name}.", file=out)
        elif command == "dead-letters":
            await _dead_letters(events, args, out)
        elif command == "tail":
            await _tail(database, bus, args, out, topic=events.topic)
    return 0


async def _dead_letters(events: EventsComponent, args: argparse.Namespace, out: TextIO) -> None:
    if args.replay:
        await events.dead_letters.replay(args.replay)
        print(f"Replayed {args.replay}.", file=out)
        return
    if args.replay_all:
        count = await events.dead_letters.replay_all(args.subscription)
        print(f"Replayed {count} dead letters.", file=out)
        return
    after: tuple[int, str] | None = None
    while True:
        page = await events.dead_letters.list(args.subscription, after, 100)
        for dead in page.items:
            last = dead.last_attempt.error if dead.last_attempt else "-"
            print(
                f"{dead.id}  {dead.subscription.name}  {dead.reason}  attempts={dead.attempts}  "
                f"{dead.event.type}  event={dead.event.id}  last: {last}",
                file=out,
            )
        if page.next_cursor is None:
            return
        after = page.next_cursor


async def _tail(
    database: Database,
    bus: Bus,
    args: argparse.Namespace,
    out: TextIO,
    *,
    topic: str,
) -> None:
    reader = OutboxReader(database)
    wanted = {t.casefold() for t in args.types}
    schema = SCHEMAS[args.schema]
    encoder = msgspec.json.Encoder()
    wakeups = await bus.subscribe(OUTBOX_TOPIC)
    start_ms = int((time.time() - args.since) * 1000)
    print(f"switchboard: tailing events since {iso8601(start_ms / 1000)}", file=sys.stderr)
    seen: dict[str, int] = {}  # event id -> created_ms, within the lookback window
    printed = 0
    low = start_ms  # the first read reaches all the way back (--since)
    try:
        while args.count is None or printed < args.count:
            async for event in reader.created_since(low):
                if event.id in seen:
                    continue
                seen[event.id] = event.created_ms
                if wanted and event.type.casefold() not in wanted:
                    continue
                out.write(encoder.encode(envelope(event, schema, topic)).decode() + "\n")
                out.flush()
                printed += 1
                if args.count is not None and printed >= args.count:
                    return
            # Later reads re-read only the lookback window, for late commits.
            low = max(start_ms, int(time.time() * 1000) - TAIL_LOOKBACK_MS)
            seen = {key: ms for key, ms in seen.items() if ms >= low}
            with suppress(TimeoutError):  # Redis wakes us at once; otherwise we poll
                await asyncio.wait_for(wakeups.get(), TAIL_POLL_SECONDS)
    finally:
        await wakeups.close()


def _describe(subscription: EventSubscription) -> str:
    types = ",".join(subscription.included_event_types) or "all"
    line = (
        f"{subscription.name}  {subscription.endpoint_url}  {subscription.schema}  types={types}  "
        f"maxAttempts={subscription.max_delivery_attempts}  "
        f"ttlMinutes={subscription.event_ttl_minutes}"
    )
    if not subscription.event_filter.is_empty:
        line += "  filter=" + json.dumps(subscription.event_filter.document(), sort_keys=True)
    return line


def _json_argument(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadRequestError(f"--advanced-filter is not valid JSON: {exc}") from None
