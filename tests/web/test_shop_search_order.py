"""The shop lists what the shopper's store can sell now first, then by name: never by SKU
code, and with stable pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import ProductCreate, SkuCreate
from omniretail.inventory import service as inventory
from omniretail.inventory.schemas import StockChange
from tests.web.conftest import sign_in
from tests.web.seed import CUSTOMER_EMAIL, Seeded

LISTED = re.compile(r'href="/shop/products/([^"]+)"')


def _add_skus(container: Container, skus: dict[str, str]) -> None:
    with container.uow() as uow:
        catalog.create_product(
            uow,
            ProductCreate(
                code="EXTRA",
                name="Extra",
                skus=[SkuCreate(code=code, name=name, price=5) for code, name in skus.items()],
            ),
        )


def test_my_stores_stock_comes_first_then_names(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    # given: LON1 (the customer's store) sells A1 and B2; AA0 sorts before B2 by code only
    _add_skus(container, {"AA0": "Apple crate", "ZZ9": "Zinc bucket"})
    with container.uow() as uow:
        inventory.receive_stock(
            uow, StockChange(sku="ZZ9", location="LON1", quantity=4), actor="test"
        )
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"

    listed = LISTED.findall(web.get("/shop").text)

    assert listed == ["A1", "B2", "ZZ9", "AA0", "C3"]  # mug, tote, bucket | crate, candle


def test_a_name_starting_with_the_words_ranks_first_and_anonymous_shoppers_see_names(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _add_skus(container, {"AB1": "Mug tree", "AB2": "Enamel mug lid"})

    assert LISTED.findall(web.get("/shop", params={"q": "mug"}).text) == ["AB1", "A1", "AB2"]
    assert LISTED.findall(web.get("/shop").text) == ["A1", "AB2", "B2", "AB1", "C3"]


def test_pages_follow_each_other_without_repeats(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    _add_skus(container, {f"P{i:02d}": "Same name" for i in range(30)})

    first = LISTED.findall(web.get("/shop", params={"q": "same"}).text)
    second = LISTED.findall(web.get("/shop", params={"q": "same", "page": 2}).text)

    assert first + second == [f"P{i:02d}" for i in range(30)]
