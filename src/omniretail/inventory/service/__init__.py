"""Inventory use cases: movements, holds and counts. Services never commit.

Every counter change is one conditional UPDATE plus one ledger row in the caller's
transaction; a refused change raises before anything is written. This package is the
inventory's public face for use cases: ``movements`` (receipts, write-offs, adjustments, till
sales, counts, policies), ``holds`` (reservations and allocations), ``reads``, and ``ledger``
(what they share). Re-exported here for other packages: the availability reads
(``inventory.availability``) and the policies the replenishment job writes in bulk
(``inventory.policies_bulk``) and the shop's search, stocked first
(``inventory.shelf_search``); from this package's own modules also ``transfers`` between
locations, ``order_holds`` (allocations for orders) and ``bulk`` (opening stock and policies in
one statement each).
"""

from omniretail.inventory.availability import availability, haversine_km, nearby_stock, verify
from omniretail.inventory.policies_bulk import PolicyRow, set_policies
from omniretail.inventory.service.bulk import (
    BulkPolicy,
    BulkReceipt,
    BulkResult,
    receive_stock_bulk,
    set_policies_bulk,
)
from omniretail.inventory.service.holds import (
    allocate_reservation,
    allocate_stock,
    fulfil_allocation,
    get_hold,
    refresh_reservation,
    release_allocation,
    release_expired_holds,
    release_part_of_allocation,
    release_reservation,
    reserve_refused,
    reserve_stock,
    sell_reservation,
)
from omniretail.inventory.service.ledger import (
    hold_read,
    movement_row,
    stock_level_read,
    suggest_replenishment_if_low,
)
from omniretail.inventory.service.movements import (
    adjust_stock,
    count_stock,
    receive_stock,
    restock_return,
    sell_stock,
    set_policy,
    write_off,
)
from omniretail.inventory.service.order_holds import allocate_arrived, allocate_reservations
from omniretail.inventory.service.reads import get_stock_level, list_movements, list_stock_levels
from omniretail.inventory.service.transfers import (
    cancel_transfer,
    get_transfer,
    list_transfers,
    receive_transfer,
    request_transfer,
    ship_transfer,
)
from omniretail.inventory.shelf_search import search_skus_stocked_first

__all__ = [
    "BulkPolicy",
    "BulkReceipt",
    "BulkResult",
    "PolicyRow",
    "adjust_stock",
    "allocate_arrived",
    "allocate_reservation",
    "allocate_reservations",
    "allocate_stock",
    "availability",
    "cancel_transfer",
    "count_stock",
    "fulfil_allocation",
    "get_hold",
    "get_stock_level",
    "get_transfer",
    "haversine_km",
    "hold_read",
    "list_movements",
    "list_stock_levels",
    "list_transfers",
    "movement_row",
    "nearby_stock",
    "receive_stock",
    "receive_stock_bulk",
    "receive_transfer",
    "refresh_reservation",
    "release_allocation",
    "release_expired_holds",
    "release_part_of_allocation",
    "release_reservation",
    "request_transfer",
    "reserve_refused",
    "reserve_stock",
    "restock_return",
    "search_skus_stocked_first",
    "sell_reservation",
    "sell_stock",
    "set_policies",
    "set_policies_bulk",
    "set_policy",
    "ship_transfer",
    "stock_level_read",
    "suggest_replenishment_if_low",
    "verify",
    "write_off",
]
