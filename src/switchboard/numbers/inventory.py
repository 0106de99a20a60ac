"""The operator's inventory as text: ``[[carriers]]``/``[[numbers]]`` tables, CSV rows, the demo.

An entry of ``[[numbers]]`` (or a CSV row, whose columns are the same keys flattened:
``calling``, ``sms``, ``cost_amount``, ``currency``, ``phone_number``) describes a block of
numbers that share everything but the number::

    carrier = "simulator"                 # default "simulator"
    country_code = "US"                   # ISO 3166-1 alpha-2
    phone_number_type = "geographic"      # geographic | tollFree | mobile
    assignment_type = "application"       # application (default) | person
    numbers = ["+14255550100"]            # and/or range_start + range_end (inclusive)
    locality = "Redmond"
    administrative_division = "WA"
    area_code = "425"                     # default: the NANP area code of +1 numbers
    capabilities = { calling = "inbound+outbound", sms = "inbound+outbound" }
    cost = { amount = 1.0, currency = "USD" }   # monthly

Parsing is pure (no database); ``store.py`` applies the result idempotently.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchboard.numbers.models import (
    SIMULATOR_CARRIER,
    AssignmentType,
    Capabilities,
    Capability,
    CarrierDefinition,
    CarrierKind,
    Cost,
    InvalidInventoryError,
    InventoryNumber,
    PhoneNumberType,
)

MAX_BLOCK_SIZE = 100_000  # a range larger than this is almost certainly a typo
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_CARRIER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

_NUMBER_KEYS = frozenset(
    {
        "carrier",
        "country_code",
        "phone_number_type",
        "assignment_type",
        "numbers",
        "phone_number",
        "range_start",
        "range_end",
        "locality",
        "administrative_division",
        "area_code",
        "capabilities",
        "calling",
        "sms",
        "cost",
        "cost_amount",
        "currency",
    }
)

_TYPE_ALIASES = {
    "geographic": PhoneNumberType.GEOGRAPHIC,
    "tollfree": PhoneNumberType.TOLL_FREE,
    "toll-free": PhoneNumberType.TOLL_FREE,
    "toll_free": PhoneNumberType.TOLL_FREE,
    "mobile": PhoneNumberType.MOBILE,
}


@dataclass(frozen=True, slots=True)
class Inventory:
    carriers: tuple[CarrierDefinition, ...] = ()
    numbers: tuple[InventoryNumber, ...] = field(default_factory=tuple)


def parse_phone_number_type(value: str) -> PhoneNumberType:
    kind = _TYPE_ALIASES.get(value.strip().lower())
    if kind is None:
        raise InvalidInventoryError(
            f"Unknown phone number type '{value}'; use geographic, tollFree or mobile."
        )
    return kind


def parse_capability(value: str) -> Capability:
    try:
        return Capability(value.strip().lower().replace("_", "+").replace(" ", ""))
    except ValueError:
        raise InvalidInventoryError(
            f"Unknown capability '{value}'; use none, inbound, outbound or inbound+outbound."
        ) from None


def parse_carrier(entry: Mapping[str, Any], where: str = "carrier") -> CarrierDefinition:
    """``{name, kind, ...kind-specific keys}``; the extra keys become ``settings``."""
    name, kind = entry.get("name"), entry.get("kind", "smpp")
    if not isinstance(name, str) or not _CARRIER_NAME.fullmatch(name):
        raise InvalidInventoryError(f"{where}: 'name' must be 1-64 letters, digits, '.', '_', '-'.")
    try:
        carrier_kind = CarrierKind(str(kind).lower())
    except ValueError:
        raise InvalidInventoryError(
            f"{where}: unknown kind '{kind}'; use {', '.join(k.value for k in CarrierKind)}."
        ) from None
    if (name == SIMULATOR_CARRIER) != (carrier_kind is CarrierKind.SIMULATOR):
        raise InvalidInventoryError(
            f"{where}: the carrier named '{SIMULATOR_CARRIER}' is the built-in simulator, "
            "and only it has kind 'simulator'."
        )
    settings = {k: v for k, v in entry.items() if k not in ("name", "kind")}
    try:
        json.dumps(settings)
    except (TypeError, ValueError) as exc:
        raise InvalidInventoryError(f"{where}: settings must be plain values ({exc}).") from exc
    return CarrierDefinition(name=name, kind=carrier_kind, settings=settings)


def parse_number_block(entry: Mapping[str, Any], where: str = "numbers") -> list[InventoryNumber]:
    unknown = sorted(set(entry) - _NUMBER_KEYS)
    if unknown:
        raise InvalidInventoryError(f"{where}: unknown key(s) {', '.join(unknown)}.")
    carrier = _text(entry, "carrier", where) or SIMULATOR_CARRIER
    country = (_text(entry, "country_code", where) or "").upper()
    if not _COUNTRY.fullmatch(country):
        raise InvalidInventoryError(f"{where}: 'country_code' must be two letters, e.g. US.")
    kind_text = _text(entry, "phone_number_type", where)
    if kind_text is None:
        raise InvalidInventoryError(f"{where}: 'phone_number_type' is required.")
    kind = parse_phone_number_type(kind_text)
    assignment_text = _text(entry, "assignment_type", where) or AssignmentType.APPLICATION.value
    try:
        assignment = AssignmentType(assignment_text.lower())
    except ValueError:
        raise InvalidInventoryError(
            f"{where}: unknown assignment_type '{assignment_text}'; use application or person."
        ) from None
    capabilities = _capabilities(entry, where)
    cost = _cost(entry, where)
    area_code = _text(entry, "area_code", where)
    numbers = _numbers(entry, where)
    return [
        InventoryNumber(
            phone_number=number,
            carrier=carrier,
            country_code=country,
            phone_number_type=kind,
            assignment_type=assignment,
            capabilities=capabilities,
            cost=cost,
            locality=_text(entry, "locality", where),
            administrative_division=_text(entry, "administrative_division", where),
            area_code=area_code or _nanp_area_code(number),
        )
        for number in numbers
    ]


def expand_range(start: str, end: str, where: str = "numbers") -> list[str]:
    """Every E.164 number from ``start`` to ``end`` inclusive (same length, same prefix)."""
    for value in (start, end):
        if not E164.fullmatch(value):
            raise InvalidInventoryError(f"{where}: '{value}' is not an E.164 number (+digits).")
    if len(start) != len(end):
        raise InvalidInventoryError(f"{where}: range_start and range_end differ in length.")
    first, last = int(start[1:]), int(end[1:])
    if last < first:
        raise InvalidInventoryError(f"{where}: range_end is before range_start.")
    if last - first + 1 > MAX_BLOCK_SIZE:
        raise InvalidInventoryError(f"{where}: a range holds at most {MAX_BLOCK_SIZE} numbers.")
    width = len(start) - 1
    return [f"+{n:0{width}d}" for n in range(first, last + 1)]


def parse_document(document: Mapping[str, Any], source: str) -> Inventory:
    """A TOML document's ``[[carriers]]`` and ``[[numbers]]`` (other tables are ignored)."""
    carriers = [
        parse_carrier(entry, f"{source}: carriers[{i}]")
        for i, entry in enumerate(_tables(document.get("carriers", []), f"{source}: carriers"))
    ]
    numbers: list[InventoryNumber] = []
    for i, entry in enumerate(_tables(document.get("numbers", []), f"{source}: numbers")):
        numbers += parse_number_block(entry, f"{source}: numbers[{i}]")
    return Inventory(tuple(carriers), tuple(_unique(numbers, source)))


def parse_csv(text: str, source: str) -> Inventory:
    """One number (``phone_number``) or range per row; empty cells are absent keys."""
    reader = csv.DictReader(io.StringIO(text))
    numbers: list[InventoryNumber] = []
    for line, row in enumerate(reader, start=2):
        entry = {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
        if entry:
            numbers += parse_number_block(entry, f"{source}: line {line}")
    return Inventory((), tuple(_unique(numbers, source)))


def read_inventory_file(path: Path) -> Inventory:
    """A ``.csv`` file, or TOML (the same tables as the server config)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInventoryError(f"Cannot read {path}: {exc}") from exc
    if path.suffix.lower() == ".csv":
        return parse_csv(raw.decode("utf-8-sig"), path.name)
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInventoryError(f"{path.name} is not valid TOML: {exc}") from exc
    return parse_document(document, path.name)


def _tables(value: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple) or not all(isinstance(e, Mapping) for e in value):
        raise InvalidInventoryError(f"{where} must be a list of tables.")
    return list(value)


def _text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInventoryError(f"{where}: '{key}' must be text.")
    text = str(value).strip()
    return text or None


def _numbers(entry: Mapping[str, Any], where: str) -> list[str]:
    listed = entry.get("numbers", [])
    if isinstance(listed, str):  # CSV: several numbers in one cell, separated by spaces
        listed = listed.split()
    if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        raise InvalidInventoryError(f"{where}: 'numbers' must be a list of E.164 numbers.")
    numbers = [n.strip() for n in listed]
    single = _text(entry, "phone_number", where)
    if single is not None:
        numbers.append(single)
    start, end = _text(entry, "range_start", where), _text(entry, "range_end", where)
    if (start is None) != (end is None):
        raise InvalidInventoryError(f"{where}: range_start and range_end go together.")
    if start is not None and end is not None:
        numbers += expand_range(start, end, where)
    if not numbers:
        raise InvalidInventoryError(f"{where}: give 'numbers' or range_start and range_end.")
    for number in numbers:
        if not E164.fullmatch(number):
            raise InvalidInventoryError(f"{where}: '{number}' is not an E.164 number (+digits).")
    return numbers


def _capabilities(entry: Mapping[str, Any], where: str) -> Capabilities:
    nested = entry.get("capabilities", {})
    if not isinstance(nested, Mapping):
        raise InvalidInventoryError(f"{where}: 'capabilities' must be a table.")
    values: dict[str, Capability] = {}
    for key in ("calling", "sms"):
        raw = nested.get(key, entry.get(key, Capability.INBOUND_OUTBOUND.value))
        if not isinstance(raw, str):
            raise InvalidInventoryError(f"{where}: capability '{key}' must be text.")
        values[key] = parse_capability(raw)
    return Capabilities(calling=values["calling"], sms=values["sms"])


def _cost(entry: Mapping[str, Any], where: str) -> Cost:
    nested = entry.get("cost", {})
    if not isinstance(nested, Mapping):
        raise InvalidInventoryError(f"{where}: 'cost' must be a table {{amount, currency}}.")
    amount = nested.get("amount", entry.get("cost_amount", 0))
    currency = str(nested.get("currency", entry.get("currency", "USD"))).upper()
    try:
        value = float(amount)
    except (TypeError, ValueError):
        raise InvalidInventoryError(f"{where}: cost amount '{amount}' is not a number.") from None
    if value < 0 or value != value:
        raise InvalidInventoryError(f"{where}: cost amount must not be negative.")
    if not _CURRENCY.fullmatch(currency):
        raise InvalidInventoryError(f"{where}: currency must be an ISO 4217 code, e.g. USD.")
    return Cost(value, currency)


def _nanp_area_code(number: str) -> str | None:
    return number[2:5] if number.startswith("+1") and len(number) == 12 else None


def _unique(numbers: list[InventoryNumber], source: str) -> list[InventoryNumber]:
    seen: set[str] = set()
    for number in numbers:
        if number.phone_number in seen:
            raise InvalidInventoryError(f"{source}: {number.phone_number} is listed twice.")
        seen.add(number.phone_number)
    return numbers


# --- the demo inventory: fictitious numbers (NANP 555-01xx, Ofcom drama ranges, …) ----------

_DEMO_BLOCKS: tuple[dict[str, Any], ...] = (
    {
        "country_code": "US",
        "phone_number_type": "geographic",
        "range_start": "+14255550100",
        "range_end": "+14255550199",
        "locality": "Redmond",
        "administrative_division": "WA",
        "cost": {"amount": 1.0, "currency": "USD"},
    },
    {
        "country_code": "US",
        "phone_number_type": "geographic",
        "range_start": "+12065550100",
        "range_end": "+12065550199",
        "locality": "Seattle",
        "administrative_division": "WA",
        "cost": {"amount": 1.0, "currency": "USD"},
    },
    {
        "country_code": "US",
        "phone_number_type": "geographic",
        "assignment_type": "person",
        "range_start": "+12125550100",
        "range_end": "+12125550149",
        "locality": "New York",
        "administrative_division": "NY",
        "capabilities": {"calling": "inbound+outbound", "sms": "none"},
        "cost": {"amount": 1.0, "currency": "USD"},
    },
    {
        "country_code": "US",
        "phone_number_type": "tollFree",
        "range_start": "+18005550100",
        "range_end": "+18005550199",
        "cost": {"amount": 2.0, "currency": "USD"},
    },
    {
        "country_code": "US",
        "phone_number_type": "tollFree",
        "range_start": "+18335550100",
        "range_end": "+18335550149",
        "capabilities": {"calling": "inbound", "sms": "inbound+outbound"},
        "cost": {"amount": 2.0, "currency": "USD"},
    },
    {
        "country_code": "CA",
        "phone_number_type": "geographic",
        "range_start": "+14165550100",
        "range_end": "+14165550149",
        "locality": "Toronto",
        "administrative_division": "ON",
        "cost": {"amount": 1.0, "currency": "USD"},
    },
    {
        "country_code": "GB",
        "phone_number_type": "geographic",
        "range_start": "+442079460000",
        "range_end": "+442079460049",
        "locality": "London",
        "area_code": "20",
        "capabilities": {"calling": "inbound+outbound", "sms": "none"},
        "cost": {"amount": 1.5, "currency": "USD"},
    },
    {
        "country_code": "GB",
        "phone_number_type": "mobile",
        "range_start": "+447700900000",
        "range_end": "+447700900049",
        "area_code": "7700",
        "cost": {"amount": 3.0, "currency": "USD"},
    },
    {
        "country_code": "FR",
        "phone_number_type": "geographic",
        "range_start": "+33199000100",
        "range_end": "+33199000149",
        "locality": "Paris",
        "area_code": "1",
        "capabilities": {"calling": "inbound+outbound", "sms": "none"},
        "cost": {"amount": 1.5, "currency": "USD"},
    },
)


def demo_inventory() -> list[InventoryNumber]:
    """The simulator's numbers, loaded into a fresh database so search → buy → send just works."""
    numbers: list[InventoryNumber] = []
    for i, block in enumerate(_DEMO_BLOCKS):
        numbers += parse_number_block(block, f"demo[{i}]")
    return numbers
