"""The relay's loyalty earn for a signed-in shopper's order (the commonest delivery of a
loyalty shop): the order's lines, the buyer's cluster and accounts each read once. Each
test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from omniretail.customers import service as customers
from omniretail.db.outbox import list_events
from omniretail.loyalty.models import Entry
from omniretail.messaging.handlers import SkipDelivery
from tests.customers.helpers import make_customer
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

# Statements of one earn by an enrolled customer, its commit batch included: the entry key,
# the order and its lines, the categories, the cluster, the accounts, the lot, the
# account's counters, the entry, the qualifying spend and the batch (the outbox's event).
EARN_BUDGET = 11


def _order(container, client, customer, sku):
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, sku, 1))
    return ok(checkout(client, token), 201)["number"]


def _confirmed(container, number):
    kind = "omniretail.orders.order_confirmed"
    with container.read_uow() as uow:
        events = [
            m.as_cloud_event() for m in list_events(uow.session, limit=1000, type_prefix=kind)
        ]
    return next(e for e in events if e["type"] == kind and e["data"]["order"] == number)


def test_an_enrolled_customers_earn_reads_each_thing_once(container, client, clock):
    customer = make_customer(container, "Erin Earn", email="erin@example.com", verified=True)
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    receive(container, "B2", "DC1", 10)
    _order(container, client, customer, "A1")
    container.relay().run_until_idle()  # enrols her and earns the first order
    second = _order(container, client, customer, "B2")
    earn = container.handlers.resolve("loyalty.earn_for_order")
    confirmed = _confirmed(container, second)
    before = container.counter.value
    earn(confirmed, container.uow)
    sent = container.counter.value - before
    ledger = ok(client.get(f"/api/v1/loyalty/customers/{customer}/ledger"))
    assert [e["reference"] for e in ledger if e["kind"] == "earn"][:1] == [second]
    assert sent <= EARN_BUDGET, sent


def test_an_enrolled_customers_earn_writes_without_the_orm_flush(container, client, clock):
    """The earn's lot and entry are inserted as statements, not through the session's unit
    of work (its flush costs more CPU than the insert)."""
    customer = make_customer(container, "Fay Flush", email="fay@example.com", verified=True)
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    _order(container, client, customer, "A1")
    container.relay().run_until_idle()  # enrols her (welcome points: the ORM's) and earns
    second = _order(container, client, customer, "A1")
    flushes = []

    def count(session, _context):
        flushes.append(session)

    event.listen(Session, "after_flush", count)
    try:
        container.handlers.resolve("loyalty.earn_for_order")(
            _confirmed(container, second), container.uow
        )
    finally:
        event.remove(Session, "after_flush", count)
    assert [r for _c, r in _earns(container)].count(second) == 1
    assert flushes == []


def test_an_earn_for_a_merged_or_erased_buyer(container, client, clock):
    """An order placed under a profile merged since earns on that profile's account at the
    surviving profile's tier; an erased buyer's order earns nothing and the delivery is
    skipped, not retried, with nothing written."""
    kept = make_customer(container, "Kim Kept", email="kim@example.com", verified=True)
    alias = make_customer(container, "Kim Alias", email="kim.alias@example.com", verified=True)
    gone = make_customer(container, "Gil Gone", email="gil@example.com", verified=True)
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    merged_order = _order(container, client, alias, "A1")
    erased_order = _order(container, client, gone, "A1")
    body = {"survivor_id": kept, "merged_id": alias, "reason": "same person"}
    ok(client.post("/api/v1/customers/merges", json=body), 201)
    with container.uow() as uow:
        customers.erase_customer(uow, gone, actor="test")
    earn = container.handlers.resolve("loyalty.earn_for_order")
    earn(_confirmed(container, merged_order), container.uow)
    assert _earns(container) == [(alias, merged_order)]
    with pytest.raises(SkipDelivery, match="erased"):
        earn(_confirmed(container, erased_order), container.uow)
    assert _earns(container) == [(alias, merged_order)]


def _earns(container):
    with container.read_uow() as uow:
        rows = uow.session.execute(
            select(Entry.customer_id, Entry.reference).where(Entry.kind == "earn")
        )
        return sorted(tuple(r) for r in rows)
