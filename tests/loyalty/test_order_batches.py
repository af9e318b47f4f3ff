"""The relay hands a batch of confirmed orders to loyalty's earn and to the customers'
timeline at once: one transaction for the batch, the orders, categories and customers read
once, each order's outcome its own (earned, or skipped with its reason). Each test runs on
SQLite and PostgreSQL, but the one of relays in parallel (PostgreSQL)."""

from __future__ import annotations

import random
import threading
import time

import pytest
from sqlalchemy import select

from omniretail.customers import service as customers
from omniretail.db.outbox import list_events
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.models import Entry
from omniretail.messaging.handlers import SkipDelivery
from tests.customers.helpers import make_customer
from tests.orders.network import add, checkout, make_orders_network, new_cart, ok, receive

CONFIRMED = "omniretail.orders.order_confirmed"


def _order(client, customer, sku, quantity=1):
    token = new_cart(client, customer_id=customer)
    ok(add(client, token, sku, quantity))
    return ok(checkout(client, token), 201)["number"]


def _confirmed(container, numbers):
    with container.read_uow() as uow:
        events = [
            m.as_cloud_event() for m in list_events(uow.session, limit=1000, type_prefix=CONFIRMED)
        ]
    found = {e["data"]["order"]: e for e in events if e["type"] == CONFIRMED}
    return [found[n] for n in numbers]


def _earns(container):
    with container.read_uow() as uow:
        rows = uow.session.execute(
            select(Entry.customer_id, Entry.reference, Entry.pending_delta).where(
                Entry.kind == "earn"
            )
        )
        return sorted(tuple(r) for r in rows)


def _timeline(client, customer):
    rows = ok(client.get(f"/api/v1/customers/{customer}/timeline"))
    return sorted((a["reference"], a["amount"]) for a in rows if a["kind"] == "order")


def test_a_batch_earns_and_lands_each_order_and_skips_the_others(container, client, clock):
    ann = make_customer(container, "Ann Batch", email="ann@example.com", verified=True)
    bob = make_customer(container, "Bob Batch", email="bob@example.com", verified=True)
    gone = make_customer(container, "Gus Gone", email="gus@example.com", verified=True)
    make_orders_network(container)
    receive(container, "A1", "DC1", 20)
    receive(container, "B2", "DC1", 20)
    ann_first = _order(client, ann, "A1", 2)  # 2 x 20.00
    bob_order = _order(client, bob, "B2")  # 35.50
    gone_order = _order(client, gone, "A1")
    ann_second = _order(client, ann, "B2")
    guest_order = _order(client, None, "A1")
    with container.uow() as uow:
        customers.erase_customer(uow, gone, actor="test")
    numbers = [ann_first, bob_order, gone_order, ann_second, guest_order]
    events = _confirmed(container, numbers)
    ids = {n: e["id"] for n, e in zip(numbers, events, strict=True)}

    earn = container.handlers.resolve_batch("loyalty.earn_for_order")
    skips = earn(events, container.uow)
    assert set(skips) == {ids[gone_order], ids[guest_order]}
    assert "erased" in skips[ids[gone_order]]
    assert "guest" in skips[ids[guest_order]]
    earned = [(ann, ann_first, 40), (ann, ann_second, 35), (bob, bob_order, 35)]
    assert _earns(container) == sorted(earned)
    balances = {c: ok(client.get(f"/api/v1/loyalty/customers/{c}"))["pending"] for c in (ann, bob)}
    assert balances == {ann: 75, bob: 35}

    timeline = container.handlers.resolve_batch("customers.timeline_order")
    skips = timeline(events, container.uow)
    assert set(skips) == {ids[gone_order], ids[guest_order]}
    assert _timeline(client, ann) == sorted([(ann_first, "40.000"), (ann_second, "35.500")])
    assert _timeline(client, bob) == [(bob_order, "35.500")]

    # delivered again (at least once): nothing earned or recorded twice
    earn(events, container.uow)
    timeline(events, container.uow)
    assert _earns(container) == sorted(earned)
    assert len(_timeline(client, ann)) == 2


def test_a_batch_reads_what_its_orders_share_once(container, client, clock):
    """Four enrolled customers' orders earn in fewer statements as one batch than one by
    one: the orders, their lines and categories, the ledger's keys and the buyers' clusters
    are read once for all."""
    buyers = [
        make_customer(container, f"Dee {i}", email=f"dee{i}@example.com", verified=True)
        for i in range(8)
    ]
    make_orders_network(container)
    receive(container, "A1", "DC1", 40)
    for buyer in buyers:
        _order(client, buyer, "A1")
    container.relay().run_until_idle()  # enrols them and earns their first orders
    numbers = [_order(client, buyer, "A1") for buyer in buyers]
    earn_one = container.handlers.resolve("loyalty.earn_for_order")
    earn_many = container.handlers.resolve_batch("loyalty.earn_for_order")

    before = container.counter.value
    for event in _confirmed(container, numbers[:4]):
        earn_one(event, container.uow)
    one_by_one = container.counter.value - before
    before = container.counter.value
    assert earn_many(_confirmed(container, numbers[4:]), container.uow) == {}
    as_a_batch = container.counter.value - before

    assert len(_earns(container)) == 16
    # each delivery alone reads its order, lines, categories, ledger key and cluster: a batch
    # reads them once for all (45 statements one by one, 27 as a batch, on both databases)
    assert as_a_batch <= one_by_one - 3 * 5, (as_a_batch, one_by_one)


def test_a_customers_second_order_in_a_batch_earns_at_the_tier_the_first_reached(
    container, client, clock
):
    """As one by one: the first order's spend lifts her to Gold, so the second earns double."""
    rules = {
        "welcome_points": 0,
        "tiers": [
            {"name": "Bronze", "threshold": 0},
            {"name": "Gold", "threshold": 50, "multiplier": 2},
        ],
    }
    ok(client.put("/api/v1/loyalty/programme", json=rules))
    gia = make_customer(container, "Gia Gold", email="gia@example.com", verified=True)
    make_orders_network(container)
    receive(container, "A1", "DC1", 10)
    receive(container, "B2", "DC1", 10)
    first = _order(client, gia, "A1", 3)  # 60.00: Bronze, 60 points, then Gold
    second = _order(client, gia, "B2")  # 35.50 at Gold: 71 points
    skips = container.handlers.resolve_batch("loyalty.earn_for_order")(
        _confirmed(container, [first, second]), container.uow
    )
    assert skips == {}
    assert _earns(container) == sorted([(gia, first, 60), (gia, second, 71)])
    account = ok(client.get(f"/api/v1/loyalty/customers/{gia}"))
    assert (account["tier"]["tier"], account["pending"]) == ("Gold", 131)


@pytest.mark.parametrize("backend", ["postgres"])  # overrides the sqlite/postgres fixture
def test_relays_earning_overlapping_batches_at_once_earn_each_order_once(container, client, clock):
    """Four relays' batches at once over the same customers' orders, each order in two of
    them (a lease that ran out, say): every order earns once and the balances add up. A batch
    that fails (a key another relay is writing at the same moment, a deadlock) is delivered
    one by one, as the relay does, each retried until it goes through."""
    buyers = [
        make_customer(container, f"Par {i}", email=f"par{i}@example.com", verified=True)
        for i in range(5)
    ]
    make_orders_network(container)
    receive(container, "A1", "DC1", 100)
    numbers = [_order(client, buyers[n % 5], "A1") for n in range(30)]
    events = _confirmed(container, numbers)
    earn_one = container.handlers.resolve("loyalty.earn_for_order")
    earn_many = container.handlers.resolve_batch("loyalty.earn_for_order")
    # two shuffles, each cut in two: every order is in two relays' work
    works = []
    for seed in (1, 2):
        shuffled = random.Random(seed).sample(events, len(events))
        works += [shuffled[:15], shuffled[15:]]
    errors: list[BaseException] = []

    def relay(work: list[dict]) -> None:
        try:
            for start in range(0, len(work), 5):
                batch = work[start : start + 5]
                try:
                    earn_many(batch, container.uow)
                except Exception:
                    for event in batch:
                        _until_it_goes_through(lambda e=event: earn_one(e, container.uow))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=relay, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(reference for _, reference, _ in _earns(container)) == sorted(numbers)
    with container.read_uow() as uow:
        assert loyalty.recompute_balances(uow, fix=False).drift == []


def _until_it_goes_through(deliver) -> None:
    for attempt in range(20):
        try:
            deliver()
            return
        except SkipDelivery:
            return
        except Exception:  # another relay's write of the same key, or a deadlock: retried
            if attempt == 19:
                raise
            time.sleep(0.05)
