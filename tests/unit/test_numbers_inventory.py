"""Inventory text (config tables, CSV) and capability rules: pure functions, no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.core.config import ConfigError, load_settings, node_config
from switchboard.numbers.inventory import (
    MAX_BLOCK_SIZE,
    demo_inventory,
    expand_range,
    parse_carrier,
    parse_csv,
    parse_document,
    read_inventory_file,
)
from switchboard.numbers.models import (
    AssignmentType,
    Capabilities,
    Capability,
    CarrierKind,
    InvalidInventoryError,
    PhoneNumberType,
)
from switchboard.numbers.service import configured_inventory


def test_a_range_expands_inclusively_keeping_leading_digits() -> None:
    assert expand_range("+14255550098", "+14255550101") == [
        "+14255550098",
        "+14255550099",
        "+14255550100",
        "+14255550101",
    ]
    assert expand_range("+442079460000", "+442079460000") == ["+442079460000"]


@pytest.mark.parametrize(
    ("start", "end", "complaint"),
    [
        ("+14255550199", "+14255550100", "before"),
        ("+1425555010", "+14255550100", "length"),
        ("14255550100", "14255550101", "E.164"),
        ("+10000000000", "+19999999999", str(MAX_BLOCK_SIZE)),
    ],
)
def test_a_bad_range_is_refused_with_the_reason(start: str, end: str, complaint: str) -> None:
    with pytest.raises(InvalidInventoryError, match=complaint):
        expand_range(start, end)


def test_a_number_block_fills_in_defaults() -> None:
    inventory = parse_document(
        {
            "numbers": [
                {
                    "country_code": "us",
                    "phone_number_type": "toll-free",
                    "numbers": ["+18005550111"],
                    "range_start": "+18005550120",
                    "range_end": "+18005550121",
                    "capabilities": {"calling": "inbound", "sms": "none"},
                    "cost": {"amount": 2, "currency": "usd"},
                }
            ]
        },
        "test",
    )
    numbers = inventory.numbers
    assert [n.phone_number for n in numbers] == ["+18005550111", "+18005550120", "+18005550121"]
    first = numbers[0]
    assert (first.carrier, first.country_code, first.area_code) == ("simulator", "US", "800")
    assert first.phone_number_type is PhoneNumberType.TOLL_FREE
    assert first.assignment_type is AssignmentType.APPLICATION
    assert first.capabilities == Capabilities(Capability.INBOUND, Capability.NONE)
    assert (first.cost.amount, first.cost.currency) == (2.0, "USD")
    assert first.id == "18005550111"


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"phone_number_type": "geographic", "numbers": ["+14255550100"]}, "country_code"),
        ({"country_code": "US", "numbers": ["+14255550100"]}, "phone_number_type"),
        ({"country_code": "US", "phone_number_type": "landline", "numbers": ["+1"]}, "landline"),
        ({"country_code": "US", "phone_number_type": "mobile"}, "range_start"),
        ({"country_code": "US", "phone_number_type": "mobile", "numbers": ["555"]}, "E.164"),
        (
            {"country_code": "US", "phone_number_type": "mobile", "range_start": "+14255550100"},
            "go together",
        ),
        (
            {
                "country_code": "US",
                "phone_number_type": "mobile",
                "numbers": ["+14255550100"],
                "capabilities": {"sms": "both"},
            },
            "both",
        ),
        (
            {
                "country_code": "US",
                "phone_number_type": "mobile",
                "numbers": ["+14255550100"],
                "colour": "red",
            },
            "colour",
        ),
    ],
)
def test_a_bad_number_block_names_what_is_wrong(entry: dict[str, object], complaint: str) -> None:
    with pytest.raises(InvalidInventoryError, match=complaint):
        parse_document({"numbers": [entry]}, "test")


def test_a_number_listed_twice_is_refused() -> None:
    block = {"country_code": "US", "phone_number_type": "mobile", "numbers": ["+14255550100"]}
    with pytest.raises(InvalidInventoryError, match="twice"):
        parse_document({"numbers": [block, block]}, "test")


def test_carrier_settings_are_the_extra_keys_and_the_simulator_name_is_reserved() -> None:
    carrier = parse_carrier({"name": "smsc-1", "kind": "smpp", "host": "h", "port": 2775})
    assert carrier.kind is CarrierKind.SMPP
    assert dict(carrier.settings) == {"host": "h", "port": 2775}
    with pytest.raises(InvalidInventoryError, match="built-in"):
        parse_carrier({"name": "simulator", "kind": "smpp"})
    with pytest.raises(InvalidInventoryError, match="kind"):
        parse_carrier({"name": "x", "kind": "carrier-pigeon"})


def test_csv_rows_take_the_same_keys_flattened() -> None:
    text = (
        "phone_number,country_code,phone_number_type,calling,sms,cost_amount,currency,locality\n"
        "+14255550300,US,geographic,inbound+outbound,outbound,1.25,USD,Redmond\n"
        ",,,,,,,\n"
    )
    (number,) = parse_csv(text, "t.csv").numbers
    assert number.capabilities == Capabilities(Capability.INBOUND_OUTBOUND, Capability.OUTBOUND)
    assert (number.cost.amount, number.locality, number.area_code) == (1.25, "Redmond", "425")


def test_an_inventory_file_is_toml_or_csv(tmp_path: Path) -> None:
    toml = tmp_path / "inv.toml"
    toml.write_text(
        '[[carriers]]\nname = "smsc"\nkind = "smpp"\nhost = "h"\n\n'
        '[[numbers]]\ncarrier = "smsc"\ncountry_code = "GB"\nphone_number_type = "mobile"\n'
        'range_start = "+447700900500"\nrange_end = "+447700900502"\n'
    )
    inventory = read_inventory_file(toml)
    assert [c.name for c in inventory.carriers] == ["smsc"]
    assert len(inventory.numbers) == 3 and inventory.numbers[0].carrier == "smsc"
    broken = tmp_path / "broken.toml"
    broken.write_text("[[numbers]\n")
    with pytest.raises(InvalidInventoryError, match="TOML"):
        read_inventory_file(broken)


def test_the_server_config_carries_carriers_and_numbers(tmp_path: Path) -> None:
    config = tmp_path / "switchboard.toml"
    config.write_text(
        '[server]\nport = 9000\n\n[[carriers]]\nname = "smsc"\nkind = "smpp"\n\n'
        '[[numbers]]\ncarrier = "smsc"\ncountry_code = "US"\nphone_number_type = "geographic"\n'
        'numbers = ["+14255550400"]\n'
    )
    settings = load_settings(config_file=config, environ={})
    inventory = configured_inventory(node_config(settings).numbers)
    assert [c.name for c in inventory.carriers] == ["smsc"]
    assert [n.phone_number for n in inventory.numbers] == ["+14255550400"]
    from_env = load_settings(
        environ={"SWITCHBOARD_NUMBERS": '[{"country_code": "US", "phone_number_type": "x"}]'}
    )
    with pytest.raises(ConfigError, match="'x'"):
        configured_inventory(node_config(from_env).numbers)


def test_capabilities_allow_only_what_the_number_offers() -> None:
    assert (
        Capability.INBOUND_OUTBOUND.allows_inbound and Capability.INBOUND_OUTBOUND.allows_outbound
    )
    assert not Capability.INBOUND.allows_outbound and not Capability.NONE.allows_inbound
    assert Capability.OUTBOUND.within(Capability.INBOUND_OUTBOUND)
    assert Capability.NONE.within(Capability.NONE)
    assert not Capability.INBOUND_OUTBOUND.within(Capability.INBOUND)
    offered = Capabilities(Capability.INBOUND, Capability.INBOUND_OUTBOUND)
    assert Capabilities(Capability.NONE, Capability.OUTBOUND).within(offered)
    assert not Capabilities(Capability.OUTBOUND, Capability.NONE).within(offered)


def test_the_demo_inventory_is_fictitious_and_covers_several_countries() -> None:
    numbers = demo_inventory()
    assert {n.country_code for n in numbers} >= {"US", "CA", "GB", "FR"}
    assert all(n.carrier == "simulator" for n in numbers)
    us = [n.phone_number for n in numbers if n.country_code in ("US", "CA")]
    assert all(n[5:8] == "555" and n[8:10] == "01" for n in us)  # NANP 555-0100..0199
    assert "+14255550100" in us and "+18005550100" in us
