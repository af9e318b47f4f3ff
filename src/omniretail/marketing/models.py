"""Marketing tables (registered in ``migrations/registry.py``)."""

from __future__ import annotations

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

__all__ = [
    "Attribute",
    "Card",
    "MarketingMessage",
    "MarketingSend",
    "MessageClick",
    "Policy",
    "Segment",
    "SegmentMember",
    "Suppression",
]
