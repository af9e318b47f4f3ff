"""Erasure (GDPR) of the personal data the orders domain holds about a customer.

The orders stay, with their numbers, lines, amounts and payment references (the accounts
and later refunds need them); what goes is who and where: the contact email and the delivery
address and coordinates, and the payment token given at checkout (all ciphertext,
``orders.contact``). Order events no longer carry them; events written before that are
scrubbed of them, and stored checkout responses (Idempotency-Key replays) of those orders are
deleted.
Called by the erasure composition (``processes.privacy``) in the same transaction as the
customers domain's part.

The statements are here rather than in ``repository.py``: they are the erasure's alone, and
two of them touch platform tables (outbox, idempotency keys) that no other use case changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select, update

from omniretail.db import idempotency
from omniretail.db.outbox import OutboxMessage
from omniretail.db.uow import UnitOfWork
from omniretail.orders.models import FulfilmentLog, Order

orders = cast(Table, Order.__table__)

# Personal fields of order events written before they carried ids only, and of
# ``orders.delivery`` before migration 0013 (the rest is kept: method, pickup, lines, amounts).
PERSONAL_KEYS = frozenset({"contact_email", "address", "latitude", "longitude", "vehicle"})


def forget_customer_orders(uow: UnitOfWork, customer_ids: Sequence[int]) -> dict[str, int]:
    """Anonymises the orders of these profiles (all ids of the erased person); returns what
    was changed, for the erasure's log."""
    session = uow.session
    ids = list(customer_ids)
    rows = list(
        session.execute(
            select(orders.c.id, orders.c.number, orders.c.delivery)
            .where(orders.c.customer_id.in_(ids))
            .order_by(orders.c.id)
            .with_for_update()
        )
    )
    for row in rows:
        session.execute(
            update(orders)
            .where(orders.c.id == row.id)
            .values(
                contact_email_enc=None,
                delivery_enc=None,
                payment_token_enc=None,
                delivery=_without_personal(row.delivery) if row.delivery else row.delivery,
                updated_at=uow.now,
            )
        )
    numbers = [str(r.number) for r in rows]
    _scrub_log(uow, [int(r.id) for r in rows])
    events = _scrub_events(uow, numbers)
    replays = idempotency.forget_subjects(session, numbers)
    return {
        "orders_anonymised": len(rows),
        "order_events_scrubbed": events,
        "order_replays_deleted": replays,
    }


def _scrub_log(uow: UnitOfWork, order_ids: list[int]) -> None:
    """Curbside arrivals logged what the customer drives."""
    if not order_ids:
        return
    for entry in uow.session.scalars(
        select(FulfilmentLog).where(
            FulfilmentLog.order_id.in_(order_ids), FulfilmentLog.action == "customer_arrived"
        )
    ):
        entry.detail = _without_personal(entry.detail)
    uow.session.flush()


def _scrub_events(uow: UnitOfWork, numbers: list[str]) -> int:
    if not numbers:
        return 0
    messages = list(
        uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.subject.in_([f"orders/{n}" for n in numbers]))
        )
    )
    changed = 0
    for message in messages:
        scrubbed = _without_personal(message.data)
        if scrubbed != message.data:
            message.data = scrubbed
            changed += 1
    uow.session.flush()
    return changed


def _without_personal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_personal(v) for k, v in value.items() if k not in PERSONAL_KEYS}
    if isinstance(value, list):
        return [_without_personal(v) for v in value]
    return value
