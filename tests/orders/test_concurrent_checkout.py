"""Two checkouts of the same cart at once (a double-click, two devices): one order."""

from __future__ import annotations

import threading
from typing import Any

from omniretail.kernel.errors import DomainError
from omniretail.orders import service as checkout
from omniretail.orders.schemas import CheckoutCreate
from omniretail.orders.service import TestPaymentProvider, compensating
from omniretail.routing.service import policy_from
from tests.orders.network import (
    add,
    assert_verified,
    make_orders_network,
    new_cart,
    ok,
    order_events,
    receive,
    stock,
)


def test_concurrent_checkouts_of_one_cart_make_one_order(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", 5)
    token = new_cart(client)
    ok(add(client, token, "A1", 2))
    body = CheckoutCreate.model_validate(
        {"fulfilment": {"method": "ship_to_home"}, "payment": {"provider_token": "tok_visa"}}
    )
    provider = TestPaymentProvider()
    policy = policy_from(container.settings)
    barrier = threading.Barrier(4)
    outcomes: list[Any] = []

    def attempt() -> None:
        barrier.wait()
        try:
            with compensating(provider) as payments, container.uow() as uow:
                outcomes.append(
                    checkout.place_order(
                        uow, token, body, payments=payments, policy=policy, actor="test"
                    ).number
                )
        except DomainError as exc:
            outcomes.append(exc.slug)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    numbers = [o for o in outcomes if o.startswith("OR-")]
    assert len(numbers) == 1, outcomes
    assert sorted(o for o in outcomes if not o.startswith("OR-")) in (
        ["cart-changed"] * 3,
        ["cart-changed", "cart-changed", "cart-not-active"],
        ["cart-changed", "cart-not-active", "cart-not-active"],
        ["cart-not-active"] * 3,
    )
    assert stock(client, "A1", "DC1") == (5, 0, 2, 0)
    assert [a.status for a in provider.authorisations.values()] == ["authorised"]
    assert order_events(container).count("order_confirmed") == 1
    assert_verified(client)
