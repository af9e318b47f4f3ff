"""Segments: saved CEL rules over customers' facts, their members, preview and evaluation.

Membership is kept two ways: a full refresh (``refresh``: every active customer in batches,
each batch its own transaction) and live, one customer at a time (``evaluate_customer``, run
by ``handlers`` when an event changes their facts). Both lock the segment rows, compare the
rule's answer with the stored membership and record ``SegmentEntered`` / ``SegmentExited``
only for a change, so an event relayed twice or a refresh after a live update emits nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from sqlalchemy.exc import IntegrityError

from omniretail.customers import service as customers
from omniretail.customers.errors import UnknownCustomer
from omniretail.db.uow import UnitOfWork
from omniretail.jobs import service as jobs
from omniretail.jobs.schemas import JobRead
from omniretail.kernel.cel import Deadline
from omniretail.kernel.vault import PiiVault
from omniretail.marketing import segments_facts as facts
from omniretail.marketing import segments_repository as repo
from omniretail.marketing.errors import DuplicateSegment, SegmentRuleTooSlow, UnknownSegment
from omniretail.marketing.events import SegmentEntered, SegmentExited
from omniretail.marketing.schemas import (
    SampleCustomer,
    SegmentCreate,
    SegmentMemberRead,
    SegmentPreview,
    SegmentRead,
    SegmentRefresh,
    SegmentUpdate,
)
from omniretail.marketing.segments_models import Segment
from omniretail.marketing.segments_rules import (
    activation,
    checked_rule,
    matches,
    read_facts,
    stored_rule,
)

BATCH = 1000
BATCH_SECONDS = 2.0  # the longest a refresh batch evaluates rules under the segments' lock
# The preview's budget when the caller names none (the API passes segment_preview_seconds).
PREVIEW_SECONDS = 20.0
# The durable job of a full refresh (``marketing.jobs``).
REFRESH_JOB = "marketing.segments_refresh"
SAMPLE = 10


def _today(uow: UnitOfWork) -> date:
    return uow.now.date()


def mask_name(name: str | None) -> str:
    """ "Jane Q. Smith" -> "Jane S."; no name -> "-"."""
    words = (name or "").split()
    if not words:
        return "-"
    if len(words) == 1:
        return words[0]
    return f"{words[0]} {words[-1][0]}."


def preview(
    uow: UnitOfWork,
    rule: str,
    *,
    vault: PiiVault,
    with_names: bool,
    seconds: float = PREVIEW_SECONDS,
) -> SegmentPreview:
    """How many active customers the rule holds now, and the first ten: their masked names
    only ``with_names`` (a viewer holding customers:read), none otherwise. Stops with
    ``SegmentRuleTooSlow`` once ``seconds`` have passed (checked between customers): a
    request must not run for as long as a rule takes over every customer."""
    program = checked_rule(rule)
    needed = read_facts(rule)
    deadline = Deadline(seconds)
    count = evaluated = 0
    sample: list[int] = []
    after = 0
    while ids := facts.active_customer_ids(uow.session, after=after, limit=BATCH):
        for cid, known in facts.facts_for(uow.session, ids, _today(uow), vault).items():
            if deadline.passed():
                raise SegmentRuleTooSlow(
                    f"the rule was stopped after {seconds:g} s with {evaluated} customers"
                    " evaluated; simplify it (fewer list operations) or try it on a quieter"
                    " moment",
                    field="rule",
                )
            evaluated += 1
            if matches(program, known, activation(known, needed)):
                count += 1
                if len(sample) < SAMPLE:
                    sample.append(cid)
        after = ids[-1]
    names = []
    for cid in sample:
        if not with_names:
            names.append(SampleCustomer(id=cid, name=None))
            continue
        try:
            name = customers.get_customer(uow, cid, vault=vault).name
        except UnknownCustomer:
            name = None
        names.append(SampleCustomer(id=cid, name=mask_name(name)))
    return SegmentPreview(count=count, evaluated=evaluated, sample=names)


def _require(uow: UnitOfWork, segment_id: int) -> Segment:
    segment = repo.get(uow.session, segment_id)
    if segment is None:
        raise UnknownSegment(f"no segment {segment_id}")
    return segment


def list_segments(uow: UnitOfWork) -> list[SegmentRead]:
    return [SegmentRead.model_validate(s) for s in repo.all_segments(uow.session)]


def get_segment(uow: UnitOfWork, segment_id: int) -> SegmentRead:
    return SegmentRead.model_validate(_require(uow, segment_id))


def _unique_name(uow: UnitOfWork, name: str, segment_id: int | None = None) -> None:
    other = repo.by_name(uow.session, name)
    if other is not None and other.id != segment_id:
        raise DuplicateSegment(f"a segment is named {name!r}", field="name")


def create_segment(uow: UnitOfWork, body: SegmentCreate) -> SegmentRead:
    """A saved segment, empty until refreshed (the API queues the refresh)."""
    checked_rule(body.rule)
    _unique_name(uow, body.name)
    segment = Segment(
        name=body.name,
        description=body.description,
        rule=body.rule,
        member_count=0,
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(segment)
    try:
        uow.session.flush()
    except IntegrityError as exc:  # a concurrent create of the same name
        raise DuplicateSegment(f"a segment is named {body.name!r}", field="name") from exc
    return SegmentRead.model_validate(segment)


def update_segment(uow: UnitOfWork, segment_id: int, body: SegmentUpdate) -> SegmentRead:
    segment = _require(uow, segment_id)
    if body.rule is not None:
        checked_rule(body.rule)
        segment.rule = body.rule
    if body.name is not None:
        _unique_name(uow, body.name, segment_id)
        segment.name = body.name
    if body.description is not None:
        segment.description = body.description
    segment.updated_at = uow.now
    uow.session.flush()
    return SegmentRead.model_validate(segment)


def delete_segment(uow: UnitOfWork, segment_id: int) -> None:
    """The segment and its membership go; no exit events (nobody left, the segment did)."""
    segment = _require(uow, segment_id)
    repo.remove_members_above(uow.session, segment.id, 0)
    uow.session.delete(segment)
    uow.session.flush()


def members(
    uow: UnitOfWork, segment_id: int, *, after: int = 0, limit: int = 100
) -> list[SegmentMemberRead]:
    _require(uow, segment_id)
    rows = repo.members_page(uow.session, segment_id, after=after, limit=limit)
    return [SegmentMemberRead.model_validate(r) for r in rows]


def _apply(
    uow: UnitOfWork, segment: Segment, inside: set[int], before: set[int]
) -> tuple[int, int]:
    entered = sorted(inside - before)
    exited = sorted(before - inside)
    repo.add_members(uow.session, segment.id, entered, uow.now)
    repo.remove_members(uow.session, segment.id, exited)
    repo.change_count(uow.session, segment.id, len(entered) - len(exited))
    for cid in entered:
        uow.record(SegmentEntered(segment_id=segment.id, customer_id=cid))
    for cid in exited:
        uow.record(SegmentExited(segment_id=segment.id, customer_id=cid))
    return len(entered), len(exited)


def refresh_batch(
    uow: UnitOfWork,
    *,
    after: int,
    segment_ids: list[int] | None = None,
    limit: int = BATCH,
    vault: PiiVault,
    seconds: float | None = None,
) -> tuple[int, int, int, int]:
    """One batch of a full refresh: the active customers above ``after``; returns (last id
    evaluated, 0 when done, customers, entered, exited). The last batch also removes members
    who are no longer active (merged, erased) and stamps ``refreshed_at``.

    The rules run under the segments' lock (a live evaluation waits, so it never meets facts
    older than its own), so a batch stops taking customers after ``seconds``
    (``BATCH_SECONDS`` by default) and the next one goes on from there: a slow rule makes a
    long refresh, never a long write transaction (on SQLite one holds the database's write lock)."""
    segments = repo.lock_segments(uow.session, segment_ids)
    ids = facts.active_customer_ids(uow.session, after=after, limit=limit)
    known = facts.facts_for(uow.session, ids, _today(uow), vault)
    programs = [(segment, stored_rule(segment.rule)) for segment in segments]
    needed = read_facts(*(segment.rule for segment in segments))
    insides: dict[int, set[int]] = {segment.id: set() for segment in segments}
    deadline = Deadline(BATCH_SECONDS if seconds is None else seconds)
    taken: list[int] = []
    for cid in ids:
        if taken and deadline.passed():
            break
        taken.append(cid)
        if (found := known.get(cid)) is None:
            continue
        prepared = activation(found, needed)
        for segment, program in programs:
            if matches(program, found, prepared):
                insides[segment.id].add(cid)
    finished = len(taken) == len(ids) < limit
    entered = exited = 0
    for segment, _program in programs:
        if taken:
            before = repo.members_among(uow.session, segment.id, taken)
            e, x = _apply(uow, segment, insides[segment.id], before)
            entered, exited = entered + e, exited + x
        if finished:
            last = taken[-1] if taken else after
            gone = repo.remove_members_above(uow.session, segment.id, last)
            repo.change_count(uow.session, segment.id, -len(gone))
            for cid in gone:
                uow.record(SegmentExited(segment_id=segment.id, customer_id=cid))
            exited += len(gone)
            segment.refreshed_at = uow.now
    uow.session.flush()
    return (0 if finished else taken[-1]), len(taken), entered, exited


def refresh(
    uow_factory: Callable[[], UnitOfWork],
    *,
    segment_ids: list[int] | None = None,
    progress: Callable[[int, int], None] = lambda done, total: None,
    batch: int = BATCH,
    vault: PiiVault,
) -> SegmentRefresh:
    """Every active customer against every segment (or ``segment_ids``), a transaction per
    batch: ``progress(customers done, customers in all)`` after each."""
    with uow_factory() as uow:
        total = facts.count_active(uow.session)
        count = len(repo.all_segments(uow.session)) if segment_ids is None else len(segment_ids)
    after = done = entered = exited = 0
    while True:
        with uow_factory() as uow:
            after, n, e, x = refresh_batch(
                uow, after=after, segment_ids=segment_ids, limit=batch, vault=vault
            )
        done, entered, exited = done + n, entered + e, exited + x
        progress(done, total)
        if after == 0:
            return SegmentRefresh(segments=count, customers=done, entered=entered, exited=exited)


def evaluate_customer(uow: UnitOfWork, customer_id: int, *, vault: PiiVault) -> tuple[int, int]:
    """The customer against every segment now (live); returns (entered, exited)."""
    return evaluate_customers(uow, [customer_id], vault=vault)


def evaluate_customers(
    uow: UnitOfWork, customer_ids: Sequence[int], *, vault: PiiVault
) -> tuple[int, int]:
    """``evaluate_customer`` for many (a relay batch of events), the segments locked once
    and the facts and memberships read once for all; returns (entered, exited)."""
    segments = repo.lock_segments(uow.session)
    ids = sorted(set(customer_ids))
    if not segments or not ids:
        return 0, 0
    known = facts.facts_for(uow.session, ids, _today(uow), vault)
    before_all = repo.memberships_among(uow.session, ids)
    needed = read_facts(*(segment.rule for segment in segments))
    prepared = {cid: activation(f, needed) for cid, f in known.items()}
    entered = exited = 0
    for segment in segments:
        program = stored_rule(segment.rule)
        inside = {cid for cid, f in known.items() if matches(program, f, prepared[cid])}
        e, x = _apply(uow, segment, inside, before_all.get(segment.id, set()))
        entered, exited = entered + e, exited + x
    uow.session.flush()
    return entered, exited


def cart_owner(uow: UnitOfWork, cart_id: str) -> int | None:
    """The customer a cart belongs to (None: anonymous or unknown)."""
    return facts.cart_owner(uow.session, cart_id)


def cart_owners(uow: UnitOfWork, cart_ids: Sequence[str]) -> dict[str, int]:
    """The customers these carts belong to, by cart id (anonymous and unknown carts left
    out), in one statement."""
    return facts.cart_owners(uow.session, cart_ids)


def start_refresh(uow: UnitOfWork, *, actor: str) -> JobRead:
    """A full refresh queued as a durable job; 409 while one is queued or running."""
    return jobs.enqueue(uow, REFRESH_JOB, actor=actor)


def refresh_segment(uow: UnitOfWork, segment_id: int, *, actor: str) -> JobRead:
    """ "Refresh now" on one segment: the full refresh queued as a durable job (the job takes no
    arguments, so it re-evaluates every segment, this one included); ``UnknownSegment`` (404)
    for no such segment, ``JobAlreadyActive`` (409, naming it) while one is queued or running."""
    _require(uow, segment_id)
    return start_refresh(uow, actor=actor)


def last_refresh_job(uow: UnitOfWork) -> JobRead | None:
    """The latest refresh job, whatever its state (the console shows it)."""
    found = jobs.recent(uow, kind=REFRESH_JOB, limit=1)
    return found[0] if found else None


def queue_refresh(uow: UnitOfWork, *, actor: str) -> None:
    """A refresh queued unless one is queued or running already (a running one may have
    passed some customers before the change: the next refresh or their next event catches
    them up)."""
    latest = jobs.recent(uow, kind=REFRESH_JOB, limit=1)
    if not latest or latest[0].state not in ("queued", "running"):
        jobs.enqueue(uow, REFRESH_JOB, actor=actor)
