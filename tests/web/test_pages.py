"""The console through the app: sign-in per role, what each role may see, CSRF, and forms
that show the service's message beside the field and keep what was typed."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.inventory import service as inventory
from omniretail.orders import service as lookup
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import PromotionWrite
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.seed import (
    ADMIN,
    ASSOCIATE,
    CUSTOMER_EMAIL,
    Seeded,
    record_till_receipt,
    shipped_web_order,
)


def test_each_role_signs_in_to_its_own_home(web: TestClient) -> None:
    assert sign_in(web, ADMIN) == "/hq"
    web.cookies.clear()
    assert sign_in(web, ASSOCIATE) == "/store"
    web.cookies.clear()
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"


def test_every_page_names_an_icon_that_is_served(web: TestClient) -> None:
    page = web.get("/signin")
    assert '<link rel="icon" href="/static/favicon.svg"' in page.text
    icon = web.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.text.startswith("<svg")


def test_a_wrong_password_is_shown_beside_the_field_and_the_username_kept(web: TestClient) -> None:
    page = web.get("/signin")
    response = web.post(
        "/signin",
        data={"username": ADMIN, "password": "nope-nope", "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 401
    assert 'id="f-password-error">wrong username or password<' in response.text
    assert f'value="{ADMIN}"' in response.text
    assert "omniretail_session" not in response.cookies


def test_pages_need_a_session_and_come_back_after_sign_in(web: TestClient) -> None:
    response = web.get("/hq/inventory?q=A1")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fhq%2Finventory%3Fq%3DA1"
    page = web.get(response.headers["location"])
    done = web.post(
        "/signin",
        data={
            "username": ADMIN,
            "password": "correct-horse-battery",
            "csrf_token": csrf_of(page.text),
            "next": "/hq/inventory?q=A1",
        },
    )
    assert done.headers["location"] == "/hq/inventory?q=A1"
    assert "HttpOnly" in done.headers["set-cookie"] and "SameSite=lax" in done.headers["set-cookie"]


def test_hq_pages_render_for_an_admin(web: TestClient, seeded: Seeded) -> None:
    sign_in(web, ADMIN)
    expected = {
        "/hq": "Orders by state",
        "/hq/inventory": "Available to promise",
        "/hq/inventory/A1/LON1": "Ledger (newest first)",
        "/hq/orders": seeded.pickup_order,
        f"/hq/orders/{seeded.pickup_order}": "Fulfilment timeline",
        "/hq/routing": "Simulator",
        "/hq/customers": "Find a customer",
        f"/hq/customers/{seeded.customer_id}": "Ada Lovelace",
        "/hq/loyalty": "Loyalty programme",
        "/hq/planning": "Replenishment plan",
        "/hq/transfers/new": "Request transfer",
        "/store/choose": "Choose a store",
        "/shop/products/A1": "Enamel mug",
    }
    for url, text in expected.items():
        response = web.get(url)
        assert response.status_code == 200, (url, response.text[:500])
        assert text in response.text, url
        # One id once: the stock page's two forms each had a "Reference" field id="f-reference",
        # whose second label named the first form's field.
        ids = re.findall(r'\sid="([^"]+)"', response.text)
        assert len(ids) == len(set(ids)), (url, sorted({i for i in ids if ids.count(i) > 1}))


def test_the_dashboards_order_chart_names_the_states_as_the_table_does(
    web: TestClient, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    page = web.get("/hq").text
    chart = page.split('id="orders-h"')[1].split("<details>")[0]
    assert ">Confirmed<" in chart and ">confirmed<" not in chart  # it read "ready for pickup"


def test_the_customer_timeline_links_only_orders_that_have_a_page(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    record_till_receipt(container, seeded.customer_id)
    sign_in(web, ADMIN)

    page = web.get(f"/hq/customers/{seeded.customer_id}").text

    assert "POS-RECEIPT-7" in page and 'href="/hq/orders/POS-RECEIPT-7"' not in page
    assert f'href="/hq/orders/{seeded.pickup_order}"' in page
    assert web.get(f"/hq/orders/{seeded.pickup_order}").status_code == 200


def test_an_admin_without_a_store_is_shown_the_way_to_choose_one(web: TestClient) -> None:
    sign_in(web, ADMIN)

    page = web.get("/store/till")

    assert page.status_code == 409
    assert '<a class="button primary" href="/store/choose">Choose a store</a>' in page.text


def test_an_associate_sees_only_their_store(web: TestClient, seeded: Seeded) -> None:
    sign_in(web, ASSOCIATE)
    today = web.get("/store")
    assert today.status_code == 200
    assert seeded.pickup_order in today.text and seeded.home_order not in today.text
    assert web.get("/hq").status_code == 403
    assert web.get("/hq/inventory").status_code == 403
    other = web.get(f"/store/orders/{seeded.home_order}")
    assert other.status_code == 404
    assert "nothing to do at LON1" in other.text


def test_a_customer_sees_only_their_pages(web: TestClient, seeded: Seeded) -> None:
    sign_in(web, CUSTOMER_EMAIL)
    account = web.get("/account")
    assert account.status_code == 200
    assert seeded.pickup_order in account.text and "Ada Lovelace" in account.text
    assert f"/track/{seeded.tracking_token}" in account.text
    for url in ("/hq", "/store", "/hq/customers/1"):
        assert web.get(url).status_code == 403, url


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(
    web: TestClient, container: Container
) -> None:
    sign_in(web, ADMIN)
    response = web.post(
        "/hq/inventory/A1/LON1/adjust",
        data={"quantity_delta": "-3", "reason": "damaged", "csrf_token": "forged"},
    )
    assert response.status_code == 403
    assert "This form has expired" in response.text
    with container.read_uow() as uow:
        assert inventory.get_stock_level(uow, "A1", "LON1").on_hand == 10


def test_an_adjustment_refused_by_the_service_keeps_what_was_typed(
    web: TestClient, container: Container
) -> None:
    sign_in(web, ADMIN)
    page = "/hq/inventory/A1/LON2"
    response: Any = post(
        web, page, f"{page}/adjust", {"quantity_delta": "-50", "reason": "shrinkage found"}
    )
    assert response.status_code == 422
    assert 'value="-50"' in response.text and 'value="shrinkage found"' in response.text
    assert 'aria-invalid="true"' in response.text
    response = post(web, page, f"{page}/adjust", {"quantity_delta": "two", "reason": ""})
    assert response.status_code == 422
    assert "valid integer" in response.text and 'value="two"' in response.text
    done: Any = post(web, page, f"{page}/adjust", {"quantity_delta": "-1", "reason": "damaged"})
    assert done.status_code == 303
    with container.read_uow() as uow:
        assert inventory.get_stock_level(uow, "A1", "LON2").on_hand == 2
    ledger = web.get(page).text
    assert "Adjustment" in ledger and "damaged" in ledger and "admin:hq-admin" in ledger


def test_handover_with_a_wrong_code_is_refused_beside_the_field(
    web: TestClient, seeded: Seeded
) -> None:
    # The customer's own order page shows the code while the order waits.
    sign_in(web, CUSTOMER_EMAIL)
    waiting = web.get(f"/account/orders/{seeded.pickup_order}")
    assert f'Pickup code: <code class="secret">{seeded.pickup_code}</code>' in waiting.text
    assert waiting.headers["cache-control"] == "no-store"
    # Its QR code for the counter's scanner is the owner's too (the tracking page has none).
    qr_path = waiting.text.split('<img class="qr" alt="Pickup code as a QR code"')[1]
    qr_path = qr_path.split('src="')[1].split('"')[0]
    qr = web.get(qr_path)
    assert (qr.status_code, qr.headers["content-type"]) == (200, "image/svg+xml")
    assert qr.headers["cache-control"] == "no-store"
    tracking = web.get(f"/track/{seeded.tracking_token}")
    assert tracking.status_code == 200 and seeded.pickup_code not in tracking.text
    assert 'class="qr"' not in tracking.text
    web.cookies.clear()
    sign_in(web, ASSOCIATE)
    assert web.get(qr_path).status_code in (303, 403, 404)  # staff do not get it
    page = f"/store/orders/{seeded.pickup_order}"
    html = web.get(page).text
    assert "collect by" in html  # while it waits on the shelf
    assert seeded.pickup_code not in html  # the customer says it; the associate checks it
    fid = html.split("/fulfilments/")[1].split("/")[0]
    wrong = "000000" if seeded.pickup_code != "000000" else "111111"
    response: Any = post(web, page, f"{page}/fulfilments/{fid}/collect", {"pickup_code": wrong})
    assert response.status_code == 422
    assert "the pickup code does not match" in response.text
    assert f'value="{wrong}"' in response.text
    done: Any = post(
        web, page, f"{page}/fulfilments/{fid}/collect", {"pickup_code": seeded.pickup_code}
    )
    assert done.status_code == 303
    collected = web.get(page).text
    assert "Collected" in collected and "collect by" not in collected
    web.cookies.clear()
    sign_in(web, CUSTOMER_EMAIL)
    mine = web.get(f"/account/orders/{seeded.pickup_order}").text
    assert "Collected" in mine and "collect by" not in mine
    assert "Pickup code:" not in mine


def test_the_replenishment_plan_runs_as_a_job_whose_progress_the_page_shows(
    web: TestClient,
) -> None:
    sign_in(web, ADMIN)
    response: Any = post(web, "/hq/planning", "/hq/planning/run", {})
    assert response.status_code == 303
    jobs = web.app.state.web_jobs  # type: ignore[attr-defined]
    job = jobs.latest("replenishment-plan")
    assert job is not None
    deadline = time.monotonic() + 60
    while job.status == "running" and time.monotonic() < deadline:
        page = web.get("/hq/planning", headers={"hx-request": "true"})
        assert "Running (" in page.text or job.status != "running"
        time.sleep(0.2)
    page = web.get("/hq/planning").text
    assert job.status == "done", job.error
    assert "What to order or transfer" in page and "Overstock (markdown candidates)" in page
    assert f"Run by admin:{ADMIN}" in page


def test_a_refused_return_shows_the_problem_beside_the_quantity_and_keeps_it(
    web: TestClient, container: Container, seeded: Seeded, payments: Any
) -> None:
    number = shipped_web_order(container, seeded.customer_id, payments, sku="B2", quantity=1)
    with container.read_uow() as uow:
        before = inventory.get_stock_level(uow, "B2", "LON1").on_hand
    sign_in(web, ASSOCIATE)
    page = f"/store/returns/{number}"
    form = web.get(page).text
    assert "Start return" in form
    # The units and condition sit on a row of their own under the item: a fourth column of
    # fields pushed the table past a phone's width with the demo's long product names.
    assert '<tr class="return-fields"><td colspan="3">' in form and ">Return</th>" not in form
    assert f'<label for="f-{number}-qty-1">Units<span class="visually-hidden"> of ' in form
    reason = {"reason": "faulty", "reason_note": "handle cracked"}
    response: Any = post(web, page, page, {"qty-1": "3", "condition-1": "sellable", **reason})
    assert response.status_code == 422
    assert f'id="f-{number}-qty-1-error">line 1: 3 asked, only 1 of 1 left to return<' in (
        response.text
    )
    assert 'name="qty-1" type="number"' in response.text and 'value="3"' in response.text
    with container.read_uow() as uow:
        assert inventory.get_stock_level(uow, "B2", "LON1").on_hand == before
        assert lookup.get_order(uow, number).lines[0].quantity_returned == 0
    asked: Any = post(web, page, page, {"qty-1": "1", "condition-1": "damaged", "x": ""})
    assert asked.status_code == 422
    assert f'id="f-{number}-reason-error">choose why the items come back<' in asked.text
    form = {"qty-1": "1", "condition-1": "damaged", **reason}
    confirm: Any = post(web, page, page, form)
    assert confirm.status_code == 200
    assert "Refund £35.50 to the original payment?" in confirm.text
    assert "Reason: Faulty or damaged: handle cracked" in confirm.text
    with container.read_uow() as uow:
        assert lookup.get_order(uow, number).lines[0].quantity_returned == 0
    done: Any = post(web, page, page, {**form, "confirm": "yes"})
    assert done.status_code == 303
    shown = web.get(done.headers["location"]).text
    assert "refund £35.50" in shown and "1 written off at LON1" in shown
    # All of it came back: the page says so, not that it cannot be returned "yet".
    assert "Every item on this order has come back already." in shown
    assert "can be returned yet" not in shown
    with container.read_uow() as uow:
        returned = [e for e in lookup.order_log(uow, number) if e.action == "returned"]
    assert [e.detail.get("reason") for e in returned] == ["Faulty or damaged: handle cracked"]
    with container.read_uow() as uow:
        assert inventory.get_stock_level(uow, "B2", "LON1").on_hand == before


def test_the_store_return_screen_shows_the_refund_breakdown_of_a_broken_offer(
    web: TestClient, container: Container, seeded: Seeded, payments: Any
) -> None:
    with container.uow() as uow:
        pricing.save_promotion(
            uow,
            "B2G1",
            PromotionWrite.model_validate(
                {"name": "Buy 2 get 1 free", "effect": {"type": "buy_x_get_y", "buy": 2, "get": 1}}
            ),
            actor="test",
        )
    number = shipped_web_order(container, seeded.customer_id, payments, sku="A1", quantity=3)
    with container.read_uow() as uow:
        assert lookup.get_order(uow, number).total == Decimal("40.00")  # 3 mugs, one free
    sign_in(web, ASSOCIATE)
    page = f"/store/returns/{number}"
    form = {"qty-1": "2", "condition-1": "sellable", "reason": "changed_mind"}
    confirm: Any = post(web, page, page, form)
    assert confirm.status_code == 200
    # 26.66 paid for two of three mugs; the one kept costs 20.00, 13.34 of it paid
    assert "Refund £20.00 to the original payment?" in confirm.text
    assert "(£20.00, tax £3.33 at 20%; paid £26.66)" in confirm.text
    assert "Buy 2 get 1 free no longer applies: £6.66 kept back" in confirm.text
    done: Any = post(web, page, page, {**form, "confirm": "yes"})
    assert done.status_code == 303
    shown = web.get(done.headers["location"]).text
    assert "refund £20.00 to the original payment." in shown
    receipt = shown[shown.index("<h3>Refunds</h3>") :]
    assert "Return at LON1 · refunded £20.00" in receipt
    assert (
        '<td>Enamel mug</td><td class="n">2</td><td class="n">£26.66</td>'
        '<td class="n">£20.00</td><td class="n">£16.67</td><td class="n">£3.33</td>'
        '<td class="n">20%</td>'
    ) in receipt
    assert "Buy 2 get 1 free no longer applies: £6.66 kept back" in receipt
    with container.read_uow() as uow:
        assert lookup.get_order(uow, number).payment.refunded == Decimal("20.00")

    web.cookies.clear()
    sign_in(web, CUSTOMER_EMAIL)
    mine = web.get(f"/account/orders/{number}").text
    refunds = mine[mine.index('id="refunds-h"') :]
    assert "refunded <strong>£20.00</strong>" in refunds and "(incl. tax £3.33)" in refunds
    assert "Buy 2 get 1 free no longer applies: £6.66 kept back" in refunds
