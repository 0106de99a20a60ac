"""Why the database could not be opened, said as one line an operator can act on.

``Database.start()`` first connects (``SELECT 1``), then migrates. A failure of that first
connection is never a bug of ours: the server is down, the name does not resolve, the
database does not exist, the role or password is wrong, or the SQLite file cannot be opened.
``explain`` turns the driver's exception (asyncpg's, wrapped by SQLAlchemy, or a bare
``OSError``) into a ``DatabaseUnavailableError`` that names the problem and the fix; the
password never appears in it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

from sqlalchemy.engine import make_url

from switchboard.core.errors import DatabaseUnavailableError

# asyncpg's exception class names (matched by name: only the message needs them).
_MISSING_DATABASE = "InvalidCatalogNameError"
_REFUSED_LOGIN = ("InvalidPasswordError", "InvalidAuthorizationSpecificationError")
_FIX = "fix database_url (--database-url, SWITCHBOARD_DATABASE_URL)"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what SQLAlchemy wrapped (``orig``) and their causes."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__, current.__context__]


def explain(url: str, error: BaseException) -> DatabaseUnavailableError:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return DatabaseUnavailableError(
            f"cannot open the SQLite database {parsed.database}: {error}: check that the data "
            "directory is writable"
        )
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    chain = list(_chain(error))
    names = {type(e).__name__ for e in chain}
    if _MISSING_DATABASE in names:
        return DatabaseUnavailableError(
            f"the database '{parsed.database}' does not exist on {where}: create it "
            f"(createdb {parsed.database}) or {_FIX}"
        )
    if names & set(_REFUSED_LOGIN):
        return DatabaseUnavailableError(
            f"the database server at {where} refused user '{parsed.username}': check the user "
            f"and password, or {_FIX}"
        )
    if any(isinstance(e, socket.gaierror) for e in chain):
        return DatabaseUnavailableError(f"cannot resolve the database host '{parsed.host}': {_FIX}")
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return DatabaseUnavailableError(
            f"cannot reach the database at {where} (connection refused): start PostgreSQL "
            f"there or {_FIX}"
        )
    if any(isinstance(e, TimeoutError) for e in chain):
        return DatabaseUnavailableError(
            f"the database at {where} did not answer in time: check the network, or {_FIX}"
        )
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return DatabaseUnavailableError(f"cannot connect to the database at {where}: {detail}")
