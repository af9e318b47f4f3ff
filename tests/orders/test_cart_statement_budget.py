"""Creating a cart and adding lines stay within their SQL statement budgets (Server-Timing
``sql`` of the request, as ``benchmarks/checkout.py`` adds them up per flow), and the answer,
built from the rows as written rather than read back, is the cart as it is then read.

PostgreSQL, with the API key's look-up and the audit row:

- a new cart: the key's look-up, then at commit one statement with the cart, the audit row
  and the outbox (``db.batch``): 2;
- a first line: the key, the cart's version bump (its row lock) with the cart read (one
  statement), the pricing read with the promotions stamp (an anonymous cart without coupons
  reads nothing else about promotions), the conditional stock update, then at commit the
  reservation, its ledger row, the line, the audit row and the outbox: 5 at a location the
  request names; routed, the stock read and the ship-from-store capacity left (a store here
  has a daily limit) choose the location: 7;
- each line already in the cart adds its reservation's refresh and its line's new expiry: 2.

SQLite has no data-modifying CTE: each held write is a statement of its own, and the bump
and the cart read are two.
"""

from __future__ import annotations

import re

import pytest

from tests.orders.network import (
    add,
    checkout,
    make_customer,
    make_orders_network,
    new_cart,
    ok,
    receive,
)

# (new cart, first line routed, per line already there); a line at a named location: 2 fewer
BUDGET = {"postgres": (2, 7, 2), "sqlite": (4, 12, 2)}


def _sql(response) -> int:
    match = re.search(r'sql;desc="(\d+)"', response.headers["server-timing"])
    assert match, response.headers["server-timing"]
    return int(match.group(1))


@pytest.mark.parametrize("location", [None, "DC1"], ids=["routed", "chosen"])
def test_cart_statement_counts(container, client, backend, location):
    make_orders_network(container)
    for sku in ("A1", "B2", "C3"):
        receive(container, sku, "DC1", 10)
    # a first cart warms the channel's settings, the tax rates and the promotions index
    warm = new_cart(client)
    ok(add(client, warm, "C3", 1))
    cart_budget, line_budget, per_line = BUDGET[backend]
    if location is not None:
        line_budget -= 2
    extra = {"location": location} if location else {}

    created = client.post("/api/v1/carts", json={"channel": "WEB"})
    body = ok(created, 201)
    assert _sql(created) <= cart_budget
    token = body["token"]
    assert ok(client.get(f"/api/v1/carts/{token}")) == body

    first = add(client, token, "A1", 1, **extra)
    body = ok(first)
    assert _sql(first) <= line_budget
    assert ok(client.get(f"/api/v1/carts/{token}")) == body

    second = add(client, token, "B2", 2, **extra)
    body = ok(second)
    assert _sql(second) <= line_budget + per_line
    assert [(ln["sku"], ln["quantity"]) for ln in body["lines"]] == [("A1", 1), ("B2", 2)]
    assert ok(client.get(f"/api/v1/carts/{token}")) == body

    # the same SKU again: its reservation is taken anew for the sum
    again = add(client, token, "A1", 2, **extra)
    body = ok(again)
    assert [(ln["sku"], ln["quantity"]) for ln in body["lines"]] == [("A1", 3), ("B2", 2)]
    assert ok(client.get(f"/api/v1/carts/{token}")) == body
    report = ok(client.get("/api/v1/inventory/verify"))
    assert report["drift"] == []


# A line no location can serve: the bump with the cart read, the pricing read, the stock read
# and the capacity left, the expired holds released (none), and no second stock read for the
# refusal (it quotes the stock the decision was made on). SQLite: the bump and the read are
# two, and the key is read (no principal cache).
REFUSED = {"postgres": 5, "sqlite": 7}


def test_a_line_no_location_can_serve_is_refused_on_the_stock_it_was_routed_on(
    container, client, backend
):
    make_orders_network(container)
    receive(container, "A1", "DC1", 2)
    warm = new_cart(client)
    ok(add(client, warm, "A1", 1))
    token = new_cart(client)
    refused = add(client, token, "A1", 5)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["max_quantity"] == 1 and problem["available_in_channel"] == 1
    assert problem["alternatives"] == []
    assert _sql(refused) == REFUSED[backend]


def test_a_sku_sold_out_to_orders_is_refused_without_a_write(container, client, backend):
    """No unit of the SKU is held in a cart (the last one went to an order): there is no
    expired hold to release, so the refusal sends no UPDATE of the holds, one statement
    fewer than a refusal where carts hold units."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 1)
    buyer = new_cart(client)
    ok(add(client, buyer, "A1", 1))
    ok(checkout(client, buyer), 201)
    token = new_cart(client)
    refused = add(client, token, "A1", 1)
    assert refused.status_code == 409, refused.text
    assert refused.json()["max_quantity"] == 0
    assert _sql(refused) == REFUSED[backend] - 1


def test_the_units_held_in_carts_stay_out_of_the_availability_answer(container, client):
    """Routing reads them with the availability rows; the answer and its schema do not."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    ok(add(client, new_cart(client), "A1", 1))
    [row] = ok(client.get("/api/v1/inventory/availability", params={"sku": "A1"}))
    [dc1] = [loc for loc in row["locations"] if loc["location"] == "DC1"]
    assert dc1 == {"location": "DC1", "available": 2, "on_hand": 3}
    schemas = ok(client.get("/api/v1/openapi.json"))["components"]["schemas"]
    assert set(schemas["LocationAvailability"]["properties"]) == {
        "location",
        "available",
        "on_hand",
    }


def test_a_customer_s_line_priced_from_the_catalog_is_not_priced_again(container, client):
    """A customer's cart is priced in their context (one read more than a guest's: their
    promotions facts). A line priced from the catalog is priced on the channel alone too, so
    its sellability needs no second pricing; a line priced from a price list is priced again
    without the customer (a list of theirs alone would not make it sold on the channel)."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    receive(container, "B2", "DC1", 5)
    ok(client.put("/api/v1/prices/B2/WEB", json={"price": "9.00"}))
    ok(add(client, new_cart(client), "A1", 1))  # warm: the routing rules and sites
    ok(add(client, new_cart(client, "WEB", make_customer(container)), "A1", 1))
    for sku, source, again in (("A1", "SKU", 0), ("B2", "CHANNEL:WEB", 1)):
        guest = add(client, new_cart(client), sku, 1)
        mine = add(client, new_cart(client, "WEB", make_customer(container)), sku, 1)
        ok(guest)
        assert ok(mine)["lines"][0]["price_list"] == source
        assert _sql(mine) == _sql(guest) + 1 + again, sku
