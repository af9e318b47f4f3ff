"""What a newcomer found unclear: a return named by its id on the HQ timeline, a returned
order listed as "Completed", the checkout's raw wording for a lapsed hold, and a pickup
location called "None" in the routing simulator."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import ReturnCreate, ReturnLine
from omniretail.orders import service as lookup
from omniretail.orders.schemas import FulfilmentChoice
from omniretail.orders.service import TestPaymentProvider
from tests.web.conftest import post, sign_in
from tests.web.seed import ADMIN, CUSTOMER_EMAIL, Seeded, place_web_order, shipped_web_order

LAPSED = "No longer held for you, but still in stock: Update holds your basket again."


def _delivered_order(
    container: Container, seeded: Seeded, payments: TestPaymentProvider, quantity: int
) -> str:
    """A web order of ``quantity`` Linen totes (B2), delivered: completed."""
    number = shipped_web_order(container, seeded.customer_id, payments, "B2", quantity)
    with container.uow() as uow:
        fid = lookup.get_order(uow, number).fulfilments[0].id
        fulfilment.deliver(uow, fid, actor="test")
    return number


def _return(container: Container, number: str, quantity: int) -> str:
    """Returns ``quantity`` units of the order's first line at LON1; the return's id."""
    with container.uow() as uow:
        fulfilment.return_items(
            uow,
            number,
            ReturnCreate(location="LON1", lines=[ReturnLine(line_no=1, quantity=quantity)]),
            window_days=30,
            actor="test",
        )
    with container.read_uow() as uow:
        return fulfilment.refunds_of_order(uow, number)[-1].return_id


def test_a_return_on_the_hq_timeline_names_its_order_and_items(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    number = _delivered_order(container, seeded, payments, 2)
    return_id = _return(container, number, 1)
    container.relay().run_until_idle()  # the order and its refund reach the timeline
    sign_in(web, ADMIN)

    page = web.get(f"/hq/customers/{seeded.customer_id}").text
    entry = re.search(r"<li><strong>Return</strong>.*?</li>", page, re.S)

    assert return_id not in page
    assert entry is not None, page
    assert f'<a href="/hq/orders/{number}">{number}</a>' in entry.group(0)
    assert "1 \N{MULTIPLICATION SIGN} Linen tote" in entry.group(0)
    assert "£35.50 refunded" in entry.group(0)


def test_the_account_and_the_order_page_say_an_order_came_back(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    whole = _delivered_order(container, seeded, payments, 1)
    part = _delivered_order(container, seeded, payments, 2)
    kept = _delivered_order(container, seeded, payments, 1)
    _return(container, whole, 1)
    _return(container, part, 1)
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"

    listed = web.get("/account").text

    def badge(number: str) -> str:
        found = re.search(rf"<strong>{number}</strong></a> <span class=\"badge\">([^<]*)<", listed)
        assert found is not None, listed
        return found.group(1)

    def on_page(number: str) -> str:
        page = web.get(f"/account/orders/{number}").text
        found = re.search(r'id="order-status">([^<]*)<', page)
        assert found is not None
        return found.group(1)

    assert badge(whole) == on_page(whole) == "Returned"
    assert badge(part) == on_page(part) == "Partly returned"
    assert badge(kept) == on_page(kept) == "Completed"


def test_checkout_words_a_lapsed_hold_as_the_basket_does(
    web: TestClient, container: Container, seeded: Seeded, clock: Any
) -> None:
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    added: Any = post(web, "/shop/products/A1", "/shop/basket/add", {"sku": "A1", "quantity": "1"})
    assert added.status_code == 303
    clock.advance(minutes=16)  # past the web channel's 15-minute hold

    basket = web.get("/shop/basket").text
    checkout = web.get("/shop/checkout")

    assert checkout.status_code == 200
    assert LAPSED in basket and LAPSED in checkout.text
    assert "refresh the cart" not in checkout.text and "lapsed" not in checkout.text


def test_the_routing_simulator_offers_pickup_points_only_and_no_none(
    web: TestClient, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)

    page = web.get("/hq/routing").text
    select = re.search(r'<select id="f-pickup_location".*?</select>', page, re.S)

    assert select is not None
    captions = re.findall(r'<option value="([^"]*)">([^<]*)</option>', select.group(0))
    assert captions[0] == ("", "No pickup (home delivery)")
    assert [code for code, _ in captions[1:]] == ["LON1", "LON2", "MAN1"]  # not DC1
    assert all(caption != "None" for _, caption in captions)


def test_hq_says_an_order_came_back_on_the_timeline_and_the_order_page(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    whole = _delivered_order(container, seeded, payments, 1)
    part = _delivered_order(container, seeded, payments, 2)
    kept = _delivered_order(container, seeded, payments, 1)
    _return(container, whole, 1)
    _return(container, part, 1)
    container.relay().run_until_idle()  # the orders reach the timeline
    sign_in(web, ADMIN)

    timeline = web.get(f"/hq/customers/{seeded.customer_id}").text

    def on_timeline(number: str) -> str:
        entry = rf'<li><strong>Order</strong> <a href="/hq/orders/{number}">{number}</a>'
        found = re.search(entry + r'[^<]*\s*<br><span class="muted">([^<]*)</span>', timeline)
        assert found is not None, timeline
        return found.group(1).rsplit(" · ", 1)[-1]

    def on_order_page(number: str) -> str:
        page = web.get(f"/hq/orders/{number}").text
        found = re.search(r'<h1>Order [^<]*<span class="badge">([^<]*)<', page)
        assert found is not None, page
        return found.group(1)

    assert on_timeline(whole) == on_order_page(whole) == "Returned"
    assert on_timeline(part) == on_order_page(part) == "Partly returned"
    assert on_timeline(kept) == on_order_page(kept) == "Completed"


def test_a_new_web_order_on_hq_is_not_called_imported_history(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    choice = FulfilmentChoice(method="ship_to_home", latitude=52.48, longitude=-1.89)
    number = place_web_order(container, seeded.customer_id, payments, "B2", 1, choice, None)
    sign_in(web, ADMIN)

    page = web.get(f"/hq/orders/{number}").text

    assert "imported history" not in page
    assert "No fulfilment activity yet." in page


def test_a_return_of_two_lines_is_one_step_on_the_order_timeline(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    number = shipped_web_order(container, seeded.customer_id, payments, "B2", 1, (("C3", 1),))
    with container.uow() as uow:
        [f] = lookup.get_order(uow, number).fulfilments
        fulfilment.deliver(uow, f.id, actor="test")
        fulfilment.return_items(
            uow,
            number,
            ReturnCreate(
                location="LON1",
                lines=[ReturnLine(line_no=1, quantity=1), ReturnLine(line_no=2, quantity=1)],
            ),
            window_days=30,
            actor="test",
        )
    sign_in(web, CUSTOMER_EMAIL)

    page = web.get(f"/account/orders/{number}").text
    timeline = re.search(r'<ol class="timeline">.*?</ol>', page, re.S)

    assert timeline is not None, page
    assert timeline.group(0).count("</time> Returned<") == 1, timeline.group(0)
