"""On PostgreSQL the relay's statements for a signed-in shopper's order (the commonest work of
a loyalty shop: the earn, the timeline, segments, journeys, the order's email, and the
relay's own bookkeeping) are each rendered once: an expanding ``IN`` makes SQLAlchemy render
its statement again on every call (its post-compile step), as the outbox's publishing did
with its list of finished statuses."""

from __future__ import annotations

import pytest

from tests.customers.helpers import make_customer
from tests.messaging.conftest import outbox
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive
from tests.rendering import rendered_again


def _order(client, customer) -> str:
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, "A1", 1))
    ok(add(client, token, "B2", 1))
    return ok(checkout(client, token), 201)["number"]


def test_no_statement_of_a_signed_in_orders_deliveries_is_rendered_again(
    container, client, clock, backend
):
    if backend != "postgres":
        pytest.skip("SQLite binds a list of values as an expanding IN (no arrays)")
    customer = make_customer(container, "Rita Render", email="rita@example.com", verified=True)
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    receive(container, "B2", "DC1", 10)
    _order(client, customer)
    container.relay().run_until_idle()  # enrols her, earns the first order, warms the caches
    second = _order(client, customer)
    with rendered_again() as rendered:
        container.relay().run_until_idle()
    assert all(m.published_at is not None for m in outbox(container))
    ledger = ok(client.get(f"/api/v1/loyalty/customers/{customer}/ledger"))
    assert any(e["kind"] == "earn" and e["reference"] == second for e in ledger)
    assert rendered == []
