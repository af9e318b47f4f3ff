"""Paying at the till: the order is placed on the store's till channel
(``POST /carts/{token}/checkout``, card through the payment port or cash into the drawer) the
way every checkout is (``orders.checkout_paid``: no lock and no connection held while the card
terminal answers), then, in the transaction that confirms it, handed over at once through the
fulfilment steps (so stock leaves this store's ledger, the value is captured and loyalty earns
on the order), points redeemed towards it, and the receipt emailed through the notifications
outbox or printed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.api.deps import in_payment_thread
from omniretail.auth import access
from omniretail.auth.errors import Forbidden
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import service as fulfilment
from omniretail.fulfilment.schemas import CollectBody
from omniretail.kernel.errors import DomainError
from omniretail.kernel.ids import new_id
from omniretail.kernel.limits import whole_number
from omniretail.kernel.money import format_money, round_money
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.errors import PresenceCodeRequired, PresenceNotProven
from omniretail.loyalty.schemas import RedemptionCreate
from omniretail.marketing import service as marketing
from omniretail.notifications.service import notify
from omniretail.orders import service as orders
from omniretail.orders.errors import PaymentDeclined, PaymentUnavailable
from omniretail.orders.schemas import CheckoutCreate, OrderRead, email_items
from omniretail.orders.service import CashDrawer, PaymentAction
from omniretail.routing.service import OrderPolicy, policy_from
from omniretail.web import steps
from omniretail.web.deps import (
    Decision,
    NotAllowed,
    PageRoute,
    Posted,
    PostedDep,
    authorize_as,
    change,
    read,
    redirect,
    render,
)
from omniretail.web.forms import GENERAL, errors_of
from omniretail.web.session import container_of
from omniretail.web.store.deps import Shop, ShopDep, shop_of, store_channel, store_for
from omniretail.web.store.presence import codes_of, count_wrong_code, presence_of, send_code
from omniretail.web.store.till import TillCustomer, customer_of, page, till_cart

router = APIRouter(prefix="/store/till", route_class=PageRoute, include_in_schema=False)
TILL_PAYMENT = "till_payment"  # the order log's row with the tenders, for the receipt
HANDOVER = ("accept", "pick", "pack", "ready", "collect")
T = TypeVar("T")


def _points(raw: str) -> int:
    text = raw.strip()
    if not text:
        return 0
    points = whole_number(text)
    if points is None:
        raise DomainError("points are a whole number", field="points")
    return points


def _tendered(raw: str, due: Decimal, currency: str) -> Decimal:
    try:
        amount = round_money(Decimal(raw.strip() or "0"), currency)
        if not amount.is_finite():  # "NaN": comparing it below would raise
            raise InvalidOperation
    except InvalidOperation:
        example = format_money(20, currency)
        raise DomainError(f"enter the cash handed over, e.g. {example}", field="tendered") from None
    if amount < due:
        raise DomainError(
            f"the cash handed over is less than the {format_money(due, currency)} due",
            field="tendered",
        )
    return amount


@router.post("/{token}/pay", response_model=None)
async def pay(request: Request, posted: PostedDep, token: str) -> Response:
    # on the payment threads: a sale waiting on the card terminal keeps no shared thread
    return await in_payment_thread(request, lambda: _pay(request, posted, token))


def _pay(request: Request, posted: Posted, token: str) -> Response:
    store = store_for(request, posted.viewer)
    values = posted.values
    method = "cash" if values.get("method") == "cash" else "card"
    provider_token = "cash" if method == "cash" else posted.get("provider_token")
    data = {
        "channel": read(request, lambda uow: store_channel(uow, store)) if store else None,
        "fulfilment": {"method": "pickup_in_store", "pickup_location": store},
        "payment": {"provider_token": provider_token},
    }
    decisions = [
        authorize_as(request, posted.viewer, "POST /carts/{token}/checkout", {"token": token}, data)
    ]
    s = shop_of(request, posted.viewer)
    customer = customer_of(request, s.viewer, posted.get("customer"))
    presence: loyalty.Presence | None = None
    confirm: dict[str, Any] | None = None
    try:
        points = _points(posted.get("points"))
        if points and (customer is None or customer.account is None):
            raise DomainError("find the customer's loyalty account first", field="points")
        if points and customer is not None:
            redemption = {"points": points, "channel": data["channel"]}
            decisions.append(
                authorize_as(
                    request,
                    s.viewer,
                    "POST /loyalty/customers/{customer_id}/redemptions",
                    {"customer_id": customer.id},
                    redemption,
                )
            )
        cart = read(request, lambda uow: till_cart(uow, token, s.store, customer))
        paid_by_points = customer.points_worth(points) if customer and points else Decimal(0)
        if paid_by_points > cart.total:
            assert customer is not None  # points need the customer's account
            raise DomainError(
                f"{points} points are worth {format_money(paid_by_points, customer.currency)},"
                f" more than the {format_money(cart.total, cart.currency)} due",
                field="points",
            )
        due = cart.total - paid_by_points
        tendered = (
            _tendered(posted.get("tendered"), due, cart.currency) if method == "cash" else None
        )
        if points and customer is not None:
            confirm = {"points": points, "value": paid_by_points, "due": due}
            if posted.get("confirm") != "yes":
                return page(request, s, token, customer, values=values, confirm=confirm)
            if posted.get("send_code"):
                return _send_code(request, s, token, customer, values, confirm)
            presence = presence_of(
                s.viewer, posted.get("presence_code"), till_reference(token), points
            )
        body = CheckoutCreate.model_validate(data)
        tenders = _tenders(method, points, paid_by_points, due, tendered)
        sale = _Sale(request, s, customer, body, points, tenders, posted.get("receipt_email"))
        sale.presence = presence
        number = sale.pay(token, decisions, CashDrawer() if method == "cash" else None)
    except (PresenceCodeRequired, PresenceNotProven) as exc:
        assert customer is not None and presence is not None  # only with points
        if isinstance(exc, PresenceNotProven):
            count_wrong_code(request, decisions[1], customer.id, presence)
        errors = {"presence_code": exc.detail}
        return page(
            request, s, token, customer, values=values, confirm=confirm, errors=errors, status=403
        )
    except (ValidationError, DomainError) as exc:
        # a coupon refused at payment is shown beside the coupon's field
        rename = {"payment.provider_token": "provider_token", "channel": GENERAL, "coupons": "code"}
        errors = errors_of(exc, rename)
        return page(request, s, token, customer, values=values, errors=errors, status=422)
    change_due = tenders.get("change")
    notice = "Paid. " + (
        f"Give {format_money(change_due, cart.currency)} change. " if change_due is not None else ""
    )
    return redirect(f"/store/till/receipts/{number}", notice=notice.strip())


def till_reference(token: str) -> str:
    """What a till code is sent for: this till's cart, so it pays towards this sale only."""
    return f"till:{token}"


def _send_code(
    request: Request,
    s: Shop,
    token: str,
    customer: TillCustomer,
    values: dict[str, str],
    confirm: dict[str, Any],
) -> HTMLResponse:
    """ "Send code to customer": the confirmation again, now asking for the code."""
    try:
        sent = send_code(request, s.viewer, customer.id, till_reference(token), confirm["points"])
    except DomainError as exc:
        errors = {"presence_code": exc.detail}
        return page(
            request,
            s,
            token,
            customer,
            values=values,
            confirm=confirm,
            errors=errors,
            status=exc.status,
        )
    return page(request, s, token, customer, values=values, confirm={**confirm, "sent": sent})


def _tenders(
    method: str, points: int, by_points: Decimal, due: Decimal, tendered: Decimal | None
) -> dict[str, Any]:
    lines: list[dict[str, str]] = []
    if points:
        lines.append({"label": f"Loyalty points ({points})", "amount": str(by_points)})
    if method == "cash":
        assert tendered is not None
        lines.append({"label": "Cash", "amount": str(tendered)})
        return {"method": method, "lines": lines, "change": str(tendered - due), "due": str(due)}
    lines.append({"label": "Card", "amount": str(due)})
    return {"method": method, "lines": lines, "change": None, "due": str(due)}


class _Sale:
    """The walk-in sale's use case, run in the caller's unit of work."""

    def __init__(
        self,
        request: Request,
        s: Shop,
        customer: TillCustomer | None,
        body: CheckoutCreate,
        points: int,
        tenders: dict[str, Any],
        receipt_email: str,
    ) -> None:
        self.request, self.s, self.customer, self.body = request, s, customer, body
        self.points, self.tenders, self.receipt_email = points, tenders, receipt_email.strip()
        self.actor = s.viewer.principal.actor
        self.policy: OrderPolicy = policy_from(container_of(request).settings)
        self.presence: loyalty.Presence | None = None

    def pay(self, token: str, decisions: list[Decision], drawer: CashDrawer | None) -> str:
        """The order number. Three transactions, none open while the provider answers: the
        order placed awaiting payment (``begin``), then confirmed and handed over
        (``finish``), or released on a decline (``settle``)."""
        container = container_of(self.request)
        handover: list[Decision] = []
        try:
            order = self._checkout_paid(token, decisions, drawer, handover)
        except (PaymentDeclined, PaymentUnavailable):
            if self.points and self.customer is not None and self.presence is not None:
                # nothing was spent: the customer's code works for another card
                customer_id, presence = self.customer.id, self.presence
                orders.in_transaction(container.uow)(
                    lambda uow: loyalty.give_back_presence(uow, customer_id, presence)
                )
            raise
        return order.number

    def _checkout_paid(
        self,
        token: str,
        decisions: list[Decision],
        drawer: CashDrawer | None,
        handover: list[Decision],
    ) -> OrderRead:
        container = container_of(self.request)
        return orders.checkout_paid(
            token,
            self.body,
            begin=lambda fn: change(
                self.request, decisions, lambda uow: self._begin(uow, token, fn)
            ),
            finish=lambda fn: change(
                self.request, handover, lambda uow: self._complete(uow, fn(uow), handover)
            ),
            settle=orders.in_transaction(container.uow),
            payments=drawer or steps.payments_of(self.request),
            policy=self.policy,
            actor=self.actor,
            ttl=timedelta(seconds=container.settings.payment_attempt_ttl_seconds),
            customer_id=self.customer.id if self.customer else None,
        )

    def _begin(self, uow: UnitOfWork, token: str, place: Callable[[UnitOfWork], T]) -> T:
        till_cart(uow, token, self.s.store, self.customer)
        if self.points and self.customer is not None:
            # first: a refused code writes nothing of the sale
            assert self.presence is not None
            hasher, policy = codes_of(self.request)
            loyalty.check_presence(
                uow, self.customer.id, self.presence, hasher=hasher, policy=policy
            )
        return place(uow)

    def _complete(self, uow: UnitOfWork, order: OrderRead, decisions: list[Decision]) -> OrderRead:
        uow.write_now()  # the confirmation is held for commit; the handover reads it
        for f in order.fulfilments:
            self._hand_over(uow, f.id, order, decisions)
        row = orders.get_order_by_number(uow.session, order.number)
        assert row is not None  # confirmed in this transaction
        if self.points and self.customer is not None:
            self._redeem(uow, row, order)
        # marketing's receipt lines for this customer are printed on this receipt, once
        lines = marketing.take_receipt_lines(uow, self.customer.id) if self.customer else []
        detail = {**self.tenders, "marketing_lines": lines} if lines else self.tenders
        orders.insert_log(
            uow.session,
            [orders.log_row(uow.now, row.id, None, TILL_PAYMENT, self.actor, detail)],
        )
        if self.receipt_email:
            send_receipt(uow, self.s, order, self.tenders, self.receipt_email, self.customer)
        return order

    def _hand_over(
        self, uow: UnitOfWork, fid: str, order: OrderRead, decisions: list[Decision]
    ) -> None:
        """Accept, pick, pack, ready and collect with the code, each decided as the API
        decides ``POST /fulfilments/{fid}/<step>`` (against the rows of this transaction)."""
        for step in HANDOVER:
            action = access.Action.of(f"POST /fulfilments/{{fid}}/{step}", {"fid": fid})
            try:
                access.decide(lambda fn: fn(uow), self.s.viewer.principal, action)
            except Forbidden as exc:
                raise NotAllowed(exc.detail) from exc
            decisions.append(Decision(self.s.viewer, action))
        fulfilment.accept(uow, fid, actor=self.actor)
        fulfilment.start_picking(uow, fid, actor=self.actor)
        fulfilment.pack(uow, fid, actor=self.actor)
        fulfilment.ready_for_pickup(uow, fid, policy=self.policy, actor=self.actor)
        code = _pickup_code(uow, fid)
        fulfilment.collect(uow, fid, CollectBody(pickup_code=code), actor=self.actor)

    def _redeem(self, uow: UnitOfWork, row: Any, order: OrderRead) -> None:
        """The points pay part of the sale: redeemed with the order as reference, and that
        value given back to the card (or out of the drawer) through the outbox."""
        assert self.customer is not None
        done = loyalty.redeem_points(
            uow,
            self.customer.id,
            RedemptionCreate(points=self.points, channel=order.channel, reference=order.number),
            actor=self.actor,
        )
        purpose = f"paid with {done.points} loyalty points"
        orders.insert_log(
            uow.session,
            [
                orders.log_row(
                    uow.now,
                    row.id,
                    None,
                    "refund",
                    self.actor,
                    {"amount": str(done.value), "for": purpose},
                )
            ],
        )
        orders.request_payment(
            uow,
            row,
            PaymentAction.REFUND,
            done.value,
            reference=row.payment_reference,
            purpose=purpose,
            actor=self.actor,
        )


def _pickup_code(uow: UnitOfWork, fid: str) -> str | None:
    row = orders.get_fulfilment(uow.session, fid)
    return orders.pickup_code(uow.vault, row) if row is not None else None


def send_receipt(
    uow: UnitOfWork,
    s: Shop,
    order: OrderRead,
    tenders: dict[str, Any],
    email: str,
    customer: TillCustomer | None,
) -> None:
    """Queued through the outbox (``notifications.notify``); the relay sends it."""
    context = {
        "order_number": order.number,
        "customer_name": customer.name if customer else "there",
        "currency": order.currency,
        "total": order.total,
        "items": email_items(order.lines, order.fee),
        "store": {"name": s.name},
        "tenders": tenders.get("lines", []),
    }
    if tenders.get("change") is not None:
        context["change"] = tenders["change"]
    notify(
        uow,
        "receipt",
        "email",
        email,
        context,
        new_id(),
        customer_ref=str(order.customer_id) if order.customer_id else None,
    )


# --- the receipt ------------------------------------------------------------------------------


def _receipt(request: Request, s: Shop, number: str) -> tuple[OrderRead, dict[str, Any]]:
    authorize_as(request, s.viewer, "GET /orders/{number}", {"number": number})

    def load(uow: UnitOfWork) -> tuple[OrderRead, dict[str, Any]]:
        order = orders.get_order(uow, number)
        here = store_channel(uow, s.store)
        sold_here = order.channel == here and all(
            f.pickup_location == s.store for f in order.fulfilments
        )
        if not sold_here:
            raise NotAllowed(f"Order {number} was not sold at {s.store}'s till.", status=404)
        log = orders.order_log(uow, number)
        tenders = next((e.detail for e in log if e.action == TILL_PAYMENT), {})
        return order, tenders

    return read(request, load)


@router.get("/receipts/{number}", response_class=HTMLResponse)
def receipt(request: Request, s: ShopDep, number: str) -> HTMLResponse:
    order, tenders = _receipt(request, s, number.strip().upper())
    return render(
        request, "store/receipt.html", viewer=s.viewer, shop=s, order=order, tenders=tenders
    )


@router.post("/receipts/{number}/email", response_model=None)
def email_receipt(request: Request, posted: PostedDep, number: str) -> Response:
    s = shop_of(request, posted.viewer)
    order, tenders = _receipt(request, s, number.strip().upper())
    email = posted.get("receipt_email")
    customer = customer_of(request, s.viewer, str(order.customer_id)) if order.customer_id else None
    decided = authorize_as(request, posted.viewer, "GET /orders/{number}", {"number": order.number})
    try:
        change(request, decided, lambda uow: send_receipt(uow, s, order, tenders, email, customer))
    except DomainError as exc:
        errors = {"receipt_email": exc.detail}
        return render(
            request,
            "store/receipt.html",
            viewer=s.viewer,
            shop=s,
            order=order,
            tenders=tenders,
            values=posted.values,
            errors=errors,
            status=422,
        )
    return redirect(f"/store/till/receipts/{order.number}", notice=f"Receipt emailed to {email}.")
