"""Reorder points from the forecast, written into inventory (``replenish plan`` and the bulk
policy upsert), on a synthetic history with known demand; SQLite and PostgreSQL."""

from __future__ import annotations

import math

import polars as pl
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from omniretail.commands.main import app
from omniretail.intelligence import service
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import PolicyWrite
from omniretail.inventory.service import PolicyRow, set_policies
from tests.intelligence.helpers import (
    AS_OF,
    GONE,
    SLOW,
    STEADY,
    cli_env,
    events,
    import_synthetic,
    levels,
    make_network,
    receive,
)

SUGGESTED = "omniretail.inventory.replenishment_suggested"
POLICY_SET = "omniretail.inventory.policy_set"
Z = float(norm.ppf(0.95))


def test_replenish_plan_writes_reorder_points_from_the_forecast(container, tmp_path):
    import_synthetic(container, tmp_path)
    make_network(container)
    receive(container, SLOW, "DC1", 500)  # 125 weeks of cover: overstocked
    receive(container, GONE, "LON1", 20)  # a discontinued line still in a store
    receive(container, STEADY, "LON1", 30)
    with container.uow() as uow:  # the store's own policy, set by an operator
        inventory.set_policy(
            uow,
            STEADY,
            "LON1",
            PolicyWrite(safety_stock=2, reorder_point=5, order_up_to=10),
            actor="test",
        )
    out = tmp_path / "plan.csv"

    result = CliRunner().invoke(
        app, ["replenish", "plan", "--out", str(out)], env=cli_env(container, tmp_path)
    )

    assert result.exit_code == 0, result.output
    assert "planning DC1" in result.output
    # The forecast the command used: 12 weeks from the day after the history.
    forecast = service.forecast_demand(service.load_history(container.read_engine), AS_OF, 12)
    row = forecast.skus.index(STEADY)
    weekly = forecast.quantities[row]
    assert weekly == pytest.approx([weekly[0]] * 12)  # no year of history: flat
    assert 9.0 < weekly[0] < 11.0  # 5 and 15 in turn; the cancelled 5000 left no trace
    assert forecast.weekly_sd[row] == pytest.approx(5.0)
    reorder_point = math.ceil(2 * weekly[0] + Z * 5.0 * math.sqrt(2))
    order_up_to = math.ceil(3 * weekly[0] + Z * 5.0 * math.sqrt(3))
    assert 30 <= reorder_point <= 33 and 42 <= order_up_to <= 47
    stock = levels(container)
    # The channel's warehouse gets the policy (a new record, nothing on hand)...
    assert stock[(STEADY, "DC1")] == (0, 0, reorder_point, order_up_to)
    slow = forecast.quantities[forecast.skus.index(SLOW)][0]
    assert slow == pytest.approx(4.0)
    assert forecast.weekly_sd[forecast.skus.index(SLOW)] == 0.0
    assert stock[(SLOW, "DC1")] == (500, 0, math.ceil(2 * slow), math.ceil(3 * slow))
    # ...the store's operator-set policy and the dead line are left alone.
    assert stock[(STEADY, "LON1")] == (30, 2, 5, 10)
    assert (GONE, "DC1") not in stock
    assert stock[(GONE, "LON1")] == (20, 0, None, None)
    # Below its reorder point: a suggestion with the gap to order-up-to; not for SLOW.
    suggested = {e["sku"]: e for e in events(container, SUGGESTED) if e["location"] == "DC1"}
    assert suggested[STEADY]["position"] == 0
    assert suggested[STEADY]["reorder_point"] == reorder_point
    assert suggested[STEADY]["suggested_quantity"] == order_up_to
    assert SLOW not in suggested
    # What to do: LON1 holds 20 above its order-up-to level, the rest is ordered.
    plan = (
        pl.read_csv(out, schema_overrides={"sku": pl.String})
        .filter(pl.col("sku") == STEADY)
        .sort("action")
    )
    assert plan.select("action", "location", "from_location", "quantity").rows() == [
        ("order", "DC1", None, order_up_to - 20),
        ("transfer", "DC1", "LON1", 20),
    ]
    # Markdown candidates: the overstocked SKU and the discontinued line.
    assert "markdown candidates" in result.output
    assert "2 markdown candidates" in result.output

    written = len(events(container, POLICY_SET))

    again = CliRunner().invoke(app, ["replenish", "plan"], env=cli_env(container, tmp_path))

    assert again.exit_code == 0, again.output
    assert levels(container) == stock
    assert len(events(container, POLICY_SET)) == written  # unchanged policies: no events


def test_replenish_plan_explains_a_network_without_a_warehouse(container, tmp_path):
    import_synthetic(container, tmp_path)  # a plain import: the web channel has no locations

    result = CliRunner().invoke(app, ["replenish", "plan"], env=cli_env(container, tmp_path))

    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "no reorder points written: no location serves channel WEB" in text
    assert "omniretail demo --no-serve" in text
    assert levels(container) == {}
    assert events(container, POLICY_SET) == []


def test_the_bulk_upsert_changes_only_what_differs_and_keeps_safety_stock(container, tmp_path):
    import_synthetic(container, tmp_path)
    make_network(container)
    receive(container, STEADY, "DC1", 40)
    with container.uow() as uow:
        inventory.set_policy(
            uow,
            STEADY,
            "DC1",
            PolicyWrite(safety_stock=3, reorder_point=5, order_up_to=9),
            actor="operator",
        )
    rows = [PolicyRow(STEADY, "DC1", 45, 60), PolicyRow(SLOW, "DC1", 8, 12)]

    with container.uow() as uow:
        changed = set_policies(uow, rows, actor="system:intelligence")

    assert changed == 2
    stock = levels(container)
    assert stock[(STEADY, "DC1")] == (40, 3, 45, 60)  # the operator's safety stock stays
    assert stock[(SLOW, "DC1")] == (0, 0, 8, 12)
    suggested = [
        (e["sku"], e["position"], e["suggested_quantity"]) for e in events(container, SUGGESTED)
    ]
    assert suggested == [(STEADY, 40, 20), (SLOW, 0, 12)]
    policy_events = len(events(container, POLICY_SET))

    with container.uow() as uow:
        assert set_policies(uow, rows, actor="system:intelligence") == 0
        assert set_policies(uow, [PolicyRow(SLOW, "DC1", 8, 13)], actor="test") == 1

    assert levels(container)[(STEADY, "DC1")] == (40, 3, 45, 60)
    assert levels(container)[(SLOW, "DC1")] == (0, 0, 8, 13)
    assert len(events(container, POLICY_SET)) == policy_events + 1
