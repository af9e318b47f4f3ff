"""Promotions are kept in each process (``pricing.promotion_index``): a change made anywhere
is priced at once, a scheduled promotion starts at its time, and the index finds promotions
by SKU, category and channel as the engine would."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from omniretail.bootstrap import build_container
from tests.orders.network import make_orders_network, ok

QUOTE = {"channel": "WEB", "lines": [{"sku": "A1", "quantity": 2}, {"sku": "B2", "quantity": 1}]}


def _quote(client) -> dict[str, list[tuple[str, str]]]:
    body = ok(client.post("/api/v1/pricing/quote", json=QUOTE))
    return {
        ln["sku"]: [(a["name"], a["amount"]) for a in ln["adjustments"]] for ln in body["lines"]
    }


def _promotion(client, code, **fields):
    ok(client.put(f"/api/v1/pricing/promotions/{code}", json=fields))


def test_a_change_is_priced_at_once_even_at_the_same_instant(container, client):
    make_orders_network(container)
    _promotion(
        client,
        "TENOFF",
        name="Ten off A1",
        effect={"type": "percent_off", "percent": "10", "skus": ["A1"]},
    )
    assert _quote(client) == {"A1": [("Ten off A1", "-4.00")], "B2": []}
    # the clock does not move: the stamp is not a time
    _promotion(
        client,
        "TENOFF",
        name="Half off A1",
        effect={"type": "percent_off", "percent": "50", "skus": ["A1"]},
    )
    assert _quote(client) == {"A1": [("Half off A1", "-20.00")], "B2": []}
    assert client.delete("/api/v1/pricing/promotions/TENOFF").status_code == 204
    assert _quote(client) == {"A1": [], "B2": []}


def test_another_process_change_is_seen_by_this_one(container, client):
    make_orders_network(container)
    _promotion(
        client,
        "B2OFF",
        name="B2 deal",
        effect={"type": "percent_off", "percent": "20", "skus": ["B2"]},
    )
    assert _quote(client) == {"A1": [], "B2": [("B2 deal", "-7.10")]}  # cached here now
    other = build_container(container.settings)  # another worker on the same database
    try:
        with other.uow() as uow:
            uow.session.execute(text("UPDATE promotions SET active = false WHERE code = 'B2OFF'"))
    finally:
        other.dispose()
    assert _quote(client) == {"A1": [], "B2": []}


def test_a_scheduled_promotion_starts_at_its_time_without_a_write(container, client, clock):
    make_orders_network(container)
    starts = clock.now() + timedelta(hours=1)
    _promotion(
        client,
        "LATER",
        name="From ten",
        effect={"type": "order_percent_off", "percent": "10"},
        valid_from=starts.isoformat(),
    )
    assert _quote(client) == {"A1": [], "B2": []}
    clock.advance(hours=2)
    assert _quote(client) == {"A1": [("From ten", "-4.00")], "B2": [("From ten", "-3.55")]}


def test_category_channel_and_condition_keys(container, client):
    make_orders_network(container)
    with container.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE products SET category = 'Shoes'"
                " WHERE code = (SELECT product_code FROM skus WHERE code = 'A1')"
            )
        )
    _promotion(
        client,
        "SHOES",
        name="Shoes",
        effect={"type": "amount_off", "amount": "1", "categories": ["Shoes"]},
        currency="GBP",
    )
    _promotion(
        client,
        "APPONLY",
        name="App only",
        effect={"type": "order_amount_off", "amount": "5"},
        currency="GBP",
        condition='channel == "APP"',
    )
    _promotion(
        client,
        "WITHB2",
        name="With B2",
        effect={"type": "order_amount_off", "amount": "2"},
        currency="GBP",
        condition='lines.exists(l, l.sku == "B2") && total >= 50.0',
    )
    assert _quote(client) == {
        "A1": [("Shoes", "-2.00"), ("With B2", "-1.05")],
        "B2": [("Shoes", "-1.00"), ("With B2", "-0.95")],  # A1 and B2: one product
    }
