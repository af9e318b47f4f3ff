"""The agent's desk: what customer service does for a customer, through each domain's own use
case. Resending the pickup code and changing the pickup store (fulfilment), cancelling a line
(fulfilment's cancellation: stock released, the payment voided or refunded), starting a
return (a return request the customer hands in), refunding a line (a return booked at a
returns desk: stock back there, the ledger row, the refund as a payment instruction), goodwill
points (a loyalty adjustment) and a goodwill coupon (a pricing coupon only that customer may
use).

Every edge calls these functions after ``auth.access`` decided the operation named in
``OPERATIONS`` (the API under ``/api/v1/support/desk/...``, the console's desk forms), and
each edge writes the audit-log row of that operation in the same transaction; the ``actor``
passed down is the agent, so the fulfilment log and the points ledger name them too."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import (
    RequestLine,
    ReturnCreate,
    ReturnLine,
    ReturnReason,
    ReturnRequestCreate,
    ReturnRequestRead,
)
from omniretail.kernel.limits import Id32
from omniretail.kernel.vault import PiiVault
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.schemas import AccountRead, AdjustmentCreate
from omniretail.loyalty.service import Goodwill
from omniretail.orders import service as orders
from omniretail.orders.schemas import CancelBody, OrderRead
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import CouponRead, CouponWrite
from omniretail.processes import customer360
from omniretail.processes.customer360 import Customer360View

PREFIX = "/support/desk"
# The API operation (a key of ``auth.policy.POLICY``) each desk action is decided as.
OPERATIONS = {
    "resend_pickup_code": f"POST {PREFIX}/fulfilments/{{fid}}/resend-pickup-code",
    "change_pickup_store": f"POST {PREFIX}/fulfilments/{{fid}}/pickup-store",
    "cancel_line": f"POST {PREFIX}/orders/{{number}}/cancel-line",
    "start_return": f"POST {PREFIX}/orders/{{number}}/return",
    "refund_line": f"POST {PREFIX}/orders/{{number}}/refund-line",
    "goodwill_points": f"POST {PREFIX}/customers/{{customer_id}}/goodwill-points",
    "goodwill_coupon": f"POST {PREFIX}/customers/{{customer_id}}/goodwill-coupon",
}

Reason = Field(min_length=3, max_length=200)
Code = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeskNote(_In):
    reason: str = Field(default="customer service", min_length=3, max_length=200)


class PickupStoreChange(_In):
    store: str = Code
    reason: str = Field(default="customer asked", min_length=3, max_length=200)


# The limits of the order's own bodies (a larger value there would fail inside the use case).
_LineNo = Id32
_MAX_LINE_UNITS = 999


class LineCancel(_In):
    line_no: _LineNo
    quantity: int | None = Field(
        default=None, ge=1, le=_MAX_LINE_UNITS, description="All: the line"
    )
    reason: str = Reason


class ReturnStart(_In):
    line_no: _LineNo
    quantity: int = Field(default=1, ge=1, le=_MAX_LINE_UNITS)
    method: Literal["post", "in_store"] = "post"
    reason: ReturnReason = "changed_mind"


class LineRefund(_In):
    line_no: _LineNo
    quantity: int = Field(default=1, ge=1, le=_MAX_LINE_UNITS)
    location: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Where the items came back (a store or the returns desk)",
    )
    condition: Literal["sellable", "damaged"] = "sellable"
    reason: str = Reason


class GoodwillPoints(_In):
    points: int = Field(ge=1, le=100_000, description="Points credited as goodwill")
    reason: str = Reason


class GoodwillCoupon(_In):
    promotion: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The promotion the coupon unlocks",
    )
    reason: str = Reason
    valid_days: int = Field(default=90, ge=1, le=365)


def is_theirs(uow: UnitOfWork, customer_id: int, target: str, value: str) -> bool:
    """Whether the order (``target`` ``number``) or fulfilment (``fid``) a form on this
    customer's desk names is this person's: the page's customer is not taken on the form's word."""
    find = orders.order_customer if target == "number" else orders.fulfilment_customer
    owner = find(uow, value)
    if owner is None or owner.customer_id is None:
        return False
    return customers.resolve_id(uow, owner.customer_id) == customers.resolve_id(uow, customer_id)


def resend_pickup_code(uow: UnitOfWork, fid: str, *, actor: str) -> OrderRead:
    return fulfilment.resend_pickup_code(uow, fid, actor=actor)


def change_pickup_store(
    uow: UnitOfWork, fid: str, body: PickupStoreChange, *, actor: str
) -> OrderRead:
    return fulfilment.change_pickup_store(
        uow, fid, body.store.upper(), actor=actor, reason=body.reason
    )


def cancel_line(uow: UnitOfWork, number: str, body: LineCancel, *, actor: str) -> OrderRead:
    if body.quantity is None:
        cancel = CancelBody(line_nos=[body.line_no], reason=body.reason)
    else:
        cancel = CancelBody.model_validate(
            {"lines": [{"line_no": body.line_no, "quantity": body.quantity}], "reason": body.reason}
        )
    return fulfilment.cancel(uow, number, cancel, actor=actor)


def start_return(
    uow: UnitOfWork, number: str, body: ReturnStart, *, window_days: int, actor: str
) -> ReturnRequestRead:
    request = ReturnRequestCreate(
        method=body.method,
        reason=body.reason,
        lines=[RequestLine(line_no=body.line_no, quantity=body.quantity)],
    )
    return fulfilment.request_return(uow, number, request, window_days=window_days, actor=actor)


def refund_line(
    uow: UnitOfWork, number: str, body: LineRefund, *, window_days: int, actor: str
) -> OrderRead:
    """The line's units are booked back at ``location`` (restocked, or received and written
    off if damaged) and their paid amount refunded to the original payment."""
    data = ReturnCreate(
        location=body.location.upper(),
        lines=[
            ReturnLine(
                line_no=body.line_no,
                quantity=body.quantity,
                condition=body.condition,
                reason=body.reason,
            )
        ],
    )
    return fulfilment.return_items(uow, number, data, window_days=window_days, actor=actor)


def goodwill_points(
    uow: UnitOfWork, customer_id: int, body: GoodwillPoints, *, actor: str, goodwill: Goodwill
) -> AccountRead:
    """``goodwill``: how the credit is counted, per person and per customer a day
    (``loyalty.adjust_points``)."""
    data = AdjustmentCreate(points=body.points, reason=f"goodwill: {body.reason}"[:200])
    return loyalty.adjust_points(uow, customer_id, data, actor=actor, goodwill=goodwill)


def goodwill_coupon(
    uow: UnitOfWork, customer_id: int, body: GoodwillCoupon, *, actor: str
) -> CouponRead:
    """A single-use code of ``promotion`` that only this customer (any of their profiles)
    can use, valid for ``valid_days``."""

    code = f"GW{secrets.token_hex(5).upper()}"
    data = CouponWrite(
        code=code,
        promotion=body.promotion.upper(),
        customer_id=customer_id,
        max_uses=1,
        per_customer=1,
        valid_from=uow.now,
        valid_to=uow.now + timedelta(days=body.valid_days),
    )
    return pricing.create_coupon(uow, data, actor=actor)


def coupon_promotions(uow: UnitOfWork) -> list[tuple[str, str]]:
    """(code, name) of the active promotions that need a coupon: what a goodwill coupon
    can unlock."""
    return [
        (p.code, p.name) for p in pricing.list_promotions(uow) if p.active and p.requires_coupon
    ]


# --- what the desk shows beside a conversation ------------------------------------------------


@dataclass
class DeskOrder:
    order: OrderRead
    returns: list[ReturnRequestRead]


@dataclass
class DeskView:
    """The customer 360 with their orders (live fulfilment states, carriers, tracking
    numbers, pickup codes' deadlines), return requests, loyalty balance, and what the action
    forms offer (returns desks, stores, coupon promotions)."""

    customer: Customer360View
    orders: list[DeskOrder]
    return_desks: list[tuple[str, str]]
    stores: list[tuple[str, str]]
    promotions: list[tuple[str, str]] = field(default_factory=list)


def desk_view(uow: UnitOfWork, customer_id: int, *, vault: PiiVault, limit: int = 10) -> DeskView:
    view = customer360.customer_360(uow, customer_id, vault=vault, k=5)
    cluster = [view.customer.id, *view.customer.aliases]
    found: list[OrderRead] = []
    for cid in cluster:
        found.extend(orders.list_orders(uow, cid, limit))
    found.sort(key=lambda o: o.placed_at, reverse=True)
    locations = catalog.list_locations(uow)
    return DeskView(
        customer=view,
        orders=[
            DeskOrder(o, fulfilment.return_requests_of_order(uow, o.number)) for o in found[:limit]
        ],
        return_desks=[
            (loc.code, loc.name) for loc in locations if loc.capabilities.accepts_returns
        ],
        stores=[(loc.code, loc.name) for loc in locations if loc.capabilities.ship_to_store_target],
        promotions=coupon_promotions(uow),
    )
