"""HTTP routes: carts, fulfilment options, prices, routing, checkout, orders, fulfilments."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Depends, Query, Request, Response

from omniretail.api.deps import ActorDep, ContainerDep, ReadDep, UseCaseDep, no_content
from omniretail.api.params import Id32Path, KeyPath
from omniretail.catalog.schemas import Code
from omniretail.kernel.limits import MAX_INT64
from omniretail.orders import (
    cancellation,
    carts,
    checkout,
    fulfilment,
    lookup,
    options,
    planning,
    prices,
    returns,
)
from omniretail.orders.payments import PaymentProvider, compensating
from omniretail.orders.promises import OrderPolicy, policy_from
from omniretail.orders.schemas import (
    CancelBody,
    CartAttach,
    CartCreate,
    CartLineAdd,
    CartLineUpdate,
    CartRead,
    CheckoutCreate,
    CollectBody,
    DecisionRead,
    ExchangeCreate,
    LogEntryRead,
    OptionsRead,
    OrderRead,
    PriceRead,
    PriceWrite,
    RejectBody,
    ReturnCreate,
    RoutingSimulate,
    RuleSetRead,
    RuleSetWrite,
    ShipBody,
    SweepReport,
)

router = APIRouter()
Lat = Annotated[float | None, Query(ge=-90, le=90)]
Lon = Annotated[float | None, Query(ge=-180, le=180)]
Radius = Annotated[float, Query(gt=0, le=20_000)]


def get_payments(request: Request) -> PaymentProvider:
    """The process's payment provider: authorisations here, captures, voids and refunds by
    its relay (one per process, so a retry finds its authorisation). ``app.state.payments``
    (set by ``create_app``) reads it from the composition root at each request."""
    provider: Callable[[], PaymentProvider] = request.app.state.payments
    return provider()


def get_policy(container: ContainerDep) -> OrderPolicy:
    return policy_from(container.settings)


PaymentsDep = Annotated[PaymentProvider, Depends(get_payments)]
PolicyDep = Annotated[OrderPolicy, Depends(get_policy)]


def qr_response(data: str, fmt: Literal["svg", "png"]) -> Response:
    qr = segno.make(data, error="m")
    buffer = io.BytesIO()
    if fmt == "svg":
        qr.save(buffer, kind="svg", scale=6, border=2)
        return Response(buffer.getvalue(), media_type="image/svg+xml")
    qr.save(buffer, kind="png", scale=6, border=2)
    return Response(buffer.getvalue(), media_type="image/png")


# --- carts -----------------------------------------------------------------------------------


@router.post("/carts", status_code=201, response_model=CartRead, tags=["carts"])
def create_cart(body: CartCreate, use_case: UseCaseDep, actor: ActorDep) -> CartRead:
    """A new cart, or the customer's active cart (the same on every channel)."""
    return use_case.run(
        lambda uow: carts.create_cart(uow, body, actor=actor), status_code=201, durable=False
    )


@router.get("/carts", response_model=CartRead, tags=["carts"])
def find_cart(
    uow: ReadDep,
    customer_id: Annotated[int, Query(gt=0, le=MAX_INT64)],
    channel: Code | None = None,
) -> CartRead:
    """An associate finds the customer's active cart by customer id."""
    return carts.find_active_cart(uow, customer_id, channel)


@router.get("/carts/{token}", response_model=CartRead, tags=["carts"])
def get_cart(token: KeyPath, uow: ReadDep, channel: Code | None = None) -> CartRead:
    """The cart priced for ``channel`` (default: the channel it was last used on), with each
    line that can no longer be served saying why and what is possible instead."""
    return carts.get_cart(uow, token, channel)


@router.get("/carts/{token}/qr.{fmt}", tags=["carts"])
def cart_qr(token: KeyPath, fmt: Literal["svg", "png"], uow: ReadDep) -> Response:
    """A QR code of the cart token: an associate scans it to open the cart in the store."""
    carts.load_cart(uow, token)
    return qr_response(f"omniretail:cart:{token}", fmt)


@router.post("/carts/{token}/lines", response_model=CartRead, tags=["carts"])
def add_line(token: KeyPath, body: CartLineAdd, use_case: UseCaseDep, actor: ActorDep) -> CartRead:
    return use_case.run(lambda uow: carts.add_line(uow, token, body, actor=actor), durable=False)


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
def cart_options(
    token: KeyPath,
    uow: ReadDep,
    policy: PolicyDep,
    lat: Lat = None,
    lon: Lon = None,
    channel: Code | None = None,
    radius_km: Radius = 50.0,
) -> OptionsRead:
    """Ship to home, pick up today, ship to store, locker and curbside, with promise dates."""
    return options.options_for_cart(
        uow, token, latitude=lat, longitude=lon, channel=channel, policy=policy, radius_km=radius_km
    )


@router.post(
    "/carts/{token}/checkout",
    status_code=201,
    response_model=OrderRead,
    tags=["carts"],
    responses={402: {"description": "The payment was declined"}},
)
def checkout_cart(
    token: KeyPath,
    body: CheckoutCreate,
    use_case: UseCaseDep,
    payments: PaymentsDep,
    policy: PolicyDep,
    actor: ActorDep,
) -> OrderRead:
    """The cart becomes an order atomically; send an Idempotency-Key to retry safely."""
    with compensating(payments) as attempt:
        return use_case.run(
            lambda uow: checkout.place_order(
                uow, token, body, payments=attempt, policy=policy, actor=actor
            ),
            status_code=201,
        )


@router.get("/fulfilment-options", response_model=OptionsRead, tags=["carts"])
def sku_options(
    uow: ReadDep,
    policy: PolicyDep,
    sku: Code,
    channel: Code,
    quantity: Annotated[int, Query(gt=0, le=999)] = 1,
    lat: Lat = None,
    lon: Lon = None,
    radius_km: Radius = 50.0,
) -> OptionsRead:
    """The same options for one SKU on a product page."""
    return options.options_for_sku(
        uow,
        sku,
        quantity,
        channel=channel,
        latitude=lat,
        longitude=lon,
        policy=policy,
        radius_km=radius_km,
    )


# --- prices ----------------------------------------------------------------------------------


@router.put("/prices/{sku}/{channel}", response_model=PriceRead, tags=["prices"])
def set_price(
    sku: Code, channel: Code, body: PriceWrite, use_case: UseCaseDep, actor: ActorDep
) -> PriceRead:
    return use_case.run(lambda uow: prices.set_price(uow, sku, channel, body, actor=actor))


@router.delete("/prices/{sku}/{channel}", status_code=204, tags=["prices"])
def delete_price(sku: Code, channel: Code, use_case: UseCaseDep, actor: ActorDep) -> Response:
    use_case.run(
        no_content(lambda uow: prices.delete_price(uow, sku, channel, actor=actor)),
        status_code=204,
        remember=False,  # no body to replay; deleting again answers 404
    )
    return Response(status_code=204)


@router.get("/prices", response_model=list[PriceRead], tags=["prices"])
def list_prices(
    uow: ReadDep, sku: Code | None = None, channel: Code | None = None
) -> list[PriceRead]:
    return prices.list_prices(uow, sku, channel)


# --- routing ---------------------------------------------------------------------------------


@router.get("/routing/rules", response_model=RuleSetRead, tags=["routing"])
def rules_in_force(uow: ReadDep) -> RuleSetRead:
    return planning.get_rules(uow)


@router.get("/routing/rules/versions", response_model=list[RuleSetRead], tags=["routing"])
def rule_versions(uow: ReadDep) -> list[RuleSetRead]:
    return planning.list_rules(uow)


@router.get("/routing/rules/{version}", response_model=RuleSetRead, tags=["routing"])
def rule_version(version: Id32Path, uow: ReadDep) -> RuleSetRead:
    return planning.get_rules(uow, version)


@router.put("/routing/rules", status_code=201, response_model=RuleSetRead, tags=["routing"])
def save_rules(body: RuleSetWrite, use_case: UseCaseDep, actor: ActorDep) -> RuleSetRead:
    """Stores the rules as a new version, in force from now on."""
    return use_case.run(lambda uow: planning.save_rules(uow, body, actor=actor), status_code=201)


@router.post("/routing/simulate", response_model=DecisionRead, tags=["routing"])
def simulate(body: RoutingSimulate, uow: ReadDep) -> DecisionRead:
    """Explain a decision: locations considered, excluded by which rule, why the winner won."""
    return planning.simulate(uow, body)


# --- orders and fulfilments ------------------------------------------------------------------


@router.get("/orders", response_model=list[OrderRead], tags=["orders"])
def list_orders(
    uow: ReadDep,
    customer_id: Annotated[int, Query(gt=0, le=MAX_INT64)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[OrderRead]:
    return lookup.list_orders(uow, customer_id, limit)


@router.post("/orders/sweep-pickups", response_model=SweepReport, tags=["orders"])
def sweep_pickups(use_case: UseCaseDep, policy: PolicyDep, actor: ActorDep) -> SweepReport:
    """Send due pickup reminders and return uncollected orders to stock (also a CLI task)."""
    return use_case.run(lambda uow: fulfilment.sweep_pickups(uow, policy=policy, actor=actor))


@router.get("/orders/{number}", response_model=OrderRead, tags=["orders"])
def get_order(number: KeyPath, uow: ReadDep) -> OrderRead:
    return lookup.get_order(uow, number)


@router.get("/orders/{number}/log", response_model=list[LogEntryRead], tags=["orders"])
def order_log(number: KeyPath, uow: ReadDep) -> list[LogEntryRead]:
    """Every fulfilment change and handover override: who, when, why."""
    return lookup.order_log(uow, number)


@router.post("/orders/{number}/cancel", response_model=OrderRead, tags=["orders"])
def cancel_order(
    number: KeyPath, body: CancelBody, use_case: UseCaseDep, actor: ActorDep
) -> OrderRead:
    """Cancel the order, some lines or some units of lines before shipment: stock released,
    amount voided (after commit)."""
    return use_case.run(lambda uow: cancellation.cancel(uow, number, body, actor=actor))


@router.post("/orders/{number}/returns", response_model=OrderRead, tags=["orders"])
def return_items(
    number: KeyPath,
    body: ReturnCreate,
    use_case: UseCaseDep,
    container: ContainerDep,
    actor: ActorDep,
) -> OrderRead:
    """Return items of an order from any channel at any location that accepts returns:
    restocked (sellable) or written off (damaged) there, refunded to the original payment."""
    window = container.settings.return_window_days
    return use_case.run(
        lambda uow: returns.return_items(uow, number, body, window_days=window, actor=actor)
    )


@router.post("/orders/{number}/exchanges", response_model=OrderRead, tags=["orders"])
def exchange_items(
    number: KeyPath,
    body: ExchangeCreate,
    use_case: UseCaseDep,
    payments: PaymentsDep,
    container: ContainerDep,
    actor: ActorDep,
) -> OrderRead:
    """Return items and hand over others at a store counter; the price difference is charged
    to the original payment method or refunded to it."""
    window = container.settings.return_window_days
    with compensating(payments) as attempt:  # the charge's authorisation, if not committed
        return use_case.run(
            lambda uow: returns.exchange_items(
                uow, number, body, window_days=window, payments=attempt, actor=actor
            )
        )


@router.post("/fulfilments/{fid}/accept", response_model=OrderRead, tags=["fulfilments"])
def accept(fid: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.accept(uow, fid, actor=actor))


@router.post("/fulfilments/{fid}/pick", response_model=OrderRead, tags=["fulfilments"])
def pick(fid: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.start_picking(uow, fid, actor=actor))


@router.post("/fulfilments/{fid}/pack", response_model=OrderRead, tags=["fulfilments"])
def pack(fid: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.pack(uow, fid, actor=actor))


@router.post("/fulfilments/{fid}/ship", response_model=OrderRead, tags=["fulfilments"])
def ship(fid: KeyPath, body: ShipBody, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.ship(uow, fid, body, actor=actor))


@router.post("/fulfilments/{fid}/deliver", response_model=OrderRead, tags=["fulfilments"])
def deliver(fid: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    return use_case.run(lambda uow: fulfilment.deliver(uow, fid, actor=actor))


@router.post("/fulfilments/{fid}/ready", response_model=OrderRead, tags=["fulfilments"])
def ready(fid: KeyPath, use_case: UseCaseDep, policy: PolicyDep, actor: ActorDep) -> OrderRead:
    """Ready for pickup: packed at the store, arrived at the store, or put in the locker."""
    return use_case.run(
        lambda uow: fulfilment.ready_for_pickup(uow, fid, policy=policy, actor=actor)
    )


@router.post("/fulfilments/{fid}/collect", response_model=OrderRead, tags=["fulfilments"])
def collect(fid: KeyPath, body: CollectBody, use_case: UseCaseDep, actor: ActorDep) -> OrderRead:
    """Handover with the pickup code, or an associate override with a reason (logged)."""
    return use_case.run(lambda uow: fulfilment.collect(uow, fid, body, actor=actor))


@router.post("/fulfilments/{fid}/reject", response_model=OrderRead, tags=["fulfilments"])
def reject(
    fid: KeyPath,
    body: RejectBody,
    use_case: UseCaseDep,
    policy: PolicyDep,
    actor: ActorDep,
) -> OrderRead:
    """The location cannot serve: the lines are re-routed elsewhere automatically."""
    return use_case.run(lambda uow: fulfilment.reject(uow, fid, body, policy=policy, actor=actor))
