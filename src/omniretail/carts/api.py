"""HTTP routes: carts, fulfilment options for a cart or a SKU, channel prices."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from omniretail.api.deps import (
    USE_CASE_HEADERS_DOC,
    ActorDep,
    ReadDep,
    ReplicaReadDep,
    UseCaseDep,
    get_signed_in_customer,
    in_read_thread,
    json_reply,
    no_content,
    use_case_and_actor,
)
from omniretail.api.lane import in_lane
from omniretail.api.params import KeyPath
from omniretail.api.qr import qr_response
from omniretail.carts import service as carts
from omniretail.carts.schemas import (
    CartAttach,
    CartCreate,
    CartLineAdd,
    CartLineUpdate,
    CartRead,
    OptionsRead,
    PriceRead,
    PriceWrite,
)
from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import MAX_INT64
from omniretail.pricing.schemas import CouponApply, CouponCode
from omniretail.routing.schemas import FulfilmentMethod
from omniretail.routing.service import OrderPolicy, policy_from

router = APIRouter()


async def get_policy(request: Request) -> OrderPolicy:
    """Reads the container itself: a ``ContainerDep`` is one more dependency to solve."""
    return policy_from(request.app.state.container.settings)


PolicyDep = Annotated[OrderPolicy, Depends(get_policy)]


Lat = Annotated[float | None, Query(ge=-90, le=90)]


Lon = Annotated[float | None, Query(ge=-180, le=180)]


Radius = Annotated[float, Query(gt=0, le=20_000)]


# The shopper's two hot writes build their runner themselves (``use_case_and_actor``): no
# dependency but the body and authorize, one thread hop for the whole use case.


@router.post(
    "/carts",
    status_code=201,
    response_model=CartRead,
    tags=["carts"],
    openapi_extra=USE_CASE_HEADERS_DOC,
)
async def create_cart(body: CartCreate, request: Request) -> Response:
    """A new cart, or the customer's active cart (the same on every channel). A signed-in
    customer's cart is always their own: anonymous carts by the dozen would each hold stock
    up to the hold caps."""
    use_case, actor = await use_case_and_actor(request)
    signed_in = await get_signed_in_customer(request)
    if signed_in is not None and body.customer_id is None:
        body = body.model_copy(update={"customer_id": signed_in})
    cart = await in_lane(
        request,
        lambda: use_case.run(
            lambda uow: carts.create_cart(uow, body, actor=actor), status_code=201, durable=False
        ),
    )
    return use_case.respond(cart, 201)


@router.get("/carts", response_model=CartRead, tags=["carts"])
def find_cart(
    uow: ReadDep,
    customer_id: Annotated[int, Query(gt=0, le=MAX_INT64)],
    channel: Code | None = None,
) -> CartRead:
    """An associate finds the customer's active cart by customer id."""
    return carts.find_active_cart(uow, customer_id, channel)


@router.get("/carts/{token}", response_model=CartRead, tags=["carts"])
def get_cart(
    token: KeyPath,
    uow: ReadDep,
    channel: Code | None = None,
    method: FulfilmentMethod | None = None,
) -> CartRead:
    """The cart priced for ``channel`` (default: the channel it was last used on), with each
    line that can no longer be served saying why and what is possible instead; with the
    fulfilment ``method`` the customer chose, its fee too (in ``total``)."""
    return carts.get_cart(uow, token, channel, method.value if method else None)


@router.get("/carts/{token}/qr.{fmt}", tags=["carts"])
def cart_qr(token: KeyPath, fmt: Literal["svg", "png"], uow: ReadDep) -> Response:
    """A QR code of the cart token: an associate scans it to open the cart in the store."""
    carts.load_cart(uow, token, priced=False)
    answer = qr_response(f"omniretail:cart:{token}", fmt)
    answer.headers["Cache-Control"] = "no-store"  # the token is the cart's bearer secret
    return answer


@router.post(
    "/carts/{token}/lines",
    response_model=CartRead,
    tags=["carts"],
    openapi_extra=USE_CASE_HEADERS_DOC,
)
async def add_line(token: KeyPath, body: CartLineAdd, request: Request) -> Response:
    use_case, actor = await use_case_and_actor(request)
    cart = await in_lane(
        request,
        lambda: use_case.run(
            lambda uow: carts.add_line(uow, token, body, actor=actor), durable=False
        ),
    )
    return use_case.respond(cart)


@router.patch("/carts/{token}/lines/{sku}", response_model=CartRead, tags=["carts"])
def update_line(
    token: KeyPath, sku: Code, body: CartLineUpdate, use_case: UseCaseDep, actor: ActorDep
) -> CartRead:
    return use_case.run(
        lambda uow: carts.update_line(uow, token, sku, body, actor=actor), durable=False
    )


@router.delete("/carts/{token}/lines/{sku}", response_model=CartRead, tags=["carts"])
def remove_line(token: KeyPath, sku: Code, use_case: UseCaseDep, actor: ActorDep) -> CartRead:
    return use_case.run(lambda uow: carts.remove_line(uow, token, sku, actor=actor), durable=False)


@router.post("/carts/{token}/coupons", response_model=CartRead, tags=["carts"])
def apply_coupon(
    token: KeyPath, body: CouponApply, use_case: UseCaseDep, actor: ActorDep
) -> CartRead:
    """A coupon code for the cart: priced with it on every channel, counted at checkout."""
    return use_case.run(lambda uow: carts.apply_coupon(uow, token, body.code, actor=actor))


@router.delete("/carts/{token}/coupons/{code}", response_model=CartRead, tags=["carts"])
def remove_coupon(
    token: KeyPath, code: CouponCode, use_case: UseCaseDep, actor: ActorDep
) -> CartRead:
    return use_case.run(lambda uow: carts.remove_coupon(uow, token, code, actor=actor))


@router.post("/carts/{token}/refresh", response_model=CartRead, tags=["carts"])
def refresh_cart(token: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> CartRead:
    """Activity: every reservation of the cart lives another TTL (lapsed ones are retaken)."""
    return use_case.run(lambda uow: carts.refresh_cart(uow, token, actor=actor), durable=False)


@router.post("/carts/{token}/attach", response_model=CartRead, tags=["carts"])
def attach_cart(
    token: KeyPath, body: CartAttach, use_case: UseCaseDep, actor: ActorDep
) -> CartRead:
    """Login: the cart becomes the customer's, merged into their active cart if any."""
    return use_case.run(lambda uow: carts.attach_customer(uow, token, body, actor=actor))


@router.get("/carts/{token}/fulfilment-options", response_model=OptionsRead, tags=["carts"])
async def cart_options(
    request: Request,
    token: KeyPath,
    lat: Lat = None,
    lon: Lon = None,
    channel: Code | None = None,
    radius_km: Radius = 50.0,
) -> Response:
    """Ship to home, pick up today, ship to store, locker and curbside, with promise dates."""
    policy = policy_from(request.app.state.container.settings)  # the checkout flow's one read
    options = await in_read_thread(
        request,
        lambda uow: carts.options_for_cart(
            uow,
            token,
            latitude=lat,
            longitude=lon,
            channel=channel,
            policy=policy,
            radius_km=radius_km,
        ),
    )
    return json_reply(options)


@router.get("/fulfilment-options", response_model=OptionsRead, tags=["carts"])
def sku_options(
    uow: ReplicaReadDep,
    policy: PolicyDep,
    sku: Code,
    channel: Code,
    quantity: Annotated[int, Query(gt=0, le=999)] = 1,
    lat: Lat = None,
    lon: Lon = None,
    radius_km: Radius = 50.0,
) -> OptionsRead:
    """The same options for one SKU on a product page."""
    return carts.options_for_sku(
        uow,
        sku,
        quantity,
        channel=channel,
        latitude=lat,
        longitude=lon,
        policy=policy,
        radius_km=radius_km,
    )


@router.put("/prices/{sku}/{channel}", response_model=PriceRead, tags=["prices"])
def set_price(
    sku: Code, channel: Code, body: PriceWrite, use_case: UseCaseDep, actor: ActorDep
) -> PriceRead:
    return use_case.run(lambda uow: carts.set_price(uow, sku, channel, body, actor=actor))


@router.delete("/prices/{sku}/{channel}", status_code=204, tags=["prices"])
def delete_price(sku: Code, channel: Code, use_case: UseCaseDep, actor: ActorDep) -> Response:
    use_case.run(
        no_content(lambda uow: carts.delete_price(uow, sku, channel, actor=actor)),
        status_code=204,
        remember=False,  # no body to replay; deleting again answers 404
    )
    return Response(status_code=204)


@router.get("/prices", response_model=list[PriceRead], tags=["prices"])
def list_prices(
    uow: ReplicaReadDep, sku: Code | None = None, channel: Code | None = None
) -> list[PriceRead]:
    return carts.list_prices(uow, sku, channel)
