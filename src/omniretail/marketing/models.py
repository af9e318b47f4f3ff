"""Marketing tables (registered in ``migrations/registry.py``)."""

from __future__ import annotations

# --- journeys
from omniretail.marketing.journeys_models import Journey, JourneyVersion, Run, RunStep

# --- messages ------------------------------------------------------------------------------
from omniretail.marketing.messages_models import MarketingMessage, MessageClick

# --- segments
from omniretail.marketing.segments_models import Segment, SegmentMember

# --- sending
from omniretail.marketing.sending_models import (
    Attribute,
    Card,
    MarketingSend,
    Policy,
    Suppression,
)

# --- retail triggers
from omniretail.marketing.triggers_models import SeenPrice, StockAlert, TriggerMark

__all__ = [
    "Attribute",
    "Card",
    "Journey",
    "JourneyVersion",
    "MarketingMessage",
    "MarketingSend",
    "MessageClick",
    "Policy",
    "Run",
    "RunStep",
    "SeenPrice",
    "Segment",
    "SegmentMember",
    "StockAlert",
    "Suppression",
    "TriggerMark",
]
