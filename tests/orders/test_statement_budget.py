"""A checkout stays within its SQL statement budget (Server-Timing ``sql`` of the request,
what ``benchmarks/checkout.py`` reports as ``sql_per_checkout``).

PostgreSQL, 8 with an Idempotency-Key and the audit row, whatever the number of lines:

- the API key's look-up (its principal is checked on every request, so a disabled one stops
  at once);
- the first transaction: the cart read, the pricing read (the SKUs with the price-list entries
  in force and, for an anonymous cart without coupons, the promotions stamp, all it needs to
  know about promotions; tax rates and the channel's fees are cached a few seconds), the
  cart's close (conditional on its version) with the order awaiting payment (its id is
  needed by its rows; one statement, the order written only if the cart closed), its
  reservations turned into allocations (one conditional UPDATE), then at commit one statement
  with every write nothing reads back (``db.batch``): the stock counters, the ledger rows, the
  fulfilments, the lines, the payment attempt, the audit row and the outbox;
- the card authorised with no transaction open;
- the second transaction: the attempt settled (conditional on its still being pending), then
  at commit one statement: the order confirmed, the reply stored with its key, the outbox.

The key is only looked up when the first transaction fails (a retry finds its cart checked
out and gets the stored reply). Ship-from-store adds the capacity slot (9).

SQLite has no data-modifying CTE: each of those writes is a statement of its own (17).
"""

from __future__ import annotations

import re

import pytest
from psycopg import _queries as psycopg_queries

from omniretail.db import batch
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

BUDGET = {"postgres": 8, "sqlite": 17}


def _sql(response) -> int:
    match = re.search(r'sql;desc="(\d+)"', response.headers["server-timing"])
    assert match, response.headers["server-timing"]
    return int(match.group(1))


def _shop(client, lines, location) -> str:
    token = new_cart(client)
    for sku, quantity in lines:
        ok(add(client, token, sku, quantity, location=location))
    # the flow a shopper follows (and which warms the location and rules caches)
    ok(client.get(f"/api/v1/carts/{token}/fulfilment-options"))
    return token


@pytest.mark.parametrize(
    ("lines", "location", "extra"),
    [
        ([("A1", 1)], "DC1", 0),
        ([("A1", 2), ("B2", 1)], "DC1", 0),
        ([("A1", 1)], "LON1", 1),
    ],
    ids=["one-line-warehouse", "two-lines-warehouse", "ship-from-store"],
)
def test_checkout_statement_count(container, client, backend, lines, location, extra):
    make_orders_network(container)
    for sku in ("A1", "B2"):
        receive(container, sku, location, 10)
    # a first order warms the channel's fee cache, as any order before it does in a shop
    ok(checkout(client, _shop(client, [("B2", 1)], location), key="warm-up"), 201)
    token = _shop(client, lines, location)
    response = checkout(client, token, key=f"budget-{location}-{len(lines)}")
    ok(response, 201)
    assert _sql(response) <= BUDGET[backend] + extra
    # what the batched writes left is what the order says
    order = response.json()
    assert [(ln["sku"], ln["quantity"]) for ln in order["lines"]] == list(lines)
    assert ok(client.get(f"/api/v1/orders/{order['number']}"))["status"] == "confirmed"
    report = ok(client.get("/api/v1/inventory/verify"))
    assert report["drift"] == []
    # a retry replays the stored reply
    again = checkout(client, token, key=f"budget-{location}-{len(lines)}")
    assert again.status_code == 201
    assert again.json() == order


def test_checkout_commit_batches_are_built_once(container, client, backend, monkeypatch):
    """Each of a checkout's commit batches (the order's rows; the confirmation with the stored
    reply) is made of statements built once, so the batch is built and compiled once and
    kept, and psycopg converts its text once: none of it is done again for the next
    checkout."""
    if backend != "postgres":
        pytest.skip("SQLite sends held writes one by one (no batch statement)")
    make_orders_network(container)
    for sku in ("A1", "B2"):
        receive(container, sku, "DC1", 10)
    warm = _shop(client, [("A1", 1)], "DC1")
    ok(checkout(client, warm, key="warm-up"), 201)

    fresh_batches: list[bool] = []
    build = batch._batch_statement

    def recording(built):
        statement = build(built)
        fresh_batches.append(statement not in batch._BATCHES.values())
        return statement

    parsed: list[int] = []
    parse = psycopg_queries._query2pg_nocache

    def uncached(query, encoding):
        parsed.append(len(query))
        return parse(query, encoding)

    compiled_before: list[bool] = []
    find = batch._compiled

    def recording_compiled(engine, built):
        key = tuple((id(statement), check is not None) for statement, _p, _t, check in built)
        compiled_before.append(key in batch._COMPILED)
        return find(engine, built)

    token = _shop(client, [("B2", 1)], "DC1")
    monkeypatch.setattr(batch, "_batch_statement", recording)
    monkeypatch.setattr(batch, "_compiled", recording_compiled)
    monkeypatch.setattr(psycopg_queries, "_query2pg_nocache", uncached)
    ok(checkout(client, token, key="second"), 201)
    assert True not in fresh_batches
    # the order's rows, the confirmation (and the cart's close): compiled at the warm-up
    assert len(compiled_before) >= 2 and all(compiled_before), compiled_before
    assert parsed == []
