"""Marketing tables (registered in ``migrations/registry.py``)."""

from __future__ import annotations

from omniretail.marketing.segments_models import Segment, SegmentMember

__all__ = ["Segment", "SegmentMember"]
