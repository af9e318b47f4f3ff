"""``omniretail demo --reset`` deletes only the embedded database, after confirmation."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from omniretail.bootstrap import Container
from omniretail.commands.main import app
from tests.demo.test_demo import demo_env
from tests.history.logs import write_log

ARGS = ["--no-serve", "--no-intelligence"]


def embedded_env(data_dir: Path) -> dict[str, str | None]:
    """No database URL and no secret key in the environment: the demo's own SQLite file."""
    return {
        "OMNIRETAIL_DATA_DIR": str(data_dir),
        "OMNIRETAIL_DATA": None,
        "OMNIRETAIL_DATABASE_URL": None,
        "OMNIRETAIL_DATABASE_SCHEMA": None,
        "OMNIRETAIL_SECRET_KEY": None,
        "OMNIRETAIL_SECRET_KEYS": None,
    }


def test_reset_asks_then_deletes_the_embedded_database_and_key_and_builds_afresh(
    tmp_path: Path,
) -> None:
    log = write_log(tmp_path / "log.parquet")
    data_dir = tmp_path / "data"
    env = embedded_env(data_dir)
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--data", str(log), *ARGS], env=env)
    assert first.exit_code == 0, first.output
    db, key = data_dir / "omniretail.db", data_dir / "secret.key"
    assert f"database: embedded SQLite file {db}" in first.output
    assert "start over: `omniretail demo --reset`" in first.output
    old_key = key.read_text()

    declined = runner.invoke(
        app, ["demo", "--data", str(log), *ARGS, "--reset"], env=env, input="n\n"
    )
    assert declined.exit_code == 1, declined.output
    assert "nothing deleted" in declined.output
    assert key.read_text() == old_key and db.exists()

    again = runner.invoke(app, ["demo", "--data", str(log), *ARGS, "--reset", "--yes"], env=env)
    assert again.exit_code == 0, again.output
    assert str(db) in again.output and "deleted" in again.output
    # Built from nothing: a new key, and the network and history are created again.
    assert key.read_text() != old_key
    assert "network: created" in again.output
    assert "imported" in again.output and "was imported before" not in again.output


def test_reset_refuses_a_configured_database_and_deletes_nothing(
    container: Container, tmp_path: Path
) -> None:
    log = write_log(tmp_path / "log.parquet")
    env = demo_env(container, tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--data", str(log), *ARGS], env=env)
    assert first.exit_code == 0, first.output
    assert "--reset" not in first.output  # no way to start over is offered for this database

    refused = runner.invoke(app, ["demo", "--data", str(log), *ARGS, "--reset", "--yes"], env=env)
    assert refused.exit_code == 2, refused.output
    assert "--reset refused" in refused.output
    again = runner.invoke(app, ["demo", "--data", str(log), *ARGS], env=env)
    assert "network: the demo network exists" in again.output, again.output
