"""Starting a return in the shop: by post (a label with the code and a QR code) once a returns
desk takes parcels, refusals shown on the form with nothing written, cancelling, and the store
app's look-up of a return code."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.models import LocationKind
from omniretail.catalog.schemas import Capabilities, LocationWrite
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.models import ReturnRequest
from omniretail.orders.service import TestPaymentProvider
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import ASSOCIATE, CUSTOMER_EMAIL, HOURS, Seeded, shipped_web_order

RETURN_URL = re.compile(r"^/account/returns/(R-[0-9A-Z]{4}-[0-9A-Z]{4})\?notice=")


def _requests(container: Container) -> int:
    with container.read_uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(ReturnRequest)) or 0)


def _desk_takes_parcels(container: Container) -> None:
    with container.uow() as uow:
        catalog.save_location(
            uow,
            LocationWrite(
                code="DC1",
                name="Midlands DC",
                kind=LocationKind.WAREHOUSE,
                latitude=52.4862,
                longitude=-1.8904,
                address="Unit 4, Birmingham",
                opening_hours=HOURS,
                capabilities=Capabilities(ships_to_home=True, accepts_returns=True),
            ),
        )


def test_a_return_by_post_gets_a_label_and_can_be_cancelled(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    number = shipped_web_order(container, seeded.customer_id, payments, "B2", 2)
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    order_page = web.get(f"/account/orders/{number}")
    assert f'href="/account/orders/{number}/return">Start a return' in order_page.text
    # A till sale paid in cash is returned the same way: no promise of a refund "to your card".
    assert "the refund goes back the way you paid" in order_page.text
    start = f"/account/orders/{number}/return"
    form = {"qty-1": "1", "reason": "faulty", "method": "post"}

    no_desk = post(web, start, start, form)
    assert no_desk.status_code == 409  # type: ignore[attr-defined]
    assert "returns by post are not taken" in no_desk.text  # type: ignore[attr-defined]
    too_many = post(web, start, start, {**form, "qty-1": "3", "method": "in_store"})
    assert too_many.status_code == 409  # type: ignore[attr-defined]
    assert 'id="f-qty-1-error"' in too_many.text  # type: ignore[attr-defined]
    no_reason = post(web, start, start, {**form, "reason": ""})
    assert no_reason.status_code == 422  # type: ignore[attr-defined]
    assert 'id="f-reason-error"' in no_reason.text  # type: ignore[attr-defined]
    assert _requests(container) == 0

    _desk_takes_parcels(container)
    made = post(web, start, start, form)
    assert made.status_code == 303  # type: ignore[attr-defined]
    found = RETURN_URL.match(made.headers["location"])  # type: ignore[attr-defined]
    assert found is not None
    code = found.group(1)
    page = web.get(f"/account/returns/{code}")
    assert f'<p class="code" id="return-code">{code}</p>' in page.text
    assert "Print the return label" in page.text
    label = web.get(f"/account/returns/{code}/label")
    assert label.status_code == 200
    assert f'id="label-code">{code}<' in label.text and "Midlands DC" in label.text
    qr = web.get(f"/account/returns/{code}/qr.svg")
    assert (qr.status_code, qr.headers["content-type"]) == (200, "image/svg+xml")
    assert qr.content.startswith(b"<?xml") and b"<svg" in qr.content

    cancelled = post(web, f"/account/returns/{code}", f"/account/returns/{code}/cancel", {})
    assert cancelled.status_code == 303  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert fulfilment.get_return_request(uow, code).status == "cancelled"
    after = web.get(f"/account/orders/{number}")
    assert f'Return {code}</a> <span class="badge">Cancelled' in after.text
    assert "Start a return" in after.text  # the units are free again

    # The shop is for customers; an associate's look-up of the code opens it in the store app.
    web.cookies.clear()
    assert sign_in(web, ASSOCIATE) == "/store"
    assert web.get(f"/account/returns/{code}").status_code == 403
    looked_up = post(
        web,
        "/store/returns",
        "/store/returns",
        {"kind": "number", "value": code.replace("-", "").lower()},
    )
    assert looked_up.status_code == 303  # type: ignore[attr-defined]
    assert looked_up.headers["location"] == f"/store/return-requests/{code}"  # type: ignore[attr-defined]
    request_page = web.get(f"/store/return-requests/{code}")
    assert "nothing to receive" in request_page.text
    assert csrf_of(request_page.text)
