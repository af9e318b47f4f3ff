"""Journeys: create, edit (versions), publish, pause, resume, archive; customers entering.

A journey's definitions are versions; ``save_draft`` edits the newest version while it is
neither live nor run by anyone, else adds a version; ``publish`` makes the newest version
live. A customer keeps the version they entered with until their run ends, so editing and
publishing never moves anyone; pausing stops the engine claiming the journey's runs, which
resume where they were.

``enter`` inserts a run with ``ON CONFLICT DO NOTHING``: the unique (journey, customer,
occurrence) and the partial unique index on active runs make "once per occurrence, never
twice at a time" hold across concurrent workers.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from omniretail.db.bulk import insert_rows
from omniretail.db.sql import among, insert_for
from omniretail.db.uow import UnitOfWork
from omniretail.kernel import cel
from omniretail.marketing.errors import (
    InvalidSegmentRule,
    JourneyExists,
    JourneyStateRefused,
    UnknownJourney,
)
from omniretail.marketing.journeys_definition import (
    ConditionStep,
    EventTrigger,
    JourneyDefinition,
)
from omniretail.marketing.journeys_models import Journey, JourneyVersion, Run
from omniretail.marketing.schemas import (
    JourneyCreate,
    JourneyRead,
    JourneyVersionRead,
    RunRead,
)
from omniretail.marketing.segments_rules import checked_rule, compile_rule

ACTIVE = "active"


def stable_percent(*parts: object) -> int:
    """0..99, the same for the same parts on every machine (holdout, split)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


def _require(uow: UnitOfWork, code: str, *, lock: bool = False) -> Journey:
    query = select(Journey).where(Journey.code == code)
    if lock:
        query = query.with_for_update()
    journey = uow.session.scalar(query)
    if journey is None:
        raise UnknownJourney(f"no journey {code!r}")
    return journey


def _latest(uow: UnitOfWork, journey_id: int) -> JourneyVersion:
    version = uow.session.scalar(
        select(JourneyVersion)
        .where(JourneyVersion.journey_id == journey_id)
        .order_by(JourneyVersion.version.desc())
        .limit(1)
    )
    assert version is not None  # created with version 1
    return version


def _read(uow: UnitOfWork, journey: Journey) -> JourneyRead:
    latest = _latest(uow, journey.id)
    return JourneyRead(
        id=journey.id,
        code=journey.code,
        name=journey.name,
        description=journey.description,
        status=journey.status,
        live_version=journey.live_version,
        latest_version=latest.version,
        definition=JourneyDefinition.model_validate(latest.definition),
        created_at=journey.created_at,
        updated_at=journey.updated_at,
    )


def _check_rules(definition: JourneyDefinition) -> None:
    """An event trigger's condition parses and reads only ``event``; each condition step's
    rule parses and names only customer facts (as a segment's)."""
    trigger = definition.trigger
    if isinstance(trigger, EventTrigger) and trigger.condition.strip():
        field = "definition.trigger.condition"
        try:
            compile_rule(trigger.condition)
        except InvalidSegmentRule as exc:
            raise InvalidSegmentRule(f"the trigger's condition: {exc.detail}", field=field) from exc
        if unknown := sorted(cel.names(trigger.condition) - {"event"}):
            raise InvalidSegmentRule(
                f"the trigger's condition reads {', '.join(unknown)}: it can read only the"
                " event's fields, as event.<field>",
                field=field,
            )
    for i, step in enumerate(definition.steps):
        if isinstance(step, ConditionStep):
            try:
                checked_rule(step.rule)
            except InvalidSegmentRule as exc:
                field = f"definition.steps.{i}.rule"
                raise InvalidSegmentRule(f"step {step.id}: {exc.detail}", field=field) from exc


def create_journey(uow: UnitOfWork, data: JourneyCreate, *, actor: str = "system") -> JourneyRead:
    """A draft journey with version 1."""
    _check_rules(data.definition)
    if uow.session.scalar(select(Journey.id).where(Journey.code == data.code)) is not None:
        raise JourneyExists(f"a journey is coded {data.code!r}", field="code")
    journey = Journey(
        code=data.code,
        name=data.name,
        description=data.description,
        status="draft",
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(journey)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        raise JourneyExists(f"a journey is coded {data.code!r}", field="code") from exc
    uow.session.add(
        JourneyVersion(
            journey_id=journey.id,
            version=1,
            definition=data.definition.model_dump(mode="json"),
            created_at=uow.now,
            created_by=actor,
        )
    )
    uow.session.flush()
    return _read(uow, journey)


def list_journeys(uow: UnitOfWork) -> list[JourneyRead]:
    return [_read(uow, j) for j in uow.session.scalars(select(Journey).order_by(Journey.code))]


def get_journey(uow: UnitOfWork, code: str) -> JourneyRead:
    return _read(uow, _require(uow, code))


def _has_runs(uow: UnitOfWork, journey_id: int, version: int) -> bool:
    found = uow.session.scalar(
        select(Run.id).where(Run.journey_id == journey_id, Run.version == version).limit(1)
    )
    return found is not None


def save_draft(
    uow: UnitOfWork, code: str, definition: JourneyDefinition, *, actor: str
) -> JourneyRead:
    """The newest version edited when it is unpublished and unused, else a new version
    (published later by ``publish``)."""
    _check_rules(definition)
    journey = _require(uow, code, lock=True)
    if journey.status == "archived":
        raise JourneyStateRefused("an archived journey cannot be edited")
    latest = _latest(uow, journey.id)
    data = definition.model_dump(mode="json")
    if latest.version != journey.live_version and not _has_runs(uow, journey.id, latest.version):
        latest.definition = data
        latest.created_at = uow.now
        latest.created_by = actor
    else:
        uow.session.add(
            JourneyVersion(
                journey_id=journey.id,
                version=latest.version + 1,
                definition=data,
                created_at=uow.now,
                created_by=actor,
            )
        )
    journey.updated_at = uow.now
    uow.session.flush()
    return _read(uow, journey)


def publish(uow: UnitOfWork, code: str, *, actor: str) -> JourneyRead:
    """The newest version goes live (a paused journey stays paused); customers already on
    their way keep their version."""
    del actor
    journey = _require(uow, code, lock=True)
    if journey.status == "archived":
        raise JourneyStateRefused("an archived journey cannot be published")
    journey.live_version = _latest(uow, journey.id).version
    if journey.status == "draft":
        journey.status = "live"
    journey.updated_at = uow.now
    uow.session.flush()
    return _read(uow, journey)


def _move(uow: UnitOfWork, code: str, allowed: tuple[str, ...], to: str) -> Journey:
    journey = _require(uow, code, lock=True)
    if journey.status not in allowed:
        raise JourneyStateRefused(f"a {journey.status} journey cannot become {to}")
    journey.status = to
    journey.updated_at = uow.now
    uow.session.flush()
    return journey


def pause(uow: UnitOfWork, code: str) -> JourneyRead:
    """No one enters and no step runs; everyone keeps their place."""
    return _read(uow, _move(uow, code, ("live",), "paused"))


def resume(uow: UnitOfWork, code: str) -> JourneyRead:
    return _read(uow, _move(uow, code, ("paused",), "live"))


def archive(uow: UnitOfWork, code: str) -> JourneyRead:
    """Ends every active run (exit reason ``archived``); results stay."""
    journey = _move(uow, code, ("draft", "live", "paused"), "archived")
    uow.session.execute(
        update(Run)
        .where(Run.journey_id == journey.id, Run.state == ACTIVE)
        .values(state="exited", exit_reason="archived", ended_at=uow.now, due_at=None)
    )
    return _read(uow, journey)


def versions(uow: UnitOfWork, code: str) -> list[JourneyVersionRead]:
    journey = _require(uow, code)
    counts = dict(
        uow.session.execute(
            select(Run.version, func.count(Run.id))
            .where(Run.journey_id == journey.id)
            .group_by(Run.version)
        ).all()
    )
    found = uow.session.scalars(
        select(JourneyVersion)
        .where(JourneyVersion.journey_id == journey.id)
        .order_by(JourneyVersion.version)
    )
    return [
        JourneyVersionRead(
            version=v.version,
            definition=JourneyDefinition.model_validate(v.definition),
            created_at=v.created_at,
            created_by=v.created_by,
            live=v.version == journey.live_version,
            runs=int(counts.get(v.version, 0)),
        )
        for v in found
    ]


def runs(
    uow: UnitOfWork,
    code: str,
    *,
    state: str | None = None,
    customer_id: int | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[RunRead]:
    """Runs in id order; the next page starts after the last id."""
    journey = _require(uow, code)
    query = select(Run).where(Run.journey_id == journey.id, Run.id > after)
    if state is not None:
        query = query.where(Run.state == state)
    if customer_id is not None:
        query = query.where(Run.customer_id == customer_id)
    return [
        RunRead.model_validate(r) for r in uow.session.scalars(query.order_by(Run.id).limit(limit))
    ]


def live_definition(uow: UnitOfWork, journey_id: int) -> tuple[int, JourneyDefinition] | None:
    row = uow.session.execute(
        select(JourneyVersion.version, JourneyVersion.definition)
        .join(Journey, Journey.id == JourneyVersion.journey_id)
        .where(
            Journey.id == journey_id,
            Journey.status == "live",
            JourneyVersion.version == Journey.live_version,
        )
    ).first()
    if row is None:
        return None
    return row.version, JourneyDefinition.model_validate(row.definition)


def enter(
    uow: UnitOfWork,
    journey_id: int,
    customer_id: int,
    occurrence: str,
    context: dict[str, Any],
    *,
    live: tuple[int, JourneyDefinition] | None = None,
    now: datetime | None = None,
) -> int | None:
    """The customer's run of the live version (None: not live, entered before for this
    occurrence, ``once`` and entered ever, or running it now). ``live``: the journey's
    (version, definition) when the caller has it."""
    live = live or live_definition(uow, journey_id)
    if live is None:
        return None
    version, definition = live
    if definition.reentry == "once":
        seen = uow.session.scalar(
            select(Run.id)
            .where(Run.journey_id == journey_id, Run.customer_id == customer_id)
            .limit(1)
        )
        if seen is not None:
            return None
    at = now or uow.now
    values = _run_row(journey_id, version, definition, customer_id, occurrence, context, at)
    stmt = insert_for(uow.session)(Run).values(values).on_conflict_do_nothing().returning(Run.id)
    run_id = uow.session.scalar(stmt)
    return int(run_id) if run_id is not None else None


def _run_row(
    journey_id: int,
    version: int,
    definition: JourneyDefinition,
    customer_id: int,
    occurrence: str,
    context: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    return {
        "journey_id": journey_id,
        "version": version,
        "customer_id": customer_id,
        "occurrence": occurrence[:120],
        "state": ACTIVE,
        "step_id": definition.steps[0].id,
        "due_at": at,
        "holdout": stable_percent(journey_id, customer_id) < definition.holdout_percent,
        "branches": {},
        "context": context,
        "entered_at": at,
    }


Entry = tuple[int, tuple[int, JourneyDefinition], int, str, dict[str, Any]]


def enter_batch(
    uow: UnitOfWork, entries: list[Entry], *, now: datetime | None = None
) -> dict[tuple[int, int], int]:
    """``enter`` for many (journey id, (live version, definition), customer id, occurrence,
    context) at once, each (journey, customer) at most once in ``entries``: the ``once``
    journeys' earlier runs read in one statement and the runs inserted in one; returns
    (journey id, customer id) -> run id of those entered."""
    if not entries:
        return {}
    once = [(j, c) for j, (_, d), c, _, _ in entries if d.reentry == "once"]
    seen: set[tuple[int, int]] = set()
    if once:
        seen = {
            (r.journey_id, r.customer_id)
            for r in uow.session.execute(
                select(Run.journey_id, Run.customer_id)
                .where(tuple_(Run.journey_id, Run.customer_id).in_(once))
                .distinct()
            )
        }
    at = now or uow.now
    # in (journey, customer) order: two batches entering the same customers wait on each
    # other's inserts (the unique active run) in one order, never in a cycle
    rows = [
        _run_row(journey_id, version, definition, customer_id, occurrence, context, at)
        for journey_id, (version, definition), customer_id, occurrence, context in sorted(
            entries, key=lambda e: (e[0], e[2])
        )
        if (journey_id, customer_id) not in seen
    ]
    table: Table = Run.__table__  # type: ignore[assignment]
    made = insert_rows(
        uow.session, table, rows, conflict=[], returning=["id", "journey_id", "customer_id"]
    )
    return {(r.journey_id, r.customer_id): int(r.id) for r in made}


def enter_many(
    uow: UnitOfWork,
    journey_id: int,
    entries: list[tuple[int, str, dict[str, Any]]],
    *,
    now: datetime | None = None,
) -> int:
    """Many (customer id, occurrence, context) entered in one statement (a segment's members,
    a sweep); returns the runs inserted (the same rules as ``enter``)."""
    live = live_definition(uow, journey_id)
    if live is None or not entries:
        return 0
    version, definition = live
    ids = sorted({customer_id for customer_id, _, _ in entries})
    if definition.reentry == "once":
        seen = set(
            uow.session.scalars(
                select(Run.customer_id).where(
                    Run.journey_id == journey_id, among(uow.session, Run.customer_id, ids)
                )
            )
        )
        entries = [e for e in entries if e[0] not in seen]
    at = now or uow.now
    first, done, rows = definition.steps[0].id, set(), []
    holdout = definition.holdout_percent
    for customer_id, occurrence, context in entries:
        if customer_id in done:  # never twice at a time, within the batch too
            continue
        done.add(customer_id)
        rows.append(
            {
                "journey_id": journey_id,
                "version": version,
                "customer_id": customer_id,
                "occurrence": occurrence[:120],
                "state": ACTIVE,
                "step_id": first,
                "due_at": at,
                "holdout": holdout > 0 and stable_percent(journey_id, customer_id) < holdout,
                "branches": {},
                "context": context,
                "entered_at": at,
            }
        )
    table: Table = Run.__table__  # type: ignore[assignment]
    return len(insert_rows(uow.session, table, rows, conflict=[], returning=["id"]))
