"""Dynamic pricing on both databases, through the API: a rule raises a price when cover is
short and demand high, within the ceiling; the change is logged with its facts and reason;
the quote (the one engine) charges it; a second run the same day changes nothing; the next
day moves again up to the ceiling; a revert puts the price back; errors are problem+json and
a store associate cannot edit rules."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import text

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

RULE = {
    "name": "Short cover, hot demand",
    "channel": "WEB",
    "condition": "cover_days < 14.0 && demand_change > 50.0",
    "percent": "5",
    "ceiling_amount": "21.50",
}


def _order(client, sku: str, quantity: int) -> None:
    token = new_cart(client)
    ok(add(client, token, sku, quantity, location="DC1"))
    ok(checkout(client, token), 201)


def _forecast(container, sku: str, week: date, quantity: float) -> None:
    with container.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO product_forecasts (sku_code, period_start, quantity, model,"
                " computed_at) VALUES (:s, :p, :q, 'test', :c)"
            ),
            {"s": sku, "p": week, "q": quantity, "c": "2026-11-01 00:00:00+00:00"},
        )


def _hot_sku(container, client, clock) -> None:
    """A1 at DC1 (the web's warehouse): 8 sold three weeks ago (baseline 1 a week over 8
    weeks), 2 sold yesterday (+100 %), 10 left, forecast 1 a day: cover 10 days."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 20)
    _order(client, "A1", 8)
    clock.advance(days=20)
    _order(client, "A1", 2)
    clock.advance(days=1)
    today = clock.now().date()
    _forecast(container, "A1", today - timedelta(days=today.weekday()), 7.0)


def _quote(client) -> dict:
    body = {"channel": "WEB", "lines": [{"sku": "A1", "quantity": 1}]}
    return ok(client.post("/api/v1/pricing/quote", json=body))["lines"][0]


def test_a_run_raises_the_price_logs_why_and_the_quote_charges_it(container, client, clock):
    _hot_sku(container, client, clock)
    ok(client.put("/api/v1/dynamic-pricing/rules/hot", json=RULE))

    preview = ok(client.post("/api/v1/dynamic-pricing/preview", json={}))
    (proposal,) = [p for p in preview["proposals"] if p["sku"] == "A1"]
    assert (proposal["old_price"], proposal["new_price"], proposal["rule"]) == (
        "20.00",
        "21.00",
        "HOT",
    )
    assert preview["id"] is None and _quote(client)["unit_price"] == "20.00"  # nothing stored

    run = ok(client.post("/api/v1/dynamic-pricing/runs", json={}))
    assert (run["changed"], run["evaluated"]) == (1, 1)
    (change,) = ok(client.get("/api/v1/dynamic-pricing/changes"))
    assert (change["sku"], change["channel"], change["old_price"], change["new_price"]) == (
        "A1",
        "WEB",
        "20.00",
        "21.00",
    )
    assert (change["price_list"], change["old_list"], change["rule"]) == ("DYN:WEB", "SKU", "HOT")
    assert change["explanation"] == (
        "cover 10.0 days < 14 and demand +100 % vs 8-week mean > 50: +5 %"
    )
    facts = change["facts"]
    assert (facts["available"], facts["daily_demand"], facts["cover_days"]) == (10, 1.0, 10.0)
    assert (facts["recent_units"], facts["baseline_units"], facts["demand_change"]) == (
        2,
        1.0,
        100.0,
    )
    assert (facts["price"], facts["full_price"], facts["price_ratio"]) == (20.0, 20.0, 100.0)

    line = _quote(client)
    assert (line["unit_price"], line["price_list"]) == ("21.00", "DYN:WEB")

    # a second run the same day changes nothing
    again = ok(client.post("/api/v1/dynamic-pricing/runs", json={}))
    assert again["changed"] == 0
    assert again["proposals"][0]["explanation"] == "already changed today"
    assert len(ok(client.get("/api/v1/dynamic-pricing/changes"))) == 1

    # the next day: +5 % of 21.00 is 22.05, above the ceiling 21.50
    clock.advance(days=1)
    ok(client.post("/api/v1/dynamic-pricing/runs", json={}))
    latest = ok(client.get("/api/v1/dynamic-pricing/changes"))[0]
    assert (latest["old_price"], latest["new_price"], latest["old_list"]) == (
        "21.00",
        "21.50",
        "DYN:WEB",
    )
    assert latest["explanation"].endswith(": +5 % (ceiling £21.50)")
    assert _quote(client)["unit_price"] == "21.50"

    # the day after: at the ceiling, no change
    clock.advance(days=1)
    third = ok(client.post("/api/v1/dynamic-pricing/runs", json={}))
    assert third["changed"] == 0
    assert third["proposals"][0]["explanation"].endswith("+5 %: no change at ceiling £21.50")

    # revert the latest: the dynamic list holds 21.00 again; then the first: no dynamic entry
    reverted = ok(client.post(f"/api/v1/dynamic-pricing/changes/{latest['id']}/revert"))
    assert reverted["reverted_by"] is not None
    assert _quote(client)["unit_price"] == "21.00"
    ok(client.post(f"/api/v1/dynamic-pricing/changes/{change['id']}/revert"))
    line = _quote(client)
    assert (line["unit_price"], line["price_list"]) == ("20.00", "SKU")


def test_paused_rules_do_nothing_and_the_next_rule_by_priority_applies(container, client, clock):
    _hot_sku(container, client, clock)
    ok(client.put("/api/v1/dynamic-pricing/rules/hot", json={**RULE, "priority": 10}))
    ok(
        client.put(
            "/api/v1/dynamic-pricing/rules/slow",
            json={"name": "Any", "channel": "WEB", "percent": "-3", "floor_percent": "90"},
        )
    )
    ok(client.post("/api/v1/dynamic-pricing/rules/hot/pause"))
    run = ok(client.post("/api/v1/dynamic-pricing/runs", json={"dry_run": True}))
    (p,) = run["proposals"]
    assert (p["rule"], p["new_price"], p["explanation"]) == (
        "SLOW",
        "19.40",
        "cover 10.0 days and demand +100 % vs 8-week mean: -3 %",
    )
    assert ok(client.get("/api/v1/dynamic-pricing/changes")) == []  # a dry run stores nothing


def test_errors_are_problem_json_and_nothing_is_written(container, client, clock):
    make_orders_network(container)
    bad = client.put("/api/v1/dynamic-pricing/rules/x", json={**RULE, "condition": "cover_days <"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["type"].endswith("/invalid-rule-condition")
    assert bad.json()["field"] == "condition" if "field" in bad.json() else True
    zero = client.put("/api/v1/dynamic-pricing/rules/x", json={**RULE, "percent": "0"})
    assert zero.status_code == 422
    assert zero.headers["content-type"].startswith("application/problem+json")
    missing = client.get("/api/v1/dynamic-pricing/rules/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    unknown = client.post("/api/v1/dynamic-pricing/changes/99/revert")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert ok(client.get("/api/v1/dynamic-pricing/rules")) == []


def test_a_store_associate_reads_but_cannot_edit_rules(container, client, clock):
    make_orders_network(container)
    with container.uow() as uow:
        asha = auth.create_principal(
            uow,
            PrincipalCreate(
                username="asha-key", role=Role.STORE_ASSOCIATE, store_code="LON1", kind="system"
            ),
        )
        key = auth.create_api_key(uow, asha.id, "till").key
    headers = {"X-API-Key": key}
    refused = client.put("/api/v1/dynamic-pricing/rules/hot", json=RULE, headers=headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.post("/api/v1/dynamic-pricing/runs", json={}, headers=headers).status_code == 403
    assert ok(client.get("/api/v1/dynamic-pricing/rules", headers=headers)) == []


SLOW = {"name": "Any", "channel": "WEB", "percent": "-3", "floor_percent": "90"}


def test_the_durable_job_runs_the_rules_once_a_day(container, client, clock):
    _hot_sku(container, client, clock)
    ok(client.put("/api/v1/dynamic-pricing/rules/slow", json=SLOW))
    job = ok(client.post("/api/v1/dynamic-pricing/runs/job"), 202)
    assert job["kind"] == "pricing.dynamic"
    assert container.job_runner().run_until_idle() == 1
    done = ok(client.get(f"/api/v1/jobs/{job['id']}"))
    assert (done["state"], done["result"]["changed"], done["result"]["evaluated"]) == (
        "succeeded",
        1,
        1,
    )
    ok(client.post("/api/v1/dynamic-pricing/runs/job"), 202)
    container.job_runner().run_until_idle()
    (change,) = ok(client.get("/api/v1/dynamic-pricing/changes"))
    assert (change["new_price"], change["run_id"]) == ("19.40", done["result"]["run"])
    (first, second) = ok(client.get("/api/v1/dynamic-pricing/runs"))
    assert sorted([first["changed"], second["changed"]]) == [0, 1]


def test_the_cli_previews_then_applies(container, client, clock, tmp_path):
    from typer.testing import CliRunner

    from omniretail.commands.main import app
    from tests.intelligence.helpers import cli_env

    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    ok(client.put("/api/v1/dynamic-pricing/rules/slow", json=SLOW))
    env = cli_env(container, tmp_path)
    dry = CliRunner().invoke(app, ["pricing", "dynamic", "run", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "1 SKU x channel evaluated; would change 1" in dry.output
    assert "19.40" in dry.output
    assert ok(client.get("/api/v1/dynamic-pricing/changes")) == []
    real = CliRunner().invoke(app, ["pricing", "dynamic", "run"], env=env)
    assert real.exit_code == 0, real.output
    assert "changed 1" in real.output
    (change,) = ok(client.get("/api/v1/dynamic-pricing/changes"))
    assert (change["old_price"], change["new_price"], change["actor"]) == (
        "20.00",
        "19.40",
        "cli:dynamic-pricing",
    )


def test_the_daily_schedule_queues_one_run_a_day_after_its_time(container, client, clock):
    from datetime import time

    from omniretail.intelligence.jobs import queue_daily_run

    make_orders_network(container)  # the clock is 09:00
    with container.uow() as uow:
        assert queue_daily_run(uow, time(10, 0)) is None  # not yet
    with container.uow() as uow:
        queued = queue_daily_run(uow, time(6, 30))
    assert queued is not None and (queued.kind, queued.requested_by) == (
        "pricing.dynamic",
        "system:schedule",
    )
    with container.uow() as uow:
        assert queue_daily_run(uow, time(6, 30)) is None  # already queued
    container.job_runner().run_until_idle()
    with container.uow() as uow:
        assert queue_daily_run(uow, time(6, 30)) is None  # ran today
    clock.advance(days=1)
    with container.uow() as uow:
        assert queue_daily_run(uow, time(6, 30)) is not None  # the next day
