"""The console's product (stock) page shows "bought together" and the customer page "new for
you", each product with its name beside its code."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.intelligence.models import ProductAssociation, Recommendation
from tests.web.conftest import sign_in
from tests.web.seed import ADMIN, Seeded

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _store_lists(container: Container, customer_id: int) -> None:
    with container.uow() as uow:
        uow.session.add_all(
            [
                ProductAssociation(
                    sku_code="A1", rank=1, other_sku_code="C3", score=0.5, computed_at=NOW
                ),
                Recommendation(
                    customer_id=customer_id,
                    kind="new",
                    rank=1,
                    sku_code="B2",
                    score=0.9,
                    computed_at=NOW,
                ),
            ]
        )


def test_the_product_page_lists_bought_together_with_names(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    before = web.get("/hq/inventory/A1/LON1").text
    assert "Bought together" in before and "Soy candle" not in before

    _store_lists(container, seeded.customer_id)
    page = web.get("/hq/inventory/A1/LON1")

    assert page.status_code == 200
    assert '<a href="/hq/inventory?q=C3">C3</a> Soy candle' in page.text


def test_the_customer_page_lists_new_for_you_with_names(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    url = f"/hq/customers/{seeded.customer_id}"
    assert "No list yet." in web.get(url).text

    _store_lists(container, seeded.customer_id)
    page = web.get(url)

    assert page.status_code == 200
    new_part = page.text.split("New for you", 1)[1]
    assert '<a href="/hq/inventory?q=B2">B2</a> Linen tote' in new_part
