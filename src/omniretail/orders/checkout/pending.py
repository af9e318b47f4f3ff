"""The payment attempt's rows: a checkout whose card is being authorised outside any
transaction (``attempts``), and the ``OrderConfirmed`` event it will record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from omniretail.db.batch import kept
from omniretail.db.uow import UnitOfWork
from omniretail.orders.events import ConfirmedFulfilment, OrderConfirmed
from omniretail.orders.models import (
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    PaymentAttempt,
    PaymentAttemptStatus,
)
from omniretail.orders.schemas import OrderRead

attempts = cast(Table, PaymentAttempt.__table__)
orders = cast(Table, Order.__table__)
order_lines = cast(Table, OrderLine.__table__)
fulfilments = cast(Table, Fulfilment.__table__)

PENDING = PaymentAttemptStatus.PENDING.value


@dataclass
class Pending:
    """What checkout's first transaction leaves for the payment: the attempt (the provider's
    idempotency key), the order it confirms and the order as it will read once confirmed."""

    attempt: str
    number: str
    token: str
    amount: Decimal
    currency: str = ""
    order: OrderRead | None = None

    def insert(
        self,
        uow: UnitOfWork,
        cart_id: str,
        provider: str,
        currency: str,
        confirmation: dict[str, Any],
        ttl: timedelta,
    ) -> None:
        self.currency = currency
        uow.later_rows(  # with the outbox at commit
            attempts,
            [
                {
                    "id": self.attempt,
                    "order_number": self.number,
                    "cart_id": cart_id,
                    "status": PENDING,
                    "provider": provider,
                    "amount": self.amount,
                    "currency": currency,
                    "reference": None,
                    "reason": None,
                    "confirmation": confirmation,
                    "created_at": uow.now,
                    "expires_at": uow.now + ttl,
                    "settled_at": None,
                }
            ],
        )


def confirmed_event(confirmation: dict[str, Any]) -> OrderConfirmed:
    """The event kept with a pending attempt; one kept before events lost the tracking
    token (a bearer link to the tracking page) drops it."""
    kept = {k: v for k, v in confirmation.items() if k != "tracking_token"}
    return OrderConfirmed(
        **{**kept, "fulfilments": [ConfirmedFulfilment(**f) for f in kept["fulfilments"]]}
    )


def settle(
    session: Session, attempt: str, status: PaymentAttemptStatus, now: datetime, **values: Any
) -> Row[Any] | None:
    """Moves a pending attempt to ``status`` (once: the request and the sweep race here)."""
    params = {f"s_{name}": value for name, value in values.items()}
    return session.execute(
        _settle_statement(tuple(values)),
        {"s_attempt": attempt, "s_status": status.value, "s_now": now, **params},
    ).one_or_none()


@cache
def _settle_statement(columns: tuple[str, ...]) -> Any:
    # Built once per set of columns (confirmed: the reference; failed: the reason).
    return (
        update(attempts)
        .where(
            attempts.c.id == bindparam("s_attempt", type_=attempts.c.id.type),
            attempts.c.status == PENDING,
        )
        .values(
            {
                "status": bindparam("s_status", type_=attempts.c.status.type),
                "settled_at": bindparam("s_now", type_=attempts.c.settled_at.type),
                **{c: bindparam(f"s_{c}", type_=attempts.c[c].type) for c in columns},
            }
        )
        .returning(
            attempts.c.order_number,
            attempts.c.cart_id,
            attempts.c.amount,
            attempts.c.confirmation,
        )
    )


def confirm_later(uow: UnitOfWork, number: str, reference: str, amount: Decimal) -> None:
    """The awaiting order confirmed with its payment, sent with the outbox at commit (after
    the attempt's settling, which nothing else in the transaction reads)."""
    uow.later(
        _CONFIRM,
        {
            "confirm_number": number,
            "confirm_reference": reference,
            "confirm_amount": amount,
            "confirm_now": uow.now,
        },
    )


# Built once: the confirming transaction's commit batch is then built once too.
_CONFIRM = kept(
    update(orders)
    .where(
        orders.c.number == bindparam("confirm_number", type_=orders.c.number.type),
        orders.c.status == OrderStatus.AWAITING_PAYMENT.value,
    )
    .values(
        status=OrderStatus.CONFIRMED.value,
        payment_reference=bindparam("confirm_reference", type_=orders.c.payment_reference.type),
        amount_authorised=bindparam("confirm_amount", type_=orders.c.amount_authorised.type),
        updated_at=bindparam("confirm_now", type_=orders.c.updated_at.type),
    )
)


def unplaced_order(session: Session, number: str) -> tuple[list[str], list[Any]] | None:
    """An awaiting order's allocation holds and fulfilments, its rows deleted (a failed
    payment leaves no order; the attempt keeps the number)."""
    order_id = session.execute(
        select(orders.c.id).where(
            orders.c.number == number, orders.c.status == OrderStatus.AWAITING_PAYMENT.value
        )
    ).scalar_one_or_none()
    if order_id is None:
        return None
    holds = [
        h
        for h in session.execute(
            select(order_lines.c.hold_id).where(order_lines.c.order_id == order_id)
        ).scalars()
        if h is not None
    ]
    placed = list(
        session.execute(
            select(fulfilments.c.location_code, fulfilments.c.capacity_day).where(
                fulfilments.c.order_id == order_id
            )
        )
    )
    session.execute(delete(order_lines).where(order_lines.c.order_id == order_id))
    session.execute(delete(fulfilments).where(fulfilments.c.order_id == order_id))
    session.execute(delete(orders).where(orders.c.id == order_id))
    return holds, placed


def due_attempts(session: Session, now: datetime, limit: int) -> list[str]:
    return list(
        session.execute(
            select(attempts.c.id)
            .where(attempts.c.status == PENDING, attempts.c.expires_at <= now)
            .order_by(attempts.c.expires_at)
            .limit(limit)
        ).scalars()
    )


def attempt_row(session: Session, attempt: str) -> Row[Any] | None:
    return session.execute(select(attempts).where(attempts.c.id == attempt)).one_or_none()
