"""A customer's loyalty coupon codes are the proof they are at the till: a store associate
sees their coupons without the codes (API and store console), the customer and customer
service see the codes."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.service.coupons import MASKED_CODE
from tests.customers.helpers import make_customer
from tests.orders.network import make_orders_network
from tests.web.conftest import sign_in
from tests.web.seed import ASSOCIATE, Seeded

PASSWORD = "a-long-test-password-1"


def _issue(container: Container, customer_id: int) -> str:
    with container.uow() as uow:
        coupon = loyalty.issue_coupon(
            uow,
            customer_id,
            kind="reward",
            description="£5 off",
            discount=Decimal(5),
            valid_days=10,
            source_key=f"test:{customer_id}",
        )
    assert coupon is not None
    return coupon.code


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_the_api_masks_coupon_codes_for_store_associates_only(container, client):
    make_orders_network(container)
    customer = make_customer(container, "Cara Customer", email="cara@example.com", verified=True)
    code = _issue(container, customer)
    with container.uow() as uow:
        auth.create_principal(
            uow,
            PrincipalCreate(
                username="asha", role=Role.STORE_ASSOCIATE, store_code="LON1", password=PASSWORD
            ),
        )
        auth.create_principal(
            uow, PrincipalCreate(username="amir", role=Role.SERVICE_AGENT, password=PASSWORD)
        )
        auth.create_principal(
            uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=customer, password=PASSWORD)
        )
    path = f"/api/v1/loyalty/customers/{customer}/coupons"

    def codes(headers: dict[str, str]) -> list[tuple[str, str]]:
        r = client.get(path, headers=headers)
        assert r.status_code == 200, r.text
        return [(c["code"], c["description"]) for c in r.json()]

    assert codes(_bearer(client, "asha")) == [(MASKED_CODE, "£5 off")]
    assert codes(_bearer(client, "amir")) == [(code, "£5 off")]
    assert codes(_bearer(client, "cara@example.com")) == [(code, "£5 off")]
    assert codes({}) == [(code, "£5 off")]  # the client's own admin key


def test_the_store_console_shows_a_customers_coupons_without_their_codes(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    code = _issue(container, seeded.customer_id)
    assert sign_in(web, ASSOCIATE) == "/store"
    page = web.get(f"/store/loyalty/{seeded.customer_id}")
    assert page.status_code == 200, page.text
    assert "£5 off" in page.text
    assert MASKED_CODE in page.text
    assert code not in page.text
