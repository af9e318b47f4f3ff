"""Routing rules as versioned data; simulate explains decisions (API and CLI)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from omniretail.commands.main import app as cli
from omniretail.routing.service import (
    DEFAULT_RULES,
    FulfilmentMethod,
    Inputs,
    Need,
    RouteRequest,
    RuleSet,
    Site,
    route,
)
from tests.orders.network import (
    HOME,
    add,
    checkout,
    make_orders_network,
    new_cart,
    ok,
    receive,
)


def _simulate(client, **body):
    payload = {"channel": "WEB", "lines": [{"sku": "A1", "quantity": 2}], **body}
    return ok(client.post("/api/v1/routing/simulate", json=payload))


def test_simulate_explains_which_rule_excluded_whom_and_why_the_winner_won(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    receive(container, "A1", "LON2", 2)
    receive(container, "A1", "MAN1", 1)

    decision = _simulate(client, latitude=HOME["lat"], longitude=HOME["lon"])
    assert decision["ok"] is True
    assert decision["rule_version"] == 0
    [winner] = decision["assignments"]
    assert winner["location"] == "LON2"
    assert "ranked first by distance" in winner["why"]
    by_location = {c["location"]: c for c in decision["candidates"]}
    assert by_location["LON2"]["rank"] == 1
    assert by_location["DC1"]["eligible"] is True
    assert by_location["LOCK1"]["excluded_by"][0] == "method: does not ship to home"
    assert any(r.startswith("channel:") for r in by_location["LOCK1"]["excluded_by"])
    assert by_location["LON1"]["excluded_by"] == [
        "stock: none of the requested SKUs available to promise here"
    ]

    rules = {
        "name": "warehouse first within 100 km",
        "rules": {
            "filters": [
                {"rule": "channel"},
                {"rule": "location_kind", "kinds": ["warehouse"]},
                {"rule": "distance", "max_km": 100},
            ],
            "sorts": [{"by": "cost"}],
            "limits": {"max_splits": 1},
        },
    }
    saved = ok(client.put("/api/v1/routing/rules", json=rules), 201)
    assert saved["version"] == 1
    decision = _simulate(client, latitude=HOME["lat"], longitude=HOME["lon"])
    assert (decision["ok"], decision["rule_version"]) == (False, 1)
    dc1 = next(c for c in decision["candidates"] if c["location"] == "DC1")
    assert dc1["excluded_by"][0].startswith("distance: 1")
    lon2 = next(c for c in decision["candidates"] if c["location"] == "LON2")
    assert lon2["excluded_by"] == ["location_kind: store not in ['warehouse']"]
    assert "no location passes the rules" in decision["summary"]

    old = _simulate(client, latitude=HOME["lat"], longitude=HOME["lon"], version=0)
    assert (old["ok"], old["rule_version"]) == (True, 0)
    versions = ok(client.get("/api/v1/routing/rules/versions"))
    assert [v["version"] for v in versions] == [1]
    assert ok(client.get("/api/v1/routing/rules"))["name"] == "warehouse first within 100 km"

    bad = client.put(
        "/api/v1/routing/rules",
        json={"name": "x", "rules": {"filters": [{"rule": "distance", "max_km": -1}]}},
    )
    assert bad.status_code == 422
    assert len(ok(client.get("/api/v1/routing/rules/versions"))) == 1


def test_checkout_routes_by_the_rules_in_force_and_records_their_version(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    receive(container, "A1", "LON2", 5)
    ok(
        client.put(
            "/api/v1/routing/rules",
            json={
                "name": "nearest, reservations not sticky",
                "rules": {
                    "filters": [{"rule": "channel"}],
                    "sorts": [{"by": "distance"}],
                    "prefer_reserved": False,
                },
            },
        ),
        201,
    )
    token = new_cart(client)
    cart = ok(add(client, token, "A1", 1, location="DC1"))
    assert cart["lines"][0]["location"] == "DC1"
    order = ok(checkout(client, token), 201)
    assert order["routing_version"] == 1
    assert [f["location"] for f in order["fulfilments"]] == ["LON2"]
    stock_dc1 = ok(client.get("/api/v1/inventory/stock/A1/DC1"))
    stock_lon2 = ok(client.get("/api/v1/inventory/stock/A1/LON2"))
    assert (stock_dc1["reserved"], stock_dc1["allocated"]) == (0, 0)
    assert (stock_lon2["reserved"], stock_lon2["allocated"]) == (0, 1)


def test_ship_from_store_respects_daily_capacity(container, client):
    make_orders_network(container)
    receive(container, "A1", "LON1", 10)
    orders = []
    for _ in range(3):
        token = new_cart(client)
        ok(add(client, token, "A1", 1, location="LON1"))
        orders.append(checkout(client, token))
    assert [r.status_code for r in orders[:2]] == [201, 201]
    assert orders[2].status_code == 409  # LON1 ships 2 a day; no other location has stock
    assert orders[2].json()["type"].endswith("/no-route")
    decision = _simulate(client, lines=[{"sku": "A1", "quantity": 1}])
    lon1 = next(c for c in decision["candidates"] if c["location"] == "LON1")
    assert lon1["excluded_by"] == ["daily_capacity: all 2 used today"]

    first = orders[0].json()
    ok(client.post(f"/api/v1/orders/{first['number']}/cancel", json={}))
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))
    assert checkout(client, token).status_code == 201  # the cancelled order gave its slot back


def test_cli_route_simulate(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    url = container.engine.url.render_as_string(hide_password=False)
    env = {"OMNIRETAIL_DATABASE_SCHEMA": container.settings.database_schema or ""}
    base = ["route", "simulate", "--db", url, "--channel", "WEB"]
    result = CliRunner().invoke(cli, [*base, "--line", "A1:2", "--json"], env=env)
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert [a["location"] for a in decision["assignments"]] == ["DC1"]
    result = CliRunner().invoke(cli, [*base, "--line", "A1:9"], env=env)
    assert result.exit_code == 1
    assert "no route" in result.output


def test_split_limits_are_applied_by_the_engine():
    sites = {
        code: Site(code, code, "warehouse", 51.5, -0.1, True, False, False, 0, frozenset({"WEB"}))
        for code in ("W1", "W2")
    }
    request = RouteRequest(
        needs=[Need("1", "A", 2), Need("2", "B", 1)],
        method=FulfilmentMethod.SHIP_TO_HOME,
        channel="WEB",
    )
    inputs = Inputs(sites, {("A", "W1"): 2, ("B", "W2"): 1}, {})
    split = route(DEFAULT_RULES, request, inputs)
    assert [(a.location, [t.sku for t in a.takes]) for a in split.assignments] == [
        ("W1", ["A"]),
        ("W2", ["B"]),
    ]
    no_split = RuleSet.model_validate(
        {**DEFAULT_RULES.model_dump(mode="json"), "limits": {"no_split_below": "100"}}
    )
    refused = route(no_split, request, inputs)
    assert refused.ok is False
    assert refused.summary == "cannot place 1 x B within 1 location(s) (max_splits)"
