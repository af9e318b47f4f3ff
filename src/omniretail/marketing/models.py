"""Marketing tables (registered in ``migrations/registry.py``)."""

from __future__ import annotations

# --- journeys
from omniretail.marketing.journeys_models import Journey, JourneyVersion, Run, RunStep

# --- messages ------------------------------------------------------------------------------
from omniretail.marketing.messages_models import MarketingMessage, MessageClick

# --- segments
from omniretail.marketing.segments_models import Segment, SegmentMember

# --- retail triggers
from omniretail.marketing.triggers_models import SeenPrice, StockAlert, TriggerMark

__all__ = [
    "Journey",
    "JourneyVersion",
    "MarketingMessage",
    "MessageClick",
    "Run",
    "RunStep",
    "SeenPrice",
    "Segment",
    "SegmentMember",
    "StockAlert",
    "TriggerMark",
]
