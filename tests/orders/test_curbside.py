"""Curbside through the HTTP API: offered only at stores with the curbside capability, routed
and checked out like click & collect, the customer says "I'm here" from the tracking link, the
store is told, the order is handed over at the kerb with the pickup code."""

from __future__ import annotations

from omniretail.db.outbox import list_events
from omniretail.messaging.senders import RecordingPushSender, SentPush
from tests.orders.network import (
    add,
    advance,
    assert_verified,
    checkout,
    ledger_kinds,
    make_orders_network,
    new_cart,
    ok,
    order_events,
    receive,
    step,
    stock,
    waiting_code,
)

NEAR_STORES = {"lat": 51.5270, "lon": -0.1420}  # between Oxford St (LON1) and Camden (LON2)


def test_curbside_pickup_with_arrival_and_handover_at_the_kerb(container, client, notices):
    make_orders_network(container)  # LON1 has kerbside bays, LON2 does not
    receive(container, "A1", "LON1", 2)
    receive(container, "A1", "LON2", 2)
    container.senders.push = push = RecordingPushSender()
    token = new_cart(client)
    ok(add(client, token, "A1", 1, location="LON1"))

    options = ok(client.get(f"/api/v1/carts/{token}/fulfilment-options", params=NEAR_STORES))
    offered = sorted(
        (o["method"], o["location"], o["available"])
        for o in options["options"]
        if o["location"] in ("LON1", "LON2")
    )
    assert offered == [
        ("curbside", "LON1", True),
        ("pickup_in_store", "LON1", True),
        ("pickup_in_store", "LON2", True),
    ]
    kerb = next(o for o in options["options"] if o["method"] == "curbside")
    assert (kerb["promise_date"], kerb["sources"]) == ("2026-11-02", ["LON1"])
    assert kerb["ready_by"].startswith("2026-11-02T11:00")

    refused = checkout(client, token, "curbside", pickup="LON2")
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/no-route")
    assert stock(client, "A1", "LON2") == (2, 0, 0, 0)
    assert "order_confirmed" not in order_events(container)

    order = ok(checkout(client, token, "curbside", pickup="LON1"), 201)
    number = order["number"]
    [f] = order["fulfilments"]
    assert (f["method"], f["location"], f["pickup_location"]) == ("curbside", "LON1", "LON1")
    assert stock(client, "A1", "LON1") == (2, 0, 1, 0)

    arrive = f"{order['tracking_url']}/pickup/0/arrived"
    early = client.post(arrive, json={"bay": "4"})
    assert early.status_code == 409
    assert early.json()["type"].endswith("/not-waiting-at-the-kerb")

    order = advance(client, f["id"], "accept", "pick", "pack", "ready")
    assert order["status"] == "ready_for_pickup"
    code = waiting_code(container, order)
    notices.deliver()  # the relay mails the code while the order waits
    page = client.get(order["tracking_url"]).text
    assert f'action="{arrive}"' in page
    assert "I'm here</button>" in page

    assert client.post(arrive, json={"bay": "x" * 21}).status_code == 422
    answer = client.post(arrive, json={"bay": "4", "vehicle": "blue Golf"})
    here = ok(answer)
    assert answer.headers["cache-control"] == "no-store"  # it carries the pickup code
    assert here["fulfilments"][0]["status"] == "ready_for_pickup"
    by_form = client.post(arrive, data={"bay": "4"}, follow_redirects=False)
    assert (by_form.status_code, by_form.headers["location"]) == (303, order["tracking_url"])
    log = ok(client.get(f"/api/v1/orders/{number}/log"))
    assert [
        (e["action"], e["actor"], e["detail"]) for e in log if e["action"] == "customer_arrived"
    ] == [
        ("customer_arrived", "customer:tracking-link", {"bay": "4", "vehicle": "blue Golf"}),
        ("customer_arrived", "customer:tracking-link", {"bay": "4", "vehicle": None}),
    ]

    order = ok(step(client, f["id"], "collect", {"pickup_code": code}))
    assert order["status"] == "completed"
    assert stock(client, "A1", "LON1") == (1, 0, 0, 0)
    assert stock(client, "A1", "LON2") == (2, 0, 0, 0)
    assert ledger_kinds(client, "A1", "LON1") == ["receipt", "reserve", "allocate", "fulfil"]
    assert_verified(client)
    assert order_events(container)[-4:] == [
        "ready_for_pickup",
        "curbside_arrived",
        "curbside_arrived",
        "collected",
    ]
    with container.read_uow() as uow:  # what the customer drives stays out of the outbox
        arrived = list_events(uow.session, type_prefix="omniretail.orders.curbside_arrived")
    assert [(e.data.get("vehicle"), e.data["arrival"]) for e in arrived] == [(None, 1), (None, 2)]

    notices.deliver()
    assert notices.subjects() == [
        ("ada@example.com", f"Order {number} confirmed"),
        ("ada@example.com", f"Order {number} is ready for curbside pickup at London Oxford St"),
    ]
    confirmed, ready = notices.emails()
    assert "You will collect it from:\nLondon Oxford St" in confirmed.text
    assert f"Pickup code: {code}" in ready.text
    assert "park in a bay signed for curbside collection" in ready.text
    assert (
        f'press "I\'m here" on your order page (http://127.0.0.1:8000{order["tracking_url"]})'
        in (ready.text)
    )
    assert "Show this code at the counter." not in ready.text
    assert notices.webhooks() == [
        ("order_confirmed", number),
        ("ready_for_pickup", number),
        ("curbside_arrived", number),
        ("curbside_arrived", number),
        ("collected", number),
    ]
    title = f"Curbside: the customer of order {number} is here"
    assert push.sent == [
        SentPush(
            "store:LON1",
            title,
            f"Order {number} is at the kerb of London Oxford St, bay 4 (blue Golf)."
            " Take it out to the car.",
        ),
        SentPush(
            "store:LON1",
            title,
            f"Order {number} is at the kerb of London Oxford St, bay 4. Take it out to the car.",
        ),
    ]


def test_routing_rules_can_filter_on_the_curbside_capability(container, client):
    make_orders_network(container)
    receive(container, "A1", "LON2", 1)
    rules = {
        "name": "click & collect only where there are kerbside bays",
        "rules": {
            "filters": [
                {"rule": "channel"},
                {"rule": "capability", "capability": "curbside", "methods": ["pickup_in_store"]},
            ]
        },
    }
    ok(client.put("/api/v1/routing/rules", json=rules), 201)

    def simulate(method: str) -> dict:
        return ok(
            client.post(
                "/api/v1/routing/simulate",
                json={
                    "channel": "WEB",
                    "lines": [{"sku": "A1", "quantity": 1}],
                    "method": method,
                    "pickup_location": "LON2",
                },
            )
        )

    decision = simulate("pickup_in_store")
    lon2 = next(c for c in decision["candidates"] if c["location"] == "LON2")
    assert (decision["ok"], lon2["excluded_by"]) == (False, ["capability: lacks curbside"])
    decision = simulate("curbside")
    lon2 = next(c for c in decision["candidates"] if c["location"] == "LON2")
    assert (decision["ok"], lon2["excluded_by"]) == (
        False,
        ["method: does not offer curbside pickup"],
    )
