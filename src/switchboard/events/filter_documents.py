"""Event Grid's filter documents, checked: what the API, the CLI and the config file give.

    subjectBeginsWith, subjectEndsWith, isSubjectCaseSensitive,
    advancedFilters: [{"operatorType": "StringIn", "key": "data.to.rawId", "values": [...]}]
        ─▶ parse_event_filter ─▶ EventFilter (filters.py), or BadRequestError naming the
           field or the filter (``advancedFilters[2] (StringIn on 'data.to.rawId'): ...``)

Limits are Event Grid's: 25 advanced filters with 25 values in all, 512 characters a string.
Entry fields are read in any case and with or without underscores (``operatorType``,
``operator_type``, Event Grid's older ``Operator``/``Key``/``Values``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from switchboard.core.errors import BadRequestError
from switchboard.events.filters import (
    AdvancedFilter,
    EventFilter,
    FilterOperator,
    FilterValue,
    Number,
    ValueKind,
    key_path,
)

# Event Grid's limits: 25 advanced filters and 25 values across them, 512 characters a string.
MAX_ADVANCED_FILTERS = 25
MAX_FILTER_VALUES = 25
MAX_FILTER_STRING_CHARS = 512
MAX_KEY_CHARS = 256  # ours: Event Grid documents none
MAX_SUBJECT_FILTER_CHARS = 1024  # ours: Event Grid documents none


def parse_event_filter(
    *,
    subject_begins_with: str | None = None,
    subject_ends_with: str | None = None,
    subject_case_sensitive: bool | None = None,
    advanced_filters: Sequence[Mapping[str, Any]] | None = None,
) -> EventFilter:
    """From the API's, the CLI's or the config file's fields; BadRequestError names the
    field or the advanced filter (``advancedFilters[2]``) that is wrong."""
    begins = _subject_filter(subject_begins_with, "subjectBeginsWith")
    ends = _subject_filter(subject_ends_with, "subjectEndsWith")
    if subject_case_sensitive is not None and not isinstance(subject_case_sensitive, bool):
        raise BadRequestError(
            "isSubjectCaseSensitive must be true or false.", target="isSubjectCaseSensitive"
        )
    entries = advanced_filters or ()
    if not isinstance(entries, Sequence) or isinstance(entries, str | bytes):
        raise BadRequestError(
            "advancedFilters must be a list of filters.", target="advancedFilters"
        )
    if len(entries) > MAX_ADVANCED_FILTERS:
        raise BadRequestError(
            f"advancedFilters takes up to {MAX_ADVANCED_FILTERS} filters.",
            target="advancedFilters",
        )
    advanced = tuple(parse_advanced_filter(entry, i) for i, entry in enumerate(entries))
    if sum(len(f.values) for f in advanced) > MAX_FILTER_VALUES:
        raise BadRequestError(
            f"advancedFilters take up to {MAX_FILTER_VALUES} values in all (Event Grid's "
            "limit); StringIn on one key with many values counts each.",
            target="advancedFilters",
        )
    return EventFilter(begins, ends, bool(subject_case_sensitive), advanced)


def event_filter_from_document(body: Mapping[str, Any]) -> EventFilter:
    """The inverse of ``EventFilter.document()`` (how a subscription's filter is stored)."""
    return parse_event_filter(
        subject_begins_with=body.get("subjectBeginsWith"),
        subject_ends_with=body.get("subjectEndsWith"),
        subject_case_sensitive=body.get("isSubjectCaseSensitive"),
        advanced_filters=body.get("advancedFilters"),
    )


def _subject_filter(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_SUBJECT_FILTER_CHARS:
        raise BadRequestError(
            f"{name} must be a string of up to {MAX_SUBJECT_FILTER_CHARS} characters.",
            target=name,
        )
    return value


# Names of an entry's fields, compared without case or underscores: the API's camelCase,
# the config file's snake_case, and the PascalCase of Event Grid's older documents.
_ENTRY_FIELDS: Final = {
    "operatortype": "operatorType",
    "operator": "operatorType",
    "key": "key",
    "value": "value",
    "values": "values",
}


_OPERATORS: Final = {o.value.casefold(): o for o in FilterOperator}


def parse_advanced_filter(entry: object, index: int) -> AdvancedFilter:
    """One ``{"operatorType", "key", "value" | "values"}``, checked."""
    where = f"advancedFilters[{index}]"
    if not isinstance(entry, Mapping):
        raise BadRequestError(
            f'{where} must be an object {{"operatorType", "key", "values"}}.', target=where
        )
    fields: dict[str, Any] = {}
    for name, raw in entry.items():
        canonical = _ENTRY_FIELDS.get(str(name).replace("_", "").casefold())
        if canonical is None or canonical in fields:
            problem = "repeats" if canonical else "has an unknown field"
            raise BadRequestError(f"{where} {problem} '{name}'.", target=where)
        fields[canonical] = raw
    named = fields.get("operatorType")
    operator = _OPERATORS.get(named.casefold()) if isinstance(named, str) else None
    if operator is None:
        allowed = ", ".join(o.value for o in FilterOperator)
        raise BadRequestError(f"{where}: operatorType must be one of: {allowed}.", target=where)
    key = fields.get("key")
    if not isinstance(key, str):
        raise BadRequestError(f"{where} ({operator}): key must be a string.", target=where)
    described = f"{where} ({operator} on '{key}')"
    if len(key) > MAX_KEY_CHARS or key_path(key) is None:
        raise BadRequestError(
            f"{described}: a key is id, topic, subject, eventType, dataVersion (or the "
            "CloudEvents names source, type, specversion) or data.<path> with single dots, "
            f"e.g. data.to.rawId; up to {MAX_KEY_CHARS} characters.",
            target=where,
        )
    return AdvancedFilter(operator, key, _values(operator, fields, described, where))


def _values(
    operator: FilterOperator, fields: Mapping[str, Any], described: str, where: str
) -> tuple[FilterValue, ...]:
    kind = operator.kind
    if kind is ValueKind.NONE:
        if "value" in fields or "values" in fields:
            raise BadRequestError(f"{described} takes no value.", target=where)
        return ()
    if kind in (ValueKind.NUMBER, ValueKind.BOOL):
        value = fields.get("value")
        ok = isinstance(value, bool) if kind is ValueKind.BOOL else _is_finite_number(value)
        if "values" in fields or not ok or not isinstance(value, int | float):
            wanted = "true or false" if kind is ValueKind.BOOL else "one number"
            raise BadRequestError(f"{described} takes 'value': {wanted}.", target=where)
        return (value,)
    values = fields.get("values")
    wanted = {
        ValueKind.STRINGS: f"strings of up to {MAX_FILTER_STRING_CHARS} characters",
        ValueKind.NUMBERS: "numbers",
        ValueKind.RANGES: "[low, high] pairs of numbers, low <= high",
    }[kind]
    problem = BadRequestError(
        f"{described} takes 'values': 1 to {MAX_FILTER_VALUES} {wanted}.", target=where
    )
    if "value" in fields or not isinstance(values, list | tuple):
        raise problem
    if not 1 <= len(values) <= MAX_FILTER_VALUES:
        raise problem
    if kind is ValueKind.STRINGS:
        if not all(isinstance(v, str) and len(v) <= MAX_FILTER_STRING_CHARS for v in values):
            raise problem
        return tuple(values)
    if kind is ValueKind.NUMBERS:
        if not all(_is_finite_number(v) for v in values):
            raise problem
        return tuple(values)
    pairs: list[tuple[Number, Number]] = []
    for pair in values:
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise problem
        low, high = pair
        if not (_is_finite_number(low) and _is_finite_number(high) and low <= high):
            raise problem
        pairs.append((low, high))
    return tuple(pairs)


def _is_finite_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
