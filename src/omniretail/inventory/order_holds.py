"""Order holds the order flow needs beyond ``service``: units that arrived for an order.

Kept apart from ``service.py`` (owned by the inventory work in progress); same rules: one
conditional UPDATE, one hold row, one ledger row, one event, in the caller's transaction.
"""

from __future__ import annotations

from omniretail.db.uow import UnitOfWork
from omniretail.inventory import repository as repo
from omniretail.inventory.errors import OutOfStock
from omniretail.inventory.events import stock_event
from omniretail.inventory.models import HoldKind, HoldStatus, MovementKind
from omniretail.inventory.repository import Deltas
from omniretail.inventory.schemas import HoldRead, SaleCreate
from omniretail.inventory.service import movement_row
from omniretail.kernel.ids import new_id


def allocate_arrived(uow: UnitOfWork, data: SaleCreate, *, actor: str) -> HoldRead:
    """Allocates units that a transfer just brought in for this order (ship-to-store).

    Unlike ``allocate_stock`` it may use safety stock and skips the channel check: the units
    were earmarked for the order when they left the source, so the store's own buffer and its
    channel links do not apply to them."""
    deltas = Deltas(allocated=data.quantity)
    after = repo.apply_deltas_if_available(
        uow.session, data.sku, data.location, deltas, uow.now, need=data.quantity
    )
    if after is None:
        raise OutOfStock(
            f"fewer than {data.quantity} of {data.sku} are free at {data.location} to hand to"
            " the order",
            field="quantity",
            requested=data.quantity,
        )
    hold_id = new_id()
    values = {
        "id": hold_id,
        "kind": HoldKind.ORDER.value,
        "status": HoldStatus.ACTIVE.value,
        "sku_code": data.sku,
        "location_code": data.location,
        "channel_code": data.channel,
        "quantity": data.quantity,
        "reference": data.reference,
        "expires_at": None,
        "created_at": uow.now,
        "updated_at": uow.now,
    }
    repo.insert_hold(uow.session, values)
    repo.insert_movements(
        uow.session,
        [
            movement_row(
                uow,
                data.sku,
                data.location,
                MovementKind.ALLOCATE,
                deltas,
                actor,
                "arrived for order",
                hold_id,
            )
        ],
    )
    uow.record(
        stock_event(
            "allocated",
            data.sku,
            data.location,
            hold_id=hold_id,
            quantity=data.quantity,
            reference=data.reference,
        )
    )
    return HoldRead(
        id=hold_id,
        kind="order",
        status="active",
        sku=data.sku,
        location=data.location,
        channel=data.channel,
        quantity=data.quantity,
        reference=data.reference,
        expires_at=None,
        created_at=uow.now,
        updated_at=uow.now,
    )
