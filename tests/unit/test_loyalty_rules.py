"""Loyalty's pure rules: points for a purchase (rates, tier multiplier, campaigns, rounding),
the tier a qualifying spend reaches, and which birthdays are celebrated on a day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from omniretail.loyalty.schemas import Campaign, ProgrammeRules
from omniretail.loyalty.service import birthdays_on, points_for_order, progress_for
from tests.fakes import purchase

NOV_2 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
DOUBLE_GIFTS = Campaign(
    name="Double gifts",
    starts_at=datetime(2026, 11, 1, tzinfo=UTC),
    ends_at=datetime(2026, 11, 10, tzinfo=UTC),
    multiplier=Decimal(2),
    bonus_points=50,
    categories=["Gifts"],
)
PROGRAMME = ProgrammeRules(
    points_per_unit=Decimal(1),
    points_per_unit_by_channel={"STORE": Decimal(2)},
    points_per_unit_by_category={"Gifts": Decimal(3)},
    campaigns=[DOUBLE_GIFTS],
)


def test_points_per_line_use_category_over_channel_over_default_times_tier_and_campaign():
    order = purchase(
        NOV_2,
        (1, "10.99", "Gifts"),  # 3 (category) x 1.25 (tier) x 2 (campaign) = 7.5 -> 82.425
        (2, "5.50", None),  # 2 (channel) x 1.25 = 2.5 -> 13.75
        (3, "0", "Gifts"),  # nothing spent: no line
        (4, "-3.00", None),  # a refund line: no line
        channel="STORE",
    )

    assert points_for_order(order, PROGRAMME, Decimal("1.25")) == (
        {1: 82, 2: 13},
        Decimal("16.49"),
        50,
    )


def test_a_campaign_counts_only_within_its_window_and_channels():
    ended = purchase(datetime(2026, 11, 10, tzinfo=UTC), (1, "10.00", "Gifts"))
    web_only = PROGRAMME.model_copy(
        update={"campaigns": [DOUBLE_GIFTS.model_copy(update={"channels": ["WEB"]})]}
    )
    in_store = purchase(NOV_2, (1, "10.00", "Gifts"), channel="STORE")

    assert points_for_order(ended, PROGRAMME, Decimal(1)) == ({1: 30}, Decimal("10.00"), 0)
    assert points_for_order(in_store, web_only, Decimal(1)) == ({1: 30}, Decimal("10.00"), 0)


def test_no_spend_earns_no_campaign_bonus():
    assert points_for_order(purchase(NOV_2, (1, "0", None)), PROGRAMME, Decimal(1)) == (
        {},
        Decimal(0),
        0,
    )


def test_tier_progress_names_the_tier_and_what_is_left_to_the_next():
    programme = ProgrammeRules()  # Bronze 0, Silver 500 (x1.25), Gold 2000 (x1.5)

    bronze = progress_for(Decimal(462), programme)
    silver = progress_for(Decimal("1999.5"), programme)
    gold = progress_for(Decimal(2000), programme)

    assert (bronze.tier, bronze.multiplier, bronze.next_tier, bronze.to_next_tier) == (
        "Bronze",
        Decimal(1),
        "Silver",
        Decimal("38.00"),
    )
    assert bronze.progress == "£38 to Silver"
    assert (silver.tier, silver.progress) == ("Silver", "£0.50 to Gold")
    assert (gold.tier, gold.multiplier, gold.next_tier, gold.to_next_tier) == (
        "Gold",
        Decimal("1.5"),
        None,
        None,
    )
    assert gold.progress == "Gold: the top tier"
    assert gold.qualifying_spend == Decimal("2000.00")


def test_29_february_birthdays_are_celebrated_on_the_28th_in_common_years():
    assert birthdays_on(date(2027, 2, 28)) == ["02-28", "02-29"]
    assert birthdays_on(date(2028, 2, 28)) == ["02-28"]
    assert birthdays_on(date(2028, 2, 29)) == ["02-29"]
    assert birthdays_on(date(2027, 3, 1)) == ["03-01"]
