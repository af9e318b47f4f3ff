"""The routing engine: which locations fulfil which lines. Pure: no session, no clock.

Rules are data (``RuleSet``, stored and versioned in ``routing_rule_sets``)::

    {
      "filters": [
        {"rule": "channel"},
        {"rule": "location_kind", "kinds": ["warehouse", "store"], "methods": ["ship_to_home"]},
        {"rule": "capability", "capability": "ships_to_home", "methods": ["ship_to_home"]},
        {"rule": "distance", "max_km": 400},
        {"rule": "safety_stock", "min_remaining": 1},
        {"rule": "daily_capacity", "kinds": ["store"], "methods": ["ship_to_home", "locker"]}
      ],
      "sorts": [{"by": "distance"}, {"by": "stock_depth"}, {"by": "cost"}],
      "limits": {"max_splits": 2, "no_split_below": "30.00"},
      "costs": {"by_kind": {"warehouse": 3.0, "store": 5.0}, "by_location": {}, "per_km": 0.01},
      "prefer_reserved": true
    }

A filter with ``methods`` applies only to those fulfilment methods. Besides the filters, each
method has requirements of its own (reported as rule ``method``): shipping needs a location that
ships to home, collection needs a pickup location that offers it, and so on.

Evaluation: every location is checked against every filter (all failures are reported); the
eligible ones are ranked by the sorts (``prefer_reserved`` first puts a location that already
holds the cart's units ahead); then the first location that covers every remaining unit wins,
else the one covering the most, until all lines are placed or ``max_splits`` is reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from omniretail.catalog.schemas import LocationKind
from omniretail.routing.methods import COLLECT_AT_SOURCE, FulfilmentMethod

Method = FulfilmentMethod


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    methods: list[FulfilmentMethod] | None = Field(
        default=None,
        max_length=10,
        description="Apply only to these fulfilment methods (default: all)",
    )

    def applies(self, method: FulfilmentMethod) -> bool:
        return self.methods is None or method in self.methods


class LocationKindFilter(_Rule):
    rule: Literal["location_kind"]
    kinds: list[LocationKind] = Field(min_length=1, max_length=10)


class CapabilityFilter(_Rule):
    rule: Literal["capability"]
    capability: Literal[
        "ships_to_home", "pickup", "ship_to_store_target", "accepts_returns", "curbside"
    ]


class ChannelFilter(_Rule):
    rule: Literal["channel"]


class DistanceFilter(_Rule):
    rule: Literal["distance"]
    max_km: float = Field(gt=0, le=20_000)


class SafetyStockFilter(_Rule):
    """Units available to promise already exclude safety stock; this keeps a margin on top."""

    rule: Literal["safety_stock"]
    min_remaining: int = Field(default=0, ge=0, le=1_000_000_000)


class DailyCapacityFilter(_Rule):
    """Locations with a daily capacity must have some left today (0 capacity = unlimited)."""

    rule: Literal["daily_capacity"]
    kinds: list[LocationKind] = Field(default_factory=lambda: [LocationKind.STORE], max_length=10)


Filter = Annotated[
    LocationKindFilter
    | CapabilityFilter
    | ChannelFilter
    | DistanceFilter
    | SafetyStockFilter
    | DailyCapacityFilter,
    Field(discriminator="rule"),
]


class Sort(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: Literal["distance", "stock_depth", "cost"]
    order: Literal["asc", "desc"] | None = Field(
        default=None, description="Default: distance asc, stock_depth desc, cost asc"
    )

    @property
    def descending(self) -> bool:
        return (self.order or ("desc" if self.by == "stock_depth" else "asc")) == "desc"


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_splits: int = Field(default=3, ge=1, le=20, description="Most locations per order")
    no_split_below: Decimal | None = Field(
        default=None,
        ge=0,
        le=Decimal("9999999999.99"),
        description="Orders worth less than this ship from one location",
    )


MAX_COST = 1_000_000.0
Cost = Annotated[float, Field(ge=-MAX_COST, le=MAX_COST)]


class Costs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by_kind: dict[LocationKind, Cost] = Field(default_factory=dict, max_length=10)
    by_location: dict[Annotated[str, Field(max_length=40)], Cost] = Field(
        default_factory=dict, max_length=10_000
    )
    per_km: float = Field(default=0.0, ge=0, le=MAX_COST)


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filters: list[Filter] = Field(default_factory=list, max_length=50)
    sorts: list[Sort] = Field(default_factory=list, max_length=10)
    limits: Limits = Field(default_factory=Limits)
    costs: Costs = Field(default_factory=Costs)
    prefer_reserved: bool = True


DEFAULT_RULES = RuleSet(
    filters=[
        ChannelFilter(rule="channel"),
        LocationKindFilter(
            rule="location_kind",
            kinds=[LocationKind.WAREHOUSE, LocationKind.STORE],
            methods=[Method.SHIP_TO_HOME, Method.SHIP_TO_STORE, Method.LOCKER],
        ),
        SafetyStockFilter(rule="safety_stock"),
        DailyCapacityFilter(rule="daily_capacity", methods=[Method.SHIP_TO_HOME, Method.LOCKER]),
    ],
    sorts=[Sort(by="distance"), Sort(by="stock_depth"), Sort(by="cost")],
    limits=Limits(max_splits=3),
    costs=Costs(by_kind={LocationKind.WAREHOUSE: 3.0, LocationKind.STORE: 5.0}),
)


# --- inputs and outputs --------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    kind: str
    latitude: float
    longitude: float
    ships_to_home: bool
    pickup: bool
    ship_to_store_target: bool
    daily_capacity: int
    channels: frozenset[str]
    accepts_returns: bool = False
    curbside: bool = False  # hands click & collect over at the kerb


@dataclass(frozen=True)
class Need:
    key: str  # the cart line (or request line) this need comes from
    sku: str
    quantity: int
    held_at: str | None = None  # location whose reservation already holds these units


@dataclass(frozen=True)
class RouteRequest:
    needs: Sequence[Need]
    method: FulfilmentMethod
    channel: str
    destination: tuple[float, float] | None = None
    pickup_location: str | None = None
    order_value: Decimal = Decimal(0)
    exclude: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Inputs:
    sites: Mapping[str, Site]
    available: Mapping[tuple[str, str], int]  # (sku, location) -> units we may take
    capacity_left: Mapping[str, int]  # location -> ship-from-store capacity left today
    # (sku, location) -> units held in carts, where any are (``gather_inputs``)
    reserved: Mapping[tuple[str, str], int] = field(default_factory=dict)


@dataclass
class Candidate:
    location: str
    kind: str
    distance_km: float | None
    cost: float
    stock_depth: int
    reserved_here: int
    excluded_by: list[str] = field(default_factory=list)
    rank: int | None = None


@dataclass(frozen=True)
class Take:
    key: str
    sku: str
    quantity: int


@dataclass
class Assignment:
    location: str
    method: FulfilmentMethod
    pickup_location: str | None
    takes: list[Take]
    why: str


@dataclass
class Decision:
    ok: bool
    method: FulfilmentMethod
    assignments: list[Assignment]
    candidates: list[Candidate]
    unplaced: list[Take]
    summary: str
    max_splits: int


def capacity_limited(rules: RuleSet, method: FulfilmentMethod, site: Site) -> bool:
    """Whether a fulfilment by ``method`` from ``site`` uses one of its daily slots."""
    if site.daily_capacity <= 0:
        return False
    return any(
        isinstance(r, DailyCapacityFilter)
        and r.applies(method)
        and site.kind in [k.value for k in r.kinds]
        for r in rules.filters
    )


# --- evaluation ----------------------------------------------------------------------------


def route(rules: RuleSet, request: RouteRequest, inputs: Inputs) -> Decision:
    pickup = inputs.sites.get(request.pickup_location) if request.pickup_location else None
    destination = request.destination
    if pickup is not None:
        destination = (pickup.latitude, pickup.longitude)
    limits = rules.limits
    max_splits = limits.max_splits
    if limits.no_split_below is not None and request.order_value < limits.no_split_below:
        max_splits = 1
    margin = max(
        (
            r.min_remaining
            for r in rules.filters
            if isinstance(r, SafetyStockFilter) and r.applies(request.method)
        ),
        default=0,
    )
    usable = {key: max(0, units - margin) for key, units in inputs.available.items()}
    candidates = [
        _assess(rules, request, inputs, usable, site, destination, pickup)
        for site in sorted(inputs.sites.values(), key=lambda s: s.code)
    ]
    eligible = [c for c in candidates if not c.excluded_by]
    eligible.sort(key=lambda c: _sort_key(rules, c))
    for rank, c in enumerate(eligible, start=1):
        c.rank = rank
    remaining = {n.key: n.quantity for n in request.needs}
    sku_of = {n.key: n.sku for n in request.needs}
    left = dict(usable)
    assignments: list[Assignment] = []
    pool = list(eligible)
    while any(remaining.values()) and pool and len(assignments) < max_splits:
        covering = [(c, _coverage(c.location, remaining, sku_of, left)) for c in pool]
        total = sum(remaining.values())
        full = [c for c, units in covering if units == total]
        if full:
            winner, why = full[0], _why_full(rules, full[0], len(full))
        else:
            best_units = max(units for _, units in covering)
            if best_units == 0:
                break
            winner = next(c for c, units in covering if units == best_units)
            why = f"covers {best_units} of the {total} remaining units, more than any other"
        takes = _take(winner.location, remaining, sku_of, left)
        assignments.append(
            Assignment(
                location=winner.location,
                method=_method_at(request, winner.location),
                pickup_location=request.pickup_location,
                takes=takes,
                why=why,
            )
        )
        pool.remove(winner)
    unplaced = [Take(k, sku_of[k], q) for k, q in remaining.items() if q > 0]
    ok = not unplaced
    return Decision(
        ok=ok,
        method=request.method,
        assignments=assignments if ok else [],
        candidates=candidates,
        unplaced=unplaced,
        summary=_summary(ok, assignments, unplaced, eligible, max_splits),
        max_splits=max_splits,
    )


def _assess(
    rules: RuleSet,
    request: RouteRequest,
    inputs: Inputs,
    usable: Mapping[tuple[str, str], int],
    site: Site,
    destination: tuple[float, float] | None,
    pickup: Site | None,
) -> Candidate:
    from omniretail.inventory.service import haversine_km

    distance = (
        haversine_km(destination[0], destination[1], site.latitude, site.longitude)
        if destination is not None
        else None
    )
    depth = sum(min(n.quantity, usable.get((n.sku, site.code), 0)) for n in request.needs)
    reserved_here = sum(n.quantity for n in request.needs if n.held_at == site.code)
    cost = rules.costs.by_location.get(
        site.code, rules.costs.by_kind.get(LocationKind(site.kind), 0)
    ) + rules.costs.per_km * (distance or 0)
    candidate = Candidate(
        location=site.code,
        kind=site.kind,
        distance_km=round(distance, 2) if distance is not None else None,
        cost=round(cost, 2),
        stock_depth=depth,
        reserved_here=reserved_here,
    )
    reasons = candidate.excluded_by
    if site.code in request.exclude:
        reasons.append("excluded: rejected this order or named in the request")
    reasons.extend(_method_requirements(request, site, pickup))
    for rule in rules.filters:
        if rule.applies(request.method):
            failure = _check(rule, request, inputs, site, candidate)
            if failure:
                reasons.append(failure)
    if depth == 0 and not reasons:
        raw = sum(inputs.available.get((n.sku, site.code), 0) for n in request.needs)
        reasons.append(
            "safety_stock: every available unit is within the kept margin"
            if raw
            else "stock: none of the requested SKUs available to promise here"
        )
    return candidate


def _method_requirements(request: RouteRequest, site: Site, pickup: Site | None) -> list[str]:
    method = request.method
    if method is Method.SHIP_TO_HOME:
        return [] if site.ships_to_home else ["method: does not ship to home"]
    if pickup is None:
        return [f"method: {method.value} needs a pickup location"]
    if method in COLLECT_AT_SOURCE:
        if site.code != pickup.code:
            return [f"method: {method.value} is served by the pickup store {pickup.code} only"]
        if not site.pickup:
            return ["method: does not offer pickup"]
        if method is Method.CURBSIDE and not site.curbside:
            return ["method: does not offer curbside pickup"]
        return []
    if method is Method.SHIP_TO_STORE:
        if not (pickup.pickup and pickup.ship_to_store_target):
            return [f"method: {pickup.code} does not receive ship-to-store orders"]
        if site.code == pickup.code or site.kind in (
            LocationKind.WAREHOUSE.value,
            LocationKind.STORE.value,
        ):
            return []
        return ["method: cannot send stock to a store"]
    # locker: a carrier takes the parcel from a location that ships
    if pickup.kind != LocationKind.LOCKER.value:
        return [f"method: {pickup.code} is not a locker"]
    return [] if site.ships_to_home else ["method: does not ship to lockers"]


def _check(
    rule: Filter, request: RouteRequest, inputs: Inputs, site: Site, candidate: Candidate
) -> str | None:
    if isinstance(rule, LocationKindFilter):
        kinds = [k.value for k in rule.kinds]
        return None if site.kind in kinds else f"location_kind: {site.kind} not in {kinds}"
    if isinstance(rule, CapabilityFilter):
        return None if getattr(site, rule.capability) else f"capability: lacks {rule.capability}"
    if isinstance(rule, ChannelFilter):
        if request.channel in site.channels:
            return None
        return f"channel: {request.channel} does not sell from here"
    if isinstance(rule, DistanceFilter):
        if candidate.distance_km is None or candidate.distance_km <= rule.max_km:
            return None
        return f"distance: {candidate.distance_km} km > {rule.max_km} km"
    if isinstance(rule, SafetyStockFilter):
        return None  # applied as a margin on the units each location may give
    # daily capacity
    kinds = [k.value for k in rule.kinds]
    if site.kind not in kinds or site.daily_capacity <= 0:
        return None
    left = inputs.capacity_left.get(site.code, site.daily_capacity)
    return None if left > 0 else f"daily_capacity: all {site.daily_capacity} used today"


def _sort_key(rules: RuleSet, c: Candidate) -> tuple[float, ...]:
    key: list[float] = []
    if rules.prefer_reserved:
        key.append(-c.reserved_here)
    for sort in rules.sorts:
        value = {
            "distance": c.distance_km if c.distance_km is not None else 0.0,
            "stock_depth": float(c.stock_depth),
            "cost": c.cost,
        }[sort.by]
        key.append(-value if sort.descending else value)
    return tuple(key)


def _coverage(
    location: str,
    remaining: Mapping[str, int],
    sku_of: Mapping[str, str],
    left: Mapping[tuple[str, str], int],
) -> int:
    per_sku: dict[str, int] = {}
    units = 0
    for key, qty in remaining.items():
        if qty <= 0:
            continue
        sku = sku_of[key]
        free = left.get((sku, location), 0) - per_sku.get(sku, 0)
        got = max(0, min(qty, free))
        per_sku[sku] = per_sku.get(sku, 0) + got
        units += got
    return units


def _take(
    location: str,
    remaining: dict[str, int],
    sku_of: Mapping[str, str],
    left: dict[tuple[str, str], int],
) -> list[Take]:
    takes = []
    for key, qty in remaining.items():
        sku = sku_of[key]
        got = max(0, min(qty, left.get((sku, location), 0)))
        if got:
            takes.append(Take(key, sku, got))
            remaining[key] = qty - got
            left[(sku, location)] = left.get((sku, location), 0) - got
    return takes


def _method_at(request: RouteRequest, location: str) -> FulfilmentMethod:
    # A ship-to-store order whose pickup store has some units itself collects those there.
    if request.method is Method.SHIP_TO_STORE and location == request.pickup_location:
        return Method.PICKUP_IN_STORE
    return request.method


def _why_full(rules: RuleSet, winner: Candidate, full_count: int) -> str:
    parts = [f"covers every remaining unit ({full_count} location(s) could)"]
    if rules.prefer_reserved and winner.reserved_here:
        parts.append(f"already holds {winner.reserved_here} reserved unit(s) (prefer_reserved)")
    if rules.sorts:
        first = rules.sorts[0].by
        value = {"distance": winner.distance_km, "stock_depth": winner.stock_depth}.get(
            first, winner.cost
        )
        unit = " km" if first == "distance" and value is not None else ""
        parts.append(f"ranked first by {first} ({value}{unit})")
    return "; ".join(parts)


def _summary(
    ok: bool,
    assignments: list[Assignment],
    unplaced: list[Take],
    eligible: list[Candidate],
    max_splits: int,
) -> str:
    if ok:
        where = ", ".join(
            f"{a.location} ({sum(t.quantity for t in a.takes)} units)" for a in assignments
        )
        return f"{len(assignments)} location(s): {where}"
    missing = ", ".join(f"{t.quantity} x {t.sku}" for t in unplaced)
    if not eligible:
        return f"no location passes the rules; cannot place {missing}"
    if len(assignments) >= max_splits:
        return f"cannot place {missing} within {max_splits} location(s) (max_splits)"
    return f"not enough stock at eligible locations for {missing}"
