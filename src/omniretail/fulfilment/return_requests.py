"""Return requests (return authorisations): a customer says which items of a handed-over
order come back, why, and how (a parcel to the returns desk, or in store), and gets a return
code. A request refunds nothing: the refund happens when the items are received, through
``returns.return_items`` (stock, ledger, refund, loyalty claw-back and events stay its own).

An open request holds its units: requests of one order are made under the order's row lock
(``SELECT ... FOR UPDATE``; SQLite serialises writers), so two requests for one line never
hold more than is left to return. A request expires when the return window of its lines
closes (after it, ``return_items`` would refuse them); an expired one holds nothing even
before the sweep marks it. Received, cancelled and expired are reached by one conditional
UPDATE each, so a request is received or cancelled once.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from omniretail.catalog.schemas import LocationKind
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import refunds
from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.errors import (
    NotReturnable,
    ReturnRequestClosed,
    UnknownReturnRequest,
)
from omniretail.fulfilment.events import (
    ReturnRequestCancelled,
    ReturnRequested,
    ReturnRequestEvent,
    ReturnRequestExpired,
    ReturnRequestReceived,
)
from omniretail.fulfilment.models import ReturnMethod, ReturnRequestStatus
from omniretail.fulfilment.returns import _HANDED_OVER, _check_returnable, return_items
from omniretail.fulfilment.schemas import (
    RETURN_REASONS,
    ReturnCreate,
    ReturnDesk,
    ReturnLine,
    ReturnRequestCreate,
    ReturnRequestLineRead,
    ReturnRequestRead,
    ReturnRequestReceive,
)
from omniretail.kernel.ids import new_id
from omniretail.orders.errors import UnknownOrder
from omniretail.orders.service import is_live
from omniretail.routing import service as routing

RS = ReturnRequestStatus
# Crockford's base 32: no I, L, O or U, so a code read aloud or typed is not mistaken.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE = re.compile(r"^R[0-9A-Z]{8}$")


def new_return_code() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"R-{chars[:4]}-{chars[4:]}"


def normalise_return_code(text: str) -> str:
    """``r 7k3m q9xp`` -> ``R-7K3M-Q9XP`` (spaces, dashes and case do not matter; O reads as
    0 and I or L as 1)."""
    raw = re.sub(r"[^0-9A-Z]", "", text.upper())
    raw = raw[:1] + raw[1:].translate(str.maketrans("OIL", "011"))
    if _CODE.match(raw):
        return f"R-{raw[1:5]}-{raw[5:]}"
    return text.strip().upper()[:16]


def looks_like_return_code(text: str) -> bool:
    return bool(_CODE.match(normalise_return_code(text).replace("-", "")))


def request_return(
    uow: UnitOfWork,
    number: str,
    data: ReturnRequestCreate,
    *,
    window_days: int,
    actor: str,
) -> ReturnRequestRead:
    order = repo.lock_order(uow.session, number)
    if order is None or not is_live(order):
        raise UnknownOrder(f"no order with number {number!r}", field="number")
    lines = {ln.line_no: ln for ln in repo.lines_of_order(uow.session, order.id)}
    fulfilments = {f.id: f for f in repo.fulfilments_of_order(uow.session, order.id)}
    held = repo.held_by_return_requests(uow.session, order.id, uow.now)
    seen: set[int] = set()
    closes: list[datetime] = []
    for item in data.lines:
        _check_returnable(uow, item.line_no, item.quantity, lines, fulfilments, window_days, seen)
        line = lines[item.line_no]
        left = line.quantity - line.quantity_returned - held.get(item.line_no, 0)
        if item.quantity > left:
            raise NotReturnable(
                f"line {item.line_no}: {item.quantity} asked, only {max(left, 0)} left to"
                " return (the others are in an open return request)",
                field="lines",
                returnable=max(left, 0),
            )
        f = fulfilments.get(line.fulfilment_id)
        if f is not None and f.status in _HANDED_OVER:
            closes.append(f.updated_at + timedelta(days=window_days))
    destination = _returns_desk(uow) if data.method == ReturnMethod.POST.value else None
    code = new_return_code()
    while repo.return_request_code_taken(uow.session, code):
        code = new_return_code()
    row = {
        "id": new_id(),
        "code": code,
        "order_id": order.id,
        "method": data.method,
        "reason": data.reason,
        "status": RS.OPEN.value,
        "destination": destination,
        "created_by": actor,
        "created_at": uow.now,
        "expires_at": min(closes, default=uow.now + timedelta(days=window_days)),
        "updated_at": uow.now,
    }
    repo.insert_return_request(
        uow.session,
        row,
        [
            {"request_id": row["id"], "line_no": i.line_no, "quantity": i.quantity}
            for i in data.lines
        ],
    )
    uow.record(
        ReturnRequested(
            **_event_fields(order, row),
            reason=data.reason,
            destination=destination,
            expires_at=row["expires_at"].isoformat(),
            lines=[
                {"line_no": i.line_no, "sku": lines[i.line_no].sku_code, "quantity": i.quantity}
                for i in data.lines
            ],
        )
    )
    return get_return_request(uow, code)


def get_return_request(uow: UnitOfWork, code: str) -> ReturnRequestRead:
    req = repo.get_return_request(uow.session, normalise_return_code(code))
    if req is None:
        raise UnknownReturnRequest(f"no return request with code {code!r}", field="code")
    order = repo.get_order_by_id(uow.session, req.order_id)
    return _reads(uow, order, [req])[0]


def return_requests_of_order(uow: UnitOfWork, number: str) -> list[ReturnRequestRead]:
    order = repo.get_order_by_number(uow.session, number)
    if order is None:
        raise UnknownOrder(f"no order with number {number!r}", field="number")
    return _reads(uow, order, repo.return_requests_of_order(uow.session, order.id))


def return_request_order(uow: UnitOfWork, code: str) -> str | None:
    """The order number of the request (for access checks), or None."""
    req = repo.get_return_request(uow.session, normalise_return_code(code))
    if req is None:
        return None
    order = repo.get_order_by_id(uow.session, req.order_id)
    return str(order.number) if order is not None else None


def cancel_return_request(uow: UnitOfWork, code: str, *, actor: str) -> ReturnRequestRead:
    req, order = _lock(uow, code)
    row = repo.close_return_request(uow.session, req.id, to=RS.CANCELLED, now=uow.now)
    if row is None:
        raise _closed(req, uow.now)
    repo.insert_log(
        uow.session,
        [repo.log_row(uow.now, order.id, None, "return_request_cancelled", actor, {"code": code})],
    )
    uow.record(ReturnRequestCancelled(**_event_fields(order, row)))
    return _reads(uow, order, [row])[0]


def receive_return_request(
    uow: UnitOfWork,
    code: str,
    data: ReturnRequestReceive,
    *,
    window_days: int,
    actor: str,
) -> ReturnRequestRead:
    """The items arrived at ``data.location``: booked and refunded by ``return_items``, with
    each line's condition as the receiving associate saw it (sellable unless said)."""
    req, order = _lock(uow, code)
    requested = repo.return_request_lines(uow.session, [req.id])
    conditions = {ln.line_no: ln.condition for ln in data.lines}
    unknown = sorted(set(conditions) - {ln.line_no for ln in requested})
    if unknown:
        raise NotReturnable(f"line {unknown[0]} is not in return request {req.code}", field="lines")
    return_id = new_id()
    row = repo.close_return_request(
        uow.session,
        req.id,
        to=RS.RECEIVED,
        now=uow.now,
        values={
            "received_at": uow.now,
            "received_location": data.location,
            "return_id": return_id,
        },
    )
    if row is None:
        raise _closed(req, uow.now)
    reason = RETURN_REASONS.get(req.reason, req.reason)
    return_items(
        uow,
        order.number,
        ReturnCreate(
            location=data.location,
            lines=[
                ReturnLine(
                    line_no=ln.line_no,
                    quantity=ln.quantity,
                    condition=conditions.get(ln.line_no, "sellable"),
                    reason=reason,
                )
                for ln in requested
            ],
        ),
        window_days=window_days,
        actor=actor,
        return_id=return_id,
    )
    amount = _refunded(uow, order.number).get(return_id, Decimal(0))
    uow.record(
        ReturnRequestReceived(
            **_event_fields(order, row),
            location=data.location,
            return_id=return_id,
            amount=str(amount),
        )
    )
    return _reads(uow, order, [row])[0]


def expire_return_requests(uow: UnitOfWork, *, limit: int = 500) -> int:
    """Marks open requests past their time as expired (their units were already free)."""
    expired = 0
    for req in repo.expired_return_requests(uow.session, uow.now, limit):
        row = repo.close_return_request(uow.session, req.id, to=RS.EXPIRED, now=uow.now)
        if row is None:
            continue
        order = repo.get_order_by_id(uow.session, req.order_id)
        uow.record(ReturnRequestExpired(**_event_fields(order, row)))
        expired += 1
    return expired


# --- helpers ----------------------------------------------------------------------------------


def _lock(uow: UnitOfWork, code: str) -> tuple[Any, Any]:
    """The request and its order, the order's row locked (as ``request_return`` locks it)."""
    req = repo.get_return_request(uow.session, normalise_return_code(code))
    if req is None:
        raise UnknownReturnRequest(f"no return request with code {code!r}", field="code")
    order = repo.lock_order_by_id(uow.session, req.order_id)
    return req, order


def _closed(req: Any, now: datetime) -> ReturnRequestClosed:
    status = _status(req, now)
    if status == RS.OPEN.value:  # changed since it was read: say what it is now
        status = "changed"
    return ReturnRequestClosed(f"return request {req.code} is {status}", field="code")


def _status(req: Any, now: datetime) -> str:
    if req.status == RS.OPEN.value and req.expires_at <= now:
        return RS.EXPIRED.value
    return str(req.status)


def _returns_desk(uow: UnitOfWork) -> str:
    """Where parcels go: the first warehouse that accepts returns."""
    desks = sorted(
        code
        for code, loc in routing.locations(uow).items()
        if loc.kind is LocationKind.WAREHOUSE and loc.capabilities.accepts_returns
    )
    if not desks:
        raise NotReturnable(
            "returns by post are not taken at the moment: bring the items to a store",
            field="method",
        )
    return desks[0]


def _event_fields(order: Any, req: Any) -> dict[str, Any]:
    get = req.get if isinstance(req, dict) else lambda key: getattr(req, key)
    return {
        "order": order.number,
        "customer_id": order.customer_id,
        "code": get("code"),
        "method": get("method"),
    }


def _reads(uow: UnitOfWork, order: Any, rows: list[Any]) -> list[ReturnRequestRead]:
    if not rows:
        return []
    order_lines = {ln.line_no: ln for ln in repo.lines_of_order(uow.session, order.id)}
    by_request: dict[str, list[Any]] = {}
    for ln in repo.return_request_lines(uow.session, [r.id for r in rows]):
        by_request.setdefault(ln.request_id, []).append(ln)
    known = routing.locations(uow)
    refunded = _refunded(uow, order.number) if any(r.return_id for r in rows) else {}
    reads = []
    for req in rows:
        lines = [
            ReturnRequestLineRead(
                line_no=ln.line_no,
                sku=order_lines[ln.line_no].sku_code,
                name=order_lines[ln.line_no].description or order_lines[ln.line_no].sku_name,
                quantity=ln.quantity,
                unit_price=Decimal(order_lines[ln.line_no].unit_price).quantize(Decimal("0.01")),
                paid=_paid_for(order, order_lines[ln.line_no], ln.quantity),
            )
            for ln in by_request.get(req.id, [])
        ]
        desk = known.get(req.destination) if req.destination else None
        reads.append(
            ReturnRequestRead(
                code=req.code,
                order=order.number,
                method=req.method,
                reason=req.reason,
                reason_label=RETURN_REASONS.get(req.reason, req.reason),
                status=_status(req, uow.now),
                destination=ReturnDesk(code=desk.code, name=desk.name, address=desk.address)
                if desk is not None
                else None,
                currency=order.currency,
                value=refunded[req.return_id]
                if req.return_id in refunded
                else sum((ln.paid for ln in lines), Decimal(0)),
                created_at=req.created_at,
                expires_at=req.expires_at,
                received_at=req.received_at,
                received_location=req.received_location,
                return_id=req.return_id,
                lines=lines,
            )
        )
    return reads


def _refunded(uow: UnitOfWork, number: str) -> dict[str, Decimal]:
    return {r.return_id: r.amount for r in refunds.refunds_of_order(uow, number)}


def _paid_for(order: Any, line: Any, quantity: int) -> Decimal:
    """What ``quantity`` requested units of ``line`` were paid (``fulfilment.refunds``), the
    refund expected unless the return breaks a promotion the kept items had."""
    return refunds.paid_of(line, order.currency).between(line.quantity_returned, quantity)[0]


__all__ = [
    "ReturnRequestEvent",
    "cancel_return_request",
    "expire_return_requests",
    "get_return_request",
    "looks_like_return_code",
    "new_return_code",
    "normalise_return_code",
    "receive_return_request",
    "request_return",
    "return_request_order",
    "return_requests_of_order",
]
