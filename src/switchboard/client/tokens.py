"""A user access token as the clients take it: the token itself, or a function (sync or
async) that returns a fresh one each time it is called."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

TokenSource = str | Callable[[], Awaitable[str]] | Callable[[], str]


async def token_of(source: TokenSource) -> str:
    if isinstance(source, str):
        return source
    value = source()
    if inspect.isawaitable(value):
        value = await value
    if not isinstance(value, str):
        raise TypeError("the token provider must return a str")
    return value
