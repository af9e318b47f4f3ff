"""A signed-in customer's pages: their orders with tracking, points and tier progress, the
programme's coupons (birthday, welcome),
consent preferences and a data export."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from omniretail.api.deps import UseCase
from omniretail.api.downloads import attachment
from omniretail.catalog import service as catalog
from omniretail.customers import service as customers
from omniretail.customers.schemas import ConsentChannel, ConsentPurpose, ConsentWrite
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError
from omniretail.kernel.vault import vault_for
from omniretail.loyalty import service as loyalty
from omniretail.orders import service as lookup
from omniretail.pricing import service as pricing
from omniretail.processes import privacy as privacy_process
from omniretail.web import session
from omniretail.web.deps import (
    CustomerDep,
    PageRoute,
    PostedDep,
    authorize_as,
    change,
    customer_viewer,
    read,
    redirect,
    render,
)
from omniretail.web.session import container_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)
# The choices a customer answers on the privacy page (marketing is asked per channel).
CONSENT_CHOICES = [
    (ConsentPurpose.MARKETING, ConsentChannel.EMAIL, "News and offers by email"),
    (ConsentPurpose.MARKETING, ConsentChannel.SMS, "News and offers by text message"),
    (ConsentPurpose.MARKETING, ConsentChannel.PUSH, "News and offers by app notification"),
    (ConsentPurpose.PERSONALISATION, ConsentChannel.ALL, "Recommendations based on my purchases"),
    (ConsentPurpose.ANALYTICS, ConsentChannel.ALL, "Help improve the shop (analytics)"),
]


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, viewer: CustomerDep) -> HTMLResponse:
    customer_id = viewer.principal.customer_id
    assert customer_id is not None
    vault = vault_for(container_of(request).keyring)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        root = customers.resolve_id(uow, customer_id)
        orders = []
        for cid in customers.cluster(uow, root):
            orders += lookup.list_orders(uow, cid, limit=20)
        orders.sort(key=lambda o: o.placed_at, reverse=True)
        # Receipts of other systems (a store's till, the order history): no page of their own.
        numbers = {o.number for o in orders}
        currencies = {c.code: c.currency for c in catalog.list_channels(uow)}
        elsewhere = [
            {
                **a.model_dump(),
                "currency": currencies.get(a.channel or "", pricing.CATALOG_CURRENCY),
            }
            for a in customers.timeline(uow, root, limit=50)
            if a.kind == "order" and a.reference and a.reference not in numbers
        ][:20]
        status = loyalty.account_status(uow, root)
        tier = status.tier
        spent = float(tier.qualifying_spend)
        to_next = float(tier.to_next_tier) if tier.to_next_tier is not None else None
        share = 100 if to_next is None else int(100 * spent / max(spent + to_next, 0.01))
        coupons = [
            {
                **c.model_dump(),
                "offer": pricing.get_promotion(uow, c.promotion).name,
                "expired": c.valid_until <= uow.now,
            }
            for c in loyalty.list_reward_coupons(uow, root)
        ]
        profile = customers.get_customer(uow, root, vault=vault)
        home = profile.home_store
        return {
            "profile": profile,
            "home_store_name": catalog.get_location(uow, home).name if home else None,
            "orders": orders[:20],
            "elsewhere": elsewhere,
            "loyalty": status,
            "currency": loyalty.rules(uow).currency,  # what the points are worth in
            "tier_share": share,
            "coupons": coupons,
        }

    return render(request, "shop/account.html", viewer=viewer, **read(request, load))


def _privacy(
    request: Request,
    viewer: Any,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    customer_id = viewer.principal.customer_id
    consents = read(request, lambda uow: customers.list_consents(uow, customer_id))
    granted = {(c.purpose.value, c.channel.value): c.granted for c in consents}
    choices = [
        {
            "name": f"{p.value}.{c.value}",
            "text": text,
            "granted": granted.get((p.value, c.value), False),
        }
        for p, c, text in CONSENT_CHOICES
    ]
    held = read(request, lambda uow: privacy_process.open_orders(uow, customer_id))
    context: dict[str, Any] = {"choices": choices, "errors": errors or {}, "held": held}
    if notice:
        context["notice"] = notice
    return render(request, "shop/privacy.html", viewer=viewer, status=status, **context)


@router.get("/account/privacy", response_class=HTMLResponse)
def privacy(request: Request, viewer: CustomerDep) -> HTMLResponse:
    return _privacy(request, viewer)


@router.post("/account/privacy/consents", response_model=None)
def save_consents(request: Request, posted: PostedDep) -> Response:
    viewer = customer_viewer(request)
    customer_id = viewer.principal.customer_id
    assert customer_id is not None
    current = {
        (c.purpose.value, c.channel.value): c.granted
        for c in read(request, lambda uow: customers.list_consents(uow, customer_id))
    }
    answers = [
        ConsentWrite(
            purpose=p,
            channel=c,
            granted=f"{p.value}.{c.value}" in posted.values,
            source="web",
            method="preference centre",
        )
        for p, c, _text in CONSENT_CHOICES
    ]
    changed = [a for a in answers if current.get((a.purpose.value, a.channel.value)) != a.granted]
    if not changed:
        return redirect("/account/privacy", notice="Nothing changed.")
    decided = [
        authorize_as(
            request,
            viewer,
            "POST /customers/{customer_id}/consents",
            {"customer_id": customer_id},
            answer.model_dump(mode="json"),
        )
        for answer in changed
    ]
    actor = viewer.principal.actor

    def record(uow: UnitOfWork) -> None:
        for answer in changed:
            customers.set_consent(uow, customer_id, answer, actor=actor)

    try:
        change(request, decided, record)
    except DomainError as exc:
        return _privacy(request, viewer, errors={"__all__": exc.detail}, status=exc.status)
    return redirect("/account/privacy", notice="Your choices are saved.")


@router.post("/account/privacy/export", response_model=None)
def export(request: Request, posted: PostedDep) -> Response:
    """Everything held about the person, as the API's export (the request is logged)."""
    viewer = customer_viewer(request)
    customer_id = viewer.principal.customer_id
    assert customer_id is not None
    authorize_as(
        request, viewer, "GET /customers/{customer_id}/export", {"customer_id": customer_id}
    )
    container = container_of(request)
    vault, actor = vault_for(container.keyring), viewer.principal.actor
    data = UseCase(container, None, "").run(
        lambda uow: privacy_process.export_personal_data(
            uow, customer_id, vault=vault, actor=actor
        ),
        remember=False,
    )
    body = json.dumps(data.model_dump(mode="json"), indent=2, sort_keys=True)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": attachment(f"omniretail-data-{customer_id}.json"),
            "Cache-Control": "no-store",
        },
    )


@router.post("/account/privacy/erase", response_model=None)
def erase(request: Request, posted: PostedDep) -> Response:
    """The person's own erasure (``POST /customers/{customer_id}/erase``), typed to confirm
    and held while one of their orders is open."""
    viewer = customer_viewer(request)
    customer_id = viewer.principal.customer_id
    assert customer_id is not None
    if posted.get("confirm").upper() != "ERASE":
        errors = {"confirm": "Type ERASE to confirm.", "__all__": "Type ERASE to confirm."}
        return _privacy(request, viewer, errors=errors, status=422)
    decided = authorize_as(
        request, viewer, "POST /customers/{customer_id}/erase", {"customer_id": customer_id}
    )
    actor = viewer.principal.actor
    try:
        change(
            request,
            decided,
            lambda uow: privacy_process.erase_customer(
                uow, customer_id, actor=actor, hold_open_orders=True
            ),
        )
    except privacy_process.ErasureHeld as exc:
        return _privacy(request, viewer, errors={"__all__": exc.detail}, status=exc.status)
    response = redirect("/signin", notice="Your data is erased and your account closed.")
    session.end_session(response)
    return response
