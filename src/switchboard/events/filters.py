"""Event Grid's subscription filters beyond the event type: subject and advanced filters.

Sans-I/O: an ``EventFilter`` (parsed and checked by filter_documents.py) answers
``matches(target)`` for one event; nothing here reads a database or a socket.

    EventFilter.matches(FilterTarget) ─ subject prefix/suffix ─ every advanced filter (AND)
        one advanced filter:  resolve the key ("subject", "data.to.rawId", ...)
            ├─ absent or null ─▶ NumberNotIn, NumberNotInRange, StringNotIn, IsNullOrUndefined
            │                    pass; every other operator fails (as Event Grid documents)
            └─ present ─▶ candidates: the value, or each element of an array, keeping those
                          of the operator's type (string, number, boolean)
                          positive operators: some candidate matches some filter value (OR)
                          Not operators: no candidate matches any filter value

Strings compare ignoring case (``casefold``), as Event Grid does; numbers compare as numbers
(booleans are not numbers). Arrays in the event always behave as with Event Grid's
``enableAdvancedFilteringOnArrays``: an element match is a match.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

Number = int | float
FilterValue = str | int | float | bool | tuple[Number, Number]


class FilterOperator(StrEnum):
    NUMBER_IN = "NumberIn"
    NUMBER_NOT_IN = "NumberNotIn"
    NUMBER_LESS_THAN = "NumberLessThan"
    NUMBER_LESS_THAN_OR_EQUALS = "NumberLessThanOrEquals"
    NUMBER_GREATER_THAN = "NumberGreaterThan"
    NUMBER_GREATER_THAN_OR_EQUALS = "NumberGreaterThanOrEquals"
    NUMBER_IN_RANGE = "NumberInRange"
    NUMBER_NOT_IN_RANGE = "NumberNotInRange"
    BOOL_EQUALS = "BoolEquals"
    STRING_IN = "StringIn"
    STRING_NOT_IN = "StringNotIn"
    STRING_BEGINS_WITH = "StringBeginsWith"
    STRING_NOT_BEGINS_WITH = "StringNotBeginsWith"
    STRING_ENDS_WITH = "StringEndsWith"
    STRING_NOT_ENDS_WITH = "StringNotEndsWith"
    STRING_CONTAINS = "StringContains"
    STRING_NOT_CONTAINS = "StringNotContains"
    IS_NULL_OR_UNDEFINED = "IsNullOrUndefined"
    IS_NOT_NULL = "IsNotNull"

    @property
    def kind(self) -> ValueKind:
        return _RULES[self].kind


class ValueKind(StrEnum):
    """What an operator compares, and so what its ``value``/``values`` hold."""

    STRINGS = "strings"  # values: 1.. strings
    NUMBERS = "numbers"  # values: 1.. numbers
    NUMBER = "number"  # value: one number
    RANGES = "ranges"  # values: 1.. [low, high] pairs
    BOOL = "bool"  # value: true or false
    NONE = "none"  # neither


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: ValueKind
    test: Callable[[Any, Any], bool]  # one (folded) candidate against one filter value
    negated: bool = False  # a Not operator: passes when no candidate matches any value


_O = FilterOperator
_RULES: Final[dict[FilterOperator, _Rule]] = {
    _O.NUMBER_IN: _Rule(ValueKind.NUMBERS, lambda c, v: c == v),
    _O.NUMBER_NOT_IN: _Rule(ValueKind.NUMBERS, lambda c, v: c == v, negated=True),
    _O.NUMBER_LESS_THAN: _Rule(ValueKind.NUMBER, lambda c, v: c < v),
    _O.NUMBER_LESS_THAN_OR_EQUALS: _Rule(ValueKind.NUMBER, lambda c, v: c <= v),
    _O.NUMBER_GREATER_THAN: _Rule(ValueKind.NUMBER, lambda c, v: c > v),
    _O.NUMBER_GREATER_THAN_OR_EQUALS: _Rule(ValueKind.NUMBER, lambda c, v: c >= v),
    _O.NUMBER_IN_RANGE: _Rule(ValueKind.RANGES, lambda c, v: v[0] <= c <= v[1]),
    _O.NUMBER_NOT_IN_RANGE: _Rule(ValueKind.RANGES, lambda c, v: v[0] <= c <= v[1], True),
    _O.BOOL_EQUALS: _Rule(ValueKind.BOOL, lambda c, v: c is v),
    _O.STRING_IN: _Rule(ValueKind.STRINGS, lambda c, v: c == v),
    _O.STRING_NOT_IN: _Rule(ValueKind.STRINGS, lambda c, v: c == v, negated=True),
    _O.STRING_BEGINS_WITH: _Rule(ValueKind.STRINGS, lambda c, v: c.startswith(v)),
    _O.STRING_NOT_BEGINS_WITH: _Rule(ValueKind.STRINGS, lambda c, v: c.startswith(v), True),
    _O.STRING_ENDS_WITH: _Rule(ValueKind.STRINGS, lambda c, v: c.endswith(v)),
    _O.STRING_NOT_ENDS_WITH: _Rule(ValueKind.STRINGS, lambda c, v: c.endswith(v), True),
    _O.STRING_CONTAINS: _Rule(ValueKind.STRINGS, lambda c, v: v in c),
    _O.STRING_NOT_CONTAINS: _Rule(ValueKind.STRINGS, lambda c, v: v in c, negated=True),
    _O.IS_NULL_OR_UNDEFINED: _Rule(ValueKind.NONE, lambda c, v: False),
    _O.IS_NOT_NULL: _Rule(ValueKind.NONE, lambda c, v: False),
}

# Absent (or null) key: these pass, every other operator fails (Event Grid's documented rule;
# it names NumberNotIn and StringNotIn; NumberNotInRange is taken to behave like NumberNotIn).
_PASS_WHEN_ABSENT: Final = frozenset(
    {_O.NUMBER_NOT_IN, _O.NUMBER_NOT_IN_RANGE, _O.STRING_NOT_IN, _O.IS_NULL_OR_UNDEFINED}
)

# The event's own fields a key may name (Event Grid and CloudEvents names), ignoring case.
ENVELOPE_KEYS: Final = {
    "id": "id",
    "topic": "topic",
    "source": "topic",
    "subject": "subject",
    "eventtype": "type",
    "type": "type",
    "dataversion": "dataVersion",
    "specversion": "specversion",
    "data": "data",
}


def key_path(key: str) -> tuple[str, ...] | None:
    """``"Data.to.rawId"`` → ``("data", "to", "rawId")``; None if it names nothing we have."""
    segments = key.split(".")
    head = ENVELOPE_KEYS.get(segments[0].casefold())
    if head is None or not all(segments) or (head != "data" and len(segments) > 1):
        return None
    return (head, *segments[1:])


class _Absent:
    """A key the event does not have (distinct from a JSON null)."""


ABSENT: Final = _Absent()


class FilterTarget:
    """What filters look at in one event. ``data`` may be given decoded, or as the JSON the
    outbox stores, decoded at most once and only if a ``data.*`` key asks for it."""

    __slots__ = ("_data", "_data_json", "data_version", "id", "subject", "topic", "type")

    def __init__(
        self,
        type: str,
        subject: str,
        *,
        data: object = ABSENT,
        data_json: bytes | None = None,
        id: str | None = None,  # None: not known yet (asked before the event exists)
        topic: str | None = None,
        data_version: str | None = None,
    ) -> None:
        self.type = type
        self.subject = subject
        self.id = id
        self.topic = topic
        self.data_version = data_version
        self._data = data
        self._data_json = data_json

    def data(self) -> object:
        if self._data is ABSENT and self._data_json is not None:
            # Producers give JSON; a broken payload simply has no keys to match.
            with contextlib.suppress(ValueError):
                self._data = json.loads(self._data_json)
            self._data_json = None
        return self._data

    def field(self, name: str) -> object:
        """An envelope field by its canonical name (see ``ENVELOPE_KEYS``)."""
        value: object
        if name == "data":
            value = self.data()
        elif name == "specversion":
            value = "1.0"
        else:
            value = {
                "id": self.id,
                "topic": self.topic,
                "subject": self.subject,
                "type": self.type,
                "dataVersion": self.data_version,
            }[name]
        return ABSENT if value is None else value


@dataclass(frozen=True, slots=True)
class AdvancedFilter:
    operator: FilterOperator
    key: str
    values: tuple[FilterValue, ...] = ()  # one value for NUMBER and BOOL, none for NONE
    # Derived, for matching: the key as a path, the values with strings case-folded.
    path: tuple[str, ...] = field(init=False, compare=False, repr=False)
    folded: tuple[FilterValue, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Checked by filter_documents.py for users; here only what matching relies on."""
        path = key_path(self.key)
        if path is None:
            raise ValueError(f"not a filter key: {self.key!r}")
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "folded", tuple(fold(v) for v in self.values))

    def matches(self, target: FilterTarget) -> bool:
        value = _resolve(self.path, target)
        if value is ABSENT or value is None:
            return self.operator in _PASS_WHEN_ABSENT
        if self.operator is _O.IS_NULL_OR_UNDEFINED:
            return False
        if self.operator is _O.IS_NOT_NULL:
            return True
        rule = _RULES[self.operator]
        accepts = _CANDIDATE_TYPES[rule.kind]
        items = value if isinstance(value, list | tuple) else (value,)
        hit = False
        for candidate in items:
            if accepts(candidate):
                folded = fold(candidate)
                if any(rule.test(folded, wanted) for wanted in self.folded):
                    hit = True
                    break
        return hit != rule.negated

    def document(self) -> dict[str, Any]:
        """Event Grid's form: ``{"operatorType", "key", "value" | "values"}``."""
        body: dict[str, Any] = {"operatorType": self.operator.value, "key": self.key}
        kind = self.operator.kind
        if kind in (ValueKind.NUMBER, ValueKind.BOOL):
            body["value"] = self.values[0]
        elif kind is ValueKind.RANGES:
            body["values"] = [list(pair) for pair in self.values]  # type: ignore[arg-type]  # pairs
        elif kind is not ValueKind.NONE:
            body["values"] = list(self.values)
        return body


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_CANDIDATE_TYPES: Final[dict[ValueKind, Callable[[object], bool]]] = {
    ValueKind.STRINGS: lambda v: isinstance(v, str),
    ValueKind.NUMBERS: _is_number,
    ValueKind.NUMBER: _is_number,
    ValueKind.RANGES: _is_number,
    ValueKind.BOOL: lambda v: isinstance(v, bool),
    ValueKind.NONE: lambda v: False,
}


def fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _resolve(path: tuple[str, ...], target: FilterTarget) -> object:
    value = target.field(path[0])
    for segment in path[1:]:
        if not isinstance(value, Mapping):
            return ABSENT
        if segment in value:
            value = value[segment]
            continue
        # Event Grid's keys are written in any case (``Data.Key1``): fall back to a key that
        # differs only in case, the first one in the object's order.
        folded = segment.casefold()
        value = next((v for k, v in value.items() if str(k).casefold() == folded), ABSENT)
        if value is ABSENT:
            return ABSENT
    return value


@dataclass(frozen=True, slots=True)
class EventFilter:
    """A subscription's filters beyond its event types; the default filters nothing out."""

    subject_begins_with: str = ""
    subject_ends_with: str = ""
    subject_case_sensitive: bool = False
    advanced: tuple[AdvancedFilter, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.subject_begins_with or self.subject_ends_with or self.advanced)

    def matches(self, target: FilterTarget) -> bool:
        if self.subject_begins_with or self.subject_ends_with:
            subject, begins, ends = target.subject, self.subject_begins_with, self.subject_ends_with
            if not self.subject_case_sensitive:
                subject, begins, ends = subject.casefold(), begins.casefold(), ends.casefold()
            if not (subject.startswith(begins) and subject.endswith(ends)):
                return False
        return all(f.matches(target) for f in self.advanced)

    def document(self) -> dict[str, Any]:
        """The parts that are set, named as Event Grid's ``filter`` names them."""
        body: dict[str, Any] = {}
        if self.subject_begins_with:
            body["subjectBeginsWith"] = self.subject_begins_with
        if self.subject_ends_with:
            body["subjectEndsWith"] = self.subject_ends_with
        if self.subject_case_sensitive:
            body["isSubjectCaseSensitive"] = True
        if self.advanced:
            body["advancedFilters"] = [f.document() for f in self.advanced]
        return body


NO_FILTER: Final = EventFilter()
