"""A 50-use coupon raced by 200 checkouts in parallel on PostgreSQL (real connections,
through a live server): exactly 50 orders use it, the others are refused, 0 over."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from sqlalchemy import text

from tests.concurrency.live_server import live_server
from tests.concurrency.test_no_oversell import parallel
from tests.orders.network import (
    HOME,
    add,
    make_customer,
    make_orders_network,
    new_cart,
    ok,
    receive,
)

CLIENTS = 200
LIMIT = 50


@pytest.mark.parametrize("backend", ["postgres"])
def test_200_clients_redeem_a_50_use_coupon_exactly_50_times(container, client):
    make_orders_network(container)
    receive(container, "A1", "DC1", CLIENTS)
    ok(
        client.put(
            "/api/v1/pricing/promotions/RACE",
            json={
                "name": "Race day",
                "effect": {"type": "percent_off", "percent": "20"},
                "requires_coupon": True,
            },
        )
    )
    ok(
        client.post(
            "/api/v1/pricing/coupons",
            json={"code": "RACE50", "promotion": "RACE", "max_uses": LIMIT},
        ),
        201,
    )
    tokens = []
    for _ in range(CLIENTS):
        token = new_cart(client)
        ok(add(client, token, "A1", 1, location="DC1"))
        ok(client.post(f"/api/v1/carts/{token}/coupons", json={"code": "RACE50"}))
        tokens.append(token)
    body = {
        "fulfilment": {"method": "ship_to_home", "latitude": HOME["lat"], "longitude": HOME["lon"]},
        "payment": {"provider_token": "tok_visa"},
        "contact_email": "ada@example.com",
    }
    with live_server(container) as base:

        def buy(i: int) -> int:
            with httpx.Client(base_url=base, timeout=120) as http:
                return http.post(f"/api/v1/carts/{tokens[i]}/checkout", json=body).status_code

        outcomes = Counter(parallel(CLIENTS, buy))
    assert outcomes == {201: LIMIT, 409: CLIENTS - LIMIT}
    with container.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT uses FROM coupons WHERE code = 'RACE50'")).scalar() == LIMIT
        )
        assert conn.execute(text("SELECT count(*) FROM coupon_redemptions")).scalar() == LIMIT
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar() == LIMIT


SAME_CUSTOMER = 20


@pytest.mark.parametrize("backend", ["postgres"])
def test_one_customer_redeems_a_once_per_customer_coupon_once_under_20_parallel_checkouts(
    container, client
):
    """The per-customer limit under concurrency: 20 checkout transactions of one customer
    count a use of the same ``per_customer=1`` code at once (the step of placing an order that
    redeems: pricing, the conditional UPDATE and the redemption, in one transaction each).
    Through the API a customer has one active cart, so the transactions are run directly."""
    from omniretail.pricing import service as pricing
    from omniretail.pricing.errors import CouponUnavailable

    make_orders_network(container)
    customer = make_customer(container)
    ok(
        client.put(
            "/api/v1/pricing/promotions/ONCE",
            json={
                "name": "Once each",
                "effect": {"type": "percent_off", "percent": "10"},
                "requires_coupon": True,
            },
        )
    )
    ok(
        client.post(
            "/api/v1/pricing/coupons",
            json={"code": "ONCE-EACH", "promotion": "ONCE", "per_customer": 1},
        ),
        201,
    )

    def checkout_with_code(i: int) -> str:
        try:
            with container.uow() as uow:
                context = pricing.context_for(
                    uow, "WEB", customer_id=customer, coupons=["ONCE-EACH"]
                )
                priced = pricing.price_cart(uow, context, [pricing.LineRequest("1", "A1", 1)])
                used = pricing.redeem_coupons(uow, priced, f"OR-SAME{i:04d}", customer)
                return "redeemed" if used else "priced without it"
        except CouponUnavailable:
            return "refused"

    outcomes = Counter(parallel(SAME_CUSTOMER, checkout_with_code))
    with container.engine.connect() as conn:
        redemptions = conn.execute(
            text("SELECT count(*) FROM coupon_redemptions WHERE coupon_code = 'ONCE-EACH'")
        ).scalar()
        uses = conn.execute(text("SELECT uses FROM coupons WHERE code = 'ONCE-EACH'")).scalar()
    assert outcomes["redeemed"] == 1
    assert outcomes["refused"] + outcomes["priced without it"] == SAME_CUSTOMER - 1
    assert (redemptions, uses) == (1, 1)
