"""Reactions to order events (delivered by the outbox relay): orders, cancellations and
refunds on the customer's timeline.

Customers sits below orders, so these handlers read only the event: the orders domain puts
the order number, customer, channel, total and lines in it, and the event's time is when the
order was placed.

- ``omniretail.orders.order_confirmed``: the order on the timeline (``activity.record_orders``,
  keyed ``order:<number>``), counted in the 360's spend by channel. The relay delivers these
  in batches (``record_confirmed_orders``): one transaction, the customers resolved in one
  statement (``service.clusters``).
- ``omniretail.orders.cancelled``: the order's amount drops by the voided amount, keyed by the
  event id; fails (and is retried) while the order is not on the timeline yet.
- ``omniretail.orders.refunded``: a return on the timeline, keyed by the return (``return_id``
  in the event, else the event id), with the refunded ``amount``, under the channel the order
  was placed in (the 360's spend by channel is net of returns).

Guest orders and orders of unknown or erased customers are skipped.

The other order handlers take typed arguments (``record_cancellation(uow_factory, meta,
order=..., ...)``); ``install`` subscribes them to the order events by type pattern through
thin adapters that pick the fields out of the CloudEvent's data (customers cannot import the
orders domain's typed events: it sits below orders).

- ``omniretail.customers.identity_code_requested``: sends a verification code by email or
  SMS (``send_identity_code``). The event carries only the code's row id; the code is read
  from its ciphertext, sent, and the ciphertext blanked in the same transaction, so a
  redelivery after that sends nothing. Expired, used or superseded codes are skipped.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from omniretail.customers import repository as repo
from omniretail.customers import service
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.customers.events import IdentityCodeRequested
from omniretail.customers.models import CodePurpose
from omniretail.customers.schemas import OrderActivity
from omniretail.customers.service import activity
from omniretail.customers.service.verification import CODE_FIELD
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault, vault_for
from omniretail.messaging.handlers import (
    CloudEvent,
    EventMeta,
    HandlerRegistry,
    SkipDelivery,
    Skips,
    UowFactory,
    one_at_a_time,
)
from omniretail.messaging.mail import Email
from omniretail.messaging.senders import Senders


def install(registry: HandlerRegistry) -> None:
    # a guest's order has no profile to show it: no delivery is planned for it
    registry.add(
        "omniretail.orders.order_confirmed",
        "customers.timeline_order",
        one_at_a_time(record_confirmed_orders),
        batch=record_confirmed_orders,
        customers_only=True,
    )
    for event_type, name, handler in (
        ("omniretail.orders.cancelled", "customers.timeline_cancellation", _cancelled),
        ("omniretail.orders.refunded", "customers.timeline_refund", _refunded),
    ):
        registry.add(event_type, name, handler, customers_only=True)


def install_verification(registry: HandlerRegistry, senders: Senders, keyring: Keyring) -> None:
    registry.on(
        IdentityCodeRequested,
        "customers.send_identity_code",
        IdentityCodeSender(senders, vault_for(keyring)),
    )


class IdentityCodeSender:
    def __init__(self, senders: Senders, vault: PiiVault) -> None:
        self.senders = senders  # read at send time: tests swap its members
        self.vault = vault

    def __call__(
        self, event: IdentityCodeRequested, meta: EventMeta, uow_factory: UowFactory
    ) -> None:
        code_id = event.code_id
        with uow_factory() as uow:
            row = repo.lock_code(uow.session, code_id)
            if row is None or row.status != "pending" or row.code_enc is None:
                raise SkipDelivery(f"code #{code_id} was sent, used, superseded or erased")
            if uow.now >= row.expires_at:
                raise SkipDelivery(f"code #{code_id} expired before it could be sent")
            identity = repo.get_identity(uow.session, row.identity_id)
            assert identity is not None
            to = self.vault.decrypt("identity", identity.value_enc) or ""
            code = self.vault.decrypt(CODE_FIELD, row.code_enc) or ""
            minutes = max(int((row.expires_at - uow.now).total_seconds()) // 60, 1)
            if row.purpose == CodePurpose.REDEMPTION.value:
                points = service.points_of_binding(row.bound_to)
                spend = f"{points:,} loyalty points" if points else "loyalty points"
                subject = f"Your code to spend {spend}"
                text = (
                    f"Your Omniretail code to spend {spend} at the till is {code}. It works"
                    f" once, for {minutes} minutes, for that many points only. Give it to the"
                    " cashier only if you are at the till and want to pay with these points; if"
                    " not, ignore this message."
                )
            else:
                subject = "Your Omniretail verification code"
                text = (
                    f"Your Omniretail verification code is {code}. It works once, for {minutes}"
                    " minutes. Nobody from Omniretail will ask you for it; if you did not ask"
                    " for it, ignore this message."
                )
            if row.channel == "email":
                self.senders.mailer.send(
                    Email(
                        to=to,
                        subject=subject,
                        text=text,
                        message_id=f"<identity-code-{row.id}@omniretail>",
                        sensitive=True,
                    )
                )
            else:
                self.senders.sms.send(to, text, sensitive=True)
            row.code_enc, row.sent_at = None, uow.now


def record_confirmed_orders(events: list[CloudEvent], uow_factory: UowFactory) -> Skips:
    """Confirmed orders on their customers' timelines, each placed when its event was, in one
    transaction. Guest orders and those of unknown or erased customers are skipped."""
    skips: dict[str, str] = {}
    with uow_factory() as uow:
        wanted = {_optional_int(e["data"].get("customer_id")) for e in events}
        _clusters, refused = service.clusters(uow, [c for c in wanted if c is not None])
        orders = []
        for event in events:
            data = event["data"]
            customer = _optional_int(data.get("customer_id"))
            if customer is None:
                skips[event["id"]] = f"order {data['order']} is a guest order: no profile"
            elif customer in refused:
                skips[event["id"]] = f"customer {customer}: {refused[customer]}"
            else:
                orders.append(
                    OrderActivity(
                        customer_id=customer,
                        number=data["order"],
                        channel=data.get("channel") or "unknown",
                        placed_at=EventMeta.of(event).time,
                        total=Decimal(str(data.get("total", "0"))),
                        status="confirmed",
                        lines=sum(_quantities(data.get("lines", []))),
                    )
                )
        activity.record_orders(uow, orders)
    return skips


def record_cancellation(
    uow_factory: UowFactory, meta: EventMeta, *, order: str, customer_id: int | None, amount: str
) -> None:
    customer = _customer_of(order, customer_id)
    with uow_factory() as uow:
        _require_customer(uow, customer)
        found = activity.record_order_cancellation(
            uow, order, change_key=meta.id, amount=Decimal(amount)
        )
    if not found:
        raise RuntimeError(f"order {order} is not on the timeline yet; retry later")


def record_refund(
    uow_factory: UowFactory,
    meta: EventMeta,
    *,
    order: str,
    customer_id: int | None,
    return_id: str | None,
    location: str | None,
    amount: str,
    quantities: list[int],
) -> None:
    customer = _customer_of(order, customer_id)
    reference = return_id or meta.id
    with uow_factory() as uow:
        _require_customer(uow, customer)
        # Spend by channel is net: the return counts against the channel the order was
        # placed in, wherever the items came back.
        channel = activity.order_channel(uow, order) or location
        activity.record_order(
            uow,
            OrderActivity(
                customer_id=customer,
                number=reference,
                channel=channel or "unknown",
                placed_at=meta.time,
                total=Decimal(amount),
                kind="return",
                status="refunded",
                lines=sum(quantities),
                source_key=f"return:{reference}",
            ),
        )


# --- adapters from the order events' data (until orders.events is typed) -------------------


def _cancelled(event: CloudEvent, uow_factory: UowFactory) -> None:
    data = event["data"]
    record_cancellation(
        uow_factory,
        EventMeta.of(event),
        order=data["order"],
        customer_id=_optional_int(data.get("customer_id")),
        amount=str(data.get("amount", "0")),
    )


def _refunded(event: CloudEvent, uow_factory: UowFactory) -> None:
    data = event["data"]
    record_refund(
        uow_factory,
        EventMeta.of(event),
        order=data["order"],
        customer_id=_optional_int(data.get("customer_id")),
        return_id=str(data["return_id"]) if data.get("return_id") else None,
        location=data.get("location"),
        amount=str(data.get("amount", "0")),
        quantities=_quantities(data.get("lines", [])),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _quantities(lines: list[dict[str, Any]]) -> list[int]:
    return [int(ln.get("quantity", 0)) for ln in lines]


def _customer_of(order: str, customer_id: int | None) -> int:
    if customer_id is None:
        raise SkipDelivery(f"order {order} is a guest order: no profile")
    return customer_id


def _require_customer(uow: UnitOfWork, customer_id: int) -> None:
    try:
        service.resolve_id(uow, customer_id)
    except (UnknownCustomer, CustomerErased) as exc:
        raise SkipDelivery(f"customer {customer_id}: {exc.detail}") from exc
