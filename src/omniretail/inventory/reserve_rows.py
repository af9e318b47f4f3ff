"""A cart reservation as one statement on PostgreSQL (beside ``inventory.repository``).

The conditional UPDATE of the stock row, the hold and the ``inventory.reserved`` outbox row
(its ``available`` read from the updated row) are one INSERT with data-modifying CTEs, which
the unit of work sends with its other writes and COMMIT in one round trip: the hot stock row
stays locked only while the server runs them, never while the client waits.

The hold takes its SKU from the updated stock row, so a refused UPDATE (too few units, or
the reservation would cross the reorder point, whose event needs the row first) leaves it
NULL and the NOT NULL constraint refuses the hold: the whole transaction rolls back and
nothing is written (``refused``). The caller then reserves the ordinary way, which explains
the refusal or records the replenishment suggestion.
"""

from __future__ import annotations

from typing import Any
from typing import cast as typed

from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError

from omniretail.db.batch import kept
from omniretail.db.outbox import OutboxMessage
from omniretail.inventory.repository import holds, levels

_outbox = typed(Table, OutboxMessage.__table__)

_QUANTITY = bindparam("reserve_quantity", type_=Integer())
_NOW = bindparam("reserve_now", type_=levels.c.updated_at.type)


def _statement() -> Any:
    c = levels.c
    position = c.on_hand - c.reserved - c.allocated + c.in_transit
    taken = (
        update(levels)
        .where(
            c.sku_code == bindparam("reserve_sku", type_=c.sku_code.type),
            c.location_code == bindparam("reserve_location", type_=c.location_code.type),
            c.on_hand - c.reserved - c.allocated - c.safety_stock >= _QUANTITY,
            # Crossing the reorder point records a suggestion: the ordinary path does that.
            or_(
                c.reorder_point.is_(None),
                position <= c.reorder_point,
                position - _QUANTITY > c.reorder_point,
            ),
        )
        .values(reserved=c.reserved + _QUANTITY, updated_at=_NOW)
        .returning(c.sku_code, c.on_hand, c.reserved, c.allocated, c.safety_stock)
        .cte("reserved_stock")
    )
    available = func.greatest(
        literal_column("0"),
        taken.c.on_hand - taken.c.reserved - taken.c.allocated - taken.c.safety_stock,
    )
    o = _outbox.c
    event = (
        insert(_outbox)
        .from_select(
            ["id", "type", "source", "subject", "time", "data", "attempts"],
            select(
                bindparam("reserve_event_id", type_=o.id.type),
                bindparam("reserve_event_type", type_=o.type.type),
                bindparam("reserve_event_source", type_=o.source.type),
                bindparam("reserve_event_subject", type_=o.subject.type),
                bindparam("reserve_event_time", type_=o.time.type),
                func.jsonb_set(
                    bindparam("reserve_event_data", type_=JSONB()),
                    literal_column("'{available}'::text[]"),
                    func.to_jsonb(available),
                ),
                literal_column("0"),
            ).select_from(taken),
            include_defaults=False,
        )
        .cte("reserved_event")
    )
    h = holds.c
    columns = ["id", "kind", "status", "sku_code", "location_code", "channel_code"]
    columns += ["quantity", "reference", "expires_at", "created_at", "updated_at"]
    return kept(
        insert(holds)
        .from_select(
            columns,
            select(
                bindparam("reserve_hold_id", type_=h.id.type),
                bindparam("reserve_kind", type_=h.kind.type),
                bindparam("reserve_status", type_=h.status.type),
                select(taken.c.sku_code).scalar_subquery(),  # NULL when nothing was taken
                bindparam("reserve_location", type_=h.location_code.type),
                bindparam("reserve_channel", type_=h.channel_code.type),
                _QUANTITY,
                bindparam("reserve_reference", type_=h.reference.type),
                bindparam("reserve_expires_at", type_=h.expires_at.type),
                _NOW,
                _NOW,
            ),
            include_defaults=False,
        )
        .add_cte(event)
    )


# Built once: the statement and the batch around it compile once per process.
RESERVE = _statement()


def reserve_params(hold: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """``RESERVE``'s parameters: the hold row's values (``quantity``, ``created_at`` as
    ``now``) and the event's outbox row (its ``data['available']`` is replaced)."""
    return {
        "reserve_sku": hold["sku_code"],
        "reserve_location": hold["location_code"],
        "reserve_quantity": hold["quantity"],
        "reserve_now": hold["created_at"],
        "reserve_hold_id": hold["id"],
        "reserve_kind": hold["kind"],
        "reserve_status": hold["status"],
        "reserve_channel": hold["channel_code"],
        "reserve_reference": hold["reference"],
        "reserve_expires_at": hold["expires_at"],
        "reserve_event_id": event["id"],
        "reserve_event_type": event["type"],
        "reserve_event_source": event["source"],
        "reserve_event_subject": event["subject"],
        "reserve_event_time": event["time"],
        "reserve_event_data": event["data"],
    }


def refused(exc: BaseException) -> bool:
    """Whether ``exc`` is ``RESERVE`` finding too few units (its hold refused as NULL)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig: Any = exc.orig
    diag = getattr(orig, "diag", None)
    return (
        getattr(orig, "sqlstate", None) == "23502"
        and diag is not None
        and diag.table_name == holds.name
        and diag.column_name == "sku_code"
    )
