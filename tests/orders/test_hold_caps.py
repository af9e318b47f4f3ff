"""One shopper holds at most ``cart_max_units_per_sku`` of a SKU and ``cart_max_held_units``
in all on a web or app cart (a flash sale's hot SKU is not blocked by one cart for the hold
time); the till is not capped. A refusal is a 409 problem+json that holds nothing more."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from tests.auth.test_role_matrix import PASSWORD, sign_in
from tests.customers.helpers import make_customer
from tests.orders.network import make_orders_network, ok, receive, stock

API = "/api/v1"


@pytest.fixture
def cara(container: Container, client: TestClient) -> dict[str, Any]:
    make_orders_network(container)
    for sku in ("A1", "B2"):
        receive(container, sku, "LON1", 50)
    container.settings.cart_max_units_per_sku = 3
    container.settings.cart_max_held_units = 5
    customer = make_customer(container, "Cara Customer", email="cara@example.com", verified=True)
    with container.uow() as uow:
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=customer, password=PASSWORD)
        )
        auth.create_principal(
            uow,
            PrincipalCreate(
                username="asha", role=Role.STORE_ASSOCIATE, password=PASSWORD, store_code="LON1"
            ),
        )
    return {"headers": sign_in(client, "cara@example.com"), "id": customer}


def limit_reached(response: Any, limit: int) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/hold-limit-reached")
    assert (problem["field"], problem["limit"]) == ("quantity", limit)


def test_a_shopper_holds_at_most_the_cap_of_a_sku_and_in_all(client, container, cara):
    me = cara["headers"]
    token = ok(client.post(f"{API}/carts", headers=me, json={"channel": "WEB"}), 201)["token"]
    lines = f"{API}/carts/{token}/lines"

    def add(sku: str, quantity: int) -> Any:
        return client.post(
            lines, headers=me, json={"sku": sku, "quantity": quantity, "location": "LON1"}
        )

    limit_reached(add("A1", 4), 3)
    ok(add("A1", 3))
    limit_reached(add("A1", 1), 3)  # added to the line it is 4
    limit_reached(client.patch(f"{lines}/A1", headers=me, json={"quantity": 4}), 3)
    ok(add("B2", 2))
    limit_reached(add("B2", 1), 5)  # 3 + 3 in all
    assert stock(client, "A1", "LON1")[1] == 3 and stock(client, "B2", "LON1")[1] == 2
    # going down is always allowed
    ok(client.patch(f"{lines}/A1", headers=me, json={"quantity": 1}))
    ok(add("B2", 1))


def test_an_anonymous_cart_is_capped_and_cannot_be_merged_past_the_cap(client, container, cara):
    me = cara["headers"]
    anonymous = ok(client.post(f"{API}/carts", json={"channel": "WEB"}), 201)["token"]
    limit_reached(
        client.post(
            f"{API}/carts/{anonymous}/lines",
            json={"sku": "A1", "quantity": 9, "location": "LON1"},
        ),
        3,
    )
    body = {"sku": "A1", "quantity": 2, "location": "LON1"}
    ok(client.post(f"{API}/carts/{anonymous}/lines", json=body))
    mine = ok(
        client.post(f"{API}/carts", headers=me, json={"channel": "WEB", "customer_id": cara["id"]}),
        201,
    )["token"]
    ok(client.post(f"{API}/carts/{mine}/lines", headers=me, json=body))
    r = client.post(f"{API}/carts/{anonymous}/attach", headers=me, json={"customer_id": cara["id"]})
    limit_reached(r, 3)
    assert stock(client, "A1", "LON1")[1] == 4  # both holds as they were
    assert ok(client.get(f"{API}/carts/{anonymous}"))["status"] == "active"


def test_the_till_is_not_capped(client, container, cara):
    asha = sign_in(client, "asha")
    token = ok(client.post(f"{API}/carts", headers=asha, json={"channel": "POS"}), 201)["token"]
    r = client.post(
        f"{API}/carts/{token}/lines",
        headers=asha,
        json={"sku": "A1", "quantity": 20, "location": "LON1"},
    )
    assert ok(r)["lines"][0]["quantity"] == 20
