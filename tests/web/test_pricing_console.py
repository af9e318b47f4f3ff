"""The HQ pricing console: a promotion made on its page applies to a cart and stops applying
when paused; a coupon batch downloads as CSV; uses and revenue after orders; price lists,
entries and tax rates; every change a ``pricing.*`` event and an audit-log row; a store
associate may not create promotions. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from omniretail.auth import service as auth
from omniretail.bootstrap import Container
from omniretail.carts import service as carts
from omniretail.carts.schemas import CartCreate, CartLineAdd
from omniretail.db.outbox import OutboxMessage
from omniretail.orders import service as orders
from omniretail.orders.schemas import CheckoutCreate, FulfilmentChoice, PaymentIn
from omniretail.orders.service import TestPaymentProvider
from omniretail.pricing import service as pricing
from omniretail.pricing.models import Coupon, Promotion
from omniretail.processes.promotion_uses import promotion_uses
from omniretail.routing.service import policy_from
from omniretail.web.rendering import DASH, money
from tests.web.conftest import post, sign_in
from tests.web.seed import ADMIN, ASSOCIATE, CUSTOMER_EMAIL, Seeded

PROMOTIONS = "/hq/pricing/promotions"


def _events(container: Container, kind: str) -> list[dict[str, Any]]:
    with container.read_uow() as uow:
        rows = uow.session.execute(
            select(OutboxMessage.data)
            .where(OutboxMessage.type == f"omniretail.pricing.{kind}")
            .order_by(OutboxMessage.position)
        ).all()
    return [data for (data,) in rows]


def _audited(container: Container) -> list[str]:
    with container.read_uow() as uow:
        rows = auth.list_audit(uow, area="pricing", limit=100)
    return [r.action for r in reversed(rows)]


def _promotion_form(code: str, **fields: str) -> dict[str, str]:
    return {
        "code": code,
        "name": "Spring ten percent",
        "effect_type": "percent_off",
        "percent_off.percent": "10",
        "priority": "0",
        "active": "on",
        **fields,
    }


def _try(web: TestClient, sku: str = "A1", quantity: int = 2, coupon: str = "") -> str:
    response = post(
        web,
        PROMOTIONS + "/new",
        "/hq/pricing/try",
        {
            "try.channel": "WEB",
            "try.line0.sku": sku,
            "try.line0.quantity": str(quantity),
            "try.coupon": coupon,
        },
    )
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    return str(response.text)  # type: ignore[attr-defined]


def _order(
    container: Container,
    payments: TestPaymentProvider,
    customer_id: int,
    quantity: int,
    coupon: str | None = None,
) -> str:
    """2 x A1 (20.00 each) collected at LON1, the coupon applied to the cart first."""
    with container.uow() as uow:
        cart = carts.create_cart(
            uow, CartCreate(channel="WEB", customer_id=customer_id), actor="test"
        )
        carts.add_line(
            uow, cart.token, CartLineAdd(sku="A1", quantity=quantity, location="LON1"), actor="t"
        )
        if coupon:
            carts.apply_coupon(uow, cart.token, coupon, actor="test")
        order = orders.place_order(
            uow,
            cart.token,
            CheckoutCreate(
                fulfilment=FulfilmentChoice(method="pickup_in_store", pickup_location="LON1"),
                payment=PaymentIn(provider_token="tok_visa"),
                contact_email=CUSTOMER_EMAIL,
            ),
            payments=payments,
            policy=policy_from(container.settings),
            actor="test",
        )
    return order.number


def test_a_promotion_made_in_the_console_applies_and_stops_when_paused(
    web: TestClient, container: Container
) -> None:
    assert sign_in(web, ADMIN) == "/hq"
    assert '<td id="quote-total">£40.00</td>' in _try(web)

    made = post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("spring"))
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    assert made.headers["location"].startswith(PROMOTIONS + "/SPRING")  # type: ignore[attr-defined]
    listed = web.get(PROMOTIONS).text
    assert "SPRING" in listed and "in force" in listed
    tried = _try(web)
    assert '<td id="quote-total">£36.00</td>' in tried and "Spring ten percent" in tried

    paused = post(web, PROMOTIONS + "/SPRING", PROMOTIONS + "/SPRING/pause", {})
    assert paused.status_code == 303  # type: ignore[attr-defined]
    assert '<td id="quote-total">£40.00</td>' in _try(web)
    assert "paused" in web.get(PROMOTIONS + "/SPRING").text
    resumed = post(web, PROMOTIONS + "/SPRING", PROMOTIONS + "/SPRING/resume", {})
    assert resumed.status_code == 303  # type: ignore[attr-defined]
    assert '<td id="quote-total">£36.00</td>' in _try(web)

    saved = _events(container, "promotion_saved")
    assert [(e["code"], e["effect_type"], e["created"], e["actor"]) for e in saved] == [
        ("SPRING", "percent_off", True, f"admin:{ADMIN}")
    ]
    assert [e["code"] for e in _events(container, "promotion_paused")] == ["SPRING"]
    assert [e["code"] for e in _events(container, "promotion_resumed")] == ["SPRING"]
    assert _audited(container) == [
        "PUT /pricing/promotions/{code}",
        "POST /pricing/promotions/{code}/pause",
        "POST /pricing/promotions/{code}/resume",
    ]


def test_a_bad_condition_is_shown_beside_the_field_and_nothing_is_saved(
    web: TestClient, container: Container
) -> None:
    sign_in(web, ADMIN)
    bad = post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("BAD", condition="total >= ("))
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "the condition is not valid CEL" in bad.text  # type: ignore[attr-defined]
    no_amount = post(
        web,
        PROMOTIONS + "/new",
        PROMOTIONS,
        _promotion_form("BAD", effect_type="amount_off", **{"amount_off.amount": "5"}),
    )
    assert no_amount.status_code == 422  # type: ignore[attr-defined]
    assert "needs a currency" in no_amount.text  # type: ignore[attr-defined]
    too_much = post(
        web,
        PROMOTIONS + "/new",
        PROMOTIONS,
        _promotion_form("BAD", effect_type="percent_off", **{"percent_off.percent": "150"}),
    )
    assert too_much.status_code == 422  # type: ignore[attr-defined]
    beside = re.search(
        r'<p class="error" id="f-percent_off-percent-error">([^<]*)</p>', too_much.text
    )  # type: ignore[attr-defined]
    assert beside and beside.group(1) == "Input should be less than or equal to 100"
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Promotion)) == 0
    assert _events(container, "promotion_saved") == [] and _audited(container) == []


def test_a_coupon_batch_generated_in_the_console_downloads_as_csv(
    web: TestClient, container: Container
) -> None:
    sign_in(web, ADMIN)
    post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("MAIL", requires_coupon="on"))
    made = post(
        web,
        "/hq/pricing/coupons",
        "/hq/pricing/coupons/batches",
        {
            "bulk.batch": "spring-mail",
            "bulk.promotion": "MAIL",
            "bulk.count": "5",
            "bulk.prefix": "sp",
        },
    )
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    assert made.headers["location"].startswith("/hq/pricing/coupons?batch=SPRING-MAIL")  # type: ignore[attr-defined]
    page = web.get("/hq/pricing/coupons", params={"batch": "SPRING-MAIL"}).text
    assert "/hq/pricing/coupons/batches/SPRING-MAIL.csv" in page

    exported = web.get("/hq/pricing/coupons/batches/SPRING-MAIL.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["code", "promotion", "batch", "max_uses", "uses", "valid_from", "valid_to"]
    codes = [r[0] for r in rows[1:]]
    assert len(codes) == 5 and len(set(codes)) == 5
    assert all(c.startswith("SP") and len(c) == 12 for c in codes)
    assert {(r[1], r[2], r[3], r[4]) for r in rows[1:]} == {("MAIL", "SPRING-MAIL", "1", "0")}
    with container.read_uow() as uow:
        stored = uow.session.scalars(select(Coupon.code).where(Coupon.batch == "SPRING-MAIL"))
        assert sorted(stored) == sorted(codes)
    assert [(e["batch"], e["count"], e["code"]) for e in _events(container, "coupons_created")] == [
        ("SPRING-MAIL", 5, None)
    ]
    assert _audited(container)[-1] == "POST /pricing/coupons/batches"


def test_uses_and_revenue_after_an_order_with_a_coupon(
    web: TestClient, container: Container, payments: TestPaymentProvider, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("TENOFF", requires_coupon="on"))
    made = post(
        web,
        "/hq/pricing/coupons",
        "/hq/pricing/coupons",
        {"code": "save10", "promotion": "TENOFF", "max_uses": "5", "active": "on"},
    )
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    number = _order(container, payments, seeded.customer_id, 2, coupon="SAVE10")

    page = web.get(PROMOTIONS + "/TENOFF").text
    uses = page[page.index('<table id="uses">') :]
    assert "<td>GBP</td><td>1</td><td>£4.00</td><td>£36.00</td>" in uses
    assert (
        '<a href="/hq/pricing/coupons/SAVE10">SAVE10</a></td><td>1</td><td>£4.00</td><td>£36.00'
        in page
    )
    coupon = web.get("/hq/pricing/coupons/SAVE10").text
    assert "<td>GBP</td><td>1</td><td>£4.00</td><td>£36.00</td>" in coupon
    assert f'<a href="/hq/orders/{number}">{number}</a>' in coupon
    assert f'<a href="/hq/customers/{seeded.customer_id}">' in coupon

    deactivated = post(
        web, "/hq/pricing/coupons/SAVE10", "/hq/pricing/coupons/SAVE10/deactivate", {}
    )
    assert deactivated.status_code == 303  # type: ignore[attr-defined]
    assert [(e["code"], e["active"]) for e in _events(container, "coupon_state_changed")] == [
        ("SAVE10", False)
    ]
    assert _events(container, "coupons_created")[0]["code"] == "SAVE10"


def test_uses_of_a_promotion_without_a_coupon_are_read_from_the_order_lines(
    web: TestClient, container: Container, payments: TestPaymentProvider, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("SPRING_1"))
    _order(container, payments, seeded.customer_id, 2)
    _order(container, payments, seeded.customer_id, 1)
    page = web.get(PROMOTIONS + "/SPRING_1").text
    # 10 % of 40.00 and of 20.00: two orders, 6.00 off, 36.00 + 18.00 paid.
    assert "<td>GBP</td><td>2</td><td>£6.00</td><td>£54.00</td>" in page
    # ``_`` in the code is not a LIKE wildcard: another code does not count its orders.
    post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("SPRINGX1", priority="-1"))
    with container.read_uow() as uow:
        assert orders.orders_adjusted_by(uow, "promotion:SPRINGX1") == []
        assert len(orders.orders_adjusted_by(uow, "promotion:SPRING_1")) == 2


def test_price_lists_entries_and_tax_rates_in_the_console(
    web: TestClient, container: Container
) -> None:
    sign_in(web, ADMIN)
    made = post(
        web,
        "/hq/pricing/price-lists/new",
        "/hq/pricing/price-lists",
        {
            "code": "summer",
            "name": "Summer sale",
            "currency": "GBP",
            "priority": "10",
            "channel": "WEB",
            "valid_from": "2099-06-01T00:00",
            "active": "on",
        },
    )
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    assert "scheduled" in web.get("/hq/pricing").text
    page = "/hq/pricing/price-lists/SUMMER"
    assert post(web, page, page + "/entries", {"sku": "a1", "price": "15.00"}).status_code == 303  # type: ignore[attr-defined]
    pasted = post(web, page, page + "/entries/upload", {"csv": "sku,price\nB2,30.00\nC3,12.50\n"})
    assert pasted.status_code == 303, pasted.text  # type: ignore[attr-defined]
    bad = post(web, page, page + "/entries/upload", {"csv": "A1,9.999\n"})
    assert bad.status_code == 422  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        entries = {e.sku: e.price for e in pricing.list_entries(uow, "SUMMER")}
        listed = pricing.get_price_list(uow, "SUMMER")
    assert entries == {"A1": Decimal("15.00"), "B2": Decimal("30.00"), "C3": Decimal("12.50")}
    assert listed.valid_from is not None and listed.valid_from.year == 2099
    removed = post(web, page, page + "/entries/B2/remove", {})
    assert removed.status_code == 303  # type: ignore[attr-defined]

    rate = post(
        web,
        "/hq/pricing/taxes",
        "/hq/pricing/taxes/rates",
        {
            "country": "FR",
            "tax_class": "standard",
            "name": "TVA normale",
            "rate": "0.2",
            "valid_from": "2026-01-01T00:00",
        },
    )
    assert rate.status_code == 303, rate.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        (fr,) = pricing.list_tax_rates(uow, "FR")
    ended = post(
        web,
        f"/hq/pricing/taxes?edit={fr.id}",
        "/hq/pricing/taxes/rates",
        {
            "rate_id": str(fr.id),
            "country": "FR",
            "tax_class": "standard",
            "name": "TVA normale",
            "rate": "0.2",
            "valid_from": "2026-01-01T00:00",
            "valid_to": "2099-01-01T00:00",
        },
    )
    assert ended.status_code == 303, ended.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        (fr,) = pricing.list_tax_rates(uow, "FR")
    assert fr.valid_to is not None and fr.valid_to.year == 2099
    deleted = post(web, page, page + "/delete", {})
    assert deleted.status_code == 303  # type: ignore[attr-defined]

    assert [e["sku"] for e in _events(container, "price_entry_saved")] == ["A1", "B2", "C3"]
    assert [e["sku"] for e in _events(container, "price_entry_removed")] == ["B2"]
    assert [e["change"] for e in _events(container, "tax_setting_changed")] == ["added", "changed"]
    assert [e["code"] for e in _events(container, "price_list_deleted")] == ["SUMMER"]
    assert _audited(container) == [
        "PUT /pricing/price-lists/{code}",
        "PUT /pricing/price-lists/{code}/entries/{sku}",
        "PUT /pricing/price-lists/{code}/entries/{sku}",
        "PUT /pricing/price-lists/{code}/entries/{sku}",
        "DELETE /pricing/price-lists/{code}/entries/{sku}",
        "POST /pricing/tax-rates",
        "PUT /pricing/tax-rates/{rate_id}",
        "DELETE /pricing/price-lists/{code}",
    ]


def test_a_store_associate_cannot_create_promotions(web: TestClient, container: Container) -> None:
    assert sign_in(web, ASSOCIATE) == "/store"
    assert web.get(PROMOTIONS).status_code == 403
    refused = post(web, "/store", PROMOTIONS, _promotion_form("SNEAKY"))
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "may not PUT /pricing/promotions/{code}" in refused.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Promotion)) == 0
    assert _events(container, "promotion_saved") == [] and _audited(container) == []


def test_the_effect_form_is_built_from_the_effect_schemas(
    web: TestClient, container: Container
) -> None:
    sign_in(web, ADMIN)
    page = web.get(PROMOTIONS + "/new").text
    for box in ("buy_x_get_y.buy", "buy_x_get_y.get", "tiered.tiers", "points.points"):
        assert f'name="{box}"' in page
    tiers = '[{"threshold": "50", "amount": "5"}, {"threshold": "100", "percent": "10"}]'
    bad = post(
        web,
        PROMOTIONS + "/new",
        PROMOTIONS,
        _promotion_form("TIERS", effect_type="tiered", currency="GBP", **{"tiered.tiers": "[{"}),
    )
    assert bad.status_code == 422  # type: ignore[attr-defined]
    beside = re.search(r'<p class="error" id="f-tiered-tiers-error">([^<]*)</p>', bad.text)  # type: ignore[attr-defined]
    assert beside and beside.group(1).startswith("not valid JSON")
    made = post(
        web,
        PROMOTIONS + "/new",
        PROMOTIONS,
        _promotion_form("TIERS", effect_type="tiered", currency="GBP", **{"tiered.tiers": tiers}),
    )
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    three_for_two = _promotion_form(
        "B3G1",
        effect_type="buy_x_get_y",
        **{"buy_x_get_y.buy": "2", "buy_x_get_y.get": "1", "buy_x_get_y.skus": "A1, C3"},
    )
    assert post(web, PROMOTIONS + "/new", PROMOTIONS, three_for_two).status_code == 303  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        tiered = pricing.get_promotion(uow, "TIERS").effect
        bxgy = pricing.get_promotion(uow, "B3G1").effect
    assert tiered == {
        "type": "tiered",
        "tiers": [{"threshold": "50", "amount": "5"}, {"threshold": "100", "percent": "10"}],
    }
    assert bxgy == {
        "type": "buy_x_get_y",
        "skus": ["A1", "C3"],
        "buy": 2,
        "get": 1,
        "percent": "100",
    }
    edit = web.get(PROMOTIONS + "/B3G1").text
    assert 'name="buy_x_get_y.skus" type="text" value="A1, C3"' in edit


def test_a_tax_rate_typed_as_a_percentage_is_refused_in_plain_words(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    form = {
        "country": "FR",
        "tax_class": "standard",
        "name": "TVA",
        "rate": "20",
        "valid_from": "2026-01-01T00:00",
    }
    refused = post(web, "/hq/pricing/taxes", "/hq/pricing/taxes/rates", form)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    found = re.search(r'<p class="error" id="f-rate-error">([^<]*)</p>', refused.text)  # type: ignore[attr-defined]
    assert found and found.group(1) == "A fraction from 0 to below 1: 0.2 for 20 %, 0.05 for 5 %"
    empty = post(web, "/hq/pricing/taxes", "/hq/pricing/taxes/rates", {**form, "rate": ""})
    assert "Field required" in empty.text  # type: ignore[attr-defined]
    with container.read_uow() as uow:
        assert pricing.list_tax_rates(uow, "FR") == []


def test_no_price_list_says_where_prices_come_from(
    web: TestClient, container: Container, seeded: Seeded
) -> None:
    with container.read_uow() as uow:
        assert pricing.list_price_lists(uow) == []
    sign_in(web, ADMIN)
    page = web.get("/hq/pricing").text
    empty = re.search(r'<p class="muted" id="no-price-list">([^<]*)</p>', page)
    assert empty and empty.group(1).startswith(
        "No price list yet: every product sells at its catalogue price on the channels that"
        " sell in GBP; a channel in another currency sells nothing until a list prices it."
    )


def _statements(web: TestClient, path: str) -> tuple[str, int]:
    """The page and how many SQL statements its request ran."""
    ran: list[str] = []

    def count(*args: Any) -> None:
        ran.append(args[2])

    event.listen(Engine, "before_cursor_execute", count)
    try:
        text = web.get(path).text
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    return text, len(ran)


def _list_row(page: str, code: str) -> str:
    row = page[page.index(f'<a href="{PROMOTIONS}/{code}">') :].split("</tr>")[0]
    return re.sub(r">\s+<", "><", row)


def test_the_list_shows_each_promotions_uses_from_one_read_for_all(
    web: TestClient, container: Container, payments: TestPaymentProvider, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("SPRING_1"))
    post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("TENOFF", requires_coupon="on"))
    post(
        web,
        "/hq/pricing/coupons",
        "/hq/pricing/coupons",
        {"code": "save10", "promotion": "TENOFF", "max_uses": "5", "active": "on"},
    )
    _order(container, payments, seeded.customer_id, 2)
    _order(container, payments, seeded.customer_id, 1, coupon="SAVE10")
    _, before = _statements(web, PROMOTIONS)
    post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("IDLE", priority="-5"))
    post(web, PROMOTIONS + "/new", PROMOTIONS, _promotion_form("MORE", priority="-6"))
    _order(container, payments, seeded.customer_id, 1)

    page, after = _statements(web, PROMOTIONS)

    assert after == before  # two more promotions, one with uses: no more statements
    # 10 % of 40.00, of 20.00 and of 20.00.
    assert '<td class="n">3</td><td class="n">£8.00</td>' in _list_row(page, "SPRING_1")
    for code in ("SPRING_1", "TENOFF", "MORE", "IDLE"):
        with container.read_uow() as uow:
            totals = promotion_uses(uow, code).totals
        row = _list_row(page, code)
        own = web.get(f"{PROMOTIONS}/{code}").text
        if not totals:
            assert f'<td class="n">0</td><td class="n">{DASH}</td><td class="n">{DASH}</td>' in row
            assert '<table id="uses">' not in own
        for t in totals:
            discount, revenue = money(t.discount, t.currency), money(t.revenue, t.currency)
            assert f'<td class="n">{t.orders}</td><td class="n">{discount}</td>' in row, code
            assert f'<td class="n">{revenue}</td></tr>' in row + "</tr>", code
            assert (
                f"<td>{t.currency}</td><td>{t.orders}</td><td>{discount}</td><td>{revenue}</td>"
                in own
            )
