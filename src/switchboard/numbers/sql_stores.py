"""NumbersService over the SQL stores (SQLite or PostgreSQL): what the node and the CLI use.

SqlInventoryStore (store.py) · SqlCatalog (catalog.py) · SqlHoldStore (holds.py)
SqlReservationStore (reservations.py) · SqlOperationStore (storage/operations.py)
"""

from __future__ import annotations

from switchboard.core.clock import Clock
from switchboard.numbers.catalog import SqlCatalog
from switchboard.numbers.holds import SqlHoldStore
from switchboard.numbers.reservations import SqlReservationStore
from switchboard.numbers.service import NumbersService
from switchboard.numbers.store import SqlInventoryStore
from switchboard.storage.database import Database
from switchboard.storage.operations import SqlOperationStore


def sql_numbers_service(database: Database, clock: Clock) -> NumbersService:
    return NumbersService(
        SqlInventoryStore(database),
        SqlCatalog(database),
        SqlHoldStore(database),
        SqlReservationStore(database),
        SqlOperationStore(database),
        clock,
    )
