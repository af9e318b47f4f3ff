"""HTTP routes for stock, movements, holds, transfers and availability."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from omniretail.api.deps import (
    USE_CASE_HEADERS_DOC,
    ActorDep,
    ReadDep,
    ReplicaReadDep,
    SignedInCustomerDep,
    UseCase,
    UseCaseDep,
    use_case_and_actor,
)
from omniretail.api.lane import in_lane
from omniretail.api.params import KeyPath
from omniretail.catalog.schemas import Code
from omniretail.inventory import availability, service
from omniretail.inventory import service as transfers
from omniretail.inventory.models import HoldKind
from omniretail.inventory.schemas import (
    AdjustmentCreate,
    AllocateReservation,
    AllocationCreate,
    AvailabilityQuery,
    AvailabilityRead,
    CountCreate,
    HoldRead,
    MovementRead,
    NearbyStock,
    PolicyWrite,
    ReservationCreate,
    SaleCreate,
    StockChange,
    StockLevelRead,
    SweepResult,
    TransferCreate,
    TransferRead,
    TransferReceive,
    VerifyReport,
)
from omniretail.kernel.limits import MAX_AMOUNT, MAX_INT64, Timestamp

router = APIRouter(prefix="/inventory", tags=["inventory"])

# --- movements ---------------------------------------------------------------------------


@router.post("/receipts", status_code=201, response_model=StockLevelRead)
def receive(body: StockChange, use_case: UseCaseDep, actor: ActorDep) -> StockLevelRead:
    """Units arrive at a location."""
    return use_case.run(lambda uow: service.receive_stock(uow, body, actor=actor), status_code=201)


@router.post("/return-restocks", status_code=201, response_model=StockLevelRead)
def restock_return(body: StockChange, use_case: UseCaseDep, actor: ActorDep) -> StockLevelRead:
    """A returned item goes back on sale at the receiving location."""
    return use_case.run(lambda uow: service.restock_return(uow, body, actor=actor), status_code=201)


@router.post("/write-offs", status_code=201, response_model=StockLevelRead)
def write_off(body: StockChange, use_case: UseCaseDep, actor: ActorDep) -> StockLevelRead:
    return use_case.run(lambda uow: service.write_off(uow, body, actor=actor), status_code=201)


@router.post("/adjustments", status_code=201, response_model=StockLevelRead)
def adjust(body: AdjustmentCreate, use_case: UseCaseDep, actor: ActorDep) -> StockLevelRead:
    return use_case.run(lambda uow: service.adjust_stock(uow, body, actor=actor), status_code=201)


@router.post("/counts", status_code=201, response_model=StockLevelRead)
def count(body: CountCreate, use_case: UseCaseDep, actor: ActorDep) -> StockLevelRead:
    """A cycle count or shelf sensor reports an absolute quantity; the delta is booked."""
    return use_case.run(lambda uow: service.count_stock(uow, body, actor=actor), status_code=201)


@router.post("/sales", status_code=201, response_model=StockLevelRead)
def sell(body: SaleCreate, use_case: UseCaseDep, actor: ActorDep) -> StockLevelRead:
    """A sale without a prior reservation (a till scan)."""
    return use_case.run(lambda uow: service.sell_stock(uow, body, actor=actor), status_code=201)


@router.put("/policies/{sku}/{location}", response_model=StockLevelRead)
def set_policy(
    sku: Code, location: Code, body: PolicyWrite, use_case: UseCaseDep, actor: ActorDep
) -> StockLevelRead:
    """Safety stock, reorder point and order-up-to level for one SKU at one location."""
    return use_case.run(lambda uow: service.set_policy(uow, sku, location, body, actor=actor))


# --- holds -------------------------------------------------------------------------------


@router.post(
    "/reservations", status_code=201, response_model=HoldRead, openapi_extra=USE_CASE_HEADERS_DOC
)
async def reserve(body: ReservationCreate, request: Request) -> Response:
    """Hold units for a cart for the channel's TTL."""
    # The hottest write (a flash sale's): no dependency but the body and authorize, and one
    # hop to the shop's lane for the whole use case.
    use_case, actor = await use_case_and_actor(request)
    hold = await in_lane(request, _reserve, use_case, body, actor)
    return use_case.respond(hold, 201)


def _reserve(use_case: UseCase, body: ReservationCreate, actor: str) -> HoldRead:
    # The stock row, the hold and the event go in one statement with the commit (PostgreSQL;
    # SQLite: the hold row is sent with the commit's batch). A refusal wrote nothing: the
    # ordinary reservation then says why (or takes the units, a reorder point crossed).
    try:
        return use_case.run(
            lambda uow: service.reserve_stock(uow, body, actor=actor, at_once=True),
            status_code=201,
            durable=False,
        )
    except Exception as exc:
        if not service.reserve_refused(exc):
            raise
    return use_case.run(
        lambda uow: service.reserve_stock(uow, body, actor=actor, later=True),
        status_code=201,
        durable=False,
    )


@router.get("/reservations/{hold_id}", response_model=HoldRead)
def get_reservation(hold_id: KeyPath, uow: ReadDep) -> HoldRead:
    return service.get_hold(uow, hold_id, HoldKind.CART)


@router.post("/reservations/{hold_id}/refresh", response_model=HoldRead)
def refresh(hold_id: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> HoldRead:
    return use_case.run(
        lambda uow: service.refresh_reservation(uow, hold_id, actor=actor), durable=False
    )


@router.post("/reservations/{hold_id}/release", response_model=HoldRead)
def release(hold_id: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> HoldRead:
    return use_case.run(
        lambda uow: service.release_reservation(uow, hold_id, actor=actor), durable=False
    )


@router.post("/reservations/{hold_id}/sell", response_model=HoldRead)
def sell_reserved(hold_id: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> HoldRead:
    """The reserved units are bought: they leave stock."""
    return use_case.run(lambda uow: service.sell_reservation(uow, hold_id, actor=actor))


@router.post("/reservations/{hold_id}/allocate", response_model=HoldRead)
def allocate_reserved(
    hold_id: KeyPath,
    use_case: UseCaseDep,
    actor: ActorDep,
    body: AllocateReservation | None = None,
) -> HoldRead:
    """Checkout: the cart hold becomes an order allocation (the body is optional)."""
    reference = body.reference if body is not None else None
    return use_case.run(
        lambda uow: service.allocate_reservation(uow, hold_id, reference, actor=actor)
    )


@router.post("/allocations", status_code=201, response_model=HoldRead)
def allocate(body: AllocationCreate, use_case: UseCaseDep, actor: ActorDep) -> HoldRead:
    return use_case.run(lambda uow: service.allocate_stock(uow, body, actor=actor), status_code=201)


@router.get("/allocations/{hold_id}", response_model=HoldRead)
def get_allocation(hold_id: KeyPath, uow: ReadDep) -> HoldRead:
    return service.get_hold(uow, hold_id, HoldKind.ORDER)


@router.post("/allocations/{hold_id}/release", response_model=HoldRead)
def release_allocation(hold_id: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> HoldRead:
    return use_case.run(lambda uow: service.release_allocation(uow, hold_id, actor=actor))


@router.post("/allocations/{hold_id}/fulfil", response_model=HoldRead)
def fulfil_allocation(hold_id: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> HoldRead:
    """The allocated units leave the location (shipped or handed over)."""
    return use_case.run(lambda uow: service.fulfil_allocation(uow, hold_id, actor=actor))


# --- transfers ---------------------------------------------------------------------------


@router.post("/transfers", status_code=201, response_model=TransferRead)
def request_transfer(body: TransferCreate, use_case: UseCaseDep, actor: ActorDep) -> TransferRead:
    return use_case.run(
        lambda uow: transfers.request_transfer(uow, body, actor=actor), status_code=201
    )


@router.get("/transfers", response_model=list[TransferRead])
def list_transfers(
    uow: ReadDep,
    status: Literal["requested", "in_transit", "received", "cancelled"] | None = None,
    from_location: Code | None = None,
    to_location: Code | None = None,
    location: Annotated[Code | None, Query(description="either end")] = None,
    since: Annotated[Timestamp | None, Query(description="requested from (inclusive)")] = None,
    until: Annotated[Timestamp | None, Query(description="requested before")] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_AMOUNT)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[TransferRead]:
    """Transfers, newest first, with their lines and what was received of each."""
    return transfers.list_transfers(
        uow,
        status=status,
        from_location=from_location,
        to_location=to_location,
        location=location,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )


@router.get("/transfers/{transfer_id}", response_model=TransferRead)
def get_transfer(transfer_id: KeyPath, uow: ReadDep) -> TransferRead:
    return transfers.get_transfer(uow, transfer_id)


@router.post("/transfers/{transfer_id}/ship", response_model=TransferRead)
def ship_transfer(transfer_id: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> TransferRead:
    return use_case.run(lambda uow: transfers.ship_transfer(uow, transfer_id, actor=actor))


@router.post("/transfers/{transfer_id}/receive", response_model=TransferRead)
def receive_transfer(
    transfer_id: KeyPath,
    use_case: UseCaseDep,
    actor: ActorDep,
    body: TransferReceive | None = None,
) -> TransferRead:
    """Without a body, or with no lines: every unit still due. With lines: what arrived now
    (a partial receipt); the transfer is received when its last unit is."""
    return use_case.run(
        lambda uow: transfers.receive_transfer(uow, transfer_id, actor=actor, receipt=body)
    )


@router.post("/transfers/{transfer_id}/cancel", response_model=TransferRead)
def cancel_transfer(transfer_id: KeyPath, use_case: UseCaseDep, actor: ActorDep) -> TransferRead:
    return use_case.run(lambda uow: transfers.cancel_transfer(uow, transfer_id, actor=actor))


# --- reads -------------------------------------------------------------------------------


@router.get("/stock", response_model=list[StockLevelRead])
def list_stock(
    uow: ReplicaReadDep,
    sku: Code | None = None,
    location: Code | None = None,
    offset: Annotated[int, Query(ge=0, le=MAX_AMOUNT)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[StockLevelRead]:
    return service.list_stock_levels(uow, sku=sku, location=location, limit=limit, offset=offset)


@router.get("/stock/{sku}/{location}", response_model=StockLevelRead)
def get_stock(sku: Code, location: Code, uow: ReplicaReadDep) -> StockLevelRead:
    return service.get_stock_level(uow, sku, location)


@router.get("/ledger", response_model=list[MovementRead])
def ledger(
    uow: ReplicaReadDep,
    sku: Code | None = None,
    location: Code | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[MovementRead]:
    """Stock movements, newest first; page with ``before_id``."""
    return service.list_movements(uow, sku=sku, location=location, before_id=before_id, limit=limit)


# ATP answers are built from database integers by the service, so they are serialised
# directly (pydantic-core, in Rust) instead of being validated again against the response
# model row by row in the threadpool: a 50-SKU batch over 50 locations is 2,500 rows.
_AVAILABILITY_LIST = TypeAdapter(list[AvailabilityRead])


def _availability_json(rows: list[AvailabilityRead]) -> Response:
    return Response(_AVAILABILITY_LIST.dump_json(rows), media_type="application/json")


@router.get("/availability", response_model=list[AvailabilityRead])
def get_availability(
    uow: ReplicaReadDep,
    sku: Annotated[list[Code], Query(min_length=1, max_length=200)],
    signed_in: SignedInCustomerDep,
    channel: Code | None = None,
    location: Annotated[list[Code] | None, Query(max_length=200)] = None,
) -> Response:
    """Available to promise for one or more SKUs, per location and per channel. A customer
    gets the figures the web shop shows: a self-service channel's total (no channel: the
    shop's own), without the locations' on hand (``locations`` is empty)."""
    customer = signed_in is not None
    read = availability.customer_availability if customer else availability.availability
    return _availability_json(read(uow, sku, channel=channel, locations=location))


@router.post("/availability/query", response_model=list[AvailabilityRead])
def query_availability(
    body: AvailabilityQuery, uow: ReplicaReadDep, signed_in: SignedInCustomerDep
) -> Response:
    """The same for a batch of up to 1,000 SKUs (a customer's answer as above)."""
    customer = signed_in is not None
    read = availability.customer_availability if customer else availability.availability
    return _availability_json(read(uow, body.skus, channel=body.channel, locations=body.locations))


@router.get("/availability/nearby", response_model=list[NearbyStock])
def nearby(
    uow: ReplicaReadDep,
    sku: Code,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    radius_km: Annotated[float, Query(gt=0, le=20_000)] = 50.0,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[NearbyStock]:
    """Stores near a point that have the SKU available now, nearest first."""
    return availability.nearby_stock(uow, sku, lat, lon, radius_km=radius_km, limit=limit)


@router.get("/verify", response_model=VerifyReport)
def verify(uow: ReadDep) -> VerifyReport:
    """Every counter checked against the ledger, holds and transfers."""
    return availability.verify(uow)


@router.post("/sweep", response_model=SweepResult)
def sweep(use_case: UseCaseDep) -> SweepResult:
    """Release expired reservations now (the server also does this periodically)."""
    return use_case.run(
        lambda uow: SweepResult(released=service.release_expired_holds(uow, actor="api:sweep"))
    )
