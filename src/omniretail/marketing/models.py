"""Marketing's tables (registered in ``migrations/registry.py``)."""

from __future__ import annotations

# --- messages ------------------------------------------------------------------------------
from omniretail.marketing.messages_models import MarketingMessage, MessageClick

__all__ = ["MarketingMessage", "MessageClick"]
