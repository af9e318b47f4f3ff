"""Checkout with the payment outside any transaction.

1. ``begin_order`` (one short transaction): price, route, allocate, close the cart, record the
   order ``awaiting_payment`` and a pending payment attempt whose allocation expires after
   ``payment_attempt_ttl_seconds``. Commit: the stock rows' locks and the connection go back.
2. The provider authorises, with the attempt id as its idempotency key; no transaction open.
3. Approved: ``confirm_attempt`` (one transaction) marks the attempt authorised and the order
   confirmed, with its payment reference, and records ``OrderConfirmed``. Declined, timed out
   or failed: ``release_attempt`` gives back the allocation, the ship-from-store capacity and
   the coupon uses, removes the order's rows, reopens the cart and marks the attempt failed;
   the customer hears the same 402/503 as before, in the same request.

A process that dies between the steps leaves a pending attempt; ``sweep_payment_attempts``
(the server's sweep, the ``orders.payment_sweep`` job, ``omniretail orders sweep-payments``)
asks the provider by idempotency key about every attempt past its expiry: authorised -> the
order is confirmed (no money without an order), else it is released (no stock held for ever).
Both moves are conditional on the attempt still being pending, so a request and the sweep
never both act on one attempt.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from omniretail.carts.service import reopen_cart
from omniretail.db.uow import UnitOfWork
from omniretail.inventory import service as inventory
from omniretail.inventory.errors import HoldNotActive, UnknownHold
from omniretail.orders.checkout import pending as rows
from omniretail.orders.checkout.pending import Pending, confirmed_event
from omniretail.orders.checkout.place import authorise_payment, begin_order
from omniretail.orders.errors import PaymentDeclined, PaymentUnavailable
from omniretail.orders.models import PaymentAttemptStatus
from omniretail.orders.payments import Authorisation, PaymentError, PaymentProvider
from omniretail.orders.schemas import CheckoutCreate, OrderRead
from omniretail.pricing import service as pricing
from omniretail.routing.service import OrderPolicy, give_back_capacity

log = logging.getLogger("omniretail.orders.payments")

# Runs a function in a transaction of its own and commits (``UseCase.run``, ``web.change``,
# or ``in_transaction(container.uow)``).
Runner = Callable[[Callable[[UnitOfWork], Any]], Any]
SWEEP_BATCH = 100


def in_transaction(uow_factory: Callable[[], UnitOfWork]) -> Runner:
    def run(fn: Callable[[UnitOfWork], Any]) -> Any:
        with uow_factory() as uow:
            return fn(uow)

    return run


def checkout_paid(
    token: str,
    data: CheckoutCreate,
    *,
    begin: Runner,
    settle: Runner,
    payments: PaymentProvider,
    policy: OrderPolicy,
    actor: str,
    ttl: timedelta,
    finish: Runner | None = None,
    customer_id: int | None = None,
    contact_of: int | None = None,
) -> OrderRead:
    """The cart becomes an order without a lock or a connection held while the provider
    answers. ``begin`` runs the first transaction, ``finish`` (default ``settle``) the
    confirmation (where an Idempotency-Key stores its reply), ``settle`` the release.
    ``contact_of``: the customer checking out themselves (their own email is the contact
    when ``data`` names none)."""
    pending: Pending = begin(
        lambda uow: begin_order(
            uow,
            token,
            data,
            payments=payments,
            policy=policy,
            actor=actor,
            ttl=ttl,
            customer_id=customer_id,
            contact_of=contact_of,
        )
    )
    try:
        authorisation = authorise_payment(
            payments, pending.token, pending.amount, pending.currency, pending.attempt
        )
    except BaseException as exc:
        if not isinstance(exc, PaymentDeclined):
            # Unknown outcome: void first, so that a sweep asking later finds nothing.
            _void_quietly(payments, pending.attempt)
        _release_quietly(settle, pending.attempt, _reason(exc), actor)
        raise
    try:
        order: OrderRead = (finish or settle)(
            lambda uow: _confirm_or_refuse(uow, pending, authorisation)
        )
    except BaseException:
        # Not confirmed: released and voided (unless it committed after all).
        if _release_quietly(settle, pending.attempt, "not confirmed", actor):
            _void_quietly(payments, pending.attempt)
        raise
    return order


def confirm_attempt(uow: UnitOfWork, attempt: str, authorisation: Authorisation) -> bool:
    """The provider approved: the order is confirmed. False when the attempt was no longer
    pending (the sweep released it meanwhile, or it was confirmed already)."""
    row = rows.settle(
        uow.session,
        attempt,
        PaymentAttemptStatus.AUTHORISED,
        uow.now,
        reference=authorisation.reference,
    )
    if row is None:
        return False
    rows.confirm_later(uow, row.order_number, authorisation.reference, row.amount)
    uow.record(confirmed_event(row.confirmation))
    return True


def release_attempt(uow: UnitOfWork, attempt: str, reason: str, *, actor: str) -> bool:
    """The payment failed (or never finished): the allocation, capacity and coupon uses are
    given back, the order's rows removed, the cart reopened. False when the attempt was no
    longer pending."""
    row = rows.settle(
        uow.session, attempt, PaymentAttemptStatus.FAILED, uow.now, reason=reason[:300]
    )
    if row is None:
        return False
    unplaced = rows.unplaced_order(uow.session, row.order_number)
    if unplaced is not None:
        holds, placed = unplaced
        for hold_id in dict.fromkeys(holds):
            with contextlib.suppress(HoldNotActive, UnknownHold):
                inventory.release_allocation(uow, hold_id, actor=actor)
        for p in placed:
            if p.capacity_day is not None:
                give_back_capacity(uow.session, p.location_code, p.capacity_day)
        pricing.give_back_coupons(uow, row.order_number)
    reopen_cart(uow.session, row.cart_id, row.order_number, uow.now)
    return True


@dataclass(frozen=True)
class PaymentSweep:
    confirmed: int = 0
    released: int = 0
    unanswered: int = 0  # the provider could not be asked: the next sweep asks again


def sweep_payment_attempts(
    uow_factory: Callable[[], UnitOfWork],
    payments: PaymentProvider,
    *,
    actor: str,
    limit: int = SWEEP_BATCH,
) -> PaymentSweep:
    """Pending attempts past their expiry, each settled in a transaction of its own after
    asking the provider (outside any transaction) whether it authorised."""
    with uow_factory() as uow:
        due = rows.due_attempts(uow.session, uow.now, limit)
    confirmed = released = unanswered = 0
    for attempt in due:
        try:
            authorisation = payments.lookup(key=attempt)
        except PaymentError:
            unanswered += 1
            continue
        with uow_factory() as uow:
            if authorisation is not None:
                confirmed += confirm_attempt(uow, attempt, authorisation)
                continue
            done = release_attempt(uow, attempt, "expired before the payment finished", actor=actor)
        if done:
            released += 1
            _void_quietly(payments, attempt)  # an answer still on its way is not kept
    if confirmed or released:
        log.info("payment sweep: %d confirmed, %d released", confirmed, released)
    return PaymentSweep(confirmed=confirmed, released=released, unanswered=unanswered)


def _confirm_or_refuse(
    uow: UnitOfWork, pending: Pending, authorisation: Authorisation
) -> OrderRead:
    """The order as confirmed (the reply an Idempotency-Key stores)."""
    if not confirm_attempt(uow, pending.attempt, authorisation):
        raise PaymentUnavailable(
            "the payment took longer than the stock could be held; nothing was charged, try again",
            field="payment",
        )
    assert pending.order is not None
    payment = pending.order.payment.model_copy(update={"reference": authorisation.reference})
    return pending.order.model_copy(update={"payment": payment})


def _release_quietly(settle: Runner, attempt: str, reason: str, actor: str) -> bool:
    """Releases the attempt; True when it is (now or already) failed, so whatever the provider
    authorised must be voided. If the database cannot be reached the sweep settles it."""
    try:
        return bool(settle(lambda uow: _unconfirmed(uow, attempt, reason, actor)))
    except Exception:
        log.exception("payment attempt %s left for the sweep", attempt)
        return False


def _unconfirmed(uow: UnitOfWork, attempt: str, reason: str, actor: str) -> bool:
    if release_attempt(uow, attempt, reason, actor=actor):
        return True
    row = rows.attempt_row(uow.session, attempt)
    return row is None or row.status == PaymentAttemptStatus.FAILED.value


def _void_quietly(payments: PaymentProvider, attempt: str) -> None:
    # A provider that is down lets its authorisation lapse by itself.
    with contextlib.suppress(PaymentError):
        payments.void_attempt(key=attempt)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PaymentDeclined | PaymentUnavailable):
        return f"{exc.slug}: {exc.detail}"
    return f"failed: {type(exc).__name__}"
