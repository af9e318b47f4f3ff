from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from omniretail.auth import security
from omniretail.auth import service as auth
from omniretail.auth.models import Role
from omniretail.auth.schemas import PrincipalCreate
from omniretail.bootstrap import Container
from tests.auth.test_role_matrix import PASSWORD, sign_in
from tests.customers.helpers import make_customer
from tests.orders.network import make_orders_network, receive


class CountingHasher(PasswordHasher):
    """Argon2 with the library's smallest parameters (tests sign in often), counting
    verifications."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    counting = CountingHasher()
    monkeypatch.setattr(security, "_hasher", lambda: counting)
    security._dummy_hash.cache_clear()
    yield counting
    security._dummy_hash.cache_clear()


@pytest.fixture
def who(container: Container, client: TestClient) -> dict[str, Any]:
    """The network of tests/orders, an associate of LON1 and one of MAN1, a service agent and
    two signed-in customers; the values are request headers (customers' ids under ``ids``)."""
    make_orders_network(container)
    for sku, location in [("A1", "LON1"), ("A1", "MAN1"), ("B2", "DC1")]:
        receive(container, sku, location, 5)
    cara = make_customer(container, "Cara Customer", email="cara@example.com", verified=True)
    vic = make_customer(container, "Vic Other", email="vic@example.com", verified=True)
    with container.uow() as uow:
        for name, role, extra in [
            ("asha", Role.STORE_ASSOCIATE, {"store_code": "LON1"}),
            ("manny", Role.STORE_ASSOCIATE, {"store_code": "MAN1"}),
            ("sam", Role.SERVICE_AGENT, {}),
        ]:
            auth.create_principal(
                uow, PrincipalCreate(username=name, role=role, password=PASSWORD, **extra)
            )
        for customer_id in (cara, vic):
            auth.create_principal(
                uow, PrincipalCreate(role=Role.CUSTOMER, customer_id=customer_id, password=PASSWORD)
            )
    return {
        "asha": sign_in(client, "asha"),
        "manny": sign_in(client, "manny"),
        "sam": sign_in(client, "sam"),
        "cara": sign_in(client, "cara@example.com"),
        "vic": sign_in(client, "vic@example.com"),
        "ids": {"cara": cara, "vic": vic},
    }
