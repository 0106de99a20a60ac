"""Event Grid's subject and advanced filters (events/filters.py, events/filter_documents.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.core.errors import BadRequestError
from switchboard.events.filter_documents import (
    MAX_FILTER_VALUES,
    event_filter_from_document,
    parse_advanced_filter,
    parse_event_filter,
)
from switchboard.events.filters import (
    AdvancedFilter,
    EventFilter,
    FilterOperator,
    FilterTarget,
    FilterValue,
    ValueKind,
)

Op = FilterOperator
INCOMING_CALL = "Microsoft.Communication.IncomingCall"
ALICE = "8:acs:00000000-0000-0000-0000-000000000001_00000001-aaaa"


def incoming_call(raw_id: str = ALICE, caller: str = "4:+15550100") -> FilterTarget:
    to = {"kind": "communicationUser", "rawId": raw_id, "communicationUser": {"id": raw_id}}
    return FilterTarget(
        INCOMING_CALL,
        f"/caller/{caller}/recipient/{raw_id}",
        data={"to": to, "from": {"rawId": caller}},
        id="e1",
        topic="/subscriptions/x",
        data_version="1.0",
    )


def one(operator: str, key: str, **fields: Any) -> EventFilter:
    return parse_event_filter(advanced_filters=[{"operatorType": operator, "key": key, **fields}])


# --- examples -------------------------------------------------------------------------------


def test_incoming_call_for_one_user_by_raw_id_ignoring_case() -> None:
    wanted = one("StringIn", "data.to.rawId", values=[ALICE.upper(), "8:acs:someone-else"])
    assert wanted.matches(incoming_call())
    assert not wanted.matches(incoming_call("8:acs:bob"))


def test_nested_keys_and_envelope_keys_in_any_case() -> None:
    assert one("StringIn", "Data.To.CommunicationUser.Id", values=[ALICE]).matches(incoming_call())
    assert one("StringBeginsWith", "Subject", values=["/caller/4:+1555"]).matches(incoming_call())
    assert one("StringIn", "eventType", values=[INCOMING_CALL.lower()]).matches(incoming_call())
    assert one("StringIn", "type", values=[INCOMING_CALL]).matches(incoming_call())
    assert one("StringIn", "id", values=["E1"]).matches(incoming_call())
    assert one("StringIn", "source", values=["/subscriptions/x"]).matches(incoming_call())
    assert one("StringIn", "dataVersion", values=["1.0"]).matches(incoming_call())


def test_every_filter_must_pass() -> None:
    both = parse_event_filter(
        advanced_filters=[
            {"operatorType": "StringIn", "key": "data.to.rawId", "values": [ALICE]},
            {"operatorType": "StringBeginsWith", "key": "data.from.rawId", "values": ["4:"]},
        ]
    )
    assert both.matches(incoming_call())
    wrong_caller = incoming_call(caller="8:acs:x")
    assert not both.matches(wrong_caller)


def test_subject_begins_and_ends_with_ignore_case_unless_asked() -> None:
    loose = parse_event_filter(subject_begins_with="/CALLER/", subject_ends_with=ALICE.upper())
    assert loose.matches(incoming_call())
    strict = parse_event_filter(subject_begins_with="/CALLER/", subject_case_sensitive=True)
    assert not strict.matches(incoming_call())
    assert not loose.matches(incoming_call("8:acs:bob"))


def test_arrays_in_the_event_match_when_an_element_does() -> None:
    event = FilterTarget("T", "s", data={"tags": ["red", 7, None, "Blue"], "n": [1, 5, 9]})
    assert one("StringIn", "data.tags", values=["blue"]).matches(event)
    assert not one("StringNotIn", "data.tags", values=["blue"]).matches(event)
    assert one("NumberInRange", "data.n", values=[[4, 6]]).matches(event)
    assert one("NumberGreaterThan", "data.n", value=8).matches(event)
    assert not one("NumberGreaterThan", "data.n", value=9).matches(event)


@pytest.mark.parametrize("operator", list(FilterOperator))
@pytest.mark.parametrize("data", [{}, {"k": None}], ids=["absent", "null"])
def test_absent_or_null_keys_pass_only_the_documented_operators(
    operator: FilterOperator, data: dict[str, Any]
) -> None:
    passes = {Op.NUMBER_NOT_IN, Op.NUMBER_NOT_IN_RANGE, Op.STRING_NOT_IN, Op.IS_NULL_OR_UNDEFINED}
    event = FilterTarget("T", "s", data=data)
    assert some_filter(operator, "data.k").matches(event) == (operator in passes)


def test_values_of_another_type_are_ignored() -> None:
    event = FilterTarget("T", "s", data={"n": "5", "b": 1, "s": 5, "t": True})
    assert not one("NumberIn", "data.n", values=[5]).matches(event)
    assert one("NumberNotIn", "data.n", values=[5]).matches(event)
    assert not one("BoolEquals", "data.b", value=True).matches(event)
    assert not one("StringIn", "data.s", values=["5"]).matches(event)
    assert not one("NumberIn", "data.t", values=[1]).matches(event)  # a boolean is no number
    assert one("IsNotNull", "data.s").matches(event)


def test_data_given_as_stored_json_is_decoded_once_and_broken_json_has_no_keys() -> None:
    event = FilterTarget("T", "s", data_json=b'{"to": {"rawId": "x"}}')
    assert one("StringIn", "data.to.rawId", values=["X"]).matches(event)
    broken = FilterTarget("T", "s", data_json=b"{not json")
    assert one("IsNullOrUndefined", "data.to").matches(broken)


# --- checks on input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"operatorType": "StringLike", "key": "subject", "values": ["a"]}, "must be one of"),
        ({"operatorType": "StringIn", "key": "to.rawId", "values": ["a"]}, "data.<path>"),
        ({"operatorType": "StringIn", "key": "data..x", "values": ["a"]}, "single dots"),
        ({"operatorType": "StringIn", "key": "subject.x", "values": ["a"]}, "a key is"),
        ({"operatorType": "StringIn", "key": "subject", "values": []}, "1 to 25 strings"),
        ({"operatorType": "StringIn", "key": "subject", "values": ["a" * 513]}, "512"),
        ({"operatorType": "StringIn", "key": "subject", "value": "a"}, "takes 'values'"),
        ({"operatorType": "NumberIn", "key": "data.n", "values": [True]}, "numbers"),
        ({"operatorType": "NumberLessThan", "key": "data.n", "values": [1]}, "one number"),
        ({"operatorType": "NumberInRange", "key": "data.n", "values": [[2, 1]]}, "low <= high"),
        ({"operatorType": "BoolEquals", "key": "data.b", "value": "true"}, "true or false"),
        ({"operatorType": "IsNotNull", "key": "data.b", "value": 1}, "takes no value"),
        ({"operatorType": "IsNotNull", "key": "data.b", "colour": 1}, "unknown field"),
        ({"operatorType": "IsNotNull"}, "key must be a string"),
    ],
)
def test_an_invalid_filter_is_refused_naming_it(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequestError, match=message) as caught:
        parse_event_filter(advanced_filters=[{"operatorType": "IsNotNull", "key": "id"}, entry])
    assert caught.value.target == "advancedFilters[1]"
    assert caught.value.message.startswith("advancedFilters[1]")


def test_event_grids_limits_hold_across_filters() -> None:
    twenty_six = [{"operatorType": "IsNotNull", "key": "subject"}] * 26
    with pytest.raises(BadRequestError, match="up to 25 filters"):
        parse_event_filter(advanced_filters=twenty_six)
    values = [f"v{i}" for i in range(13)]
    too_many = [{"operatorType": "StringIn", "key": "subject", "values": values}] * 2
    with pytest.raises(BadRequestError, match=f"{MAX_FILTER_VALUES} values in all"):
        parse_event_filter(advanced_filters=too_many)


def test_entry_fields_are_read_in_any_casing() -> None:
    pascal = parse_advanced_filter({"Operator": "stringin", "Key": "subject", "Values": ["a"]}, 0)
    snake = parse_advanced_filter(
        {"operator_type": "StringIn", "key": "subject", "values": ["a"]}, 0
    )
    assert pascal == snake == AdvancedFilter(Op.STRING_IN, "subject", ("a",))


# --- properties ---------------------------------------------------------------------------------

TEXT = st.text(alphabet="abAB", max_size=3)
NUMBER = st.one_of(st.integers(-4, 4), st.floats(-4, 4, allow_nan=False))
SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=4))
DATA = st.fixed_dictionaries({}, optional={"k": VALUE, "n": st.fixed_dictionaries({"k": VALUE})})
KEYS = st.sampled_from(["data.k", "data.n.k", "subject"])
PAIRS = {
    Op.NUMBER_IN: Op.NUMBER_NOT_IN,
    Op.NUMBER_IN_RANGE: Op.NUMBER_NOT_IN_RANGE,
    Op.STRING_IN: Op.STRING_NOT_IN,
    Op.STRING_BEGINS_WITH: Op.STRING_NOT_BEGINS_WITH,
    Op.STRING_ENDS_WITH: Op.STRING_NOT_ENDS_WITH,
    Op.STRING_CONTAINS: Op.STRING_NOT_CONTAINS,
}


def values_for(kind: ValueKind) -> st.SearchStrategy[tuple[FilterValue, ...]]:
    pair = st.tuples(NUMBER, NUMBER).map(lambda p: (min(p), max(p)))
    return {
        ValueKind.STRINGS: st.lists(TEXT, min_size=1, max_size=3).map(tuple),
        ValueKind.NUMBERS: st.lists(NUMBER, min_size=1, max_size=3).map(tuple),
        ValueKind.NUMBER: NUMBER.map(lambda n: (n,)),
        ValueKind.RANGES: st.lists(pair, min_size=1, max_size=3).map(tuple),
        ValueKind.BOOL: st.booleans().map(lambda b: (b,)),
        ValueKind.NONE: st.just(()),
    }[kind]


@st.composite
def advanced_filters(draw: st.DrawFn, operators: list[FilterOperator] | None = None) -> Any:
    operator = draw(st.sampled_from(operators or list(FilterOperator)))
    return AdvancedFilter(operator, draw(KEYS), draw(values_for(operator.kind)))


def some_filter(operator: FilterOperator, key: str) -> AdvancedFilter:
    examples: dict[ValueKind, tuple[FilterValue, ...]] = {
        ValueKind.STRINGS: ("a",),
        ValueKind.NUMBERS: (1,),
        ValueKind.NUMBER: (1,),
        ValueKind.RANGES: ((0, 2),),
        ValueKind.BOOL: (True,),
        ValueKind.NONE: (),
    }
    return AdvancedFilter(operator, key, examples[operator.kind])


def target(data: dict[str, Any], subject: str = "ab") -> FilterTarget:
    return FilterTarget("T", subject, data=data)


def resolved(data: dict[str, Any], key: str, subject: str) -> Any:
    if key == "subject":
        return subject
    return (data.get("n") or {}).get("k") if key == "data.n.k" else data.get("k")


@given(advanced_filters(list(PAIRS)), DATA, TEXT)
def test_a_not_operator_is_the_negation_where_the_key_has_a_value(
    positive: AdvancedFilter, data: dict[str, Any], subject: str
) -> None:
    negative = AdvancedFilter(PAIRS[positive.operator], positive.key, positive.values)
    event = target(data, subject)
    if resolved(data, positive.key, subject) is not None:
        assert negative.matches(event) == (not positive.matches(event))


@given(advanced_filters([o for o in FilterOperator if "Not" not in o.value]), DATA)
def test_an_array_matches_when_one_of_its_elements_would(
    f: AdvancedFilter, data: dict[str, Any]
) -> None:
    items = data.get("k")
    if f.key == "data.k" and isinstance(items, list) and f.operator.kind is not ValueKind.NONE:
        each = [f.matches(target({"k": item})) for item in items]
        assert f.matches(target(data)) == any(each)


@given(advanced_filters([o for o in FilterOperator if "Not" not in o.value]), DATA, TEXT)
def test_several_values_are_alternatives(
    f: AdvancedFilter, data: dict[str, Any], subject: str
) -> None:
    event = target(data, subject)
    singles = [AdvancedFilter(f.operator, f.key, (v,)).matches(event) for v in f.values]
    if f.values:
        assert f.matches(event) == any(singles)


@given(
    st.sampled_from(
        [
            Op.NUMBER_LESS_THAN,
            Op.NUMBER_LESS_THAN_OR_EQUALS,
            Op.NUMBER_GREATER_THAN,
            Op.NUMBER_GREATER_THAN_OR_EQUALS,
        ]
    ),
    NUMBER,
    NUMBER,
)
def test_number_comparisons_compare_the_events_value_with_the_filters(
    operator: FilterOperator, value: float, limit: float
) -> None:
    expected = {
        Op.NUMBER_LESS_THAN: value < limit,
        Op.NUMBER_LESS_THAN_OR_EQUALS: value <= limit,
        Op.NUMBER_GREATER_THAN: value > limit,
        Op.NUMBER_GREATER_THAN_OR_EQUALS: value >= limit,
    }[operator]
    assert AdvancedFilter(operator, "data.k", (limit,)).matches(target({"k": value})) == expected


@given(advanced_filters(), DATA, TEXT)
def test_strings_in_the_event_match_in_any_case(
    f: AdvancedFilter, data: dict[str, Any], subject: str
) -> None:
    def shout(value: Any) -> Any:
        if isinstance(value, str):
            return value.upper()
        if isinstance(value, list):
            return [shout(v) for v in value]
        if isinstance(value, dict):
            return {k: shout(v) for k, v in value.items()}
        return value

    assert f.matches(target(data, subject)) == f.matches(target(shout(data), subject.upper()))


@given(st.lists(advanced_filters(), max_size=4), DATA, TEXT)
def test_a_filter_passes_when_each_of_its_advanced_filters_does(
    filters: list[AdvancedFilter], data: dict[str, Any], subject: str
) -> None:
    event = target(data, subject)
    combined = EventFilter(advanced=tuple(filters))
    assert combined.matches(event) == all(f.matches(event) for f in filters)


@given(st.lists(advanced_filters(), max_size=5), st.text(max_size=8), st.text(max_size=8))
def test_a_filter_survives_its_stored_json(
    filters: list[AdvancedFilter], begins: str, ends: str
) -> None:
    original = EventFilter(begins, ends, bool(begins), tuple(filters))
    stored = json.loads(json.dumps(original.document()))
    assert event_filter_from_document(stored) == original


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
ENTRY = st.dictionaries(
    st.sampled_from(["operatorType", "key", "value", "values", "other"]), JSON, max_size=4
) | st.fixed_dictionaries(
    {"operatorType": st.sampled_from(list(FilterOperator)), "key": KEYS},
    optional={"value": JSON, "values": JSON},
)


@given(ENTRY | JSON)
def test_arbitrary_entries_parse_or_raise_only_a_bad_request(entry: Any) -> None:
    try:
        parsed = parse_advanced_filter(entry, 3)
    except BadRequestError as exc:
        assert exc.target == "advancedFilters[3]"
    else:
        assert parse_advanced_filter(parsed.document(), 3) == parsed
