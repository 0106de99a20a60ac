"""``switchboard trunks ...`` as an operator runs it, on a data dir (the command's own
``main``, in this process): trunks and routes added, changed, shown and removed; a typo
refused in one line when it is given; a password never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.cli import main


class Shell:
    def __init__(self, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data_dir = data_dir
        self.capsys = capsys

    def run(self, *args: str, code: int = 0) -> tuple[str, str]:
        self.capsys.readouterr()
        assert main(["trunks", *args, "--data-dir", str(self.data_dir)]) == code
        out, err = self.capsys.readouterr()
        return out, err


@pytest.fixture
def shell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Shell:
    return Shell(tmp_path / "data", capsys)


def test_trunks_and_routes_from_the_shell(shell: Shell) -> None:
    out, _ = shell.run(
        "add", "sbc.example.com", "--port", "5061", "--transport", "tcp",
        "--username", "acct", "--password", "hunter2", "--codecs", "pcma",
    )  # fmt: skip
    assert out.startswith("Trunk added: sbc.example.com  port=5061  enabled")
    shell.run("add", "backup.example.com", "--host", "10.0.0.5", "--options-seconds", "0")
    shell.run("set", "sbc.example.com", "--max-calls", "20", "--no-enabled")
    shown, _ = shell.run("show", "sbc.example.com")
    assert "port=5061  disabled" in shown and "transport=tcp" in shown
    assert "codecs=PCMA" in shown and "max_calls=20" in shown
    assert "username=acct password=***" in shown and "hunter2" not in shown

    out, _ = shell.run(
        "routes", "set", "--route", "us", r"\+1[0-9]{10}", "sbc.example.com,backup.example.com",
        "--route", "rest", r"\+[0-9]+", "backup.example.com",
    )  # fmt: skip
    assert out.splitlines() == [
        "Routes set: 2.",
        r"us  \+1[0-9]{10}  sbc.example.com,backup.example.com",
        r"rest  \+[0-9]+  backup.example.com",
    ]
    listed, _ = shell.run("list")
    assert [line.split()[0] for line in listed.splitlines()] == [
        "sbc.example.com",
        "backup.example.com",
    ]
    assert "host=10.0.0.5" in listed

    _, err = shell.run("remove", "backup.example.com", code=2)
    assert (
        err == "switchboard: route 'us' names trunk 'backup.example.com': change the routes first\n"
    )
    shell.run("routes", "set")
    out, _ = shell.run("remove", "backup.example.com")
    assert out == "Trunk removed: backup.example.com\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--transport", "sctp"), "transport must be udp, tcp or tls"),
        (("--port", "70000"), "port must be a whole number 1–65535"),
        (("--codecs", "G729"), "codecs must be a list of PCMU / PCMA"),
        (("--username", "u"), "username and password go together"),
        (("--register",), "register needs a username and password"),
    ],
)
def test_a_bad_setting_is_refused_when_given(
    shell: Shell, args: tuple[str, ...], message: str
) -> None:
    _, err = shell.run("add", "sbc.example.com", *args, code=2)
    assert err == f"switchboard: trunk sbc.example.com: {message}.\n"
    listed, _ = shell.run("list")
    assert listed == ""  # nothing was written


def test_names_and_routes_are_checked(shell: Shell) -> None:
    _, err = shell.run("add", "bad..name", code=2)
    assert "is not a host name (FQDN) or an address" in err
    _, err = shell.run("routes", "set", "--route", "r", "(", "x.example.com", code=2)
    assert "pattern is not a regular expression" in err
    _, err = shell.run("routes", "set", "--route", "r", ".*", "x.example.com", code=2)
    assert err == "switchboard: Route 'r' names no trunk 'x.example.com'.\n"
    _, err = shell.run("show", "x.example.com", code=1)
    assert err.startswith("switchboard: no trunk 'x.example.com'")


def test_a_trunk_the_config_file_names_gets_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "switchboard.toml"
    config.write_text('[[trunks]]\nname = "carrier-a"\nhost = "127.0.0.1"\n')
    data = ["--data-dir", str(tmp_path / "data"), "--config", str(config)]
    assert main(["trunks", "add", "carrier-a", "--port", "5070", *data]) == 0
    _, err = capsys.readouterr()
    assert "the config file names trunk 'carrier-a'; it is written over at the next start" in err
