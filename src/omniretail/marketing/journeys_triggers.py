"""What starts, ends and converts runs: events (delivered by the outbox relay) and a sweep.

For each event in ``TRIGGER_EVENTS`` one handler, in one transaction: enters the customer into
every live journey whose trigger matches (an ``event`` trigger of this type whose CEL
condition over ``event`` holds; a segment trigger of this segment), occurrence = the outbox
event's id (a redelivery enters no one twice); ends active runs of journeys whose ``exit_on``
names the type; converts the customer's runs whose goal is this event, entered within the
goal's window, ended and holdout runs included (an order at the till counts like the web's).

``journeys_sweep`` finds the date triggers (the birthday at a local time in the customer's
zone, N days before; occurrence = the year) and inactivity (N days since the last order on
any channel; occurrence = that order's date).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select, tuple_, update

from omniretail.carts import events as carts
from omniretail.customers import events as customers
from omniretail.customers.models import Customer
from omniretail.db.sql import among
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import events as fulfilment
from omniretail.loyalty import events as loyalty
from omniretail.marketing import events as marketing
from omniretail.marketing import segments_facts
from omniretail.marketing.journeys import Entry, enter, enter_batch
from omniretail.marketing.journeys_definition import (
    DateTrigger,
    EventTrigger,
    InactivityTrigger,
    JourneyDefinition,
    SegmentTrigger,
    WaitStep,
)
from omniretail.marketing.journeys_engine import advance_runs
from omniretail.marketing.journeys_models import Journey, JourneyVersion, Run
from omniretail.marketing.segments_rules import matches, stored_rule
from omniretail.marketing.zones import customer_zones
from omniretail.messaging.handlers import EventMeta, HandlerRegistry, UowFactory
from omniretail.orders import events as orders
from omniretail.orders.models import Order

TRIGGER_EVENTS: tuple[type[Any], ...] = (
    orders.OrderConfirmed,
    carts.CartCreated,
    carts.CartLineAdded,
    customers.Registered,
    loyalty.TierChanged,
    fulfilment.Collected,
    fulfilment.Delivered,
    marketing.SegmentEntered,
    marketing.SegmentExited,
    marketing.BackInStock,
    marketing.PriceDropped,
    marketing.BrowseAbandoned,
)
SWEEP_WINDOW_DAYS = 7  # inactivity: last orders up to a week past the threshold are found


class Definitions:
    """Parsed journey definitions by (journey id, version): a published version never changes
    (an edit of a live or used version makes a new one), so each is parsed once per process.
    One per handler registry, i.e. per database."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._parsed: dict[tuple[int, int], JourneyDefinition] = {}
        self._lock = threading.Lock()

    def get(
        self, uow: UnitOfWork, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], JourneyDefinition]:
        wanted = set(keys)
        with self._lock:
            out = {k: self._parsed[k] for k in wanted if k in self._parsed}
        missing = sorted(wanted - out.keys())
        if missing:
            rows = uow.session.execute(
                select(
                    JourneyVersion.journey_id, JourneyVersion.version, JourneyVersion.definition
                ).where(tuple_(JourneyVersion.journey_id, JourneyVersion.version).in_(missing))
            )
            parsed = {
                (r.journey_id, r.version): JourneyDefinition.model_validate(r.definition)
                for r in rows
            }
            out.update(parsed)
            with self._lock:
                if len(self._parsed) + len(parsed) > self.LIMIT:
                    self._parsed.clear()
                self._parsed.update(parsed)
        return out


def live_journeys(
    uow: UnitOfWork, definitions: Definitions | None = None
) -> list[tuple[int, int, JourneyDefinition]]:
    """(journey id, live version, its definition) of every live journey."""
    rows = uow.session.execute(
        select(Journey.id, Journey.live_version).where(
            Journey.status == "live", Journey.live_version.is_not(None)
        )
    ).all()
    parsed = (definitions or Definitions()).get(uow, [(r.id, r.live_version) for r in rows])
    return [
        (r.id, r.live_version, parsed[(r.id, r.live_version)])
        for r in rows
        if (r.id, r.live_version) in parsed
    ]


def _fields(event: Any) -> dict[str, Any]:
    data = dataclasses.asdict(event)
    out = {k: v for k, v in data.items() if isinstance(v, str | int | float | bool) or v is None}
    if "order" in out:
        out["order_number"] = out["order"]
    return out


def _customers(uow: UnitOfWork, events: Sequence[Any]) -> list[int | None]:
    """Each event's customer: its own, or its cart's owner (the carts read in one statement)."""
    carts = {
        e.cart_id
        for e in events
        if getattr(e, "customer_id", None) is None and getattr(e, "cart_id", None)
    }
    owners = segments_facts.cart_owners(uow.session, sorted(carts)) if carts else {}
    return [
        customer_id
        if (customer_id := getattr(e, "customer_id", None)) is not None
        else owners.get(getattr(e, "cart_id", None) or "")
        for e in events
    ]


def _triggered(definition: JourneyDefinition, event_type: str, event: Any) -> bool:
    trigger = definition.trigger
    if isinstance(trigger, SegmentTrigger):
        return trigger.kind == event_type.split(".", 1)[1] and trigger.segment_id == getattr(
            event, "segment_id", None
        )
    if not isinstance(trigger, EventTrigger) or trigger.event != event_type:
        return False
    if not trigger.condition:
        return True
    return matches(stored_rule(trigger.condition), {"event": _fields(event)})


def on_event(
    uow: UnitOfWork, event: Any, meta: EventMeta, definitions: Definitions | None = None
) -> int:
    """Exits, entries and conversions for one event; returns the runs entered."""
    return on_events(uow, [(event, meta)], definitions)


def on_events(
    uow: UnitOfWork, items: Sequence[tuple[Any, EventMeta]], definitions: Definitions | None = None
) -> int:
    """``on_event`` for many events in the caller's transaction (the relay's batches), with
    the outcome of handling them one by one: the live journeys and the customers' runs are
    read once, the runs entered inserted together and their first steps taken together at the
    end (or before a later event of the same customer, whose runs are then read again)."""
    customers = _customers(uow, [event for event, _ in items])
    if not any(customers):
        return 0  # guests' events: no runs to end, no one to enter
    definitions = definitions or Definitions()
    journeys = live_journeys(uow, definitions)
    vault = uow.vault if uow.keyring is not None else None
    resolved = [(event, meta, c) for (event, meta), c in zip(items, customers, strict=True)]
    runs = _runs_of(uow, sorted({c for _, _, c in resolved if c}))
    entering: list[Entry] = []
    touched: set[int] = set()
    entered = 0

    def flush() -> int:
        # the entries so far inserted, then their first steps (up to a wait) taken now, not
        # at the loop's next poll
        made = enter_batch(uow, entering)
        first = [
            run_id
            for (journey_id, (_, definition), customer_id, _, _) in entering
            if (run_id := made.get((journey_id, customer_id))) is not None
            and not isinstance(definition.steps[0], WaitStep)
        ]
        entering.clear()
        advance_runs(uow, first, vault=vault)
        return len(made)

    for event, meta, customer_id in resolved:
        if not customer_id:
            continue
        if customer_id in touched:
            # a first step that is not a wait runs before the next event, as one by one
            entered += flush()
            runs.update(_runs_of(uow, [customer_id]))
        touched.add(customer_id)
        _one(uow, event, meta, customer_id, runs.get(customer_id, []), journeys, definitions)
        context = _fields(event)
        entering.extend(
            (journey_id, (version, definition), customer_id, meta.id, context)
            for journey_id, version, definition in journeys
            if _triggered(definition, event.type, event)
        )
    return entered + flush()


def _one(
    uow: UnitOfWork,
    event: Any,
    meta: EventMeta,
    customer_id: int,
    runs: list[Any],
    journeys: list[tuple[int, int, JourneyDefinition]],
    definitions: Definitions,
) -> None:
    """The event's exits and conversions of the customer's runs (its entries are the
    caller's: they are inserted together)."""
    event_type: str = event.type
    exits, conversions = _ends(uow, runs, event_type, definitions)
    if exits:
        uow.session.execute(
            update(Run)
            .where(Run.id.in_(exits), Run.state == "active")
            .values(state="exited", exit_reason=event_type, ended_at=uow.now, due_at=None)
        )
    if conversions:
        ref, revenue, currency = _revenue(uow, event)
        uow.session.execute(
            update(Run)
            .where(Run.id.in_(conversions))
            .values(converted_at=uow.now, conversion_ref=ref, revenue=revenue, currency=currency)
        )


def _runs_of(uow: UnitOfWork, customer_ids: list[int]) -> dict[int, list[Any]]:
    """Each customer's runs that an event may end: active, or not converted."""
    found: dict[int, list[Any]] = {c: [] for c in customer_ids}
    if not customer_ids:
        return found
    rows = uow.session.execute(
        select(
            Run.customer_id,
            Run.id,
            Run.journey_id,
            Run.version,
            Run.state,
            Run.entered_at,
            Run.converted_at,
        ).where(
            among(uow.session, Run.customer_id, customer_ids),
            or_(Run.state == "active", Run.converted_at.is_(None)),
        )
    )
    for row in rows:
        found[row.customer_id].append(row)
    return found


def _ends(
    uow: UnitOfWork, runs: list[Any], event_type: str, definitions: Definitions
) -> tuple[list[int], list[int]]:
    """Of the customer's ``runs``: the active ones whose version exits on ``event_type``, and
    those (any state, holdout included) whose goal it is, entered within the goal's window."""
    parsed = definitions.get(uow, {(r.journey_id, r.version) for r in runs})
    exits, conversions = [], []
    for row in runs:
        definition = parsed.get((row.journey_id, row.version))
        if definition is None:
            continue
        if row.state == "active" and event_type in definition.exit_on:
            exits.append(row.id)
        goal = definition.goal
        window = uow.now - timedelta(days=goal.within_days)
        if row.converted_at is None and goal.event == event_type and row.entered_at >= window:
            conversions.append(row.id)
    return exits, conversions


def _revenue(uow: UnitOfWork, event: Any) -> tuple[str | None, Decimal | None, str | None]:
    number = getattr(event, "order", None)
    if not isinstance(number, str):
        return None, None, None
    try:
        total = Decimal(str(event.total)).quantize(Decimal("0.01"))
    except (AttributeError, InvalidOperation):
        total = None
    currency = uow.session.scalar(select(Order.currency).where(Order.number == number))
    return number, total, currency


def install(registry: HandlerRegistry) -> None:
    """One batch handler per trigger event: a batch of events in one transaction. A guest's
    event (its ``customer_id`` null: a cart nobody had signed in to) is not delivered: no
    run to end, no one to enter."""
    definitions = Definitions()

    def deliver(items: list[tuple[Any, EventMeta]], uow_factory: UowFactory) -> None:
        uow: UnitOfWork
        with uow_factory() as uow:
            on_events(uow, items, definitions)

    for event_class in TRIGGER_EVENTS:
        registry.on_batch(
            event_class, f"marketing.journeys.{event_class.type}", deliver, customers_only=True
        )


# --- the sweep -----------------------------------------------------------------------------


def _birthday_of(day: date) -> str:
    return day.strftime("%m-%d")


def _birthdays(
    uow: UnitOfWork,
    journey_id: int,
    live: tuple[int, JourneyDefinition],
    trigger: DateTrigger,
    now: datetime,
) -> int:
    days = [now.date() + timedelta(days=trigger.days_before + d) for d in (-1, 0, 1)]
    found = uow.session.execute(
        select(Customer.id, Customer.birthday).where(
            Customer.status == "active", Customer.birthday.in_([_birthday_of(d) for d in days])
        )
    ).all()
    zones = customer_zones(uow.session, [r.id for r in found])
    hour, minute = (int(p) for p in trigger.at.split(":"))
    entered = 0
    for row in found:
        local = now.astimezone(zones[row.id])
        birthday = local.date() + timedelta(days=trigger.days_before)
        if _birthday_of(birthday) != row.birthday or (local.hour, local.minute) < (hour, minute):
            continue
        occurrence = str(birthday.year)
        if enter(uow, journey_id, row.id, occurrence, {}, live=live, now=now) is not None:
            entered += 1
    return entered


def _inactive(
    uow: UnitOfWork,
    journey_id: int,
    live: tuple[int, JourneyDefinition],
    days: int,
    now: datetime,
) -> int:
    cutoff = now - timedelta(days=days)
    last = func.max(Order.placed_at)
    found = uow.session.execute(
        select(Order.customer_id, last.label("last"))
        .where(
            Order.customer_id.is_not(None),
            Order.kind == segments_facts.SALE,
            Order.status != segments_facts.CANCELLED,
        )
        .group_by(Order.customer_id)
        .having(last <= cutoff, last > cutoff - timedelta(days=SWEEP_WINDOW_DAYS))
    ).all()
    entered = 0
    for row in found:
        context = {"last_order": row.last.date().isoformat()}
        occurrence = row.last.date().isoformat()
        if enter(uow, journey_id, row.customer_id, occurrence, context, live=live, now=now):
            entered += 1
    return entered


def journeys_sweep(
    uow: UnitOfWork, now: datetime | None = None, definitions: Definitions | None = None
) -> int:
    """Date and inactivity entries due at ``now``; returns the runs entered. A loop passes
    the same ``definitions`` every round: the live versions are read each round (one small
    query) and a version is parsed only the first time it is seen (after a publish)."""
    at = now or uow.now
    entered = 0
    for journey_id, version, definition in live_journeys(uow, definitions):
        trigger = definition.trigger
        live = (version, definition)
        if isinstance(trigger, DateTrigger):
            entered += _birthdays(uow, journey_id, live, trigger, at)
        elif isinstance(trigger, InactivityTrigger):
            entered += _inactive(uow, journey_id, live, trigger.days, at)
    return entered
