"""Benchmark: Identity token issuance, ``POST /identities/{id}/:issueAccessToken``.

Setup (not timed): create ``--users`` identities. Timed: 200-responses of issueAccessToken
with scopes ``chat, voip``, round-robin over those users, HMAC-signed ahead of time and
re-signed every minute. Target: ≥ 8,000 tokens/s from one server process on one core
(reached with granian, ``SWITCHBOARD_HTTP_SERVER=granian``; bench/README.md has the figures).

    python -m bench.identity --spawn --duration 10
    python -m bench.identity --connection-string "endpoint=...;accesskey=..." --ca ca.pem
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from urllib.parse import quote

from bench.loadgen import (
    Endpoint,
    RequestSource,
    SimpleClient,
    Target,
    add_common_arguments,
    build_request,
    run_benchmark,
)

API_VERSION = "2023-10-01"
TOKEN_BODY = json.dumps({"scopes": ["chat", "voip"]}).encode()


async def create_users(
    endpoint: Endpoint, target: Target, count: int, *, connections: int = 8
) -> list[str]:
    """Create ``count`` identities over a few keep-alive connections; their raw ids."""
    path = f"/identities?api-version={API_VERSION}"
    ids: list[str] = []

    async def worker(share: int) -> None:
        client = await SimpleClient.connect(target)
        try:
            for _ in range(share):
                raw = build_request("POST", path, endpoint.authority, key=endpoint.access_key)
                response = await client.request(raw)
                if response.status != 201:
                    raise RuntimeError(f"create identity: HTTP {response.status} {response.body!r}")
                ids.append(json.loads(response.body)["identity"]["id"])
        finally:
            await client.close()

    connections = max(1, min(connections, count))
    shares = [count // connections + (i < count % connections) for i in range(connections)]
    async with asyncio.TaskGroup() as tasks:
        for share in shares:
            tasks.create_task(worker(share))
    return ids


def token_requests(endpoint: Endpoint, user_ids: Sequence[str]) -> Callable[[], list[bytes]]:
    """A factory of signed issueAccessToken requests, one per user, stamped when called."""
    paths = [
        f"/identities/{quote(user_id, safe='')}/:issueAccessToken?api-version={API_VERSION}"
        for user_id in user_ids
    ]

    def build() -> list[bytes]:
        return [
            build_request(
                "POST", path, endpoint.authority, key=endpoint.access_key, body=TOKEN_BODY
            )
            for path in paths
        ]

    return build


PROG = "python -m bench.identity"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_arguments(parser)
    parser.add_argument("--users", type=int, default=100, help="identities to cycle through")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.users < 1:
        print("need --users >= 1", file=sys.stderr)
        return 2

    async def prepare(endpoint: Endpoint, target: Target) -> RequestSource:
        user_ids = await create_users(endpoint, target, args.users)
        print(f"created {len(user_ids)} identities", file=sys.stderr)
        return token_requests(endpoint, user_ids)

    return run_benchmark(
        args,
        argv,
        name="identity.issueAccessToken",
        prog=PROG,
        prepare=prepare,
        ok_label="tokens",
    )


if __name__ == "__main__":
    raise SystemExit(main())
