"""``omniretail loyalty ...`` is mounted on the command-line root and runs on a database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from omniretail.commands.main import app


@pytest.fixture
def db(tmp_path, monkeypatch) -> list[str]:
    monkeypatch.setenv("OMNIRETAIL_DATA_DIR", str(tmp_path))
    return ["--db", f"sqlite:///{tmp_path / 'loyalty.db'}"]


def test_loyalty_jobs_run_on_an_empty_database(db):
    result = CliRunner().invoke(app, ["loyalty", "jobs", *db])
    assert result.exit_code == 0, result.output
    assert "released 0 lots, expired 0 lots, 0 birthday coupons" in result.output


def test_loyalty_recompute_finds_no_drift_on_an_empty_database(db):
    result = CliRunner().invoke(app, ["loyalty", "recompute", "--check", *db])
    assert result.exit_code == 0, result.output
    assert "ok: 0 accounts match the ledger" in result.output


def test_the_root_lists_the_loyalty_commands():
    result = CliRunner().invoke(app, ["loyalty", "--help"])
    assert result.exit_code == 0, result.output
    assert "backfill" in result.output and "recompute" in result.output
