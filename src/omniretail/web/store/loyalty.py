"""Loyalty at the till: find the customer's account, show points, tier and coupons, and
redeem points."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.auth import policy
from omniretail.customers.schemas import VerificationSent
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.money import format_money
from omniretail.loyalty import service as loyalty
from omniretail.loyalty.errors import PresenceCodeRequired, PresenceNotProven
from omniretail.loyalty.schemas import RedemptionCreate
from omniretail.marketing import service as marketing
from omniretail.web.deps import PageRoute, PostedDep, authorize_as, change, read, redirect, render
from omniretail.web.forms import Errors, body_of, errors_of
from omniretail.web.lookup import find_customer_id
from omniretail.web.store.deps import CUSTOMER_KINDS, Shop, ShopDep, shop_of, store_for
from omniretail.web.store.presence import codes_of, count_wrong_code, presence_of, send_code
from omniretail.web.store.till import customer_of

router = APIRouter(prefix="/store", route_class=PageRoute, include_in_schema=False)


# --- loyalty ---------------------------------------------------------------------------------


@router.get("/loyalty", response_class=HTMLResponse)
def loyalty_page(request: Request, s: ShopDep) -> HTMLResponse:
    return render(
        request,
        "store/loyalty.html",
        viewer=s.viewer,
        shop=s,
        kinds=CUSTOMER_KINDS,
        values={"kind": "email"},
        account=None,
    )


@router.post("/loyalty", response_model=None)
def loyalty_lookup(request: Request, posted: PostedDep) -> Response:
    lookup_body = {"kind": posted.get("kind"), "value": posted.get("value")}
    authorize_as(request, posted.viewer, "POST /customers/lookup", body=lookup_body)
    s = shop_of(request, posted.viewer)
    try:
        cid = find_customer_id(request, posted.get("kind"), posted.get("value"))
    except DomainError as exc:
        return render(
            request,
            "store/loyalty.html",
            viewer=s.viewer,
            shop=s,
            kinds=CUSTOMER_KINDS,
            values=posted.values,
            errors=errors_of(exc, {"customer_id": "value", "email": "value"}),
            account=None,
            status=404,
        )
    return redirect(f"/store/loyalty/{cid}")


def _account_page(
    request: Request,
    s: Shop,
    customer_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    confirm: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    owner = customer_of(request, s.viewer, str(customer_id))

    holds_codes = policy.permits(s.viewer.principal, policy.Rule("coupons:codes"))

    def load(uow: UnitOfWork) -> dict[str, Any]:
        coupons = loyalty.list_coupons(uow, customer_id)
        return {
            "account": loyalty.account_status(uow, customer_id),
            "currency": loyalty.rules(uow).currency,
            "coupons": coupons if holds_codes else loyalty.masked_coupons(coupons),
            "store_cards": marketing.cards(uow, customer_id, "store"),
        }

    return render(
        request,
        "store/loyalty.html",
        viewer=s.viewer,
        shop=s,
        kinds=CUSTOMER_KINDS,
        customer_id=customer_id,
        owner=owner,
        confirm=confirm,
        values=values or {},
        errors=errors or {},
        status=status,
        **read(request, load),
    )


@router.get("/loyalty/{customer_id}", response_class=HTMLResponse)
def loyalty_account(request: Request, s: ShopDep, customer_id: int) -> HTMLResponse:
    params = {"customer_id": customer_id}
    authorize_as(request, s.viewer, "GET /loyalty/customers/{customer_id}", params)
    return _account_page(request, s, customer_id)


def _confirm(
    request: Request,
    s: Shop,
    customer_id: int,
    body: RedemptionCreate,
    values: dict[str, str],
    *,
    sent: VerificationSent | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    """Whose account and what it holds, before a point is spent; more than they have is
    said now. Then the code sent to the customer is asked for."""
    owner = customer_of(request, s.viewer, str(customer_id))
    available = owner.account.available if owner and owner.account else 0
    if body.points > available:
        raise DomainError(
            f"{owner.name if owner else 'they'} have {available} points", field="points"
        )
    assert owner is not None
    value = owner.points_worth(body.points)
    confirm = {
        "points": body.points,
        "value": value,
        "after": available - body.points,
        "sent": sent,
    }
    return _account_page(
        request, s, customer_id, values=values, confirm=confirm, errors=errors, status=status
    )


@router.post("/loyalty/{customer_id}/redeem", response_model=None)
def redeem(request: Request, posted: PostedDep, customer_id: int) -> Response:
    data = body_of(RedemptionCreate, posted.values, channel=store_for(request, posted.viewer))
    decided = authorize_as(
        request,
        posted.viewer,
        "POST /loyalty/customers/{customer_id}/redemptions",
        {"customer_id": customer_id},
        data,
    )
    s = shop_of(request, posted.viewer)
    actor = s.viewer.principal.actor
    reference = posted.get("reference").strip()
    hasher, policy = codes_of(request)
    try:
        body = RedemptionCreate.model_validate(data)
        presence = presence_of(s.viewer, posted.get("presence_code"), reference, body.points)
        if posted.get("confirm") != "yes":
            return _confirm(request, s, customer_id, body, posted.values)
        if posted.get("send_code"):
            try:
                sent = send_code(request, s.viewer, customer_id, reference, body.points)
            except DomainError as exc:
                errors = {"presence_code": exc.detail}
                return _confirm(
                    request, s, customer_id, body, posted.values, errors=errors, status=exc.status
                )
            return _confirm(request, s, customer_id, body, posted.values, sent=sent)
        try:
            done = change(
                request,
                decided,
                lambda uow: loyalty.redeem_in_person(
                    uow, customer_id, body, presence, hasher=hasher, policy=policy, actor=actor
                ),
            )
        except (PresenceCodeRequired, PresenceNotProven) as exc:
            if isinstance(exc, PresenceNotProven):
                count_wrong_code(request, decided, customer_id, presence)
            errors = {"presence_code": exc.detail}
            return _confirm(
                request, s, customer_id, body, posted.values, errors=errors, status=exc.status
            )
    except (ValidationError, DomainError) as exc:
        return _account_page(
            request,
            s,
            customer_id,
            values=posted.values,
            errors=errors_of(exc),
            status=422,
        )
    currency = read(request, lambda uow: loyalty.rules(uow).currency)  # the points' currency
    return redirect(
        f"/store/loyalty/{customer_id}",
        notice=f"Redeemed {done.points} points worth {format_money(done.value, currency)}.",
    )
