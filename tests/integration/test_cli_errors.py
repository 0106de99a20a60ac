"""What stops ``switchboard`` is one line that says what to do, with its exit code, never a
traceback (the codes: docs/operations.md). Each case runs the real command."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_ADMIN_URL
from tests.integration.cli_run import refused, switchboard

EXIT_CONFIG, EXIT_DATA_DIR, EXIT_DATABASE, EXIT_REDIS, EXIT_LISTEN = 2, 3, 4, 5, 6
PG = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1]  # user@127.0.0.1:5432


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def data_dir(tmp_path: Path) -> str:
    return str(tmp_path / "data")


def test_a_missing_postgresql_database_says_how_to_create_it(data_dir: str) -> None:
    url = f"postgresql+asyncpg://{PG}/sb_no_such_database"
    for command in ("serve", "connection-string"):
        done = switchboard(command, "--database-url", url, "--data-dir", data_dir)
        refused(done, EXIT_DATABASE, "'sb_no_such_database' does not exist", "createdb")


def test_postgresql_down_names_the_address(data_dir: str, closed_port: int) -> None:
    url = f"postgresql+asyncpg://{PG.split('@')[0]}@127.0.0.1:{closed_port}/test"
    done = switchboard("serve", "--port", "0", "--database-url", url, "--data-dir", data_dir)
    refused(done, EXIT_DATABASE, f"127.0.0.1:{closed_port}", "connection refused", "start")


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("postgresql+asyncpg://sb_no_such_role@127.0.0.1:5432/test", "refused user"),
        ("postgresql+asyncpg://me@no-such-db-host.invalid/test", "cannot resolve"),
    ],
)
def test_a_refused_login_or_unknown_host_says_so(url: str, complaint: str) -> None:
    done = switchboard("connection-string", "--database-url", url)
    refused(done, EXIT_DATABASE, complaint, "--database-url")


def test_redis_down_names_the_address(data_dir: str, closed_port: int) -> None:
    url = f"redis://127.0.0.1:{closed_port}/0"
    done = switchboard("serve", "--port", "0", "--redis-url", url, "--data-dir", data_dir)
    refused(done, EXIT_REDIS, f"cannot reach Redis at 127.0.0.1:{closed_port}", "--redis-url")
    events = switchboard("events", "list", "--redis-url", url, "--data-dir", data_dir)
    refused(events, EXIT_REDIS, f"cannot reach Redis at 127.0.0.1:{closed_port}")


def test_a_port_in_use_is_refused(data_dir: str, busy_port: int) -> None:
    done = switchboard("serve", "--port", str(busy_port), "--data-dir", data_dir)
    refused(done, EXIT_LISTEN, f"127.0.0.1:{busy_port}", "in use", "--port")


@pytest.mark.parametrize(
    ("host", "complaint"),
    [
        ("no-such-host.invalid", "does not resolve"),
        ("192.0.2.1", "not an address of this machine"),  # TEST-NET-1: never local
    ],
)
def test_a_bad_host_is_refused(data_dir: str, host: str, complaint: str) -> None:
    done = switchboard("serve", "--host", host, "--port", "0", "--data-dir", data_dir)
    refused(done, EXIT_LISTEN, host, complaint, "use 127.0.0.1")


@pytest.mark.parametrize(
    ("url", "fixed"),
    [
        ("postgresql://me:secret@db/sb", "write postgresql+asyncpg://me:***@db/sb"),
        ("postgres://me@db/sb", "write postgresql+asyncpg://me@db/sb"),
        ("mysql://me@db/sb", "use postgresql+asyncpg://"),
    ],
)
def test_a_database_url_without_our_driver_says_what_to_write(url: str, fixed: str) -> None:
    done = switchboard("serve", "--database-url", url)
    line = refused(done, EXIT_CONFIG, fixed)
    assert "secret" not in done.stderr
    assert done.stderr == line + "\n"  # one line: nothing started


def test_a_port_out_of_range_is_a_one_line_usage_error() -> None:
    done = switchboard("serve", "--port", "99999")
    line = refused(done, EXIT_CONFIG, "'99999' is not a port number", "0-65535")
    assert done.stderr == line + "\n"


def test_a_port_out_of_range_in_the_environment_is_refused(data_dir: str) -> None:
    env = {"SWITCHBOARD_PORT": "70000", "PATH": "/usr/bin:/bin"}
    done = switchboard("serve", "--data-dir", data_dir, env=env)
    refused(done, EXIT_CONFIG, "port 70000 is not a port number")


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "state"
    afile.write_text("not a directory")
    for command in (["serve"], ["numbers", "list"], ["connection-string"]):
        done = switchboard(*command, "--data-dir", str(afile))
        refused(done, EXIT_DATA_DIR, f"{afile} is a file", "--data-dir")


def test_an_unknown_log_level_lists_the_levels(tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    config.write_text('[server]\nlog_level = "verbose"\n')
    done = switchboard("serve", "--config", str(config))
    refused(done, EXIT_CONFIG, "log_level 'verbose'", "debug, info, warning, error")


def test_a_misspelled_section_names_the_nearest_one(tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    config.write_text("[sever]\nport = 0\n")
    done = switchboard("serve", "--config", str(config))
    refused(done, EXIT_CONFIG, "Unknown section [sever]", "did you mean [server]?")


def test_a_misspelled_setting_names_the_nearest_one(tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    config.write_text("[server]\nprot = 0\n")
    done = switchboard("serve", "--config", str(config))
    refused(done, EXIT_CONFIG, "Unknown setting 'prot'", "did you mean 'port'?")


def test_a_setting_outside_server_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "sb.toml"
    config.write_text("port = 0\n[server]\nhost = '127.0.0.1'\n")
    done = switchboard("serve", "--config", str(config))
    refused(done, EXIT_CONFIG, "'port'", "outside [server]")


def test_an_unknown_option_is_one_line() -> None:
    done = switchboard("serve", "--prot", "8443")
    line = refused(done, EXIT_CONFIG, "unrecognized arguments: --prot", "--help")
    assert done.stderr == line + "\n"
