"""``omniretail demo`` seeds offers the shop, the till and HQ show: a stackable "Spend £50,
save £5", "Buy 3 pay 2" on a best seller outside the demo customer's open cart, the shared
coupon WELCOME10, the programme's welcome and birthday coupons and a web home-delivery fee;
a second run adds nothing. (The printed tour's pricing step: test_demo_truth.py.)"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from omniretail.customers import service as customers
from omniretail.customers.schemas import CustomerCreate
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import QuoteLine, QuoteRead, QuoteRequest
from tests.demo.test_demo_truth import _run

D = Decimal


def _customer(output: str) -> int:
    return int(re.search(r"/api/v1/customers/(\d+)/360", output).group(1))


def _quote(container, channel: str, lines: dict[str, int], **extra) -> QuoteRead:
    with container.read_uow() as uow:
        return pricing.quote(
            uow,
            QuoteRequest(
                channel=channel,
                lines=[QuoteLine(sku=sku, quantity=n) for sku, n in lines.items()],
                **extra,
            ),
        )


def _offers(quote: QuoteRead) -> list[tuple[str, Decimal]]:
    """Each promotion's name and amount: an order's discount is also shared over the lines."""
    found: dict[str, Decimal] = {}
    for ln in quote.lines:
        for a in ln.adjustments:
            found[a.name] = found.get(a.name, D(0)) + a.amount
    for a in quote.adjustments:
        assert found.get(a.name, a.amount) == a.amount, (a, found)
        found[a.name] = a.amount
    return list(found.items())


def test_the_demo_prices_baskets_with_its_offers(container, clock, tmp_path):
    clock.current = datetime.now(UTC)
    output = _run(container, tmp_path, "--no-intelligence")
    ada = _customer(output)
    assert "promotion DEMO-3FOR2 (Buy 3 pay 2 on 84879)" in " ".join(output.split())

    # 3 x 84879 (£1.69) for home delivery: one free, and the £3.95 fee under £40.
    three = _quote(container, "WEB", {"84879": 3}, customer_id=ada, method="ship_to_home")
    assert _offers(three) == [("Buy 3 pay 2", D("-1.69"))]
    assert three.lines[0].gross == D("3.38")
    assert three.fee is not None and (three.fee.name, three.fee.gross) == (
        "Home delivery",
        D("3.95"),
    )
    assert three.gross == D("7.33")
    # WELCOME10: 10 % off what is left (£3.38 -> £0.34 off), once per customer (so signed in).
    coupon = _quote(
        container,
        "WEB",
        {"84879": 3},
        customer_id=ada,
        method="ship_to_home",
        coupons=["WELCOME10"],
    )
    assert _offers(coupon) == [("Buy 3 pay 2", D("-1.69")), ("Welcome: 10 % off", D("-0.34"))]
    assert coupon.gross == D("6.99")
    anonymous = _quote(container, "WEB", {"84879": 3}, coupons=["WELCOME10"])
    assert _offers(anonymous) == [("Buy 3 pay 2", D("-1.69"))] and anonymous.gross == D("3.38")

    # 6 x 22041 (£10.00, not on "Buy 3 pay 2"): £60 spent saves £5, delivery free over £40.
    spend = _quote(container, "WEB", {"22041": 6}, customer_id=ada, method="ship_to_home")
    assert _offers(spend) == [("Spend £50, save £5", D("-5.00"))]
    assert spend.fee is not None and spend.fee.gross == D("0.00")
    assert spend.gross == D("55.00")
    # The two stack: 10 % of £60, then £5 (the threshold reads the total before promotions).
    both = _quote(
        container,
        "WEB",
        {"22041": 6},
        customer_id=ada,
        method="ship_to_home",
        coupons=["WELCOME10"],
    )
    assert _offers(both) == [("Welcome: 10 % off", D("-6.00")), ("Spend £50, save £5", D("-5.00"))]
    assert both.gross == D("49.00")

    # At the till: the same offer, and no delivery fee on POS.
    till = _quote(container, "POS", {"84879": 3}, location="DEMO-MAN", method="ship_to_home")
    assert _offers(till) == [("Buy 3 pay 2", D("-1.69"))]
    assert till.fee is None and till.gross == D("3.38")
    with container.read_uow() as uow:
        assert pricing.list_fees(uow, "POS") == []
        fee = pricing.get_fee(uow, "WEB", "ship_to_home")
        coupon_row = pricing.get_coupon(uow, "WELCOME10")
        rules = loyalty.get_programme(uow).rules
    assert (fee.amount, fee.free_over, fee.currency) == (D("3.95"), D("40.00"), "GBP")
    assert (coupon_row.promotion, coupon_row.max_uses, coupon_row.per_customer) == (
        "DEMO-WELCOME10",
        1000,
        1,
    )
    assert coupon_row.valid_to is not None
    left = coupon_row.valid_to.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(days=89) < left <= timedelta(days=90)

    # The programme's coupons unlock the demo's promotions: a new member gets a welcome code.
    assert rules.welcome_coupon is not None and rules.birthday_coupon is not None
    assert (rules.welcome_coupon.promotion, rules.birthday_coupon.promotion) == (
        "DEMO-WELCOME10",
        "DEMO-BIRTHDAY15",
    )
    with container.uow() as uow:
        made = customers.create_customer(
            uow, CustomerCreate(name="New Member"), vault=vault_for(container.keyring), actor="t"
        )
        newcomer = made.customer.id
        loyalty.enrol(uow, newcomer, actor="test")
    with container.read_uow() as uow:
        granted = loyalty.list_reward_coupons(uow, newcomer)
    assert [(g.kind, g.promotion) for g in granted] == [("welcome", "DEMO-WELCOME10")]
    own = _quote(container, "WEB", {"22041": 1}, customer_id=newcomer, coupons=[granted[0].code])
    assert _offers(own) == [("Welcome: 10 % off", D("-1.00"))] and own.gross == D("9.00")


def test_running_the_demo_again_adds_no_offers(container, clock, tmp_path):
    clock.current = datetime.now(UTC)
    _run(container, tmp_path, "--no-intelligence")

    def seeded() -> tuple[object, ...]:
        with container.read_uow() as uow:
            return (
                [(p.code, p.updated_at, p.effect) for p in pricing.list_promotions(uow)],
                [(c.code, c.valid_to) for c in pricing.list_coupons(uow)],
                [(f.channel, f.method, f.updated_at) for f in pricing.list_fees(uow)],
                loyalty.get_programme(uow).version,
            )

    before = seeded()
    again = _run(container, tmp_path, "--no-intelligence")

    assert "pricing: the demo's promotions, coupon and delivery fee exist" in again
    assert seeded() == before
    demo_promotions = [p for p in before[0] if p[0].startswith("DEMO-")]  # not the classics'
    assert len(demo_promotions) == 4 and len(before[1]) == 1 and len(before[2]) == 1
    assert before[3] == 1
    assert 'the line shows "Buy 3 pay 2" -£1.69' in " ".join(again.split())
