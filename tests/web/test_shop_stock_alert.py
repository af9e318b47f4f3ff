"""The product page's "Tell me when it's back": shown to a signed-in customer when the item
is not in stock at their store, answered in place for HTMX, and then shown as asked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.marketing import service as marketing
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import CUSTOMER_EMAIL, Seeded

BUTTON = "Tell me when it&#39;s back"


def test_tell_me_when_its_back(web: TestClient, container: Container, seeded: Seeded) -> None:
    anonymous = web.get("/shop/products/C3")
    assert BUTTON not in anonymous.text and "Tell me when it's back" not in anonymous.text
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    in_stock = web.get("/shop/products/A1")  # 10 at LON1, the customer's store
    assert "stock-alert" not in in_stock.text
    page = web.get("/shop/products/C3")  # none at LON1
    assert 'hx-post="/shop/products/C3/alert"' in page.text
    answer = web.post(
        "/shop/products/C3/alert",
        data={"csrf_token": csrf_of(page.text)},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200, answer.text
    assert "back at London Oxford St" in answer.text and "<html" not in answer.text
    with container.read_uow() as uow:
        alerts = marketing.stock_alerts(uow, customer_id=seeded.customer_id)
    assert [(a.sku, a.store, a.status) for a in alerts] == [("C3", "LON1", "waiting")]
    again = web.get("/shop/products/C3")
    assert (
        "back at London Oxford St" in again.text
        and "hx-post" not in again.text.split('id="stock-alert"')[1].split("</div>")[0]
    )
    # without HTMX: back to the product with a notice
    plain = web.post("/shop/products/C3/alert", data={"csrf_token": csrf_of(page.text)})
    assert plain.status_code == 303 and plain.headers["location"].startswith("/shop/products/C3")
    with container.read_uow() as uow:
        assert len(marketing.stock_alerts(uow, customer_id=seeded.customer_id)) == 1
