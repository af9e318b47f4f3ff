"""Reactions to order events (delivered by the outbox relay): orders, cancellations and
refunds on the customer's timeline.

Customers sits below orders, so these handlers read only the event: the orders domain puts
the order number, customer, channel, total and lines in it, and the event's time is when the
order was placed.

- ``omniretail.orders.order_confirmed``: the order on the timeline (``activity.record_order``,
  keyed ``order:<number>``), counted in the 360's spend by channel.
- ``omniretail.orders.cancelled``: the order's amount drops by the voided amount, keyed by the
  event id; fails (and is retried) while the order is not on the timeline yet.
- ``omniretail.orders.refunded``: a return on the timeline, keyed by the return (``return_id``
  in the event, else the event id), with the refunded ``amount``, under the channel the order
  was placed in (the 360's spend by channel is net of returns).

Guest orders and orders of unknown or erased customers are skipped.

- ``omniretail.customers.identity_code_requested``: sends a verification code by email or
  SMS (``send_identity_code``). The event carries only the code's row id; the code is read
  from its ciphertext, sent, and the ciphertext blanked in the same transaction, so a
  redelivery after that sends nothing. Expired, used or superseded codes are skipped.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from omniretail.customers import repository as repo
from omniretail.customers import service
from omniretail.customers.errors import CustomerErased, UnknownCustomer
from omniretail.customers.schemas import OrderActivity
from omniretail.customers.service import activity
from omniretail.customers.service.verification import CODE_FIELD
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.keys import Keyring
from omniretail.kernel.vault import PiiVault, vault_for
from omniretail.messaging.handlers import CloudEvent, HandlerRegistry, SkipDelivery, UowFactory
from omniretail.messaging.mail import Email
from omniretail.messaging.senders import Senders


def install(registry: HandlerRegistry) -> None:
    registry.add("omniretail.orders.order_confirmed", "customers.timeline_order", record_order)
    registry.add(
        "omniretail.orders.cancelled", "customers.timeline_cancellation", record_cancellation
    )
    registry.add("omniretail.orders.refunded", "customers.timeline_refund", record_refund)


def install_verification(registry: HandlerRegistry, senders: Senders, keyring: Keyring) -> None:
    registry.add(
        "omniretail.customers.identity_code_requested",
        "customers.send_identity_code",
        IdentityCodeSender(senders, vault_for(keyring)),
    )


class IdentityCodeSender:
    def __init__(self, senders: Senders, vault: PiiVault) -> None:
        self.senders = senders  # read at send time: tests swap its members
        self.vault = vault

    def __call__(self, event: CloudEvent, uow_factory: UowFactory) -> None:
        code_id = int(event["data"]["code_id"])
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
            text = (
                f"Your Omniretail verification code is {code}. It works once, for {minutes}"
                " minutes. Nobody from Omniretail will ask you for it; if you did not ask for"
                " it, ignore this message."
            )
            if row.channel == "email":
                self.senders.mailer.send(
                    Email(
                        to=to,
                        subject="Your Omniretail verification code",
                        text=text,
                        message_id=f"<identity-code-{row.id}@omniretail>",
                        sensitive=True,
                    )
                )
            else:
                self.senders.sms.send(to, text, sensitive=True)
            row.code_enc, row.sent_at = None, uow.now


def record_order(event: CloudEvent, uow_factory: UowFactory) -> None:
    data = event["data"]
    customer_id = _customer_of(data)
    with uow_factory() as uow:
        _require_customer(uow, customer_id)
        activity.record_order(
            uow,
            OrderActivity(
                customer_id=customer_id,
                number=data["order"],
                channel=data.get("channel") or "unknown",
                placed_at=datetime.fromisoformat(event["time"]),
                total=Decimal(str(data.get("total", "0"))),
                status="confirmed",
                lines=sum(int(ln.get("quantity", 0)) for ln in data.get("lines", [])),
            ),
        )


def record_cancellation(event: CloudEvent, uow_factory: UowFactory) -> None:
    data = event["data"]
    customer_id = _customer_of(data)
    with uow_factory() as uow:
        _require_customer(uow, customer_id)
        found = activity.record_order_cancellation(
            uow,
            data["order"],
            change_key=event["id"],
            amount=Decimal(str(data.get("amount", "0"))),
        )
    if not found:
        raise RuntimeError(f"order {data['order']} is not on the timeline yet; retry later")


def record_refund(event: CloudEvent, uow_factory: UowFactory) -> None:
    data = event["data"]
    customer_id = _customer_of(data)
    reference = str(data.get("return_id") or event["id"])
    with uow_factory() as uow:
        _require_customer(uow, customer_id)
        # Spend by channel is net: the return counts against the channel the order was
        # placed in, wherever the items came back.
        channel = activity.order_channel(uow, data["order"]) or data.get("location")
        activity.record_order(
            uow,
            OrderActivity(
                customer_id=customer_id,
                number=reference,
                channel=channel or "unknown",
                placed_at=datetime.fromisoformat(event["time"]),
                total=Decimal(str(data.get("amount", "0"))),
                kind="return",
                status="refunded",
                lines=sum(int(ln.get("quantity", 0)) for ln in data.get("lines", [])),
                source_key=f"return:{reference}",
            ),
        )


def _customer_of(data: dict[str, Any]) -> int:
    if data.get("customer_id") is None:
        raise SkipDelivery(f"order {data.get('order')} is a guest order: no profile")
    return int(data["customer_id"])


def _require_customer(uow: UnitOfWork, customer_id: int) -> None:
    try:
        service.resolve_id(uow, customer_id)
    except (UnknownCustomer, CustomerErased) as exc:
        raise SkipDelivery(f"customer {customer_id}: {exc.detail}") from exc
