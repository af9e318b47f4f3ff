"""The routing engine (``orders.routing.route``) on an in-memory network: which filters exclude
a location and why, how the eligible ones are ranked, when an order splits."""

from __future__ import annotations

from decimal import Decimal

from omniretail.orders.models import FulfilmentMethod as M
from omniretail.routing.engine import (
    DEFAULT_RULES,
    DistanceFilter,
    Need,
    RouteRequest,
    RuleSet,
    SafetyStockFilter,
    Take,
    capacity_limited,
    route,
)
from tests.fakes import LONDON, MANCHESTER, READING, FakeNetwork


def ship(*needs: Need, **kwargs: object) -> RouteRequest:
    return RouteRequest(
        needs=list(needs), method=M.SHIP_TO_HOME, channel="WEB", destination=LONDON, **kwargs
    )  # type: ignore[arg-type]


def two_stores() -> FakeNetwork:
    return FakeNetwork().site("LON", at=LONDON).site("MAN", at=MANCHESTER)


def test_the_nearest_location_covering_everything_wins():
    network = two_stores().stock("A", "LON", 2).stock("A", "MAN", 5)

    decision = route(DEFAULT_RULES, ship(Need("l1", "A", 2)), network.inputs())

    assert decision.ok is True
    [assignment] = decision.assignments
    assert (assignment.location, assignment.method, assignment.takes) == (
        "LON",
        M.SHIP_TO_HOME,
        [Take("l1", "A", 2)],
    )
    assert (
        assignment.why
        == "covers every remaining unit (2 location(s) could); ranked first by distance (0.0 km)"
    )
    assert [(c.location, c.rank, c.excluded_by) for c in decision.candidates] == [
        ("LON", 1, []),
        ("MAN", 2, []),
    ]
    assert decision.summary == "1 location(s): LON (2 units)"


def test_every_failing_rule_is_reported_for_an_excluded_location():
    network = (
        two_stores()
        .site("BOX", "locker", ships_to_home=False, channels=("STORE",))
        .stock("A", "LON", 1)
        .stock("A", "BOX", 9)
    )

    decision = route(DEFAULT_RULES, ship(Need("l1", "A", 1)), network.inputs())

    box = next(c for c in decision.candidates if c.location == "BOX")
    assert box.excluded_by == [
        "method: does not ship to home",
        "channel: WEB does not sell from here",
        "location_kind: locker not in ['warehouse', 'store']",
    ]
    assert box.rank is None
    man = next(c for c in decision.candidates if c.location == "MAN")
    assert man.excluded_by == ["stock: none of the requested SKUs available to promise here"]


def test_a_location_named_in_the_request_is_excluded():
    network = two_stores().stock("A", "LON", 1).stock("A", "MAN", 1)

    decision = route(
        DEFAULT_RULES, ship(Need("l1", "A", 1), exclude=frozenset({"LON"})), network.inputs()
    )

    assert [a.location for a in decision.assignments] == ["MAN"]
    assert decision.candidates[0].excluded_by == [
        "excluded: rejected this order or named in the request"
    ]


def test_without_a_full_cover_the_largest_cover_goes_first_then_the_rest():
    network = two_stores().stock("A", "LON", 1).stock("A", "MAN", 2)

    decision = route(DEFAULT_RULES, ship(Need("l1", "A", 3)), network.inputs())

    assert [(a.location, a.takes, a.why) for a in decision.assignments] == [
        ("MAN", [Take("l1", "A", 2)], "covers 2 of the 3 remaining units, more than any other"),
        (
            "LON",
            [Take("l1", "A", 1)],
            "covers every remaining unit (1 location(s) could); ranked first by distance (0.0 km)",
        ),
    ]
    assert decision.summary == "2 location(s): MAN (2 units), LON (1 units)"


def test_a_small_order_does_not_split_and_says_why():
    network = two_stores().stock("A", "LON", 1).stock("A", "MAN", 2)
    rules = DEFAULT_RULES.model_copy(
        update={"limits": DEFAULT_RULES.limits.model_copy(update={"no_split_below": Decimal(30)})}
    )

    small = route(rules, ship(Need("l1", "A", 3), order_value=Decimal("29.99")), network.inputs())
    large = route(rules, ship(Need("l1", "A", 3), order_value=Decimal(30)), network.inputs())

    assert (small.ok, small.max_splits, small.assignments) == (False, 1, [])
    assert small.unplaced == [Take("l1", "A", 1)]
    assert small.summary == "cannot place 1 x A within 1 location(s) (max_splits)"
    assert (large.ok, large.max_splits, len(large.assignments)) == (True, 3, 2)


def test_not_enough_stock_anywhere_is_said_so():
    network = two_stores().stock("A", "LON", 1)

    decision = route(DEFAULT_RULES, ship(Need("l1", "A", 2)), network.inputs())

    assert decision.ok is False
    assert decision.summary == "not enough stock at eligible locations for 1 x A"


def test_no_eligible_location_is_said_so():
    decision = route(DEFAULT_RULES, ship(Need("l1", "A", 1)), two_stores().inputs())

    assert decision.summary == "no location passes the rules; cannot place 1 x A"


def test_a_location_holding_the_reservation_is_preferred_over_a_nearer_one():
    network = two_stores().stock("A", "LON", 2).stock("A", "MAN", 2)
    held = ship(Need("l1", "A", 2, held_at="MAN"))

    preferred = route(DEFAULT_RULES, held, network.inputs())
    indifferent = route(
        DEFAULT_RULES.model_copy(update={"prefer_reserved": False}), held, network.inputs()
    )

    assert [a.location for a in preferred.assignments] == ["MAN"]
    assert "already holds 2 reserved unit(s) (prefer_reserved)" in preferred.assignments[0].why
    assert [a.location for a in indifferent.assignments] == ["LON"]


def test_the_safety_margin_is_kept_on_top_of_what_is_available():
    network = two_stores().stock("A", "LON", 1).stock("A", "MAN", 3)
    rules = RuleSet(filters=[SafetyStockFilter(rule="safety_stock", min_remaining=1)])

    decision = route(rules, ship(Need("l1", "A", 2)), network.inputs())

    assert [(a.location, a.takes) for a in decision.assignments] == [("MAN", [Take("l1", "A", 2)])]
    assert decision.candidates[0].excluded_by == [
        "safety_stock: every available unit is within the kept margin"
    ]


def test_distance_and_daily_capacity_filters():
    network = (
        FakeNetwork()
        .site("RDG", at=READING, daily_capacity=5)
        .site("MAN", at=MANCHESTER)
        .stock("A", "RDG", 1)
        .stock("A", "MAN", 1)
        .capacity("RDG", 0)
    )
    rules = DEFAULT_RULES.model_copy(
        update={"filters": [*DEFAULT_RULES.filters, DistanceFilter(rule="distance", max_km=100)]}
    )

    decision = route(rules, ship(Need("l1", "A", 1)), network.inputs())

    rdg, man = decision.candidates[1], decision.candidates[0]
    assert rdg.excluded_by == ["daily_capacity: all 5 used today"]
    assert len(man.excluded_by) == 1
    assert man.excluded_by[0].startswith("distance: 26") and man.excluded_by[0].endswith(
        " km > 100.0 km"
    )
    assert decision.ok is False


def test_only_capacity_limited_methods_use_a_daily_slot():
    site = FakeNetwork().site("RDG", daily_capacity=5).sites["RDG"]
    unlimited = FakeNetwork().site("LON", daily_capacity=0).sites["LON"]

    assert capacity_limited(DEFAULT_RULES, M.SHIP_TO_HOME, site) is True
    assert capacity_limited(DEFAULT_RULES, M.LOCKER, site) is True
    assert capacity_limited(DEFAULT_RULES, M.PICKUP_IN_STORE, site) is False
    assert capacity_limited(DEFAULT_RULES, M.SHIP_TO_HOME, unlimited) is False


def test_click_and_collect_is_served_by_the_pickup_store_only():
    network = (
        FakeNetwork()
        .site("LON", pickup=True)
        .site("MAN", at=MANCHESTER, pickup=True)
        .stock("A", "LON", 1)
        .stock("A", "MAN", 1)
    )
    request = RouteRequest([Need("l1", "A", 1)], M.PICKUP_IN_STORE, "WEB", pickup_location="LON")
    no_pickup = RouteRequest([Need("l1", "A", 1)], M.PICKUP_IN_STORE, "WEB")

    decision = route(DEFAULT_RULES, request, network.inputs())

    assert [(a.location, a.method, a.pickup_location) for a in decision.assignments] == [
        ("LON", M.PICKUP_IN_STORE, "LON")
    ]
    assert decision.candidates[1].excluded_by == [
        "method: pickup_in_store is served by the pickup store LON only"
    ]
    assert route(DEFAULT_RULES, no_pickup, network.inputs()).candidates[0].excluded_by == [
        "method: pickup_in_store needs a pickup location"
    ]


def test_ship_to_store_collects_the_pickup_stores_own_units_there():
    network = (
        FakeNetwork()
        .site("LON", pickup=True, ship_to_store_target=True)
        .site("DC1", "warehouse", at=READING)
        .stock("A", "LON", 1)
        .stock("A", "DC1", 5)
    )
    request = RouteRequest([Need("l1", "A", 3)], M.SHIP_TO_STORE, "WEB", pickup_location="LON")

    decision = route(DEFAULT_RULES, request, network.inputs())

    assert [(a.location, a.method, a.takes) for a in decision.assignments] == [
        ("DC1", M.SHIP_TO_STORE, [Take("l1", "A", 3)])
    ]
    two = route(
        DEFAULT_RULES,
        RouteRequest([Need("l1", "A", 1)], M.SHIP_TO_STORE, "WEB", pickup_location="LON"),
        network.inputs(),
    )
    assert [(a.location, a.method) for a in two.assignments] == [("LON", M.PICKUP_IN_STORE)]
