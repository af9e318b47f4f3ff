"""A checkout stays within its SQL statement budget (Server-Timing ``sql`` of the request).

16 with an Idempotency-Key and the audit row: the API key's look-up (its principal is checked
on every request, so a disabled one stops at once), key claim, cart read, the pricing read
(the SKUs with the price-list entries in force; tax rates are cached), the promotions in force
(with the cart's coupons: one statement), the channel's delivery and pickup fees (cached a
few seconds like tax rates; read here because nothing priced the cart with a method before),
cart close, holds, counters, ledger, order, fulfilments, lines, audit, key response, outbox.
Ship-from-store adds the capacity slot (17). The number does not grow with the number of
lines.

The card is authorised between two transactions (``orders.checkout.attempts``), which costs
five more: the stored reply looked up before the first transaction (the key is claimed in
the second), the payment attempt's insert, then its settling, the order's confirmation and
the second transaction's outbox write (``OrderConfirmed``)."""

from __future__ import annotations

import re

import pytest

from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

# 14 + the promotions in force (pricing.promotions.load_step) + the channel's fees
# (pricing.fees.fee_for, when its cache is cold)
BUDGET = 16 + 5  # + the two-transaction payment (above)


def _sql(response) -> int:
    match = re.search(r'sql;desc="(\d+)"', response.headers["server-timing"])
    assert match, response.headers["server-timing"]
    return int(match.group(1))


@pytest.mark.parametrize(
    ("lines", "location", "budget"),
    [
        ([("A1", 1)], "DC1", BUDGET),
        ([("A1", 2), ("B2", 1)], "DC1", BUDGET),
        ([("A1", 1)], "LON1", BUDGET + 1),
    ],
    ids=["one-line-warehouse", "two-lines-warehouse", "ship-from-store"],
)
def test_checkout_statement_count(container, client, lines, location, budget):
    make_orders_network(container)
    for sku in ("A1", "B2"):
        receive(container, sku, location, 10)
    token = new_cart(client)
    for sku, quantity in lines:
        ok(add(client, token, sku, quantity, location=location))
    # the flow a shopper follows (and which warms the location and rules caches)
    ok(client.get(f"/api/v1/carts/{token}/fulfilment-options"))
    response = checkout(client, token, key=f"budget-{location}-{len(lines)}")
    ok(response, 201)
    assert _sql(response) <= budget
