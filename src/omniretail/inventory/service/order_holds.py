"""Order holds the order flow needs beyond ``service``: a whole cart allocated at once, and
units that arrived for an order.

The same rules as ``service.py``: conditional UPDATEs (in ``repository.py``), ledger rows and
events in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from omniretail.db.uow import UnitOfWork
from omniretail.inventory import hold_claims
from omniretail.inventory import repository as repo
from omniretail.inventory.errors import OutOfStock
from omniretail.inventory.events import Allocated
from omniretail.inventory.models import HoldKind, HoldStatus, MovementKind
from omniretail.inventory.repository import Deltas
from omniretail.inventory.schemas import HoldRead, SaleCreate
from omniretail.inventory.service.ledger import movement_row
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
        Allocated(
            sku=data.sku,
            location=data.location,
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


def allocate_reservations(
    uow: UnitOfWork, hold_ids: Sequence[str], reference: str | None, *, actor: str
) -> list[HoldRead]:
    """Checkout of a whole cart: its unexpired reservations become order allocations in one
    statement whatever the number of lines (the holds), the counters and the ledger rows
    joining the unit of work's writes at commit, where ``service.allocate_reservation`` takes
    three statements per line.

    Returns the holds converted; a reservation that lapsed or is gone is simply not among
    them (the caller allocates those afresh or refuses)."""
    if not hold_ids:
        return []
    rows = hold_claims.claim_cart_holds_for_order(uow.session, hold_ids, reference, uow.now)
    if not rows:
        return []
    moved: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        moved[(row.sku_code, row.location_code)] += row.quantity
    # The counters and the ledger rows go with the outbox at commit (one statement on
    # PostgreSQL): nothing reads them back here, and the moves leave what is available as
    # it was (reserved -n, allocated +n), so a fresh allocation meanwhile sees the same.

    def every_row_moved(changed: int) -> None:
        assert changed == len(moved), "a held stock row cannot vanish"

    uow.later(*repo.reserved_to_allocated(moved, uow.now), check=every_row_moved)
    uow.later_rows(
        repo.movements,
        [
            movement_row(
                uow,
                row.sku_code,
                row.location_code,
                MovementKind.ALLOCATE,
                Deltas(reserved=-row.quantity, allocated=row.quantity),
                actor,
                None,
                row.id,
            )
            for row in rows
        ],
    )
    for row in rows:
        uow.record(
            Allocated(
                sku=row.sku_code,
                location=row.location_code,
                hold_id=row.id,
                quantity=row.quantity,
                reference=reference,
            )
        )
    return [
        HoldRead(
            id=row.id,
            kind="order",
            status="active",
            sku=row.sku_code,
            location=row.location_code,
            channel=row.channel_code,
            quantity=row.quantity,
            reference=row.reference,
            expires_at=None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]
