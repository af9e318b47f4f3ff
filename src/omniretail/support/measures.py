"""Customer-service measures for the HQ dashboard, over the conversations opened in a period:

- where-is-my-order contacts per 100 orders placed in the period (conversations tagged
  ``wismo``: the assistant and the ingest tag them when they recognise the question);
- first response time (the first reply to the customer by an agent or the assistant, not the
  survey) and resolution time, median and 90th percentile, in minutes of wall-clock time;
- assistant containment: of the conversations the assistant answered, the share resolved
  without an agent's reply;
- reopen rate: of the conversations resolved at least once, the share the customer reopened;
- satisfaction: surveys asked, answered, mean rating and the share of 4 and 5 (CSAT)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from math import ceil

from sqlalchemy import func, select

from omniretail.db.uow import UnitOfWork
from omniretail.orders.models import Order
from omniretail.support.desk_models import SatisfactionSurvey
from omniretail.support.models import Conversation, Direction, Message

WISMO_TAG = "wismo"
ASSISTANT = "assistant"
NOT_AGENTS = frozenset({"assistant", "system", "customer"})


@dataclass(frozen=True)
class Spread:
    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class SupportMeasures:
    since: datetime
    until: datetime
    conversations: int
    orders: int
    wismo_contacts: int
    wismo_per_100_orders: float | None
    first_response_minutes: Spread
    resolution_minutes: Spread
    assistant_answered: int
    assistant_contained: int
    containment_rate: float | None
    resolved: int
    reopened: int
    reopen_rate: float | None
    surveys_asked: int
    surveys_answered: int
    mean_rating: float | None
    csat: float | None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: list[float]) -> Spread:
    return Spread(len(values), percentile(values, 50), percentile(values, 90))


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _minutes(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 60, 1)


def support_measures(uow: UnitOfWork, since: datetime, until: datetime) -> SupportMeasures:
    session = uow.session
    conversations = list(
        session.scalars(
            select(Conversation).where(
                Conversation.created_at >= since,
                Conversation.created_at < until,
                Conversation.merged_into_id.is_(None),
            )
        )
    )
    ids = [c.id for c in conversations]
    replies: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(Message.conversation_id, Message.created_at, Message.author)
            .where(
                Message.conversation_id.in_(ids),
                Message.direction == Direction.OUT.value,
            )
            .order_by(Message.created_at, Message.id)
        )
        for conversation_id, at, author in rows:
            replies[conversation_id].append((at, author))
    orders = session.scalar(
        select(func.count()).where(Order.placed_at >= since, Order.placed_at < until)
    )
    wismo = sum(1 for c in conversations if WISMO_TAG in (c.tags or []))
    first, resolution = [], []
    answered = contained = resolved = reopened = 0
    for c in conversations:
        answers = [(at, who) for at, who in replies[c.id] if who != "system"]
        if answers:
            first.append(_minutes(c.created_at, answers[0][0]))
        if c.resolved_at is not None:
            resolution.append(_minutes(c.created_at, c.resolved_at))
        by_agent = any(who not in NOT_AGENTS for _, who in answers)
        if any(who == ASSISTANT for _, who in answers):
            answered += 1
            if c.resolved_at is not None and not by_agent:
                contained += 1
        if c.resolved_at is not None or c.reopened:
            resolved += 1
            reopened += 1 if c.reopened else 0
    surveys = list(
        session.execute(
            select(SatisfactionSurvey.rating).where(
                SatisfactionSurvey.asked_at >= since, SatisfactionSurvey.asked_at < until
            )
        ).scalars()
    )
    ratings = [r for r in surveys if r is not None]
    return SupportMeasures(
        since=since,
        until=until,
        conversations=len(conversations),
        orders=int(orders or 0),
        wismo_contacts=wismo,
        wismo_per_100_orders=round(100 * wismo / orders, 2) if orders else None,
        first_response_minutes=spread(first),
        resolution_minutes=spread(resolution),
        assistant_answered=answered,
        assistant_contained=contained,
        containment_rate=_rate(contained, answered),
        resolved=resolved,
        reopened=reopened,
        reopen_rate=_rate(reopened, resolved),
        surveys_asked=len(surveys),
        surveys_answered=len(ratings),
        mean_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
        csat=_rate(sum(1 for r in ratings if r >= 4), len(ratings)),
    )
