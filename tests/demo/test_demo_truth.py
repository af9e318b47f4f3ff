"""The demo tells the truth (issue 13): an old history is moved forward by whole weeks close to
whole years, so tiers, the plan and the charts describe the last year and agree with what is
stored; every figure that depends on "now" says its period; the printed tour works as printed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from omniretail.app import create_app
from omniretail.commands.main import app
from omniretail.customers.models import Customer
from omniretail.history.shift import Shift, shift_by_years, shift_to_recent
from omniretail.history.source import SCHEMA
from omniretail.intelligence.service import (
    ReplenishmentConfig,
    get_customer_scores,
    run_replenishment,
)
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.repository.programmes import accounts
from omniretail.loyalty.schemas import ProgrammeRules
from omniretail.orders.models import Order, OrderLine
from omniretail.web.hq.dashboard import _sales
from tests.demo.test_demo import demo_env, printed_sign_ins
from tests.web.conftest import post, sign_in

UK = "United Kingdom"
YEARS_BACK = 10


def test_a_shift_is_whole_weeks_close_to_whole_years_and_ends_within_the_last_year():
    shift = shift_to_recent(date(2010, 11, 30), date(2026, 12, 4))
    assert shift == Shift(16, 5845)  # 16 years are 5,844 days; 835 weeks are 5,845
    assert shift.apply(date(2010, 11, 30)) == date(2026, 12, 1)
    assert shift.apply(date(2010, 11, 30)).weekday() == date(2010, 11, 30).weekday()
    # Rounding up would pass today: a week less, still within the last year.
    early = shift_to_recent(date(2010, 11, 30), date(2026, 11, 30))
    assert early.days % 7 == 0 and date(2025, 11, 30) < early.apply(date(2010, 11, 30))
    assert early.apply(date(2010, 11, 30)) <= date(2026, 11, 30)
    assert shift_to_recent(date(2026, 6, 1), date(2026, 12, 4)) == Shift(0, 0)  # recent already
    assert shift_by_years(date(2012, 2, 29), 1).days % 7 == 0


def _day(years_back: int, days_before: int) -> datetime:
    today = date.today()
    anchor = date(today.year - years_back, today.month, min(today.day, 28))
    return datetime.combine(anchor - timedelta(days=days_before), datetime.min.time()).replace(
        hour=10
    )


def _log(path: Path) -> Path:
    """Ten years old: a Gold, a Silver and a Bronze customer, and two best sellers every week
    (85123A goes into the demo customer's open cart, 84879 on "Buy 3 pay 2")."""
    rows = [
        (f"20{n:04d}", "22041", "RECORD FRAME", 100, _day(YEARS_BACK, days), 10.0, 30001, UK)
        for n, days in enumerate((120, 90, 60))
    ]
    rows.append(("209001", "22041", "RECORD FRAME", 70, _day(YEARS_BACK, 100), 10.0, 30002, UK))
    rows.append(("209002", "85123A", "WHITE HEART", 20, _day(YEARS_BACK, 80), 2.5, 30003, UK))
    rows += [
        (f"21{w:04d}", "85123A", "WHITE HEART", 12, _day(YEARS_BACK, 7 * w + 3), 2.95, None, UK)
        for w in range(1, 30)
    ]
    rows += [
        (f"22{w:04d}", "84879", "BIRD ORNAMENT", 6, _day(YEARS_BACK, 7 * w + 2), 1.69, None, UK)
        for w in range(1, 30)
    ]
    pl.DataFrame(rows, schema=SCHEMA, orient="row").write_parquet(path)
    return path


def _run(container, tmp_path, *extra: str) -> str:
    log = _log(tmp_path / "old.parquet")
    result = CliRunner().invoke(
        app,
        ["demo", "--data", str(log), "--no-serve", "--port", "8123", *extra],
        env=demo_env(container, tmp_path),
    )
    assert result.exit_code == 0, result.output
    return result.output


def _customer_id(container, number: int) -> int:
    with container.read_uow() as uow:
        return int(
            uow.session.scalar(select(Customer.id).where(Customer.customer_number == number))
        )


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_demo_moves_the_history_into_the_last_year_and_every_figure_agrees(
    container, clock, tmp_path
):
    clock.current = datetime.now(UTC)
    output = _run(container, tmp_path)
    text = " ".join(output.split())
    today = clock.current.date()

    found = re.search(r"history dates: (\S+) to (\S+), moved from (\S+) to (\S+) by", text)
    assert found, text
    first, last, old_first, old_last = (date.fromisoformat(g) for g in found.groups())
    assert today - timedelta(days=366) < last <= today
    assert (last - old_last).days % 7 == 0 and last.weekday() == old_last.weekday()
    assert first.weekday() == old_first.weekday()
    with container.read_uow() as uow:
        days = [
            p.date()
            for p in uow.session.scalars(
                select(Order.placed_at).where(Order.tracking_token_digest.is_(None))
            )
        ]
    assert min(days) >= first - timedelta(days=1) and max(days) <= last + timedelta(days=1)

    # Tiers: stored as of now, shown as stored, with the period the spend counts.
    expected = {30001: "Gold", 30002: "Silver", 30003: "Bronze"}
    headers = {"X-API-Key": _admin_key(output)}
    with TestClient(create_app(container, background_sweep=False), headers=headers) as client:
        for number, tier in expected.items():
            cid = _customer_id(container, number)
            with container.read_uow() as uow:
                stored = uow.session.scalar(
                    select(accounts.c.tier).where(accounts.c.customer_id == cid)
                )
                status = loyalty.account_status(uow, cid)
            assert stored == status.tier.tier == status.tier.qualifies_for == tier
            assert status.tier.basis is not None
            assert status.tier.basis.endswith(
                f"from {today - timedelta(days=365):%Y-%m-%d} to {today:%Y-%m-%d}"
            )
            assert status.tier.qualifying_spend > 0
            view = client.get(f"/api/v1/customers/{cid}/360").json()
            assert view["loyalty"]["tier"]["tier"] == tier
            assert view["loyalty"]["tier"]["basis"] == status.tier.basis

    # Intelligence scored as of the day after the (moved) history; the tour's customer, made
    # after that run, as of today (her page shows a segment, not "not scored").
    assert f"intelligence: as of {last + timedelta(days=1):%Y-%m-%d}" in text
    assert (
        "intelligence: scored the demo customer's 2 profiles as of today"
        f" ({today:%Y-%m-%d}, her purchases of today counted; she is newer than the batch run)"
        in text
    )
    tour_customer = re.search(r"GET /api/v1/customers/(\d+)/360", text)
    assert tour_customer is not None
    with container.read_uow() as uow:
        scores = get_customer_scores(uow, int(tour_customer.group(1)), 0)
    assert scores.segment not in ("not_scored", "no_purchases") and scores.p_alive is not None
    assert scores.as_of == today + timedelta(days=1)

    # The plan reads the moved history (and the demo's orders of today) and says so.
    run = run_replenishment(
        container.read_engine,
        container.uow,
        container.read_uow,
        config=ReplenishmentConfig(),
        channel="WEB",
        today=today,
        actor="test",
        progress=lambda _message: None,
    )
    assert run.policies > 0
    assert run.demand_to == today and run.start == today + timedelta(days=1)
    assert run.demand_from is not None and run.demand_from >= first
    assert f"demand history {run.demand_from:%Y-%m-%d} to {today:%Y-%m-%d}" in run.basis()

    # The sales chart: the twelve calendar weeks up to this one.
    labels, series, table = _sales(container, lambda _m: None)
    monday = today - timedelta(days=today.weekday())
    assert labels[-1] == monday.strftime("%d %b %y") and len(labels) == 12
    assert table["period"] == (
        f"weeks of {monday - timedelta(weeks=11):%Y-%m-%d} to {monday:%Y-%m-%d}"
    )
    assert series["WEB"][-1] > 0  # the demo customer's orders of today


def _admin_key(output: str) -> str:
    found = re.search(r"shown once; 'Authorize' in the docs\):\s+(\S+)", output)
    assert found is not None, output
    return found.group(1)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_keep_dates_imports_the_original_dates_and_the_tiers_say_there_is_no_recent_spend(
    container, clock, tmp_path
):
    clock.current = datetime.now(UTC)
    output = _run(container, tmp_path, "--keep-dates", "--no-intelligence")
    text = " ".join(output.split())

    assert re.search(r"history dates: \S+ to \S+ \(the log's own dates\)", text), text
    cid = _customer_id(container, 30001)
    with container.read_uow() as uow:
        stored = uow.session.scalar(select(accounts.c.tier).where(accounts.c.customer_id == cid))
        status = loyalty.account_status(uow, cid)
    # Nothing in the last year: Bronze stored and shown, and the page says why.
    assert stored == status.tier.tier == "Bronze"
    assert status.tier.basis is not None and status.tier.basis.startswith("no qualifying spend")


def test_a_stored_tier_is_shown_once_with_the_spend_that_would_change_it():
    since, until = datetime(2025, 12, 4, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC)
    shown = loyalty.stated_progress(
        Decimal("120"), ProgrammeRules(), stored="Gold", since=since, until=until
    )
    assert (shown.tier, shown.qualifies_for, shown.next_tier) == ("Gold", "Bronze", None)
    assert "Gold stays until the tier is re-evaluated" in shown.progress
    assert shown.basis == "qualifying spend £120 from 2025-12-04 to 2026-12-04"
    same = loyalty.stated_progress(
        Decimal("0"), ProgrammeRules(), stored="Bronze", since=since, until=until
    )
    assert (same.tier, same.progress) == ("Bronze", "£500 to Silver")
    assert same.basis == "no qualifying spend from 2025-12-04 to 2026-12-04"


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_printed_tour_works_as_printed(container, clock, tmp_path):
    clock.current = datetime.now(UTC)
    output = _run(container, tmp_path, "--no-intelligence")
    text = " ".join(output.split())
    passwords = printed_sign_ins(output)
    base = "http://127.0.0.1:8123"
    steps = {
        int(m.group(1)): m.group(2)
        for m in re.finditer(r"^\s+(\d+)\. (.+)$", output, re.M)
        if "tour:" in output
    }
    assert set(steps) == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, output
    number, store, code = re.search(
        r"web order (OR-\w+): click & collect at (\S+), ready for pickup, pickup code (\d{6})",
        text,
    ).groups()
    assert f"associate (works at {store}): {base}/store/orders/{number}" in text
    other = re.search(r"associate2 \(works at (\S+), another store\)", text).group(1)
    assert other != store

    application = create_app(container, background_sweep=False)

    def browser() -> TestClient:
        return TestClient(application, follow_redirects=False)

    # Every printed link opens for the person the step names.
    for step, who in (
        (1, "ada.demo@example.com"),
        (3, "associate"),
        (4, "associate2"),
        (6, "admin"),
        (8, "associate"),
        (10, "marketer"),
        (11, "agent"),
    ):
        with browser() as client:
            sign_in(client, who, passwords[who])
            urls = re.findall(rf"{re.escape(base)}(/\S+?)[,)]?(?:\s|$)", steps[step] + " ")
            assert urls, steps[step]
            for url in urls:
                page = client.get(url)
                assert page.status_code == 200, (step, who, url, page.text[:300])
    # Step 1's figures are the ones /account shows (the demo's orders counted), and the
    # customer's "my store" is the associate's, so the shop shows its stock.
    points, basis = re.search(r"one person, ([\d,]+) points, \w+ \(([^)]*)\)", steps[1]).groups()
    container.relay().run_until_idle()  # as the server does at once
    with browser() as client:
        sign_in(client, "ada.demo@example.com", passwords["ada.demo@example.com"])
        account = client.get("/account").text
        assert f'<span id="points">{points}</span> points' in account
        assert basis.startswith("qualifying spend") and basis in account, (basis, account)
        details = client.get("/account/details").text
        assert "You have not chosen a store yet" not in details and "Demo store" in details
    with browser() as client:  # step 7 needs no sign-in
        for url in re.findall(rf"{re.escape(base)}(/\S+?)[,)]?(?:\s|$)", steps[7] + " "):
            assert client.get(url).status_code == 200, (7, url)
    tracking = re.search(rf"{re.escape(base)}(/track/\S+?)\)", steps[2]).group(1)
    with browser() as client:
        assert client.get(tracking).status_code == 200

    # The story: the associate hands the order over with the code ...
    with browser() as client:
        sign_in(client, "associate", passwords["associate"])
        page = f"/store/orders/{number}"
        fid = re.search(rf"{page}/fulfilments/([\w-]+)/collect", client.get(page).text).group(1)
        done = post(client, page, f"{page}/fulfilments/{fid}/collect", {"pickup_code": code})
        assert done.status_code == 303, done.text
    # ... and it comes back at another store.
    with browser() as client:
        sign_in(client, "associate2", passwords["associate2"])
        page = f"/store/returns/{number}"
        with container.read_uow() as uow:
            line_no = uow.session.scalar(
                select(OrderLine.line_no)
                .join(Order, Order.id == OrderLine.order_id)
                .where(Order.number == number)
            )
        picked = {f"qty-{line_no}": "1", f"condition-{line_no}": "sellable"}
        picked["reason"] = "changed_mind"
        asked = post(client, page, page, picked)
        assert asked.status_code == 200 and "Confirm" in asked.text, asked.text
        back = post(client, page, page, {**picked, "confirm": "yes"})
        assert back.status_code == 303, back.text
    with container.read_uow() as uow:
        returned = uow.session.scalar(
            select(OrderLine.quantity_returned)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.number == number)
        )
    assert returned == 1
    with browser() as client:
        sign_in(client, "ada.demo@example.com", passwords["ada.demo@example.com"])
        account = client.get("/account")
        assert account.status_code == 200 and number in account.text
        assert "qualifying spend" in account.text

    # Step 9: the offers in force at HQ, "Buy 3 pay 2" on the basket's line, the coupon.
    assert (
        'add 3 to http://127.0.0.1:8123/shop/basket: the line shows "Buy 3 pay 2" -£1.69'
        " (3 x £1.69 for £3.38); try coupon WELCOME10 there (10 % off, once each); home"
        " delivery £3.95, free over £40.00"
    ) in steps[9]
    shop, basket, hq = re.findall(rf"{re.escape(base)}(/\S+?)[:,;]?(?:\s|$)", steps[9] + " ")
    assert (shop, basket, hq) == ("/shop/products/84879", "/shop/basket", "/hq/pricing/promotions")
    with browser() as client:
        sign_in(client, "admin", passwords["admin"])
        promotions = client.get(hq)
        assert promotions.status_code == 200
        for name in ("Buy 3 pay 2", "Spend £50, save £5", "Welcome: 10 % off"):
            assert name in promotions.text
        assert steps[9].endswith(
            " in force with their uses, discount and revenue; each one's page: its orders"
        )
        assert "Discount given" in promotions.text
        one = client.get(f"{hq}/{re.findall(r'promotions/([A-Z0-9-]+)', promotions.text)[0]}")
        assert one.status_code == 200 and "Uses and revenue" in one.text
    with browser() as client:
        sign_in(client, "ada.demo@example.com", passwords["ada.demo@example.com"])
        added = post(client, shop, "/shop/basket/add", {"sku": "84879", "quantity": "3"})
        assert added.status_code == 303, added.text
        page = client.get(basket).text
        assert "Buy 3 pay 2" in page and "-£1.69" in page
        applied = post(client, basket, "/shop/basket/coupons", {"code": "WELCOME10"})
        assert applied.status_code == 303, applied.text
        page = client.get(basket).text
        assert "WELCOME10" in page and "Welcome: 10 % off" in page


def test_the_demo_installs_the_classic_journeys_and_switches_two_on(container):
    from omniretail.demo.marketing import LIVE, seed_journeys
    from omniretail.marketing import service as marketing

    with container.uow() as uow:
        first = seed_journeys(uow, actor="demo", site_url="http://shop.test")
    with container.uow() as uow:
        again = seed_journeys(uow, actor="demo", site_url="http://shop.test")
    with container.read_uow() as uow:
        statuses = {j.code: j.status for j in marketing.list_journeys(uow)}
    assert sorted(first.installed) == sorted(c.code for c in marketing.CLASSICS)
    assert again.installed == [] and sorted(again.live) == sorted(LIVE)
    assert {code for code, status in statuses.items() if status == "live"} == set(LIVE)
    assert {code for code, status in statuses.items() if status == "draft"} == {
        c.code for c in marketing.CLASSICS
    } - set(LIVE)
