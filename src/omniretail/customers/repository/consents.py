"""Queries over consents and their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from omniretail.customers.models import (
    Consent,
    ConsentEvent,
)
from omniretail.customers.repository.tables import _root_of, consents, customers
from omniretail.db.sql import among, statement

# --- consents --------------------------------------------------------------------------------


def list_consents(session: Session, customer_id: int) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent)
            .where(Consent.customer_id == customer_id)
            .order_by(Consent.purpose, Consent.channel)
        )
    )


def consent_rows(session: Session, root_id: int) -> list[Row[Any]]:
    def build(_pg: bool) -> Any:
        c = consents.c
        return (
            select(c.purpose, c.channel, c.granted, c.updated_at)
            .where(c.customer_id == bindparam("customer_id"))
            .order_by(c.purpose, c.channel)
        )

    stmt = statement(session, "consent_rows", build)
    return list(session.execute(stmt, {"customer_id": root_id}))


def consents_of_root(session: Session, customer_id: int) -> list[Row[Any]]:
    """The surviving profile's status and current answers in one statement: one row per
    answer, or a single row with NULL answer columns when there is none; empty when the id
    is unknown."""

    def build(_pg: bool) -> Any:
        c = consents.c
        return (
            select(
                customers.c.id, customers.c.status, c.purpose, c.channel, c.granted, c.updated_at
            )
            .select_from(customers.outerjoin(consents, c.customer_id == customers.c.id))
            .where(customers.c.id == _root_of())
            .order_by(c.purpose, c.channel)
        )

    stmt = statement(session, "consents_of_root", build)
    return list(session.execute(stmt, {"customer_id": customer_id}))


def get_consent(session: Session, customer_id: int, purpose: str, channel: str) -> Consent | None:
    return session.get(Consent, (customer_id, purpose, channel))


def record_consent(
    session: Session,
    *,
    customer_id: int,
    purpose: str,
    channel: str,
    granted: bool,
    now: datetime,
    source: str,
    method: str,
    actor: str,
    merge_id: int | None = None,
) -> ConsentEvent:
    """Appends the history row and moves the current answer to it."""
    event = ConsentEvent(
        customer_id=customer_id,
        purpose=purpose,
        channel=channel,
        granted=granted,
        occurred_at=now,
        source=source,
        method=method,
        actor=actor,
        merge_id=merge_id,
    )
    session.add(event)
    session.flush()
    current = get_consent(session, customer_id, purpose, channel)
    if current is None:
        session.add(
            Consent(
                customer_id=customer_id,
                purpose=purpose,
                channel=channel,
                granted=granted,
                updated_at=now,
                last_event_id=event.id,
            )
        )
    else:
        current.granted = granted
        current.updated_at = now
        current.last_event_id = event.id
    session.flush()
    return event


def consent_history(session: Session, customer_ids: Sequence[int]) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id.in_(list(customer_ids)))
            .order_by(ConsentEvent.occurred_at.desc(), ConsentEvent.id.desc())
        )
    )


def consent_events_since(session: Session, customer_id: int, since_id: int) -> list[ConsentEvent]:
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.customer_id == customer_id, ConsentEvent.id > since_id)
            .order_by(ConsentEvent.id)
        )
    )


def max_consent_event_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(ConsentEvent.id), 0))) or 0)


def granted_among(
    session: Session, customer_ids: Sequence[int], purpose: str, channels: Sequence[str]
) -> set[int]:
    """Which of these (root) customers have granted ``purpose`` on one of ``channels``."""
    if not customer_ids:
        return set()
    return set(
        session.scalars(
            select(Consent.customer_id).where(
                among(session, Consent.customer_id, list(customer_ids)),
                Consent.purpose == purpose,
                Consent.channel.in_(list(channels)),
                Consent.granted.is_(True),
            )
        )
    )


def grants_among(
    session: Session, customer_ids: Sequence[int], purpose: str, channels: Sequence[str]
) -> set[tuple[int, str]]:
    """(customer, channel) of the grants of ``purpose`` on ``channels`` by these (root)
    customers, in one statement."""
    if not customer_ids or not channels:
        return set()
    rows = session.execute(
        select(Consent.customer_id, Consent.channel).where(
            among(session, Consent.customer_id, list(customer_ids)),
            Consent.purpose == purpose,
            Consent.channel.in_(list(channels)),
            Consent.granted.is_(True),
        )
    )
    return {(int(cid), str(channel)) for cid, channel in rows}


def strip_consent_provenance(session: Session, customer_id: int) -> None:
    """Erasure keeps what was answered and when (proof of lawful contact), not where from."""
    session.execute(
        update(ConsentEvent)
        .where(ConsentEvent.customer_id == customer_id)
        .values(source="erased", method="erased", actor="erased")
    )
