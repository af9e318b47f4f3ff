"""Payment instructions: capture, void and refund leave the system through the outbox.

A use case never calls the payment provider for money that moves after checkout. It calls
``request_payment`` inside its transaction, next to the state change that causes it (the
order's amount columns, the ``refund``/``charge`` log rows): that records an
``orders.payment_<action>_requested`` event in the outbox and a ``payment_requested`` row in
``fulfilment_log``. If the transaction does not commit, neither exists and the provider is never
asked. After commit the relay's ``orders.carry_out_payment`` handler calls the provider with the
event id as the idempotency key, so a delivery replayed after a crash moves no money twice, and
logs ``payment_confirmed``. A provider failure raises: the relay retries with back-off and, after
``relay_max_attempts``, leaves a dead letter an operator replays (``omniretail events replay``).

Authorisation stays synchronous (checkout, and the price difference of an exchange): a refusal
must be reported to the customer at once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Any

from omniretail.db.uow import UnitOfWork
from omniretail.messaging.handlers import CloudEvent, HandlerRegistry, SkipDelivery, UowFactory
from omniretail.orders import repository as repo
from omniretail.orders.events import PAYMENT_REQUESTED
from omniretail.orders.payments import CashDrawer, PaymentProvider, paid_in_cash

HANDLER = "orders.carry_out_payment"
EVENT_PATTERN = "omniretail.orders.payment_*_requested"
REQUESTED = "payment_requested"
CONFIRMED = "payment_confirmed"


class PaymentAction(StrEnum):
    CAPTURE = "capture"  # shipped or handed over
    VOID = "void"  # cancelled, rejected without a new route, not collected
    REFUND = "refund"  # returned, or an exchange that costs less


def request_payment(
    uow: UnitOfWork,
    order: Any,
    action: PaymentAction,
    amount: Decimal,
    *,
    reference: str,
    purpose: str,
    actor: str,
    fulfilment_id: str | None = None,
) -> str:
    """Records the instruction in the caller's transaction; returns its id (the idempotency
    key the provider sees)."""
    event = PAYMENT_REQUESTED[action.value](
        order=order.number,
        action=action.value,
        reference=reference,
        amount=str(amount),
        currency=order.currency,
        purpose=purpose,
        fulfilment_id=fulfilment_id,
    ).envelope()
    uow.record(event)
    repo.insert_log(
        uow.session,
        [
            repo.log_row(
                uow.now,
                order.id,
                fulfilment_id,
                REQUESTED,
                actor,
                {
                    "instruction": event.id,
                    "action": action.value,
                    "amount": str(amount),
                    "reference": reference,
                    "for": purpose,
                },
            )
        ],
    )
    return event.id


def pending(log: list[Any]) -> list[dict[str, Any]]:
    """Instructions of an order's log that the provider has not confirmed yet."""
    confirmed = {e.detail.get("instruction") for e in log if e.action == CONFIRMED}
    return [
        {
            "action": e.detail["action"],
            "amount": Decimal(e.detail["amount"]),
            "requested_at": e.created_at,
        }
        for e in log
        if e.action == REQUESTED and e.detail.get("instruction") not in confirmed
    ]


# --- the relay's side --------------------------------------------------------------------------


def install(registry: HandlerRegistry, payments: Callable[[], PaymentProvider]) -> None:
    """``payments`` is read at each delivery (tests swap the container's provider)."""
    registry.add(EVENT_PATTERN, HANDLER, _carrier(payments))


def _carrier(payments: Callable[[], PaymentProvider]) -> Callable[[CloudEvent, UowFactory], None]:
    def carry_out_payment(event: CloudEvent, uow_factory: UowFactory) -> None:
        # One handler for the three instruction types (a pattern subscription, so the
        # handler's name and its deliveries stay as they are).
        data = PAYMENT_REQUESTED[event["data"]["action"]].parse(event["data"]).data
        action = PaymentAction(data["action"])
        amount = Decimal(data["amount"])
        provider = CashDrawer() if paid_in_cash(data["reference"]) else payments()
        call = {
            PaymentAction.CAPTURE: provider.capture,
            PaymentAction.VOID: provider.void,
            PaymentAction.REFUND: provider.refund,
        }[action]
        # Any failure propagates: the relay retries with back-off, then dead-letters.
        call(data["reference"], amount, key=event["id"])
        with uow_factory() as uow:
            order = repo.lock_order(uow.session, data["order"])
            if order is None:
                raise SkipDelivery(f"order {data['order']} is gone; the provider was instructed")
            log = repo.log_of_order(uow.session, order.id)
            if any(
                e.action == CONFIRMED and e.detail.get("instruction") == event["id"] for e in log
            ):
                return  # a redelivery after the confirmation was written
            repo.insert_log(
                uow.session,
                [
                    repo.log_row(
                        uow.now,
                        order.id,
                        data.get("fulfilment_id"),
                        CONFIRMED,
                        f"provider:{provider.name}",
                        {
                            "instruction": event["id"],
                            "action": action.value,
                            "amount": str(amount),
                            "reference": data["reference"],
                        },
                    )
                ],
            )

    return carry_out_payment
