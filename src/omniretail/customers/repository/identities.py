"""Queries over identities and their verification codes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from omniretail.customers.models import (
    CodeSendQuota,
    Identity,
    VerificationCode,
)
from omniretail.customers.repository.tables import identities
from omniretail.db.sql import among, insert_ignore, matches, rowcount, statement

# --- identities ------------------------------------------------------------------------------


def add_identity(session: Session, identity: Identity) -> Identity:
    session.add(identity)
    session.flush()
    return identity


def get_identity(session: Session, identity_id: int) -> Identity | None:
    return session.get(Identity, identity_id)


def identity_rows(session: Session, customer_ids: Sequence[int]) -> list[Row[Any]]:
    """The columns a read shows (no blind index), without ORM objects."""

    def build(pg: bool) -> Any:
        c = identities.c
        return (
            select(
                c.id,
                c.customer_id,
                c.kind,
                c.scope,
                c.value_enc,
                c.verified,
                c.verified_via,
                c.verified_at,
                c.verified_by,
                c.verification_ref,
                c.created_at,
            )
            .where(matches(c.customer_id, "ids", pg))
            .order_by(c.id)
        )

    stmt = statement(session, "identity_rows", build)
    return list(session.execute(stmt, {"ids": list(customer_ids)}))


def list_identities(session: Session, customer_ids: Sequence[int]) -> list[Identity]:
    return list(
        session.scalars(
            select(Identity)
            .where(among(session, Identity.customer_id, list(customer_ids)))
            .order_by(Identity.id)
        )
    )


def identities_of_kind(session: Session, customer_ids: Sequence[int], kind: str) -> list[Row[Any]]:
    """(customer_id, id, verified, value_enc, source) of these customers' identities of
    ``kind``: plain rows for a batch (no ORM object per identity)."""
    return list(
        session.execute(
            select(
                Identity.customer_id,
                Identity.id,
                Identity.verified,
                Identity.value_enc,
                Identity.source,
            )
            .where(among(session, Identity.customer_id, list(customer_ids)), Identity.kind == kind)
            .order_by(Identity.id)
        )
    )


def find_identities(session: Session, kind: str, scope: str, value_index: str) -> list[Identity]:
    return list(
        session.scalars(
            select(Identity)
            .where(
                Identity.kind == kind, Identity.scope == scope, Identity.value_index == value_index
            )
            .order_by(Identity.id)
        )
    )


def own_identities(
    session: Session, customer_ids: Sequence[int], kind: str, scope: str, value_index: str
) -> list[Identity]:
    """``find_identities`` among these profiles only: nobody else's row is read."""
    return list(
        session.scalars(
            select(Identity)
            .where(
                among(session, Identity.customer_id, list(customer_ids)),
                Identity.kind == kind,
                Identity.scope == scope,
                Identity.value_index == value_index,
            )
            .order_by(Identity.id)
        )
    )


def delete_identities(session: Session, customer_id: int) -> int:
    owned = select(Identity.id).where(Identity.customer_id == customer_id)
    session.execute(delete(VerificationCode).where(VerificationCode.identity_id.in_(owned)))
    result = session.execute(delete(Identity).where(Identity.customer_id == customer_id))
    return rowcount(result)


# --- verification codes ---------------------------------------------------------------------


def add_code(session: Session, code: VerificationCode) -> VerificationCode:
    session.add(code)
    session.flush()
    return code


def codes_sent_since(
    session: Session,
    *,
    identity_id: int,
    customer_ids: Sequence[int],
    purpose: str,
    window: datetime,
    day: datetime,
) -> tuple[int, int]:
    """(codes of ``purpose`` for this identity since ``window``, codes of ``purpose`` for these
    profiles since ``day``), whatever became of them, in one statement."""
    v = VerificationCode
    row = session.execute(
        select(
            func.count().filter(and_(v.identity_id == identity_id, v.created_at > window)),
            func.count(),
        ).where(v.customer_id.in_(list(customer_ids)), v.created_at > day, v.purpose == purpose)
    ).one()
    return int(row[0]), int(row[1])


def take_send_quota(
    session: Session, principal: str, purpose: str, hour: datetime, limit: int
) -> bool:
    """Counts one send of ``principal`` in ``hour`` if fewer than ``limit`` were (one
    conditional UPDATE after making the row); False when not. Earlier hours of the principal
    are dropped."""
    q = CodeSendQuota
    mine = (q.principal == principal, q.purpose == purpose)
    session.execute(delete(q).where(*mine, q.hour < hour))
    session.execute(
        insert_ignore(
            session,
            q,
            [{"principal": principal, "purpose": purpose, "hour": hour, "sent": 0, "refused": 0}],
            ["principal", "purpose", "hour"],
        )
    )
    taken = session.execute(
        update(q).where(*mine, q.hour == hour, q.sent < limit).values(sent=q.sent + 1)
    )
    return rowcount(taken) > 0


def count_refused_send(
    session: Session, principal: str, purpose: str, hour: datetime
) -> CodeSendQuota | None:
    q = CodeSendQuota
    session.execute(
        update(q)
        .where(q.principal == principal, q.purpose == purpose, q.hour == hour)
        .values(refused=q.refused + 1)
    )
    return session.get(q, (principal, purpose, hour), populate_existing=True)


def supersede_codes(session: Session, identity_id: int, purpose: str) -> None:
    session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.identity_id == identity_id,
            VerificationCode.status == "pending",
            VerificationCode.purpose == purpose,
        )
        .values(status="superseded", code_enc=None)
    )


def supersede_customer_codes(session: Session, customer_ids: Sequence[int], purpose: str) -> None:
    session.execute(
        update(VerificationCode)
        .where(
            VerificationCode.customer_id.in_(list(customer_ids)),
            VerificationCode.status == "pending",
            VerificationCode.purpose == purpose,
        )
        .values(status="superseded", code_enc=None)
    )


def lock_pending_code(session: Session, identity_id: int, purpose: str) -> VerificationCode | None:
    return _lock_latest(session, purpose, "pending", VerificationCode.identity_id == identity_id)


def lock_pending_customer_code(
    session: Session, customer_ids: Sequence[int], purpose: str
) -> VerificationCode | None:
    """The latest pending code of ``purpose`` sent for any of these profiles (one cluster)."""
    return _lock_latest(
        session, purpose, "pending", VerificationCode.customer_id.in_(list(customer_ids))
    )


def _lock_latest(
    session: Session, purpose: str, status: str, *conditions: ColumnElement[bool]
) -> VerificationCode | None:
    return session.scalars(
        select(VerificationCode)
        .where(*conditions, VerificationCode.status == status, VerificationCode.purpose == purpose)
        .order_by(VerificationCode.id.desc())
        .limit(1)
        .with_for_update()
    ).first()


def lock_used_customer_code(
    session: Session, customer_ids: Sequence[int], purpose: str, bound_to: str
) -> VerificationCode | None:
    """The latest code of ``purpose`` used up for ``bound_to`` by any of these profiles."""
    return _lock_latest(
        session,
        purpose,
        "used",
        VerificationCode.customer_id.in_(list(customer_ids)),
        VerificationCode.bound_to == bound_to,
    )


def lock_code(session: Session, code_id: int) -> VerificationCode | None:
    return session.scalars(
        select(VerificationCode).where(VerificationCode.id == code_id).with_for_update()
    ).first()
