"""The marketing part of a person's data: what a GDPR export shows and what erasure removes.

Erasure deletes the person's cards (their renditions), attributes, suppressions, stock alerts,
segment memberships and clicks, ends their active runs ("erased") and empties the context of
their runs and sends. The sends and runs themselves stay, without content, so a journey's
counts (sent, converted, revenue) do not change after the fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update

from omniretail.db.sql import rowcount
from omniretail.db.uow import UnitOfWork
from omniretail.marketing.journeys_models import Journey, Run
from omniretail.marketing.messages_models import MarketingMessage, MessageClick
from omniretail.marketing.segments_models import Segment, SegmentMember
from omniretail.marketing.sending_cards import card_read
from omniretail.marketing.sending_models import Attribute, Card, MarketingSend, Suppression
from omniretail.marketing.triggers_models import StockAlert

ERASED = "erased"


def personal_data(uow: UnitOfWork, customer_ids: Sequence[int]) -> dict[str, Any]:
    """Everything marketing holds about these profiles (one person), as JSON-able data."""
    ids = list(customer_ids)
    s = uow.session
    segments = s.execute(
        select(Segment.name, SegmentMember.entered_at)
        .join(Segment, Segment.id == SegmentMember.segment_id)
        .where(SegmentMember.customer_id.in_(ids))
        .order_by(Segment.name)
    )
    runs = s.execute(
        select(Journey.code, Run.version, Run.state, Run.entered_at, Run.ended_at, Run.holdout)
        .join(Journey, Journey.id == Run.journey_id)
        .where(Run.customer_id.in_(ids))
        .order_by(Run.id)
    )
    sends = s.scalars(
        select(MarketingSend).where(MarketingSend.customer_id.in_(ids)).order_by(MarketingSend.id)
    )
    cards = s.scalars(select(Card).where(Card.customer_id.in_(ids)).order_by(Card.id))
    clicks = s.execute(
        select(MarketingMessage.code, MessageClick.channel, MessageClick.clicked_at)
        .join(MarketingMessage, MarketingMessage.id == MessageClick.message_id)
        .where(MessageClick.customer_id.in_(ids))
        .order_by(MessageClick.id)
    )
    return {
        "segments": [{"segment": n, "entered_at": at.isoformat()} for n, at in segments],
        "journeys": [
            {
                "journey": code,
                "version": version,
                "state": state,
                "entered_at": entered.isoformat(),
                "ended_at": ended.isoformat() if ended else None,
                "holdout": holdout,
            }
            for code, version, state, entered, ended, holdout in runs
        ],
        "sends": [
            {
                "message": x.message_code,
                "channel": x.channel or x.requested_channel,
                "status": x.status,
                "reason": x.reason,
                "queued_at": x.created_at.isoformat(),
                "sent_at": x.sent_at.isoformat() if x.sent_at else None,
            }
            for x in sends
        ],
        "cards": [card_read(uow.vault, c).model_dump(mode="json") for c in cards],
        "clicks": [
            {"message": code, "channel": channel, "clicked_at": at.isoformat()}
            for code, channel, at in clicks
        ],
        "attributes": {
            a.name: a.value
            for a in s.scalars(select(Attribute).where(Attribute.customer_id.in_(ids)))
        },
        "suppressions": [
            {"channel": x.channel, "reason": x.reason, "since": x.created_at.isoformat()}
            for x in s.scalars(select(Suppression).where(Suppression.customer_id.in_(ids)))
        ],
        "stock_alerts": [
            {"sku": a.sku_code, "store": a.location_code, "status": a.status}
            for a in s.scalars(select(StockAlert).where(StockAlert.customer_id.in_(ids)))
        ],
    }


def forget_customers(uow: UnitOfWork, customer_ids: Sequence[int]) -> dict[str, int]:
    """Erasure's marketing part, in the caller's transaction; counts of what went."""
    ids = list(customer_ids)
    s = uow.session
    removed: dict[str, int] = {}
    for name, table in (
        ("marketing_cards_deleted", Card),
        ("marketing_attributes_deleted", Attribute),
        ("marketing_suppressions_deleted", Suppression),
        ("marketing_stock_alerts_deleted", StockAlert),
        ("marketing_memberships_deleted", SegmentMember),
        ("marketing_clicks_deleted", MessageClick),
    ):
        removed[name] = rowcount(s.execute(delete(table).where(table.customer_id.in_(ids))))
    ended = s.execute(
        update(Run)
        .where(Run.customer_id.in_(ids), Run.state == "active")
        .values(state="exited", exit_reason=ERASED, ended_at=uow.now, due_at=None, step_id=None)
    )
    removed["marketing_runs_ended"] = rowcount(ended)
    s.execute(update(Run).where(Run.customer_id.in_(ids)).values(context={}))
    s.execute(
        update(MarketingSend)
        .where(MarketingSend.customer_id.in_(ids))
        .values(context={}, status="suppressed", reason=ERASED)
        .where(MarketingSend.status.in_(("queued", "held")))
    )
    s.execute(update(MarketingSend).where(MarketingSend.customer_id.in_(ids)).values(context={}))
    return removed
