"""What customer service changes about a pickup: sending the pickup code again (the same
code, as the reminder the sweep sends, without counting as one of its reminders) and moving
a ship-to-store parcel to another store before it leaves the warehouse.

A click & collect fulfilment served from a store's own shelf holds its units at that store,
so its pickup store cannot move: it is cancelled and ordered again. Both changes lock the
order row and are logged in ``fulfilment_log``; the code goes out through the customer
notification of ``orders.pickup_reminder``."""

from __future__ import annotations

from omniretail.catalog import service as catalog
from omniretail.catalog.errors import UnknownLocation
from omniretail.db.uow import UnitOfWork
from omniretail.fulfilment import repository as repo
from omniretail.fulfilment.errors import NoPickupCode, PickupNotChangeable
from omniretail.fulfilment.events import PickupReminder, PickupStoreChanged
from omniretail.fulfilment.moves import load, settle
from omniretail.orders.schemas import OrderRead
from omniretail.orders.service import FulfilmentStatus
from omniretail.routing.service import FulfilmentMethod

S = FulfilmentStatus
# A ship-to-store parcel may be sent to another store until it is shipped.
_BEFORE_SHIPPING = (S.CREATED.value, S.ACCEPTED.value, S.PICKING.value, S.PACKED.value)


def resend_pickup_code(uow: UnitOfWork, fulfilment_id: str, *, actor: str) -> OrderRead:
    """The pickup code again, to the customer's contact (not a new code)."""
    order, f = load(uow, fulfilment_id)
    if f.status != S.READY_FOR_PICKUP.value or not f.pickup_code_enc or f.collect_by is None:
        raise NoPickupCode(
            f"fulfilment {fulfilment_id} is {f.status}: there is no pickup code to send",
            field="fulfilment_id",
        )
    uow.record(
        PickupReminder.of(
            order,
            f,
            reminder=f.reminders_sent,
            collect_by=f.collect_by.isoformat(),
        )
    )
    repo.insert_log(
        uow.session,
        [repo.log_row(uow.now, order.id, f.id, "pickup_code_resent", actor, {})],
    )
    return settle(uow, order)


def change_pickup_store(
    uow: UnitOfWork, fulfilment_id: str, store: str, *, actor: str, reason: str
) -> OrderRead:
    """Sends a ship-to-store parcel that has not left yet to ``store`` instead."""
    order, f = load(uow, fulfilment_id)
    if f.method != FulfilmentMethod.SHIP_TO_STORE.value:
        raise PickupNotChangeable(
            f"fulfilment {fulfilment_id} ({f.method}) is served from its store's own stock:"
            " cancel the line and order it again at the other store",
            field="fulfilment_id",
        )
    if f.status not in _BEFORE_SHIPPING:
        raise PickupNotChangeable(
            f"fulfilment {fulfilment_id} is {f.status}: it has left for {f.pickup_location_code}",
            field="fulfilment_id",
        )
    try:
        target = catalog.get_location(uow, store)
    except UnknownLocation as exc:
        raise UnknownLocation(f"no location with code {store!r}", field="store") from exc
    if target.kind.value != "store":
        raise PickupNotChangeable(f"{store} is not a store", field="store")
    if target.code == f.pickup_location_code:
        raise PickupNotChangeable(f"the parcel already goes to {store}", field="store")
    current = S(f.status)
    row = repo.transition_fulfilment(
        uow.session,
        f.id,
        expected=current,
        to=current,
        values={"pickup_location_code": target.code, "updated_at": uow.now},
    )
    if row is None:  # a step won the race; the caller sees the current state and retries
        raise PickupNotChangeable(f"fulfilment {fulfilment_id} changed meanwhile; try again")
    repo.insert_log(
        uow.session,
        [
            repo.log_row(
                uow.now,
                order.id,
                f.id,
                "pickup_store_changed",
                actor,
                {"from": f.pickup_location_code, "to": target.code, "reason": reason},
            )
        ],
    )
    uow.record(PickupStoreChanged.of(order, row, from_store=f.pickup_location_code, reason=reason))
    return settle(uow, order)
