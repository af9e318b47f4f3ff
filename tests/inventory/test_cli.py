"""``omniretail inventory verify|sweep`` and ``omniretail events tail`` (Typer CliRunner)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from omniretail.bootstrap import Container
from omniretail.commands.main import app
from omniretail.inventory import service
from omniretail.inventory.schemas import SaleCreate
from tests.conftest import FixedClock
from tests.factories import make_network, receive
from tests.inventory.state import assert_verified, counters, event_types_after

SKU = "10001"


@pytest.fixture
def cli(container: Container):
    """Invokes the CLI against the test's database (URL and, on PostgreSQL, its schema)."""
    runner = CliRunner()
    env = {"OMNIRETAIL_DATABASE_SCHEMA": container.settings.database_schema or ""}

    def invoke(*args: str):
        return runner.invoke(app, [*args, "--db", container.settings.database_url], env=env)

    return invoke


def test_verify_exits_zero_when_counters_match_the_ledger(container, cli):
    make_network(container)
    receive(container, SKU, "LON1", 3)
    result = cli("inventory", "verify")
    assert result.exit_code == 0, result.output
    assert "ok: 1 stock records match the ledger" in result.output


def test_verify_exits_one_and_shows_the_drift(container, cli):
    make_network(container)
    receive(container, SKU, "LON1", 3)
    with container.engine.begin() as conn:
        conn.execute(text("UPDATE stock_levels SET on_hand = 7"))
    result = cli("inventory", "verify")
    assert result.exit_code == 1
    assert "drift: 1 counters differ (1 checked)" in result.output
    assert "on_hand" in result.output and "LON1" in result.output


def test_sweep_releases_expired_reservations(container, cli, clock: FixedClock):
    make_network(container)
    receive(container, SKU, "LON1", 3)
    # The CLI runs on the real clock: these holds expired an hour ago.
    clock.current = datetime.now(UTC) - timedelta(hours=1)
    for _ in range(2):
        with container.uow() as uow:
            service.reserve_stock(
                uow, SaleCreate(sku=SKU, location="LON1", channel="WEB", quantity=1), actor="t"
            )
    result = cli("inventory", "sweep")
    assert result.exit_code == 0, result.output
    assert "released 2 expired reservations" in result.output
    assert counters(container, SKU, "LON1")["reserved"] == 0
    assert cli("inventory", "sweep").output.strip() == "released 0 expired reservations"
    assert_verified(container)


def test_events_tail_prints_cloud_events_one_per_line(container, cli):
    make_network(container)
    receive(container, SKU, "LON1", 3)
    receive(container, SKU, "LON2", 1)
    result = cli("events", "tail", "--last", "2")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines()]
    assert [e["type"] for e in events] == ["omniretail.inventory.received"] * 2
    assert [e["data"]["location"] for e in events] == ["LON1", "LON2"]
    for event in events:
        assert event["specversion"] == "1.0"
        assert event["source"] == "urn:omniretail"
        assert event["subject"].startswith(f"stock/{SKU}@")
        assert event["time"].endswith("Z")
        assert event["datacontenttype"] == "application/json"
    result = cli("events", "tail", "--last", "100", "--type", "omniretail.inventory")
    lines = result.output.splitlines()
    assert len(lines) == event_types_after(container).count("omniretail.inventory.received")
