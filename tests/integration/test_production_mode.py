"""``serve --mode production`` enforces the checklist (docs/deploy.md): it refuses SQLite and
a database whose schema is not the newest (``switchboard db upgrade`` migrates it, on
purpose), and says in one line each what it tolerates (the in-process bus, the local CA,
/metrics open to anyone)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.cli_run import refused, switchboard

EXIT_CONFIG, EXIT_DATABASE = 2, 4


def test_production_refuses_sqlite(tmp_path: Path) -> None:
    done = switchboard("serve", "--mode", "production", "--data-dir", str(tmp_path))
    line = refused(done, EXIT_CONFIG)
    assert "production mode refuses SQLite" in line and "--database-url" in line
    assert not (tmp_path / "switchboard.db").exists()  # refused before anything was made


def test_production_refuses_an_unmigrated_database_until_db_upgrade(
    private_postgres_url: str, tmp_path: Path
) -> None:
    url = ("--database-url", private_postgres_url)
    data = ("--data-dir", str(tmp_path / "data"))

    stopped = switchboard("serve", "--mode", "production", "--port", "0", *url, *data)
    line = refused(stopped, EXIT_DATABASE)
    assert "no Switchboard tables" in line and "switchboard db upgrade" in line
    warnings = [w for w in stopped.stderr.splitlines() if w.startswith("switchboard: warning:")]
    assert len(warnings) == 3, stopped.stderr  # the bus, the local CA, /metrics
    assert any("--redis-url" in w for w in warnings)
    assert any("ca.pem" in w and "--tls-cert" in w for w in warnings)
    assert any("metrics_allowed_networks" in w for w in warnings)

    behind = switchboard("db", "check", *url, *data)
    assert "run `switchboard db upgrade`" in behind.stdout
    assert behind.returncode == EXIT_DATABASE

    upgraded = switchboard("db", "upgrade", *url, *data)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "(was empty)" in upgraded.stdout
    current = switchboard("db", "check", *url, *data)
    assert current.returncode == 0 and "the newest" in current.stdout
    # A migrated database starts production nodes: tests/multinode/test_behind_nginx.py.
