"""Which failures of a queued item's handling are worth retrying.

A queue that retries every exception keeps a poison item (one that fails the same way each
time) forever. Queues (the SMS sender, the simulator carrier, ...) ask ``is_transient``: a
lost connection, a timeout or a locked database may go away, so the item is retried; any
other error is settled for good (failed, the reason logged once).
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

_TRANSIENT = (OSError, TimeoutError, sa_exc.OperationalError, sa_exc.InterfaceError)


def is_transient(error: BaseException) -> bool:
    """True when trying the same thing again later may succeed."""
    if isinstance(error, _TRANSIENT):
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated
