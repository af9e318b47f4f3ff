import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from omniretail.loyalty import service
from omniretail.loyalty.errors import InsufficientPoints
from omniretail.loyalty.schemas import (
    OrderEarn,
    OrderLineEarn,
    ProgrammeRules,
    RedemptionCreate,
    ReturnLine,
)
from tests.customers.helpers import make_customer


def earn(container, customer_id, number, lines, *, channel="WEB"):
    with container.uow() as uow:
        return service.earn_for_order(
            uow,
            OrderEarn(
                customer_id=customer_id,
                order_reference=number,
                channel=channel,
                placed_at=uow.now,
                lines=[
                    OrderLineEarn(line_id=i, amount=Decimal(a), quantity=q) for i, a, q in lines
                ],
            ),
            actor="test",
        )


def status(container, customer_id):
    with container.read_uow() as uow:
        return service.account_status(uow, customer_id)


def no_drift(container):
    with container.read_uow() as uow:
        report = service.recompute_balances(uow, fix=False)
    assert report.drift == []


def test_returns_in_parts_take_back_the_lines_earn_and_never_more(container):
    """A line earns its paid amount rounded down (5.00 for 3 units: 5 points); returns in
    parts take back its earn times the share returned so far, rounded down, less what was
    taken before (1, 2, 2): never more than earned, and everything once all is back."""
    customer = make_customer(container)
    earn(container, customer, "O9", [(1, "5.00", 3), (2, "2.11", 1)])
    taken = []
    for n, (line, quantity) in enumerate([(1, 1), (1, 1), (2, 1), (1, 1)]):
        with container.uow() as uow:
            entry = service.claw_back_return(
                uow,
                ReturnLine(
                    return_line_key=f"R9-{n}",
                    order_reference="O9",
                    order_line_id=line,
                    quantity=quantity,
                ),
                actor="t",
            )
        taken.append(-entry.pending_delta)
    assert taken == [1, 2, 2, 2]  # 5 + 2: what the order earned
    assert status(container, customer).pending == 0
    no_drift(container)


def test_return_claws_back_exactly_what_the_returned_lines_earned(container, clock):
    customer = make_customer(container)
    earn(container, customer, "O1", [(1, "30.00", 3), (2, "20.00", 1)])
    assert (status(container, customer).available, status(container, customer).pending) == (100, 50)
    again = earn(container, customer, "O1", [(1, "30.00", 3)])
    assert again is None  # a replayed order event earns nothing

    with container.uow() as uow:
        entry = service.claw_back_return(
            uow,
            ReturnLine(return_line_key="R1-1", order_reference="O1", order_line_id=1, quantity=1),
            actor="t",
        )
        replay = service.claw_back_return(
            uow,
            ReturnLine(return_line_key="R1-1", order_reference="O1", order_line_id=1, quantity=1),
            actor="t",
        )
    assert (entry.pending_delta, entry.points, replay) == (-10, 0, None)
    with container.uow() as uow:
        service.claw_back_return(
            uow,
            ReturnLine(return_line_key="R1-2", order_reference="O1", order_line_id=1, quantity=2),
            actor="t",
        )
    account = status(container, customer)
    assert (account.available, account.pending) == (100, 20)
    # pending points cannot be redeemed: buy, redeem, refund and keep is impossible
    with container.uow() as uow, pytest.raises(InsufficientPoints):
        service.redeem_points(uow, customer, RedemptionCreate(points=101, channel="WEB"), actor="t")
    clock.advance(days=31)
    with container.uow() as uow:
        assert service.release_matured_points(uow, actor="t") == 1
    assert (status(container, customer).available, status(container, customer).pending) == (120, 0)
    no_drift(container)


def test_redemption_spends_the_soonest_expiring_lots_first(container, clock):
    customer = make_customer(container)
    earn(container, customer, "O1", [(1, "50.00", 1)])  # welcome lot (100) expires first
    clock.advance(days=31)
    with container.uow() as uow:
        service.release_matured_points(uow, actor="t")
        service.redeem_points(uow, customer, RedemptionCreate(points=120, channel="POS"), actor="t")
        lots = service.list_lots(uow, customer)
    assert [(lot.points, lot.remaining, lot.status) for lot in lots] == [
        (100, 0, "closed"),
        (50, 30, "available"),
    ]
    no_drift(container)


def test_tier_changes_when_qualifying_spend_crosses_a_threshold(container):
    customer = make_customer(container)
    with container.uow() as uow:
        service.save_programme(
            uow,
            ProgrammeRules.model_validate(
                {
                    "tiers": [
                        {"name": "Bronze", "threshold": 0},
                        {"name": "Gold", "threshold": 100, "multiplier": 2},
                    ],
                    "welcome_points": 0,
                }
            ),
            actor="t",
        )
    earn(container, customer, "O1", [(1, "62.00", 1)])
    account = status(container, customer)
    assert (account.tier.tier, account.tier.progress) == ("Bronze", "£38 to Gold")
    earn(container, customer, "O2", [(2, "40.00", 1)])
    account = status(container, customer)
    assert (account.tier.tier, account.tier.next_tier, account.tier.progress) == (
        "Gold",
        None,
        "Gold: the top tier",
    )
    earn(container, customer, "O3", [(3, "10.00", 1)])  # earns at Gold's multiplier
    assert status(container, customer).pending == 62 + 40 + 20
    with container.read_uow() as uow:
        from omniretail.db.outbox import list_events

        changes = [e.data for e in list_events(uow.session, type_prefix="omniretail.loyalty.tier")]
    assert changes == [{"customer_id": customer, "previous": "Bronze", "tier": "Gold"}]


def test_concurrent_redemptions_never_spend_the_same_points_twice(container):
    customer = make_customer(container)  # 100 welcome points
    workers = 32
    barrier = threading.Barrier(workers)
    with container.uow() as uow:
        service.enrol(uow, customer, actor="t")

    def redeem(i):
        barrier.wait()
        try:
            with container.uow() as uow:
                service.redeem_points(
                    uow, customer, RedemptionCreate(points=7, channel=f"C{i % 3}"), actor=f"w{i}"
                )
            return True
        except InsufficientPoints:
            return False

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(redeem, range(workers)))
    assert sum(results) == 14  # 14 x 7 = 98 <= 100 < 15 x 7
    assert status(container, customer).available == 2
    no_drift(container)


def test_a_coupon_is_redeemed_once_in_any_channel(container, client):
    customer = make_customer(container)
    with container.uow() as uow:
        coupon = service.issue_coupon(
            uow,
            customer,
            kind="reward",
            description="£5 off",
            discount=Decimal(5),
            valid_days=10,
            source_key="test:1",
        )
    r = client.post(
        f"/api/v1/loyalty/coupons/{coupon.code}/redeem",
        json={"channel": "POS", "customer_id": customer},
    )
    assert (r.status_code, r.json()["redeemed_channel"]) == (200, "POS")
    r = client.post(f"/api/v1/loyalty/coupons/{coupon.code}/redeem", json={"channel": "WEB"})
    assert (r.status_code, r.json()["type"].rsplit("/", 1)[1]) == (409, "coupon-not-redeemable")


def test_birthday_coupons_follow_the_home_stores_time_zone(container, clock):
    from datetime import UTC, datetime

    from tests.factories import make_network

    make_network(container)
    clock.current = datetime(2026, 9, 1, tzinfo=UTC)  # birthdays on file since September
    london = make_customer(container, "L", birth_date="1990-11-03", home_store="LON1")
    nobody = make_customer(container, "N", birth_date="1990-11-04", home_store="LON1")
    clock.current = datetime(2026, 11, 3, 0, 30, tzinfo=UTC)
    with container.uow() as uow:
        assert service.award_birthday_coupons(uow, actor="t") == 1
        assert service.award_birthday_coupons(uow, actor="t") == 0
        assert [c.kind for c in service.list_coupons(uow, london)] == ["birthday"]
        assert service.list_coupons(uow, nobody) == []


def test_a_birthday_changed_lately_waits_before_its_coupon(container, client, clock):
    """Setting one's birth date to today was a coupon on demand: a birthday given or changed
    less than ``birthday_on_file_days`` ago is not yet rewarded, a new profile's included
    (one given long ago is)."""
    from datetime import UTC, datetime, timedelta

    from tests.factories import make_network

    make_network(container)
    clock.current = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    early = make_customer(container, "E", home_store="LON1")
    made_with_it = make_customer(container, "M", birth_date="1990-11-03", home_store="LON1")
    late = make_customer(container, "L", home_store="LON1")
    patch = {"birth_date": "1991-11-03"}
    assert client.patch(f"/api/v1/customers/{early}", json=patch).status_code == 200
    clock.current = datetime(2026, 11, 3, 0, 30, tzinfo=UTC)
    assert client.patch(f"/api/v1/customers/{late}", json=patch).status_code == 200
    made_today = make_customer(container, "T", birth_date="1985-11-03", home_store="LON1")
    with container.uow() as uow:
        assert service.award_birthday_coupons(uow, actor="t") == 2
        assert [c.kind for c in service.list_coupons(uow, early)] == ["birthday"]
        assert [c.kind for c in service.list_coupons(uow, made_with_it)] == ["birthday"]
        assert service.list_coupons(uow, late) == []
        assert service.list_coupons(uow, made_today) == []  # a profile made today waits too
    # Next year both have been on file long enough.
    clock.current += timedelta(days=365)
    with container.uow() as uow:
        assert service.award_birthday_coupons(uow, actor="t") == 4
        assert [c.kind for c in service.list_coupons(uow, late)] == ["birthday"]
        assert [c.kind for c in service.list_coupons(uow, made_today)] == ["birthday"]


def test_a_bonus_campaign_applies_on_its_channel_inside_its_dates(container, client, clock):
    """Double points in stores (POS) during a weekend, plus 25 bonus points per purchase;
    web orders that weekend and store orders after it earn the base rate. Tier progress
    reads in money ("£38 to Gold") over HTTP and in the 360."""
    from datetime import timedelta

    weekend = clock.current
    programme = {
        "welcome_points": 0,
        "tiers": [{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 200}],
        "campaigns": [
            {
                "name": "Double points weekend in store",
                "starts_at": weekend.isoformat(),
                "ends_at": (weekend + timedelta(days=2)).isoformat(),
                "multiplier": 2,
                "bonus_points": 25,
                "channels": ["POS"],
            }
        ],
    }
    r = client.put("/api/v1/loyalty/programme", json=programme)
    assert r.status_code == 200, r.text
    customer = make_customer(container)

    in_store = earn(container, customer, "S1", [(1, "30.00", 1), (2, "12.50", 1)], channel="POS")
    online = earn(container, customer, "W1", [(3, "30.00", 1)], channel="WEB")
    clock.advance(days=3)
    after = earn(container, customer, "S2", [(4, "30.00", 1)], channel="POS")

    # POS in the dates: (30 x 2) + floor(12.50 x 2) + 25 bonus; the others: 1 point per pound
    assert [e.pending_delta for e in (in_store, online, after)] == [60 + 25 + 25, 30, 30]
    assert in_store.data["bonus"] == 25 and in_store.data["lines"] == {"1": 60, "2": 25}

    account = client.get(f"/api/v1/loyalty/customers/{customer}").json()
    assert (account["pending"], account["tier"]["qualifying_spend"]) == (170, "102.50")
    assert (account["tier"]["tier"], account["tier"]["progress"]) == ("Bronze", "£97.50 to Gold")
    earn(container, customer, "W2", [(5, "59.50", 1)], channel="WEB")
    view = client.get(f"/api/v1/customers/{customer}/360").json()
    assert view["loyalty"]["tier"]["progress"] == "£38 to Gold"
    assert view["loyalty"]["tier"]["to_next_tier"] == "38.00"
    no_drift(container)
