"""``switchboard sim call ...``: drive a running node's virtual phones from the shell.

    switchboard sim call dial +13125550123 --to +18005550100   the phone calls our number
    switchboard sim call answer +13125550123                    it picks up (rule "manual")
    switchboard sim call say +13125550123 "sales please"        espeak-ng into the call
    switchboard sim call press +13125550123 1#                   in-band DTMF
    switchboard sim call hangup +13125550123
    switchboard sim call status [+13125550123]                  state, last result, heard
    switchboard sim call rules +13125550123 --answer busy [--after-ms 500] [--transcribe]

Unlike ``sim sms``, phones live in the running node (calls are live media), so these are
HMAC-signed requests to its admin API (``/admin/simulator/voice/phones/…``): the endpoint and
the primary access key come from the data directory and the database, as ``switchboard
connection-string`` prints them; the node's local CA (``<data dir>/tls/ca.pem``) is trusted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import logging
import ssl
import sys
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

import httpx

from switchboard.gateways.voicesim.rules import AnswerRule

PHONES = "/admin/simulator/voice/phones"

# (endpoint, access key, CA file) of the running node
Target = Callable[[], Awaitable[tuple[str, str, str]]]


def add_call_commands(
    kinds: argparse._SubParsersAction[argparse.ArgumentParser],
    common_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    call = kinds.add_parser("call", help="the simulator's virtual phones (a running node)")
    actions = call.add_subparsers(dest="sim_call_command", required=True)

    def action(name: str, help_: str, *, number: str = "") -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help_)
        common_options(parser)
        parser.add_argument("number", nargs="?" if number else None, help=number or "E.164")
        return parser

    action("dial", "the phone calls one of our numbers").add_argument(
        "--to", required=True, help="our number (E.164)"
    )
    action("answer", "the ringing phone picks up")
    say = action("say", "speak text into the call (espeak-ng)")
    say.add_argument("text")
    say.add_argument("--locale", default="en-US")
    action("press", "press keys (in-band DTMF)").add_argument("keys", help="0-9 * # A-D")
    tone = action("tone", "play a sine tone into the call (a test signal)")
    tone.add_argument("frequency", type=float, help="Hz, 50 to 4000")
    tone.add_argument("--ms", type=int, default=1000, help="how long (20 to 60000)")
    action("hangup", "hang up")
    action("status", "state, last result and what it heard", number="one phone (default: all)")
    rules = action("rules", "create the phone or set how it answers")
    rules.add_argument("--answer", choices=[r.value for r in AnswerRule], default="auto")
    rules.add_argument("--after-ms", type=int, default=0, help="auto: ring this long first")
    rules.add_argument(
        "--transcribe",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="recognise the speech it hears (status shows heard.transcript)",
    )


def run_call_command(args: argparse.Namespace, target: Target) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # stdout is the answer
    try:
        return asyncio.run(call_command(args, target, sys.stdout))
    except (httpx.HTTPError, OSError) as exc:
        print(f"switchboard: the node did not answer: {exc}", file=sys.stderr)
        return 1


def sign(method: str, path: str, host: str, body: bytes, key: str) -> dict[str, str]:
    """ACS's HMAC-SHA256 request signature (what the SDKs send)."""
    date = formatdate(usegmt=True)
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    message = f"{method}\n{path}\n{date};{host};{content_hash}".encode()
    digest = hmac.new(base64.b64decode(key), message, hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "Authorization": (
            f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
        ),
        "Content-Type": "application/json",
    }


def _request(args: argparse.Namespace) -> tuple[str, str, Any]:
    command = args.sim_call_command
    if command == "status":
        path = PHONES if args.number is None else f"{PHONES}/{quote(args.number)}"
        return "GET", path, None
    path = f"{PHONES}/{quote(args.number)}"
    if command == "rules":
        rules: dict[str, Any] = {"answer": args.answer, "answerAfterMs": args.after_ms}
        if args.transcribe is not None:
            rules["transcribe"] = args.transcribe
        return "PUT", path, rules
    bodies: dict[str, Any] = {
        "dial": lambda: {"to": args.to},
        "say": lambda: {"text": args.text, "locale": args.locale},
        "press": lambda: {"keys": args.keys},
        "tone": lambda: {"frequencyHz": args.frequency, "durationMs": args.ms},
    }
    verb = {"hangup": "hangUp"}.get(command, command)
    body = bodies[command]() if command in bodies else None
    return "POST", f"{path}:{verb}", body


async def call_command(args: argparse.Namespace, target: Target, out: TextIO) -> int:
    """One command against the node; prints each phone as a JSON line; the exit status."""
    endpoint, key, ca = await target()
    method, path, body = _request(args)
    content = b"" if body is None else json.dumps(body).encode()
    headers = sign(method, path, urlsplit(endpoint).netloc, content, key)
    context = ssl.create_default_context(cafile=ca)
    async with httpx.AsyncClient(base_url=endpoint, verify=context, timeout=30) as http:
        response = await http.request(method, path, content=content, headers=headers)
    if response.status_code >= 400:
        error = response.json().get("error", {}) if response.content else {}
        print(f"switchboard: {error.get('message', response.status_code)}", file=sys.stderr)
        return 2
    answer = response.json()
    for phone in answer.get("value", [answer]):
        print(json.dumps(phone, ensure_ascii=False), file=out)
    return 0
