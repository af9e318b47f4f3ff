"""Past-tense inventory events (``omniretail.inventory.*`` in the outbox).

Stock events have the subject ``stock/{sku}@{location}``; transfer events
``transfers/{transfer_id}``. A few types are stored in two shapes (a till sale and a sold
reservation are both ``inventory.sold``): their classes declare every field and ``data`` keeps
only the keys of the shape the event has, so the stored format is what it always was.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar

from omniretail.kernel.events import Event

_HOLD_KEYS = ("hold_id", "quantity", "channel", "reference", "available")
_MOVEMENT_KEYS = ("on_hand_delta", "on_hand", "available", "reason", "reference", "actor")


def _only(data: dict[str, Any], keys: Collection[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k in ("sku", "location") or k in keys}


@dataclass(frozen=True, kw_only=True)
class StockEvent(Event):
    """Base of the events about one SKU at one location (no type of its own)."""

    subject_template: ClassVar[str] = "stock/{sku}@{location}"
    sku: str
    location: str


# --- movements: the ledger row's deltas and the counters after it ---------------------------


@dataclass(frozen=True, kw_only=True)
class _Movement(StockEvent):
    on_hand_delta: int
    on_hand: int
    available: int
    reason: str | None
    reference: str | None
    actor: str


@dataclass(frozen=True, kw_only=True)
class Received(_Movement):
    """Units arrived (a receipt)."""

    type: ClassVar[str] = "inventory.received"


@dataclass(frozen=True, kw_only=True)
class Restocked(_Movement):
    """A returned unit was put back on sale."""

    type: ClassVar[str] = "inventory.restocked"


@dataclass(frozen=True, kw_only=True)
class WrittenOff(_Movement):
    """Free units were written off (damaged, lost)."""

    type: ClassVar[str] = "inventory.written_off"


@dataclass(frozen=True, kw_only=True)
class Adjusted(_Movement):
    """On-hand was corrected by a signed quantity."""

    type: ClassVar[str] = "inventory.adjusted"


@dataclass(frozen=True, kw_only=True)
class CountCorrected(_Movement):
    """A cycle or sensor count changed on-hand (the delta is in the ledger)."""

    type: ClassVar[str] = "inventory.count_corrected"


@dataclass(frozen=True, kw_only=True)
class Counted(StockEvent):
    """A cycle count or a shelf sensor reported an absolute quantity (also when unchanged)."""

    type: ClassVar[str] = "inventory.counted"
    counted: int
    previous: int
    delta: int
    source: str


@dataclass(frozen=True, kw_only=True)
class Sold(StockEvent):
    """Units were sold: a till sale with no hold (the movement fields: `on_hand_delta`,
    `on_hand`, `available`, `reason`, `reference`, `actor`) or a reservation
    that was bought (the hold fields: `hold_id`, `quantity`, `channel`, `reference`,
    `available`). Only the keys of the event's shape are stored."""

    type: ClassVar[str] = "inventory.sold"
    available: int
    reference: str | None
    on_hand_delta: int | None = None
    on_hand: int | None = None
    reason: str | None = None
    actor: str | None = None
    hold_id: str | None = None
    quantity: int | None = None
    channel: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        return _only(super().data, _MOVEMENT_KEYS if self.hold_id is None else _HOLD_KEYS)


# --- holds ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Reserved(StockEvent):
    """A cart hold was taken; it lapses at `expires_at` (ISO timestamp)."""

    type: ClassVar[str] = "inventory.reserved"
    hold_id: str
    quantity: int
    channel: str
    expires_at: str
    available: int


@dataclass(frozen=True, kw_only=True)
class ReservationRefreshed(StockEvent):
    """Cart activity: the hold lives another full TTL, to `expires_at`."""

    type: ClassVar[str] = "inventory.reservation_refreshed"
    hold_id: str
    expires_at: str
    actor: str


@dataclass(frozen=True, kw_only=True)
class ReservationReleased(StockEvent):
    """A cart hold was given up: by the cart (the hold fields `channel`, `reference`,
    `available`) or by a count below the holds (`reason` instead). Only the keys of the
    event's shape are stored."""

    type: ClassVar[str] = "inventory.reservation_released"
    hold_id: str
    quantity: int
    channel: str | None = None
    reference: str | None = None
    available: int | None = None
    reason: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        return _only(super().data, ("hold_id", "quantity", "reason") if self.reason else _HOLD_KEYS)


@dataclass(frozen=True, kw_only=True)
class ReservationExpired(StockEvent):
    """A cart hold lapsed and was released by the sweeper (or lazily)."""

    type: ClassVar[str] = "inventory.reservation_expired"
    hold_id: str
    quantity: int
    channel: str | None
    available: int | None


@dataclass(frozen=True, kw_only=True)
class Allocated(StockEvent):
    """An order hold was taken (directly, from a reservation at checkout, or for units that
    arrived for the order)."""

    type: ClassVar[str] = "inventory.allocated"
    hold_id: str
    quantity: int
    reference: str | None


@dataclass(frozen=True, kw_only=True)
class AllocationReleased(StockEvent):
    """An order hold gave up `quantity` units; `remaining` (stored only for a partial
    release) is what the hold keeps."""

    type: ClassVar[str] = "inventory.allocation_released"
    hold_id: str
    quantity: int
    channel: str | None
    reference: str | None
    available: int
    remaining: int | None = None

    @property
    def data(self) -> dict[str, Any]:
        data = super().data
        if self.remaining is None:
            del data["remaining"]
        return data


@dataclass(frozen=True, kw_only=True)
class Fulfilled(StockEvent):
    """The allocated units left the building (shipped or handed over)."""

    type: ClassVar[str] = "inventory.fulfilled"
    hold_id: str
    quantity: int
    channel: str | None
    reference: str | None
    available: int


# --- policies ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PolicySet(StockEvent):
    """Safety stock, reorder point and order-up-to level of a stock row were set (by an
    operator, or changed by the replenishment job)."""

    type: ClassVar[str] = "inventory.policy_set"
    actor: str
    safety_stock: int
    reorder_point: int | None
    order_up_to: int | None


@dataclass(frozen=True, kw_only=True)
class ReplenishmentSuggested(StockEvent):
    """The position fell to or below the reorder point (once per crossing)."""

    type: ClassVar[str] = "inventory.replenishment_suggested"
    position: int
    reorder_point: int
    order_up_to: int | None
    suggested_quantity: int


# --- bulk ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReceivedInBulk(Event):
    """Many receipts landed at once (opening stock, data loads); the subject is
    `receipts/bulk` when there is no reference."""

    type: ClassVar[str] = "inventory.received_in_bulk"
    subject_template: ClassVar[str] = "receipts/{reference}"
    stock_rows: int
    units: int
    locations: list[str]
    reason: str | None
    reference: str | None
    actor: str

    @property
    def subject(self) -> str:
        return f"receipts/{self.reference or 'bulk'}"


@dataclass(frozen=True, kw_only=True)
class PoliciesSetInBulk(Event):
    """Policies of many stock rows were set at once."""

    type: ClassVar[str] = "inventory.policies_set_in_bulk"
    subject_template: ClassVar[str] = "policies/bulk"
    stock_rows: int
    actor: str


# --- transfers -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TransferLine:
    sku: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class TransferEvent(Event):
    """Base of the transfer events (no type of its own)."""

    subject_template: ClassVar[str] = "transfers/{transfer_id}"
    transfer_id: str
    from_location: str
    to_location: str
    lines: list[TransferLine]


@dataclass(frozen=True, kw_only=True)
class TransferRequested(TransferEvent):
    """A transfer between two locations was requested; the units are allocated at the source."""

    type: ClassVar[str] = "inventory.transfer_requested"


@dataclass(frozen=True, kw_only=True)
class TransferShipped(TransferEvent):
    """The transfer left the source; its units are in transit."""

    type: ClassVar[str] = "inventory.transfer_shipped"


@dataclass(frozen=True, kw_only=True)
class TransferReceived(TransferEvent):
    """Units of the transfer arrived and are on hand at the destination (``lines``: those of
    this receipt); ``complete``: the last of them, the transfer is received."""

    complete: bool = True

    type: ClassVar[str] = "inventory.transfer_received"


@dataclass(frozen=True, kw_only=True)
class TransferCancelled(TransferEvent):
    """The transfer was cancelled before it shipped; the source's units are free again."""

    type: ClassVar[str] = "inventory.transfer_cancelled"
