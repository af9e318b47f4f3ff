"""An order's lines show what was paid for them (after promotions), so that on the HQ and the
customer's order pages they add up to the order's total; returns show the paid unit price and
the paid amount they refund, not the list price. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient

from omniretail.bootstrap import Container
from omniretail.orders import service as lookup
from omniretail.orders.service import TestPaymentProvider
from tests.conftest import admin_api_key
from tests.web.conftest import post, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL, Seeded, shipped_web_order
from tests.web.test_shop_fees import _home_fee
from tests.web.test_shop_returns import RETURN_URL

POUNDS = re.compile(r"£([0-9,]+\.[0-9]{2})")


def _ten_percent_off(web: TestClient, container: Container) -> None:
    key = {"X-API-Key": admin_api_key(container)}
    promotion = {"name": "Ten percent off", "effect": {"type": "percent_off", "percent": "10"}}
    assert web.put("/api/v1/pricing/promotions/TEN", json=promotion, headers=key).is_success


def _amount(text: str) -> Decimal:
    found = POUNDS.search(text)
    assert found is not None, text
    return Decimal(found.group(1).replace(",", ""))


def _order(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> str:
    """2 x A1 (list 20.00) at ten percent off, and a 3.95 delivery fee."""
    _ten_percent_off(web, container)
    _home_fee(web, container)
    return shipped_web_order(container, seeded.customer_id, payments, "A1", 2, (("C3", 1),))


def test_the_hq_order_page_lines_add_up_to_the_total(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    number = _order(web, container, seeded, payments)
    with container.read_uow() as uow:
        order = lookup.get_order(uow, number)
    assert order.fee is not None and sum(ln.paid for ln in order.lines) < order.total
    assert sign_in(web, ADMIN) == "/hq"

    page = web.get(f"/hq/orders/{number}").text

    table = page.split("<h3>Lines</h3>", 1)[1].split("</table>", 1)[0]
    body, foot = table.split("</tbody>", 1)
    paid = [_amount(cell) for cell in re.findall(r'<td class="n">(£[^<]*)', body)]
    fee = [_amount(cell) for cell in re.findall(r'<td class="n">(£[^<]*)', foot)]
    total = re.search(r'id="lines-total">([^<]*)<', foot)
    assert total is not None
    assert paid == [ln.paid for ln in order.lines]
    assert sum(paid) + sum(fee) == _amount(total.group(1)) == order.total
    assert "(list £20.00 each)" in body  # the discounted line keeps its list price in view


def test_the_customers_order_page_lines_add_up_to_the_total(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    number = _order(web, container, seeded, payments)
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"

    page = web.get(f"/account/orders/{number}").text

    items = page.split('id="lines-h">Items</h2>', 1)[1].split("</ul>", 1)[0]
    rows = re.findall(r"<li[^>]*>(.*?)</li>", items, re.S)
    shown = [
        _amount(row.split("·", 1)[1] if "\N{MULTIPLICATION SIGN}" in row else row) for row in rows
    ]
    header = re.search(r"<strong>(£[^<]*)</strong>", page)
    assert header is not None
    assert len(rows) == 3  # two lines and the fee
    assert sum(shown) == _amount(header.group(1))
    assert "£36.00" in rows[0] and "(list £20.00 each)" in rows[0]


def test_returns_show_what_the_units_were_paid(
    web: TestClient, container: Container, seeded: Seeded, payments: TestPaymentProvider
) -> None:
    number = _order(web, container, seeded, payments)
    assert sign_in(web, CUSTOMER_EMAIL) == "/account"
    start = f"/account/orders/{number}/return"

    form_page = web.get(start).text
    made = post(web, start, start, {"qty-1": "1", "reason": "faulty", "method": "in_store"})

    assert "(up to 2, paid £18.00 each)" in form_page
    assert made.status_code == 303  # type: ignore[attr-defined]
    found = RETURN_URL.match(made.headers["location"])  # type: ignore[attr-defined]
    assert found is not None
    code = found.group(1)
    mine = web.get(f"/account/returns/{code}").text
    assert (
        "refund £18.00" in mine
        and '1 \N{MULTIPLICATION SIGN} Enamel mug <span class="muted">paid £18.00' in mine
    )
    assert "£20.00" not in mine

    web.cookies.clear()
    assert sign_in(web, ASSOCIATE) == "/store"
    desk = web.get(f"/store/return-requests/{code}").text
    assert "paid £18.00" in desk and "Receive and refund £18.00" in desk
    assert "£20.00" not in desk
    looked_up = post(web, "/store/returns", "/store/returns", {"kind": "number", "value": number})
    lines = looked_up.text  # type: ignore[attr-defined]
    assert "paid £18.00 each" in lines and "paid £13.50 each" in lines
