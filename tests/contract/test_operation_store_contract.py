"""SqlOperationStore behaves the same on SQLite and PostgreSQL (fresh ids: the PG db is shared)."""

from __future__ import annotations

import uuid

import pytest

from switchboard.core.errors import ConflictError, NotFoundError
from switchboard.http.lro import accepted_response, operation_body
from switchboard.storage import Database
from switchboard.storage.operations import Operation, OperationStatus, SqlOperationStore

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000


def new_operation(kind: str = "search") -> Operation:
    return Operation(
        id=f"{kind}_{uuid.uuid4()}",
        kind=kind,
        status=OperationStatus.NOT_STARTED,
        resource_location=None,
        error=None,
        created_ms=T0,
        updated_ms=T0,
    )


def test_terminal_statuses() -> None:
    terminal = {s for s in OperationStatus if s.is_terminal}
    assert terminal == {OperationStatus.SUCCEEDED, OperationStatus.FAILED, OperationStatus.CANCELED}
    assert [s.value for s in OperationStatus] == [
        "notStarted",
        "running",
        "succeeded",
        "failed",
        "canceled",
    ]


async def test_created_operation_reads_back_unchanged(database: Database) -> None:
    store = SqlOperationStore(database)
    op = new_operation()
    await store.create(op)
    assert await store.get(op.id) == op


async def test_unknown_operation_is_none(database: Database) -> None:
    assert await SqlOperationStore(database).get(f"nope_{uuid.uuid4()}") is None


async def test_creating_an_existing_id_conflicts(database: Database) -> None:
    store = SqlOperationStore(database)
    op = new_operation()
    await store.create(op)
    with pytest.raises(ConflictError):
        await store.create(op)


async def test_update_to_success_records_location_and_time(database: Database) -> None:
    store = SqlOperationStore(database)
    op = new_operation()
    await store.create(op)
    running = await store.update(op.id, OperationStatus.RUNNING, now_ms=T0 + 1)
    assert running.status is OperationStatus.RUNNING and running.updated_ms == T0 + 1
    done = await store.update(
        op.id, OperationStatus.SUCCEEDED, resource_location="/searchResults/1", now_ms=T0 + 2
    )
    assert done == Operation(
        op.id, op.kind, OperationStatus.SUCCEEDED, "/searchResults/1", None, T0, T0 + 2
    )
    assert await store.get(op.id) == done


async def test_update_to_failure_records_the_error(database: Database) -> None:
    store = SqlOperationStore(database)
    op = new_operation("purchase")
    await store.create(op)
    failed = await store.update(
        op.id, OperationStatus.FAILED, error=("NoCapacity", "No numbers left."), now_ms=T0 + 5
    )
    assert failed.error == ("NoCapacity", "No numbers left.")
    assert (await store.get(op.id)) == failed


async def test_update_without_location_keeps_the_existing_one(database: Database) -> None:
    store = SqlOperationStore(database)
    op = new_operation()
    await store.create(op)
    await store.update(op.id, OperationStatus.RUNNING, resource_location="/r/1", now_ms=T0 + 1)
    done = await store.update(op.id, OperationStatus.SUCCEEDED, now_ms=T0 + 2)
    assert done.resource_location == "/r/1"


async def test_a_finished_operation_cannot_change_again(database: Database) -> None:
    store = SqlOperationStore(database)
    op = new_operation()
    await store.create(op)
    canceled = await store.update(op.id, OperationStatus.CANCELED, now_ms=T0 + 1)
    with pytest.raises(ConflictError):
        await store.update(op.id, OperationStatus.RUNNING, now_ms=T0 + 2)
    assert await store.get(op.id) == canceled


async def test_updating_an_unknown_operation_is_not_found(database: Database) -> None:
    with pytest.raises(NotFoundError):
        await SqlOperationStore(database).update(
            f"nope_{uuid.uuid4()}", OperationStatus.RUNNING, now_ms=T0
        )


async def test_delete_reports_whether_it_removed_something(database: Database) -> None:
    store = SqlOperationStore(database)
    op = new_operation()
    await store.create(op)
    assert await store.delete(op.id) is True
    assert await store.get(op.id) is None
    assert await store.delete(op.id) is False


def test_operation_body_has_the_phone_numbers_shape() -> None:
    op = Operation(
        "search_1", "search", OperationStatus.SUCCEEDED, "/searchResults/1", None, T0, T0 + 1500
    )
    assert operation_body(op) == {
        "id": "search_1",
        "operationType": "search",
        "status": "succeeded",
        "resourceLocation": "/searchResults/1",
        "createdDateTime": "2023-11-14T22:13:20.000Z",
        "lastActionDateTime": "2023-11-14T22:13:21.500Z",
    }


def test_a_failed_operation_body_always_carries_an_error() -> None:
    op = Operation("p_1", "purchase", OperationStatus.FAILED, None, ("NoCapacity", "None."), T0, T0)
    body = operation_body(op)
    assert body["error"] == {"code": "NoCapacity", "message": "None."}
    assert body["resourceLocation"] is None  # present and null, as ACS answers
    unexplained = operation_body(
        Operation("p_2", "purchase", OperationStatus.FAILED, None, None, T0, T0)
    )
    error = unexplained["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message"}


def test_accepted_response_carries_the_polling_headers() -> None:
    response = accepted_response(
        "/phoneNumbers/operations/search_1?api-version=2025-06-01",
        location="/availablePhoneNumbers/searchResults/1",
        retry_after=0,
        headers={"operation-id": "search_1", "search-id": "1"},
    )
    assert response.status_code == 202
    assert response.body == b""
    assert response.headers["operation-location"].startswith("/phoneNumbers/operations/search_1")
    assert response.headers["location"] == "/availablePhoneNumbers/searchResults/1"
    assert response.headers["retry-after"] == "0"
    assert response.headers["operation-id"] == "search_1"
    assert response.headers["search-id"] == "1"
    assert "location" not in accepted_response("/ops/1").headers
