"""Checkout authorises the card between two transactions (``orders.checkout.attempts``): a
decline or a timeout gives the stock back in the same request, and a checkout that died
between its steps is settled by the sweep (released after the allocation's expiry, or
confirmed when the provider says it authorised)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select

from omniretail.api.deps import in_payment_thread
from omniretail.bootstrap import Container
from omniretail.carts.errors import LinesUnavailable
from omniretail.inventory import service as inventory
from omniretail.orders import service as orders
from omniretail.orders.checkout import begin_order
from omniretail.orders.models import Order, PaymentAttempt
from omniretail.orders.payments import Authorisation, TestPaymentProvider
from omniretail.orders.schemas import CheckoutCreate
from omniretail.routing.errors import NoRoute
from omniretail.routing.service import policy_from
from tests.orders.network import (
    HOME,
    add,
    assert_verified,
    checkout,
    make_orders_network,
    new_cart,
    ok,
    order_events,
    receive,
    stock,
)

TTL = timedelta(seconds=120)


def body(card: str = "tok_visa") -> CheckoutCreate:
    return CheckoutCreate.model_validate(
        {
            "fulfilment": {
                "method": "ship_to_home",
                "latitude": HOME["lat"],
                "longitude": HOME["lon"],
            },
            "payment": {"provider_token": card},
            "contact_email": "ada@example.com",
        }
    )


def attempts(container: Container) -> list[tuple[str, str | None]]:
    with container.read_uow() as uow:
        return [
            (a.status, a.reason)
            for a in uow.session.scalars(select(PaymentAttempt).order_by(PaymentAttempt.created_at))
        ]


def order_statuses(container: Container) -> list[str]:
    with container.read_uow() as uow:
        return list(uow.session.scalars(select(Order.status)))


def sweep(container: Container) -> orders.PaymentSweep:
    return orders.sweep_payment_attempts(container.uow, container.payments, actor="test")


def cart_of(client: Any, token: str) -> Any:
    return ok(client.get(f"/api/v1/carts/{token}"))


def begin(container: Container, token: str, card: str = "tok_visa") -> Any:
    """Checkout's first transaction alone: the process "dies" right after its commit."""
    with container.uow() as uow:
        return begin_order(
            uow,
            token,
            body(card),
            payments=container.payments,
            policy=policy_from(container.settings),
            actor="test",
            ttl=TTL,
        )


def test_declined_gives_the_stock_back_and_places_no_order(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 2))

    refused = checkout(client, token, card="tok_decline_stolen")
    assert refused.status_code == 402
    assert refused.json()["type"].endswith("/payment-declined")
    assert stock(client, "A1", "DC1") == (3, 0, 0, 0)
    assert order_statuses(container) == []
    [(status, reason)] = attempts(container)
    assert status == "failed" and reason is not None and "declined" in reason
    assert cart_of(client, token)["status"] == "active"
    assert "order_confirmed" not in order_events(container)

    order = ok(checkout(client, token), 201)  # another card: the same cart goes through
    assert order["status"] == "confirmed"
    assert order["payment"]["reference"].startswith("auth_")
    assert stock(client, "A1", "DC1") == (3, 0, 2, 0)
    assert order_statuses(container) == ["confirmed"]
    assert [s for s, _r in attempts(container)] == ["failed", "authorised"]
    assert order_events(container).count("order_confirmed") == 1
    fetched = ok(client.get(f"/api/v1/orders/{order['number']}"))
    assert fetched["payment"]["reference"] == order["payment"]["reference"]
    assert fetched["payment"]["authorised"] == order["total"]
    assert_verified(client)


@pytest.mark.parametrize("how", ["token", "latency", "setting"])
def test_a_timeout_voids_and_releases(container, client, how):
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    provider = {
        "token": TestPaymentProvider(),
        "latency": TestPaymentProvider(latency_ms=30, timeout_ms=5),
        "setting": TestPaymentProvider(outcome="timeout"),
    }[how]
    container.payments = provider

    late = checkout(client, token, card="tok_timeout" if how == "token" else "tok_visa")
    assert late.status_code == 503
    assert late.json()["type"].endswith("/payment-unavailable")
    # the provider did authorise (the answer was lost): voided, so no money is held
    assert [a.status for a in provider.authorisations.values()] == ["voided"]
    assert stock(client, "A1", "DC1") == (3, 0, 0, 0)
    assert order_statuses(container) == []
    assert [s for s, _r in attempts(container)] == ["failed"]
    assert cart_of(client, token)["status"] == "active"


def test_crash_before_the_provider_is_asked_is_released_after_expiry(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 2))

    pending = begin(container, token)  # ... and the process dies here
    assert stock(client, "A1", "DC1") == (3, 0, 2, 0)
    assert order_statuses(container) == ["awaiting_payment"]
    assert cart_of(client, token)["status"] == "checked_out"

    assert sweep(container) == orders.PaymentSweep()  # not expired yet: left alone
    clock.advance(seconds=TTL.total_seconds() + 1)
    assert sweep(container) == orders.PaymentSweep(released=1)
    assert stock(client, "A1", "DC1") == (3, 0, 0, 0)
    assert order_statuses(container) == []
    assert [s for s, _r in attempts(container)] == ["failed"]
    assert cart_of(client, token)["status"] == "active"
    assert "order_confirmed" not in order_events(container)
    assert container.payments.lookup(key=pending.attempt) is None
    assert sweep(container) == orders.PaymentSweep()  # once
    ok(checkout(client, token), 201)  # the shopper can pay again
    assert_verified(client)


def test_crash_after_the_provider_authorised_is_confirmed_by_the_sweep(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 2))

    pending = begin(container, token)
    provider = container.payments
    auth = provider.authorise(pending.token, pending.amount, "GBP", key=pending.attempt)
    # ... the process dies before the second transaction: money taken, no order yet
    clock.advance(seconds=TTL.total_seconds() + 1)
    assert sweep(container) == orders.PaymentSweep(confirmed=1)

    order = ok(client.get(f"/api/v1/orders/{pending.number}"))
    assert order["status"] == "confirmed"
    assert order["payment"]["reference"] == auth.reference
    assert Decimal(order["payment"]["authorised"]) == pending.amount
    assert [a.status for a in provider.authorisations.values()] == ["authorised"]
    assert stock(client, "A1", "DC1") == (3, 0, 2, 0)
    assert order_events(container).count("order_confirmed") == 1
    assert [s for s, _r in attempts(container)] == ["authorised"]
    assert sweep(container) == orders.PaymentSweep()


class SweptDuringAuthorise(TestPaymentProvider):
    """A provider so slow that the allocation expires and the sweep runs while it answers."""

    __test__ = False

    def __init__(self, container: Container, clock: Any) -> None:
        super().__init__()
        self.container, self.clock = container, clock
        self.sweeps: list[orders.PaymentSweep] = []

    def authorise(self, token: str, amount: Decimal, currency: str, *, key: str) -> Authorisation:
        self.clock.advance(seconds=TTL.total_seconds() + 1)
        self.sweeps.append(
            orders.sweep_payment_attempts(self.container.uow, self, actor="test:sweep")
        )
        return super().authorise(token, amount, currency, key=key)


def test_an_answer_after_the_sweep_released_is_voided(container, client, clock):
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    provider = SweptDuringAuthorise(container, clock)
    container.payments = provider

    late = checkout(client, token)
    assert late.status_code == 503
    assert provider.sweeps == [orders.PaymentSweep(released=1)]
    # the approval came after the stock was given back: no order, so no money
    assert [a.status for a in provider.authorisations.values()] == ["voided"]
    assert order_statuses(container) == []
    assert stock(client, "A1", "DC1") == (3, 0, 0, 0)


def test_the_payment_sweep_job_settles_expired_attempts(container, client, clock):
    from omniretail.jobs import service as jobs

    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    begin(container, token)
    clock.advance(seconds=TTL.total_seconds() + 1)
    with container.uow() as uow:
        job = jobs.enqueue(uow, "orders.payment_sweep", actor="test")
    container.job_runner().run_until_idle()
    with container.read_uow() as uow:
        done = jobs.get(uow, job.id)
    assert done.error is None, done
    assert done.result == {"confirmed": 0, "released": 1, "unanswered": 0}
    assert stock(client, "A1", "DC1") == (3, 0, 0, 0)


class Gate(TestPaymentProvider):
    """The first authorisation waits, inside the provider, until the test opens the gate."""

    __test__ = False

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.gate = threading.Event()

    def authorise(self, token: str, amount: Decimal, currency: str, *, key: str) -> Authorisation:
        self.inside.set()
        assert self.gate.wait(60), "the gate was never opened"
        return super().authorise(token, amount, currency, key=key)


def test_a_buyer_is_not_blocked_by_anothers_payment_call(container, client, clock, backend):
    """Two buyers of the last unit: while the first is inside the provider, the second's
    allocation (the same stock row) completes, and exactly one gets the unit."""
    if backend != "postgres":
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer)")
    make_orders_network(container)
    receive(container, "A1", "DC1", 1)
    first, second = new_cart(client), new_cart(client)
    ok(add(client, first, "A1", 1))
    clock.advance(days=1)  # the first cart's hold lapses, so the second can hold it too
    ok(add(client, second, "A1", 1))
    clock.advance(days=1)
    with container.uow() as uow:
        inventory.release_expired_holds(uow, actor="test")
    assert stock(client, "A1", "DC1") == (1, 0, 0, 0)  # both lines unheld: a race
    provider = Gate()
    policy = policy_from(container.settings)
    run = orders.in_transaction(container.uow)
    outcomes: dict[str, Any] = {}

    def buy(name: str, token: str) -> None:
        try:
            outcomes[name] = orders.checkout_paid(
                token,
                body(),
                begin=run,
                settle=run,
                payments=provider,
                policy=policy,
                actor=name,
                ttl=TTL,
            ).number
        except Exception as exc:  # the outcome is asserted
            outcomes[name] = exc

    one = threading.Thread(target=buy, args=("first", first))
    one.start()
    assert provider.inside.wait(60)  # the first holds the allocated unit and is paying
    two = threading.Thread(target=buy, args=("second", second))
    two.start()
    two.join(60)  # a deadlock guard: the old design waits here until the gate opens
    finished_while_first_paid = not two.is_alive()
    provider.gate.set()
    one.join(60)
    two.join(60)

    assert finished_while_first_paid
    # sold out: seen when routing (the first's allocation is committed) or when allocating
    assert isinstance(outcomes["second"], NoRoute | LinesUnavailable), outcomes
    assert isinstance(outcomes["first"], str) and outcomes["first"].startswith("OR-")
    assert stock(client, "A1", "DC1") == (1, 0, 1, 0)
    assert order_statuses(container) == ["confirmed"]
    assert_verified(client)


def test_an_idempotent_retry_after_a_decline_runs_again(container, client):
    """A declined attempt stores no reply: the same key with a good card places the order,
    and a further retry replays it."""
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    assert checkout(client, token, card="tok_decline", key="k-1").status_code == 402
    placed = ok(checkout(client, token, key="k-2"), 201)
    replay = checkout(client, token, key="k-2")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["number"] == placed["number"]
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Order)) == 1


class _CountingThreads(TestPaymentProvider):
    """Reads, while it authorises, how many of the sync endpoints' shared threads are taken."""

    def __init__(self) -> None:
        super().__init__()
        self.shared_threads_taken: list[float] = []

    def authorise(self, token: str, amount: Decimal, currency: str, *, key: str) -> Authorisation:
        taken = anyio.from_thread.run_sync(
            lambda: anyio.to_thread.current_default_thread_limiter().borrowed_tokens
        )
        self.shared_threads_taken.append(taken)
        return super().authorise(token, amount, currency, key=key)


def test_a_checkout_waiting_on_its_card_holds_none_of_the_shared_threads(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 3)
    token = new_cart(client)
    ok(add(client, token, "A1", 1))
    provider = _CountingThreads()
    container.payments = provider

    ok(checkout(client, token), 201)
    # the sync endpoints' pool is sized to the connection budget: a thread waiting on the
    # provider (no connection held) would keep another request waiting for a thread
    assert provider.shared_threads_taken == [0]


def test_more_checkouts_wait_on_their_cards_at_once_than_the_budget_has_threads():
    """The payment threads are ``payment_threads``, not the connection budget's count: with a
    slow provider, buyers beyond the budget's threads queued for a thread (checkout p50 of
    960 ms at 300 ms latency in the flash sale)."""
    waiting = 3
    container = SimpleNamespace(
        settings=SimpleNamespace(payment_threads=waiting), pools=SimpleNamespace(threads=1)
    )
    request: Any = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(container=container)))
    all_in = threading.Barrier(waiting, timeout=10)

    def wait_on_the_card() -> int:
        return all_in.wait()  # breaks unless all of them are inside at once

    async def buyers() -> list[int]:
        answers: list[int] = []

        async def one() -> None:
            answers.append(await in_payment_thread(request, wait_on_the_card))

        async with anyio.create_task_group() as group:
            for _ in range(waiting):
                group.start_soon(one)
        return answers

    # a loop of its own thread: another test may have left one running on this thread
    with anyio.from_thread.start_blocking_portal() as portal:
        assert sorted(portal.call(buyers)) == list(range(waiting))
