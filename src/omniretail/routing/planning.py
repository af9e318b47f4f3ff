"""Routing use cases: the rules in force (versioned data), and a plan for a set of lines built
from live stock, locations and today's capacity. Checkout, re-routing, fulfilment options and
``routing/simulate`` all plan through ``plan`` so they agree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from omniretail.catalog import service as catalog
from omniretail.catalog.schemas import LocationRead
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as availability
from omniretail.routing import repository as repo
from omniretail.routing.engine import (
    DEFAULT_RULES,
    Decision,
    Inputs,
    Need,
    RouteRequest,
    RuleSet,
    Site,
    route,
)
from omniretail.routing.errors import InvalidRoutingRules
from omniretail.routing.events import RoutingRulesSaved
from omniretail.routing.methods import FulfilmentMethod
from omniretail.routing.promises import local_day
from omniretail.routing.schemas import (
    AssignmentRead,
    CandidateRead,
    DecisionRead,
    RoutingSimulate,
    RuleSetRead,
    RuleSetWrite,
)

_LOCATIONS_KEY = "orders:locations"
_RULES_KEY = "orders:rules"


def locations(uow: UnitOfWork) -> dict[str, LocationRead]:
    """Every active location with its channels (cached like channel settings; a saved location
    or channel clears the cache)."""
    cached = uow.cache.get(_LOCATIONS_KEY)
    if isinstance(cached, dict):
        return cached
    found = {loc.code: loc for loc in catalog.list_locations(uow) if loc.active}
    uow.cache.put(_LOCATIONS_KEY, found)
    return found


def sites(uow: UnitOfWork) -> dict[str, Site]:
    return {
        code: Site(
            code=loc.code,
            name=loc.name,
            kind=loc.kind.value,
            latitude=loc.latitude,
            longitude=loc.longitude,
            ships_to_home=loc.capabilities.ships_to_home,
            pickup=loc.capabilities.pickup,
            ship_to_store_target=loc.capabilities.ship_to_store_target,
            daily_capacity=loc.daily_capacity,
            channels=frozenset(loc.channel_codes),
            accepts_returns=loc.capabilities.accepts_returns,
            curbside=loc.capabilities.curbside,
        )
        for code, loc in locations(uow).items()
    }


# --- rules -----------------------------------------------------------------------------------


def rules_in_force(uow: UnitOfWork) -> tuple[int, RuleSet]:
    """The highest stored version, or the built-in defaults as version 0."""
    cached = uow.cache.get(_RULES_KEY)
    if isinstance(cached, tuple):
        return cached
    stored = repo.latest_rule_set(uow.session)
    found = (stored.version, RuleSet.model_validate(stored.rules)) if stored else (0, DEFAULT_RULES)
    uow.cache.put(_RULES_KEY, found)
    return found


def rules_version(uow: UnitOfWork, version: int) -> RuleSet:
    if version == 0:
        return DEFAULT_RULES
    stored = repo.get_rule_set(uow.session, version)
    if stored is None:
        raise InvalidRoutingRules(f"no routing rules version {version}", field="version")
    return RuleSet.model_validate(stored.rules)


def save_rules(uow: UnitOfWork, data: RuleSetWrite, *, actor: str) -> RuleSetRead:
    """Stores the rules as the next version, which is in force from now on."""
    known = locations(uow)
    unknown = sorted(set(data.rules.costs.by_location) - set(known))
    if unknown:
        raise InvalidRoutingRules(
            f"costs.by_location names unknown locations: {', '.join(unknown)}",
            field="rules.costs.by_location",
        )
    rules_json = data.rules.model_dump(mode="json")
    version = repo.insert_rule_set(
        uow.session,
        {"name": data.name, "rules": rules_json, "created_by": actor, "created_at": uow.now},
    )
    uow.cache.invalidate()
    uow.record(RoutingRulesSaved(version=version, name=data.name, actor=actor))
    return RuleSetRead(
        version=version, name=data.name, rules=data.rules, created_by=actor, created_at=uow.now
    )


def get_rules(uow: UnitOfWork, version: int | None = None) -> RuleSetRead:
    if version is None:
        stored = repo.latest_rule_set(uow.session)
    elif version == 0:
        stored = None
    else:
        stored = repo.get_rule_set(uow.session, version)
        if stored is None:
            raise InvalidRoutingRules(f"no routing rules version {version}", field="version")
    if stored is None:
        return RuleSetRead(
            version=0,
            name="built-in defaults",
            rules=DEFAULT_RULES,
            created_by="system",
            created_at=None,
        )
    return RuleSetRead(
        version=stored.version,
        name=stored.name,
        rules=RuleSet.model_validate(stored.rules),
        created_by=stored.created_by,
        created_at=stored.created_at,
    )


def list_rules(uow: UnitOfWork, limit: int = 50) -> list[RuleSetRead]:
    return [
        RuleSetRead(
            version=r.version,
            name=r.name,
            rules=RuleSet.model_validate(r.rules),
            created_by=r.created_by,
            created_at=r.created_at,
        )
        for r in repo.list_rule_sets(uow.session, limit)
    ]


# --- planning --------------------------------------------------------------------------------


def plan(
    uow: UnitOfWork,
    needs: Sequence[Need],
    *,
    method: FulfilmentMethod,
    channel: str,
    destination: tuple[float, float] | None = None,
    pickup_location: str | None = None,
    order_value: Decimal = Decimal(0),
    exclude: frozenset[str] = frozenset(),
    own_units: Mapping[tuple[str, str], int] | None = None,
    rules: tuple[int, RuleSet] | None = None,
) -> tuple[int, Decision]:
    """Routes ``needs`` on live data. ``own_units`` are units the caller already holds
    (a cart's reservations, an order's allocations), counted as available where they are."""
    version, rule_set = rules or rules_in_force(uow)
    inputs = gather_inputs(uow, [n.sku for n in needs], own_units)
    request = RouteRequest(
        needs=needs,
        method=method,
        channel=channel,
        destination=destination,
        pickup_location=pickup_location,
        order_value=order_value,
        exclude=exclude,
    )
    return version, route(rule_set, request, inputs)


def gather_inputs(
    uow: UnitOfWork,
    skus: Sequence[str],
    own_units: Mapping[tuple[str, str], int] | None = None,
) -> Inputs:
    """Live stock of ``skus`` everywhere (1 statement) and today's capacity (1 statement)."""
    known = sites(uow)
    available: dict[tuple[str, str], int] = {}
    reserved: dict[tuple[str, str], int] = {}
    for row in availability.availability(uow, sorted(set(skus))):
        for loc in row.locations:
            available[(row.sku, loc.location)] = loc.available
            if loc.reserved:
                reserved[(row.sku, loc.location)] = loc.reserved
    for key, units in (own_units or {}).items():
        available[key] = available.get(key, 0) + units
    return Inputs(
        sites=known,
        available=available,
        capacity_left=capacity_left(uow, known),
        reserved=reserved,
    )


def capacity_left(uow: UnitOfWork, known: Mapping[str, Site]) -> dict[str, int]:
    """Ship-from-store capacity left today at each location that has a limit."""
    limited = {code: s for code, s in known.items() if s.daily_capacity > 0}
    if not limited:
        return {}
    by_day: dict[object, list[str]] = {}
    all_locations = locations(uow)
    for code in limited:
        by_day.setdefault(local_day(uow.now, all_locations[code].timezone), []).append(code)
    left: dict[str, int] = {}
    for day, codes in by_day.items():
        used = repo.capacity_used(uow.session, codes, day)  # type: ignore[arg-type]
        for code in codes:
            left[code] = limited[code].daily_capacity - used.get(code, 0)
    return left


def simulate(uow: UnitOfWork, data: RoutingSimulate) -> DecisionRead:
    """Explains a routing decision without changing anything."""
    if data.rules is not None:
        rules: tuple[int, RuleSet] = (-1, data.rules)
    elif data.version is not None:
        rules = (data.version, rules_version(uow, data.version))
    else:
        rules = rules_in_force(uow)
    catalog.channel_settings(uow, data.channel)  # unknown channel -> 404
    known = locations(uow)
    for code in [data.pickup_location, *data.exclude]:
        if code is not None and code not in known:
            from omniretail.catalog.errors import UnknownLocation

            raise UnknownLocation(f"no active location with code {code!r}", field="location")
    needs = [Need(key=str(i), sku=ln.sku, quantity=ln.quantity) for i, ln in enumerate(data.lines)]
    destination = (
        (data.latitude, data.longitude)
        if data.latitude is not None and data.longitude is not None
        else None
    )
    version, decision = plan(
        uow,
        needs,
        method=data.method,
        channel=data.channel,
        destination=destination,
        pickup_location=data.pickup_location,
        order_value=data.order_value or Decimal(0),
        exclude=frozenset(data.exclude),
        rules=rules,
    )
    return decision_read(version, decision)


def decision_read(version: int, decision: Decision) -> DecisionRead:
    return DecisionRead(
        ok=decision.ok,
        method=decision.method,
        rule_version=version,
        summary=decision.summary,
        max_splits=decision.max_splits,
        assignments=[
            AssignmentRead(
                location=a.location,
                method=a.method,
                pickup_location=a.pickup_location,
                lines=[{"sku": t.sku, "quantity": t.quantity} for t in a.takes],
                why=a.why,
            )
            for a in decision.assignments
        ],
        unplaced=[{"sku": t.sku, "quantity": t.quantity} for t in decision.unplaced],
        candidates=[
            CandidateRead(
                location=c.location,
                kind=c.kind,
                eligible=not c.excluded_by,
                excluded_by=c.excluded_by,
                rank=c.rank,
                distance_km=c.distance_km,
                stock_depth=c.stock_depth,
                reserved_here=c.reserved_here,
                cost=c.cost,
            )
            for c in sorted(
                decision.candidates, key=lambda c: (c.rank is None, c.rank or 0, c.location)
            )
        ],
    )
