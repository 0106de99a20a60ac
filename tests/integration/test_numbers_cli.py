"""``switchboard numbers ...`` and ``switchboard carriers ...`` as an operator runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def switchboard(data_dir: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def test_import_toml_and_csv_then_list_and_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    toml = tmp_path / "inventory.toml"
    toml.write_text(
        '[[carriers]]\nname = "acme-smsc"\nkind = "smpp"\nhost = "smsc.acme.example"\n'
        'port = 2775\nsystem_id = "sb"\npassword = "pw"\n\n'
        '[[numbers]]\ncarrier = "acme-smsc"\ncountry_code = "US"\n'
        'phone_number_type = "geographic"\nrange_start = "+15035550100"\n'
        'range_end = "+15035550104"\nlocality = "Portland"\nadministrative_division = "OR"\n'
        'cost = { amount = 0.5, currency = "USD" }\n'
    )
    out = switchboard(data, "numbers", "import", str(toml)).stdout
    assert "Imported 5 numbers (5 new) and 1 carriers" in out
    # Importing again changes nothing.
    assert "(0 new)" in switchboard(data, "numbers", "import", str(toml)).stdout

    csv = tmp_path / "more.csv"
    csv.write_text(
        "phone_number,carrier,country_code,phone_number_type,sms\n"
        "+15035550200,acme-smsc,US,mobile,outbound\n"
    )
    assert "Imported 1 numbers (1 new)" in switchboard(data, "numbers", "import", str(csv)).stdout

    listed = switchboard(data, "numbers", "list", "--available").stdout.splitlines()
    acme = [line for line in listed if "acme-smsc" in line]
    assert len(acme) == 6
    assert acme[0].startswith("+15035550100  US  geographic  application  acme-smsc  available")
    assert "0.50 USD  Portland, OR" in acme[0]
    assert any(line.startswith("+14255550100 ") for line in listed)  # the demo inventory
    assert switchboard(data, "numbers", "list", "--purchased").stdout == ""

    carriers = switchboard(data, "carriers", "list", "--show-settings").stdout
    assert "acme-smsc  smpp  host=smsc.acme.example password=pw port=2775 system_id=sb" in carriers
    assert "simulator  simulator" in carriers

    removed = switchboard(data, "numbers", "remove", "--carrier", "simulator").stdout
    assert "Removed 600 numbers" in removed
    remaining = switchboard(data, "numbers", "list").stdout
    assert "+1425555" not in remaining  # and it does not come back: the demo loads only once


def test_carriers_add_and_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    smpp = ["--set", "host=h", "--set", "port=2775", "--set", "system_id=sb", "--set", "password=p"]
    made = switchboard(data, "carriers", "add", "smsc-2", *smpp)
    assert "Carrier created: smsc-2" in made.stdout
    assert "Carrier updated" in switchboard(data, "carriers", "add", "smsc-2", *smpp).stdout
    assert "smsc-2  smpp" in switchboard(data, "carriers", "list").stdout
    assert "Removed carrier smsc-2" in switchboard(data, "carriers", "remove", "smsc-2").stdout
    refused = switchboard(data, "carriers", "remove", "simulator", ok=False)
    assert refused.returncode == 1 and "built-in" in refused.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("phone_number,country_code,phone_number_type\n+1503,US,geographic\n")
    failed = switchboard(data, "numbers", "import", str(bad), ok=False)
    assert failed.returncode == 1 and "line 2" in failed.stderr
