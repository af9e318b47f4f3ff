"""The engine: due runs claimed in batches and moved step by step until a wait or the end.

``advance_due`` claims up to ``limit`` active runs of live journeys whose ``due_at`` has come
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers never share a run) and runs each in the
batch's one transaction: the facts (conditions) and zones (waits until a time of day) of the
whole batch are loaded once, sends are queued in one call, journal rows inserted in one
statement and runs updated in one executemany. A crash rolls the batch back; it runs again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, select, tuple_, update

from omniretail.db.bulk import insert_rows
from omniretail.db.sql import among, is_postgres
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.vault import PiiVault
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import AdjustmentCreate
from omniretail.marketing import journeys_ports as ports
from omniretail.marketing import segments_facts
from omniretail.marketing.journeys import stable_percent
from omniretail.marketing.journeys_definition import (
    AttributeStep,
    ConditionStep,
    CouponStep,
    ExitStep,
    JourneyDefinition,
    PointsStep,
    SendStep,
    SplitStep,
    WaitStep,
    successors,
)
from omniretail.marketing.journeys_models import Journey, JourneyVersion, Run, RunStep
from omniretail.marketing.segments_rules import matches, stored_rule
from omniretail.marketing.zones import customer_zones, next_local_time
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import CouponWrite

ACTOR = "system:journeys"
log = logging.getLogger("omniretail.marketing.journeys")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def send_key(journey_id: int, version: int, step_id: str, customer_id: int, occ: str) -> str:
    return f"j{journey_id}v{version}:{step_id}:c{customer_id}:{occ}"


class _Batch:
    """What the batch's steps need, loaded once for all its runs."""

    def __init__(self, uow: UnitOfWork, rows: list[Any], now: datetime, vault: PiiVault | None):
        self.uow, self.now, self.vault = uow, now, vault
        pairs = {(r.journey_id, r.version) for r in rows}
        self.definitions: dict[tuple[int, int], JourneyDefinition] = {
            (v.journey_id, v.version): JourneyDefinition.model_validate(v.definition)
            for v in uow.session.execute(
                select(
                    JourneyVersion.journey_id, JourneyVersion.version, JourneyVersion.definition
                ).where(tuple_(JourneyVersion.journey_id, JourneyVersion.version).in_(pairs))
            )
        }
        self.next: dict[tuple[int, int], dict[str, list[str | None]]] = {
            key: successors(d) for key, d in self.definitions.items()
        }
        ids = [r.customer_id for r in rows]
        kinds = {type(s) for d in self.definitions.values() for s in d.steps}
        self.zones = customer_zones(uow.session, ids) if WaitStep in kinds else {}
        self.facts = (
            segments_facts.facts_for(uow.session, ids, now.date(), vault)
            if ConditionStep in kinds
            else {}
        )
        self.sends: list[dict[str, Any]] = []
        self.journal: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []


def _after(batch: _Batch, key: tuple[int, int], step_id: str, index: int = 0) -> str | None:
    return batch.next[key][step_id][index]


def _run_one(batch: _Batch, row: Any) -> None:
    key = (row.journey_id, row.version)
    definition = batch.definitions[key]
    now = batch.now
    state = {
        "id": row.id,
        "state": "active",
        "step_id": row.step_id,
        "due_at": None,
        "branches": dict(row.branches or {}),
        "context": dict(row.context or {}),
        "ended_at": None,
        "exit_reason": None,
    }
    step_id: str | None = row.step_id
    while step_id is not None:
        step = definition.step(step_id)
        try:
            outcome, following = _guarded(batch, row, key, step, state)
        except Exception:  # a coupon of a deleted promotion: this run ends, the batch goes on
            log.exception("journey %s run %s failed at step %s", row.journey_id, row.id, step.id)
            outcome, following = "failed", None
            state.update(
                state="exited", exit_reason=f"failed:{step.id}", ended_at=now, step_id=None
            )
        batch.journal.append(
            {
                "run_id": row.id,
                "journey_id": row.journey_id,
                "version": row.version,
                "step_id": step.id,
                "outcome": outcome,
                "at": now,
            }
        )
        if isinstance(step, ExitStep):
            state.update(state="exited", exit_reason="exit step", ended_at=now, step_id=None)
            break
        if isinstance(step, WaitStep):
            state.update(step_id=following, due_at=_wait_until(batch, row, step))
            batch.updates.append(state)
            return
        step_id = following
    if state["state"] == "active":
        state.update(state="completed", ended_at=now, step_id=None)
    batch.updates.append(state)


def _guarded(
    batch: _Batch, row: Any, key: tuple[int, int], step: Any, state: dict[str, Any]
) -> tuple[str, str | None]:
    """Steps that write to other domains run in a savepoint, so a failure undoes only them."""
    if not isinstance(step, CouponStep | PointsStep | AttributeStep):
        return _execute(batch, row, key, step, state)
    with batch.uow.session.begin_nested():
        return _execute(batch, row, key, step, state)


def _wait_until(batch: _Batch, row: Any, step: WaitStep) -> datetime:
    due = batch.now + timedelta(days=step.days, hours=step.hours, minutes=step.minutes)
    if step.until is not None:
        due = next_local_time(due, step.until, batch.zones[row.customer_id])
    return due


def _execute(
    batch: _Batch, row: Any, key: tuple[int, int], step: Any, state: dict[str, Any]
) -> tuple[str, str | None]:
    """(journal outcome, the next step id)."""
    following = _after(batch, key, step.id) if not isinstance(step, ExitStep) else None
    if isinstance(step, WaitStep):
        return "waited", following
    if isinstance(step, ConditionStep):
        facts = batch.facts.get(row.customer_id)
        yes = facts is not None and matches(stored_rule(step.rule), facts)
        return ("then", following) if yes else ("otherwise", _after(batch, key, step.id, 1))
    if isinstance(step, SplitStep):
        roll, edge = stable_percent(row.id, step.id), 0
        for index, branch in enumerate(step.branches):
            edge += branch.percent
            if roll < edge:
                state["branches"] = {**state["branches"], step.id: branch.name}
                return f"branch:{branch.name}", _after(batch, key, step.id, index)
        raise AssertionError("the percentages add up to 100")  # pragma: no cover
    if isinstance(step, SendStep):
        batch.sends.append(_send(row, step, state["context"], batch.now))
        return "queued", following
    if isinstance(step, CouponStep):
        if row.holdout:
            return "holdout", following
        state["context"] = {**state["context"], "coupon_code": _coupon(batch.uow, row, step)}
        return "coupon", following
    if isinstance(step, PointsStep):
        if row.holdout:
            return "holdout", following
        reason = step.reason if len(step.reason) >= 3 else f"journey {step.reason}"
        loyalty.adjust_points(
            batch.uow,
            row.customer_id,
            AdjustmentCreate(points=step.points, reason=reason),
            actor=ACTOR,
        )
        return "points", following
    if isinstance(step, AttributeStep):
        ports.set_attribute(batch.uow, row.customer_id, step.name, step.value)
        return "attribute", following
    return "exit", None


def _send(row: Any, step: SendStep, context: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "key": send_key(row.journey_id, row.version, step.id, row.customer_id, row.occurrence),
        "customer_id": row.customer_id,
        "message": step.message,
        "channel": step.channel,
        "priority": step.priority,
        "transactional": step.transactional,
        "holdout": bool(row.holdout),
        "premise": step.premise,
        "context": context,
        "journey_id": row.journey_id,
        "run_id": row.id,
        "step_id": step.id,
        "due_at": now,
    }


def _coupon(uow: UnitOfWork, row: Any, step: CouponStep) -> str:
    code = "J-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    pricing.create_coupon(
        uow,
        CouponWrite(
            code=code,
            promotion=step.promotion,
            customer_id=row.customer_id,
            max_uses=1,
            per_customer=1,
            valid_from=uow.now,
            valid_to=uow.now + timedelta(days=step.valid_days),
        ),
        actor=ACTOR,
    )
    return code


def _claim(uow: UnitOfWork, now: datetime, limit: int, ids: list[int] | None = None) -> list[Any]:
    live = select(Journey.id).where(Journey.status == "live")
    query = (
        select(
            Run.id,
            Run.journey_id,
            Run.version,
            Run.customer_id,
            Run.occurrence,
            Run.step_id,
            Run.holdout,
            Run.branches,
            Run.context,
        )
        .where(Run.state == "active", Run.due_at <= now, Run.journey_id.in_(live))
        .order_by(Run.due_at)
        .limit(limit)
    )
    if ids is not None:
        query = query.where(Run.id.in_(ids))
    if is_postgres(uow.session):
        query = query.with_for_update(skip_locked=True, of=Run)
    return list(uow.session.execute(query))


def advance_batch(
    uow: UnitOfWork, *, limit: int = 500, now: datetime | None = None, vault: PiiVault | None = None
) -> int:
    """One batch in the caller's transaction; returns the runs moved."""
    at = now or uow.now
    return _advance(uow, _claim(uow, at, limit), at, vault)


def advance_runs(
    uow: UnitOfWork,
    run_ids: list[int],
    *,
    now: datetime | None = None,
    vault: PiiVault | None = None,
) -> int:
    """These runs (just entered by a trigger), now, in the caller's transaction: the first
    steps up to a wait run without waiting for the loop's next poll."""
    if not run_ids:
        return 0
    at = now or uow.now
    return _advance(uow, _claim(uow, at, len(run_ids), run_ids), at, vault)


def _advance(uow: UnitOfWork, rows: list[Any], at: datetime, vault: PiiVault | None) -> int:
    if not rows:
        return 0
    batch = _Batch(uow, rows, at, vault)
    for row in rows:
        _run_one(batch, row)
    _write(uow, batch, {row.id: row for row in rows})
    ports.queue_sends(uow, batch.sends)
    return len(rows)


def _write(uow: UnitOfWork, batch: _Batch, before: dict[int, Any]) -> None:
    """The journal in one executemany; the runs in one UPDATE per outcome (state, step,
    due) for those whose branches and context did not change, an executemany for the rest."""
    connection = uow.session.connection()
    journal: Table = RunStep.__table__  # type: ignore[assignment]
    insert_rows(uow.session, journal, batch.journal, conflict=["run_id", "step_id"])
    groups: dict[tuple[Any, ...], list[int]] = {}
    changed: list[dict[str, Any]] = []
    for state in batch.updates:
        row = before[state["id"]]
        if state["branches"] == (row.branches or {}) and state["context"] == (row.context or {}):
            key = tuple(state[k] for k in _PLAIN)
            groups.setdefault(key, []).append(state["id"])
        else:
            changed.append({**state, "run_id": state["id"]})
    table: Table = Run.__table__  # type: ignore[assignment]
    for key, ids in groups.items():
        connection.execute(  # ids as one array on PostgreSQL: one statement text, prepared
            update(table)
            .where(among(uow.session, table.c.id, ids))
            .values(dict(zip(_PLAIN, key, strict=True)))
        )
    if changed:
        values: dict[str, Any] = {k: bindparam(k) for k in (*_PLAIN, "branches", "context")}
        connection.execute(
            update(table).where(table.c.id == bindparam("run_id")).values(values), changed
        )


_PLAIN = ("state", "step_id", "due_at", "ended_at", "exit_reason")


def advance_due(
    uow_factory: Callable[[], UnitOfWork],
    *,
    limit: int = 500,
    now: datetime | None = None,
    vault: PiiVault | None = None,
    batches: int | None = None,
) -> int:
    """Due runs moved, a transaction per batch of ``limit``, until none is due (or
    ``batches`` were done); returns how many."""
    done = count = 0
    while batches is None or count < batches:
        with uow_factory() as uow:
            moved = advance_batch(uow, limit=limit, now=now, vault=vault)
        done, count = done + moved, count + 1
        if moved < limit:
            break
    return done
