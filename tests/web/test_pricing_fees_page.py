"""The HQ fees page: an admin sets a £3.95 home-delivery fee free over £50 on WEB; a shop
checkout of £20 shows and charges it, one of £60 does not; a bad amount is shown beside its
field and writes nothing; a change and a delete are the API's operations, evented and audited;
a store associate is refused. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from omniretail.auth import service as auth
from omniretail.bootstrap import Container
from omniretail.db.outbox import OutboxMessage
from omniretail.orders import service as orders
from omniretail.pricing import service as pricing
from tests.web.conftest import post, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL, Seeded
from tests.web.test_shop_buying import _add
from tests.web.test_shop_fees import _place_home

PAGE = "/hq/pricing/fees"
FORM = {
    "channel": "WEB",
    "method": "ship_to_home",
    "name": "Home delivery",
    "amount": "3.95",
    "free_over": "50",
    "tax_class": "standard",
    "active": "on",
}


def _events(container: Container) -> list[tuple[str, dict[str, Any]]]:
    with container.read_uow() as uow:
        rows = uow.session.execute(
            select(OutboxMessage.type, OutboxMessage.data)
            .where(OutboxMessage.type.like("omniretail.pricing.fee_%"))
            .order_by(OutboxMessage.position)
        ).all()
    return [(kind.rsplit(".", 1)[-1], data) for kind, data in rows]


def _audited(container: Container) -> list[tuple[str, str]]:
    with container.read_uow() as uow:
        rows = auth.list_audit(uow, area="pricing", limit=100)
    return [(r.action, r.subject) for r in reversed(rows)]


def _checkout(web: TestClient, container: Container, seeded: Seeded, quantity: int) -> str:
    """The customer buys ``quantity`` x A1 (£20.00 each) for home delivery; the page seen."""
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    assert _add(web, "A1", quantity).status_code == 303
    return web.get("/shop/checkout").text


def test_a_fee_set_in_the_console_is_charged_below_its_threshold_only(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    assert sign_in(web, ADMIN) == "/hq"
    assert "No fee: every method is free on WEB." in web.get(PAGE).text
    saved = post(web, PAGE, PAGE, FORM)
    assert saved.status_code == 303, saved.text  # type: ignore[attr-defined]
    listed = web.get(PAGE).text
    assert "<td>£3.95</td>" in listed and "<td>£50.00</td>" in listed
    with container.read_uow() as uow:
        fee = pricing.get_fee(uow, "WEB", "ship_to_home")
    assert (fee.amount, fee.free_over, fee.currency, fee.tax_class, fee.active) == (
        Decimal("3.95"),
        Decimal("50.00"),
        "GBP",
        "standard",
        True,
    )
    assert [(k, e["amount"], e["free_over"], e["actor"]) for k, e in _events(container)] == [
        ("fee_saved", "3.95", "50", f"admin:{ADMIN}")
    ]
    assert _audited(container) == [("PUT /pricing/fees/{channel}/{method}", PAGE)]

    web.cookies.clear()
    page = _checkout(web, container, seeded, 1)  # £20.00
    assert '<span class="fee">Home delivery £3.95 · total £23.95</span>' in page
    number = _place_home(web, container, seeded, page)
    with container.read_uow() as uow:
        order = orders.get_order(uow, number)
    assert order.total == Decimal("23.95")
    assert order.fee is not None and (order.fee["gross"], order.fee["tax"]) == ("3.95", "0.66")

    web.cookies.clear()
    page = _checkout(web, container, seeded, 3)  # £60.00: over the threshold
    free = "Home delivery £0.00 (Home delivery: free over 50.00) · total £60.00"
    assert f'<span class="fee">{free}</span>' in page
    number = _place_home(web, container, seeded, page)
    with container.read_uow() as uow:
        order = orders.get_order(uow, number)
    assert order.total == Decimal("60.00")
    assert order.fee is not None
    assert (order.fee["amount"], order.fee["gross"]) == ("3.95", "0.00")
    assert [a["name"] for a in order.fee["adjustments"]] == ["Home delivery: free over 50.00"]


def test_a_fee_is_changed_and_deleted_and_a_bad_amount_writes_nothing(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    assert sign_in(web, ADMIN) == "/hq"
    bad = post(web, PAGE, PAGE, {**FORM, "amount": "3.955"})
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert 'id="f-amount-error"' in bad.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert pricing.list_fees(uow) == []
    assert _events(container) == [] and _audited(container) == []

    assert post(web, PAGE, PAGE, FORM).status_code == 303  # type: ignore[attr-defined]
    edit = web.get(PAGE, params={"edit": "WEB:ship_to_home"}).text
    assert 'name="amount" type="text" value="3.95"' in edit
    changed = {**FORM, "amount": "4.50", "free_over": ""}
    changed.pop("active")
    assert post(web, PAGE, PAGE, changed).status_code == 303  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        fee = pricing.get_fee(uow, "WEB", "ship_to_home")
    assert (fee.amount, fee.free_over, fee.active) == (Decimal("4.50"), None, False)

    gone = post(web, PAGE, f"{PAGE}/WEB/ship_to_home/delete", {})
    assert gone.status_code == 303  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert pricing.list_fees(uow) == []
    assert [k for k, _ in _events(container)] == ["fee_saved", "fee_saved", "fee_deleted"]
    assert _audited(container) == [
        ("PUT /pricing/fees/{channel}/{method}", PAGE),
        ("PUT /pricing/fees/{channel}/{method}", PAGE),
        ("DELETE /pricing/fees/{channel}/{method}", f"{PAGE}/WEB/ship_to_home/delete"),
    ]


def test_a_store_associate_may_not_set_a_fee(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    sign_in(web, ASSOCIATE)
    assert web.get(PAGE).status_code == 403
    refused = post(web, PAGE, PAGE, FORM)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert pricing.list_fees(uow) == []
    assert _events(container) == [] and _audited(container) == []
