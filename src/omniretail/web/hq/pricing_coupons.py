"""HQ coupons: find by code (or a promotion), make one shared code (optionally owned by one
customer, given by id or email), generate a bulk batch and download its CSV, deactivate,
reactivate and delete (an unused one), and a coupon's uses (each redemption: the order, the
customer, the money off, whether a cancellation gave it back; orders and revenue)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from omniretail.api.downloads import attachment
from omniretail.db.uow import UnitOfWork
from omniretail.kernel.errors import DomainError, NotFound
from omniretail.kernel.limits import MAX_INT64
from omniretail.pricing import service as pricing
from omniretail.pricing.schemas import CouponBatchWrite, CouponWrite
from omniretail.processes.promotion_uses import coupon_uses
from omniretail.web.deps import (
    HqDep,
    NotAllowed,
    PageRoute,
    PostedDep,
    Viewer,
    authorize_as,
    change,
    read,
    redirect,
    render,
)
from omniretail.web.forms import Errors, body_of, errors_of
from omniretail.web.hq.pricing import window_body
from omniretail.web.lookup import find_customer_id

router = APIRouter(prefix="/hq/pricing", route_class=PageRoute, include_in_schema=False)


def _page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    q = request.query_params.get("q", "").strip()[:40]
    promotion = request.query_params.get("promotion", "").strip().upper()[:60] or None
    batch = request.query_params.get("batch", "").strip().upper()[:60] or None

    def load(uow: UnitOfWork) -> dict[str, Any]:
        if batch is not None:
            coupons = pricing.list_coupons(uow, promotion, batch, limit=200)
        else:
            coupons = pricing.search_coupons(uow, q, promotion, limit=200)
        return {"coupons": coupons, "promotions": pricing.list_promotions(uow)}

    return render(
        request,
        "hq/coupons.html",
        viewer=viewer,
        status=status,
        values={"max_uses": "", "count": "100", **(values or {})},
        errors=errors or {},
        query={"q": q, "promotion": promotion or "", "batch": batch or ""},
        **read(request, load),
    )


@router.get("/coupons", response_class=HTMLResponse)
def coupons_page(request: Request, viewer: HqDep) -> HTMLResponse:
    authorize_as(request, viewer, "GET /pricing/coupons")
    return _page(request, viewer)


# The owner field takes a customer id or an email address (the longest an address can be).
OWNER_MAX = 254
OWNER_ERRORS = {"customer_id": "owner", "value": "owner", "kind": "owner"}


def _owner_id(request: Request, viewer: Viewer, owner: str) -> int:
    """The customer a coupon is for, by id or email (a merged profile's survivor); an email
    is looked up only by someone the API lets look customers up."""
    if len(owner) > OWNER_MAX:
        raise DomainError(f"at most {OWNER_MAX} characters", field="owner")
    if "@" in owner:
        lookup = {"kind": "email", "value": owner}
        try:
            authorize_as(request, viewer, "POST /customers/lookup", body=lookup)
        except NotAllowed:
            raise DomainError(
                "you may not look customers up by email: give the customer id", field="owner"
            ) from None
        return find_customer_id(request, "email", owner)
    if not (owner.isascii() and owner.isdigit()) or not 1 <= int(owner) <= MAX_INT64:
        raise DomainError("a customer id (a number) or an email address", field="owner")
    return find_customer_id(request, "id", owner)


@router.post("/coupons", response_model=None)
def create_coupon(request: Request, posted: PostedDep) -> Response:
    body = body_of(CouponWrite, window_body(posted.values))
    decided = authorize_as(request, posted.viewer, "POST /pricing/coupons", None, body)
    try:
        owner = posted.values.get("owner", "").strip()
        if owner:  # looked up once the operation is allowed, then decided with the owner
            body = {**body, "customer_id": _owner_id(request, posted.viewer, owner)}
            decided = authorize_as(request, posted.viewer, "POST /pricing/coupons", None, body)
        data = CouponWrite.model_validate(body)
        made = change(
            request,
            decided,
            lambda uow: pricing.create_coupon(uow, data, actor=posted.viewer.principal.actor),
        )
    except (ValidationError, DomainError) as exc:
        return _page(
            request,
            posted.viewer,
            values=posted.values,
            errors=errors_of(exc, OWNER_ERRORS),
            status=getattr(exc, "status", 422),
        )
    return redirect(f"/hq/pricing/coupons/{made.code}", notice=f"Coupon {made.code} created.")


@router.post("/coupons/batches", response_model=None)
def generate_coupons(request: Request, posted: PostedDep) -> Response:
    values = {k.removeprefix("bulk."): v for k, v in posted.values.items()}
    body = body_of(CouponBatchWrite, window_body(values))
    decided = authorize_as(request, posted.viewer, "POST /pricing/coupons/batches", None, body)
    try:
        data = CouponBatchWrite.model_validate(body)
        made = change(
            request,
            decided,
            lambda uow: pricing.generate_coupons(uow, data, actor=posted.viewer.principal.actor),
        )
    except (ValidationError, DomainError) as exc:
        errors = {f"bulk.{k}" if k != "__all__" else k: v for k, v in errors_of(exc).items()}
        return _page(
            request,
            posted.viewer,
            values=posted.values,
            errors=errors,
            status=getattr(exc, "status", 422),
        )
    return redirect(
        f"/hq/pricing/coupons?batch={made.batch}",
        notice=f"Batch {made.batch}: {made.count} codes. Download them as CSV below.",
    )


@router.get(
    "/coupons/batches/{batch}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def batch_csv(request: Request, viewer: HqDep, batch: str) -> Response:
    batch = batch.upper()[:60]
    authorize_as(request, viewer, "GET /pricing/coupons/batches/{batch}.csv", {"batch": batch})
    coupons = read(request, lambda uow: pricing.list_coupons(uow, batch=batch, limit=None))
    return Response(
        pricing.coupons_csv(coupons),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(f"coupons-{batch}.csv")},
    )


@router.get("/coupons/{code}", response_class=HTMLResponse)
def coupon_page(request: Request, viewer: HqDep, code: str) -> HTMLResponse:
    code = code.upper()[:40]
    authorize_as(request, viewer, "GET /pricing/coupons/{code}/redemptions", {"code": code})
    return _coupon_page(request, viewer, code)


def _coupon_page(
    request: Request,
    viewer: Viewer,
    code: str,
    *,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    def load(uow: UnitOfWork) -> dict[str, Any]:
        coupon = pricing.get_coupon(uow, code)
        return {
            "coupon": coupon,
            "redemptions": pricing.coupon_redemptions(uow, coupon=code, limit=200),
            "totals": coupon_uses(uow, code),
        }

    return render(
        request,
        "hq/coupon.html",
        viewer=viewer,
        status=status,
        errors=errors or {},
        **read(request, load),
    )


@router.post("/coupons/{code}/{action}", response_model=None)
def set_active(request: Request, posted: PostedDep, code: str, action: str) -> Response:
    code = code.upper()[:40]
    if action == "delete":
        return _delete(request, posted, code)
    if action not in ("deactivate", "reactivate"):
        raise NotFound(f"no such action: {action[:20]}")
    active = action == "reactivate"
    decided = authorize_as(
        request, posted.viewer, "PATCH /pricing/coupons/{code}", {"code": code}, {"active": active}
    )
    change(
        request,
        decided,
        lambda uow: pricing.set_coupon_active(
            uow, code, active, actor=posted.viewer.principal.actor
        ),
    )
    return redirect(f"/hq/pricing/coupons/{code}", notice=f"Coupon {code} {action}d.")


def _delete(request: Request, posted: PostedDep, code: str) -> Response:
    """Deletes an unused coupon (a used one is kept: the page says to deactivate it)."""
    decided = authorize_as(request, posted.viewer, "DELETE /pricing/coupons/{code}", {"code": code})
    try:
        change(
            request,
            decided,
            lambda uow: pricing.delete_coupon(uow, code, actor=posted.viewer.principal.actor),
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _coupon_page(
            request, posted.viewer, code, errors=errors_of(exc, fields=()), status=exc.status
        )
    return redirect("/hq/pricing/coupons", notice=f"Coupon {code} deleted.")
